"""Reporting checklists answered from a study run: CLEAR (Kocak et al., Insights Imaging 2023;14:75; 58
items) and TRIPOD+AI (Collins et al., BMJ 2024;385:e078378).

Every item of each checklist is listed with its number, section and a short paraphrased topic (not the
published item text; read the checklists themselves). Items the run can answer carry the answer taken
from the study (cohort sizes and dates, preprocessing, versions, feature counts, selection, validation,
calibration, parameter hashes), status ``answered``; items only the authors can answer are ``open``.
Research use only.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

CLEAR_ITEMS = (  # (item, section, paraphrased topic)
    ("1", "Title", "Title names radiomics and its methodology"),
    ("2", "Abstract", "Structured abstract"),
    ("3", "Keywords", "Keywords"),
    ("4", "Introduction", "Scientific and clinical background"),
    ("5", "Introduction", "Why radiomics for this question"),
    ("6", "Introduction", "Study objectives and hypotheses"),
    ("7", "Method: study design", "Adherence to guidelines or checklists"),
    ("8", "Method: study design", "Ethics approval, consent, data protection"),
    ("9", "Method: study design", "Sample size or power"),
    ("10", "Method: study design", "Study nature (retrospective, prospective)"),
    ("11", "Method: study design", "Eligibility criteria"),
    ("12", "Method: study design", "Flowchart of the technical pipeline"),
    ("13", "Method: data", "Data source"),
    ("14", "Method: data", "Overlap with earlier studies' data"),
    ("15", "Method: data", "Data split method"),
    ("16", "Method: data", "Imaging protocol"),
    ("17", "Method: data", "Definition of non-radiomic predictors"),
    ("18", "Method: data", "Definition of the reference standard (outcome)"),
    ("19", "Method: segmentation", "Segmentation strategy"),
    ("20", "Method: segmentation", "Who segmented (operators, experience)"),
    ("21", "Method: pre-processing", "Image pre-processing"),
    ("22", "Method: pre-processing", "Resampling method and parameters"),
    ("23", "Method: pre-processing", "Grey-level discretisation method and parameters"),
    ("24", "Method: pre-processing", "Image types (original, filtered)"),
    ("25", "Method: feature extraction", "Feature extraction method and software"),
    ("26", "Method: feature extraction", "Feature classes"),
    ("27", "Method: feature extraction", "Number of features"),
    ("28", "Method: feature extraction", "Default settings of the remaining parameters"),
    ("29", "Method: data preparation", "Handling of missing data"),
    ("30", "Method: data preparation", "Class imbalance"),
    ("31", "Method: data preparation", "Segmentation reliability analysis"),
    ("32", "Method: data preparation", "Feature scaling"),
    ("33", "Method: data preparation", "Dimension reduction"),
    ("34", "Method: modelling", "Algorithm"),
    ("35", "Method: modelling", "Training and tuning"),
    ("36", "Method: modelling", "Handling of confounders"),
    ("37", "Method: modelling", "Model choice strategy"),
    ("38", "Method: evaluation", "Testing technique (internal, external)"),
    ("39", "Method: evaluation", "Performance metrics and why"),
    ("40", "Method: evaluation", "Uncertainty of the performance"),
    ("41", "Method: evaluation", "Statistical comparison of performance"),
    ("42", "Method: evaluation", "Comparison with non-radiomic and combined models"),
    ("43", "Method: evaluation", "Interpretability and explainability"),
    ("44", "Results", "Baseline demographic and clinical characteristics"),
    ("45", "Results", "Flowchart of eligibility"),
    ("46", "Results", "Feature statistics (reproducibility, selection)"),
    ("47", "Results", "Model performance"),
    ("48", "Results", "Comparison with non-radiomic and combined models"),
    ("49", "Discussion", "Overview of the main findings"),
    ("50", "Discussion", "Earlier work and differences"),
    ("51", "Discussion", "Practical implications"),
    ("52", "Discussion", "Strengths and limitations"),
    ("53", "Open science: data", "Images and segmentations shared"),
    ("54", "Open science: data", "Radiomic feature data shared"),
    ("55", "Open science: code", "Pre-processing and extraction settings shared"),
    ("56", "Open science: code", "Modelling code shared"),
    ("57", "Open science: model", "Final model files shared"),
    ("58", "Open science: model", "Ready-to-use system shared"),
)

TRIPOD_AI_ITEMS = (
    ("1", "Title", "Development or evaluation of a prediction model, population, outcome"),
    ("2", "Abstract", "Abstract (TRIPOD+AI for Abstracts)"),
    ("3a", "Introduction", "Healthcare context and rationale"),
    ("3b", "Introduction", "Target population and intended purpose"),
    ("3c", "Introduction", "Known health inequalities"),
    ("4", "Introduction", "Objectives"),
    ("5a", "Methods: data", "Data sources"),
    ("5b", "Methods: data", "Dates of the data"),
    ("6a", "Methods: participants", "Setting and centres"),
    ("6b", "Methods: participants", "Eligibility criteria"),
    ("6c", "Methods: participants", "Treatments received"),
    ("7", "Methods: data preparation", "Data pre-processing and quality checks"),
    ("8a", "Methods: outcome", "Outcome definition, time point and assessment"),
    ("8b", "Methods: outcome", "Outcome assessors and blinding"),
    ("8c", "Methods: outcome", "Outcome assessment across groups"),
    ("9a", "Methods: predictors", "Choice of candidate predictors"),
    ("9b", "Methods: predictors", "Predictor definitions and measurement"),
    ("9c", "Methods: predictors", "Predictor assessors and blinding"),
    ("10", "Methods: sample size", "Sample size"),
    ("11", "Methods: missing data", "Handling of missing data"),
    ("12a", "Methods: analysis", "How the data were used (development, evaluation)"),
    ("12b", "Methods: analysis", "Handling of predictors"),
    ("12c", "Methods: analysis", "Model type, building, tuning and internal validation"),
    ("12d", "Methods: analysis", "Heterogeneity across clusters"),
    ("12e", "Methods: analysis", "Performance measures"),
    ("12f", "Methods: analysis", "Model updating or recalibration"),
    ("12g", "Methods: analysis", "How predictions were calculated for evaluation"),
    ("13", "Methods: class imbalance", "Class imbalance methods"),
    ("14", "Methods: fairness", "Fairness approaches"),
    ("15", "Methods: model output", "Model output and thresholds"),
    ("16", "Methods: training vs evaluation", "Differences between development and evaluation data"),
    ("17", "Methods: ethics", "Ethical approval"),
    ("18a", "Open science", "Funding"),
    ("18b", "Open science", "Conflicts of interest"),
    ("18c", "Open science", "Protocol"),
    ("18d", "Open science", "Registration"),
    ("18e", "Open science", "Data sharing"),
    ("18f", "Open science", "Code sharing"),
    ("19", "Patient and public involvement", "Patient and public involvement"),
    ("20a", "Results: participants", "Flow of participants"),
    ("20b", "Results: participants", "Participant characteristics"),
    ("20c", "Results: participants", "Development against evaluation data distributions"),
    ("21", "Results: model development", "Participants and events in each analysis"),
    ("22", "Results: model specification", "Full model specification"),
    ("23a", "Results: performance", "Performance with confidence intervals"),
    ("23b", "Results: performance", "Performance in subgroups"),
    ("24", "Results: model updating", "Results of model updating"),
    ("25", "Discussion", "Interpretation"),
    ("26", "Discussion", "Limitations"),
    ("27a", "Discussion", "Handling of poor-quality or missing input data in use"),
    ("27b", "Discussion", "User interaction and expertise needed"),
    ("27c", "Discussion", "Next steps"),
)

COLUMNS = ["item", "section", "topic", "answer", "status"]
Answer = Callable[[object], str]


# ------------------------------------------------------------------------------------- answers from the run
def _cohorts(r) -> str:
    parts = []
    for cohort, part in r.cohort.groupby("cohort", sort=False):
        parts.append(f"{cohort}: {len(part)} patients, {int(part['resistant'].sum())} resistant, exams "
                     f"{part['exam_date'].min()} to {part['exam_date'].max()}")
    excluded = f"; {len(r.exclusions)} left out ({', '.join(sorted(set(r.exclusions['reason'])))})" \
        if len(r.exclusions) else "; none left out"
    return "; ".join(parts) + excluded


def _split(r) -> str:
    return (f"temporal split: exams before {r.config.split_date} train, later exams validate "
            f"(time point {r.config.timepoint!r})")


def _outcome(r) -> str:
    rule = r.config.resistance
    return (f"resistant = RCB class ≥ {rule.min_rcb_class} or MRI shrinkage of the longest diameter < "
            f"{rule.shrinkage_below:.0%}; criteria that fired: " +
            ", ".join(f"{k}: {v}" for k, v in r.cohort["criterion"].value_counts().sort_index().items()))


def _analysis(r) -> dict:
    return dict(r.provenance.get("analysis_parameters") or {})


def _preprocessing(r) -> str:
    pre = _analysis(r).get("preprocessing") or {}
    if not pre:
        return ""
    return (f"resampling to {pre.get('resample_spacing_mm')} mm ({pre.get('interpolator')}), intensity "
            f"normalisation {pre.get('normalization')}, Gaussian σ {pre.get('gaussian_sigma_mm')} mm, N4 bias "
            f"correction {'on' if pre.get('n4') else 'off'} (analysis_parameters in provenance.json)")


def _radiomics_parameters(r) -> dict:
    radiomics = _analysis(r).get("radiomics_params") or {}
    return radiomics.get("content", {}) if isinstance(radiomics, dict) else {}


def _resampling(r) -> str:
    pre = _analysis(r).get("preprocessing") or {}
    return (f"{pre['resample_spacing_mm']} mm voxels, {pre.get('interpolator')} interpolation"
            if pre.get("resample_spacing_mm") else "")


def _discretisation(r) -> str:
    setting = _radiomics_parameters(r).get("setting") or {}
    if "binWidth" in setting:
        return f"fixed bin width {setting['binWidth']} (intensity units after normalisation)"
    return f"fixed bin count {setting['binCount']}" if "binCount" in setting else ""


def _image_types(r) -> str:
    types = _radiomics_parameters(r).get("imageType") or {}
    return "pyradiomics image types: " + ", ".join(f"{k} {v}" if v else k for k, v in types.items()) if types else ""


def _feature_classes(r) -> str:
    classes = _radiomics_parameters(r).get("featureClass") or {}
    return "pyradiomics classes: " + ", ".join(classes) + "; ADC, DKI and DCE kinetic quantities" if classes else ""


def _n_features(r) -> str:
    if not len(r.funnel):
        return ""
    return f"{int(r.funnel['n_in'].iloc[0])} candidate features entered selection (funnel.csv)"


def _versions(r) -> str:
    versions = r.provenance.get("versions") or {}
    shown = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
    return (f"NACResistanceLib {r.provenance.get('NACResistanceLib', '')}, Python {r.provenance.get('python', '')}; "
            f"{shown}") if r.provenance else ""


def _selection(r) -> str:
    steps = "; ".join(f"{s.step}: {int(s.n_in)} → {int(s.n_out)}" for s in r.funnel.itertuples())
    chosen = r.chosen_lambda
    lam = f"; LASSO λ ({r.config.selection.lasso_choice}) = {chosen:.4g}" if chosen == chosen else ""
    return f"{steps}{lam}; {len(r.rad_score) - 1} features in the Rad-score"


def _models(r) -> str:
    return (f"logistic regression, forward stepwise (entry p < {r.config.models.p_enter:g}, removal p > {r.config.models.p_remove:g}); " +
        "; ".join(f"{n}: {', '.join(t.name for t in m.terms) or 'intercept only'}" for n, m in r.models.items()))


def _internal_validation(r) -> str:
    v = r.config.validation
    return (f"{v.cv_folds}-fold cross-validation and Harrell bootstrap optimism ({v.n_boot_optimism} replicates) "
            "of the whole pipeline on training; temporal validation cohort")


def _metrics(r) -> str:
    return ("AUC (DeLong CI), sensitivity and specificity (Wilson CI) at the training threshold, "
            "Hosmer-Lemeshow, calibration intercept and slope, Brier score, decision curves")


def _performance(r) -> str:
    return "; ".join(f"{row.cohort} {row.model}: AUC {row.auc:.3f} ({row.auc_low:.3f}–{row.auc_high:.3f})"
                     for row in r.table5.itertuples())


def _uncertainty(r) -> str:
    return (f"{r.config.validation.level:.0%} confidence intervals (DeLong, Wilson); bootstrap "
            f"({r.config.validation.n_boot_performance} replicates, Table 6) and ROC bands")


def _comparison(r) -> str:
    return "paired DeLong tests of each model against the clinical model (comparisons.csv); unpaired " \
           "DeLong validation vs training (unpaired.csv)"


def _calibration(r) -> str:
    rows = r.calibration[r.calibration["model"] == "combined"]
    return "; ".join(f"{row.cohort}: slope {row.calibration_slope:.3f}, intercept {row.calibration_intercept:.3f}"
                     for row in rows.itertuples()) if {"calibration_slope", "calibration_intercept"} <= set(rows) else ""


def _missing(r) -> str:
    return ("patients without features or with empty model inputs in validation are left out and listed "
            f"(exclusions.csv: {len(r.exclusions)}); features incomplete in training are removed before selection")


def _imbalance(r) -> str:
    train = r.cohort[r.cohort["cohort"] == "training"]
    return (f"training cohort {int(train['resistant'].sum())} resistant of {len(train)}; no resampling or "
            "weighting; threshold fixed on training")


def _model_files(r) -> str:
    return f"models/{{{','.join(r.models)}}}.json (with analysis parameters and their SHA-256)"


def _code(r) -> str:
    return "NACResistance (this software); the study parameters and analysis parameters are in provenance.json"


def _settings(r) -> str:
    hashes = (_analysis(r) or {})
    return "analysis_parameters.json and study parameters written with the study" + (
        "" if not hashes else f" ({len(hashes)} analysis keys)")


def _features_shared(r) -> str:
    return "features.csv of `nacresistance extract` with feature_dictionary.csv (unit, IBSI code, image)"


def _output(r) -> str:
    return "probability of resistance per model; class at the probability threshold fixed on training: " + \
        ", ".join(f"{n} {m.threshold:.3f}" for n, m in r.models.items())


def _predictors(r) -> str:
    return "clinical candidates: " + ", ".join(r.config.models.clinical_candidates)


def _characteristics(r) -> str:
    return "Tables 1 and 2 (table1.csv, table2.csv): training cohort, resistant vs sensitive"


def _flow(r) -> str:
    return _cohorts(r)


def _feature_stats(r) -> str:
    return _selection(r) + "; Table 3 (table3.csv)"


def _sample(r) -> str:
    return ""


def _distributions(r) -> str:
    return "cohort section (counts and resistance per cohort); " + _cohorts(r)


def _participants_events(r) -> str:
    return _cohorts(r)


def _specification(r) -> str:
    return "Table 4 (table4.csv), Rad-score formula (rad_score.csv), " + _model_files(r)


def _interpretability(r) -> str:
    return "logistic coefficients and odds ratios (Table 4), nomogram of the combined model"


def _calculation(r) -> str:
    return "fixed models applied to the validation cohort; probabilities = logistic of the linear predictor"


def _data_source(r) -> str:
    description = r.config.data_description
    return "" if description in ("", "unspecified") else f"{description} (study parameter data_description)"


def _treatment(r) -> str:
    return ("neoadjuvant chemotherapy; relative dose intensity (%) recorded per patient (Table 2)"
            if "dose_intensity_pct" in set(r.table2.get("variable", [])) else "")


def _evaluation_use(r) -> str:
    return _split(r) + "; " + _internal_validation(r)


CLEAR_ANSWERS: dict[str, Answer] = {
    "11": _cohorts, "12": lambda r: "see docs (pipeline) and the report's sections", "13": _data_source,
    "15": _split,
    "17": _predictors, "18": _outcome, "21": _preprocessing,
    "22": _resampling, "23": _discretisation, "24": _image_types, "26": _feature_classes,
    "25": _versions, "27": _n_features, "28": lambda r: "every parameter is recorded in provenance.json",
    "29": _missing, "30": _imbalance, "33": _selection, "34": _models, "35": _internal_validation,
    "37": _models, "38": _evaluation_use, "39": _metrics, "40": _uncertainty, "41": _comparison,
    "42": _comparison, "43": _interpretability, "44": _characteristics, "45": _flow, "46": _feature_stats,
    "47": _performance, "48": _comparison, "54": _features_shared, "55": _settings, "56": _code,
    "57": _model_files,
}

TRIPOD_AI_ANSWERS: dict[str, Answer] = {
    "5a": _data_source, "5b": _cohorts, "6b": _cohorts, "6c": _treatment, "7": _preprocessing, "8a": _outcome, "9a": _predictors, "9b": _predictors,
    "11": _missing, "12a": _evaluation_use, "12b": _selection, "12c": lambda r: _models(r) + "; " +
    _internal_validation(r), "12e": _metrics, "12g": _calculation, "13": _imbalance, "15": _output,
    "16": _distributions, "18f": _code, "20a": _flow, "20b": _characteristics, "20c": _distributions,
    "21": _participants_events, "22": _specification, "23a": lambda r: _performance(r) + "; calibration (combined) "
    + _calibration(r),
}


def fill_checklist(items, answers: dict[str, Answer], result) -> pd.DataFrame:
    """One row per item: item, section, topic, answer (empty when open) and status (answered / open)."""
    rows = []
    for item, section, topic in items:
        answer = answers[item](result) if item in answers else ""
        rows.append({"item": item, "section": section, "topic": topic, "answer": answer,
                     "status": "answered" if answer else "open"})
    return pd.DataFrame(rows, columns=COLUMNS)


def fill_checklists(result) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The CLEAR and TRIPOD+AI checklists answered from ``result`` (a completed study.StudyResult)."""
    return (fill_checklist(CLEAR_ITEMS, CLEAR_ANSWERS, result),
            fill_checklist(TRIPOD_AI_ITEMS, TRIPOD_AI_ANSWERS, result))
