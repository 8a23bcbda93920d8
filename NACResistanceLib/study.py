"""The whole study of the seed paper: labels -> temporal split -> selection -> three models -> validation.

``run_study(features, cohort)`` returns a :class:`StudyResult` holding Tables 1-6, the selection
funnel, the LASSO path and CV curve, ROC / calibration / decision curves (tidy long DataFrames), the
bootstrap optimism, the 10-fold CV and the three :class:`~NACResistanceLib.models.StudyModel`.
Defaults live in ``NACResistanceLib/params/study.yaml``. Research use only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import RESEARCH_USE_ONLY
from . import study_numbers as numbers
from .clinical import encode_clinical, normalise_codes
from .config import AnalysisConfig, load_analysis_config
from .config.study import StudyConfig, load_study_config
from .errors import CancelledError, ClinicalDataError, ManifestError
from .labels import label_cohort
from .models import FittedModels, StudyModel, fit_logistic, fit_models
from .models.study_model import RAD_SCORE
from .models.validation import PipelineTask, apparent_performance, bootstrap_optimism, cross_validate
from .selection import LeadingStep
from .stats.bootstrap import bootstrap_performance
from .stats.logit import sigmoid
from .stats.performance import CohortPerformance, evaluate_cohort
from .stats.roc import unpaired_auc_test
from .stats.tables import comparison_table

Progress = Callable[[str, float], bool]


# ------------------------------------------------------------------------------------------ data preparation
@dataclass(frozen=True)
class _Data:
    rows: pd.DataFrame
    """Manifest rows of the chosen time point, indexed by patient_id, codes normalised."""
    labels: pd.DataFrame
    """Per patient: cohort, exam_date, rcb_index, rcb_class, shrinkage, resistant, criterion."""
    design: pd.DataFrame
    """Encoded clinical variables + numeric features, indexed by patient_id."""
    feature_names: tuple[str, ...]
    exclusions: pd.DataFrame
    leading: tuple[LeadingStep, ...]
    warnings: tuple[str, ...]

    def part(self, cohort: str) -> pd.Index:
        return self.labels.index[self.labels["cohort"] == cohort]


def _feature_table(features: pd.DataFrame, timepoint: str) -> pd.DataFrame:
    if isinstance(features.index, pd.MultiIndex):
        if "timepoint" in features.index.names:
            features = features.xs(timepoint, level="timepoint")
        features.index = features.index.get_level_values(0)
    elif "patient_id" in features.columns:
        features = features.set_index("patient_id")
    features.index = features.index.astype(str)
    if features.index.duplicated().any():
        raise ManifestError(f"feature table has duplicate rows for patients "
                            f"{sorted(set(features.index[features.index.duplicated()]))[:5]}")
    return features


def _manifest_rows(cohort: pd.DataFrame, timepoint: str) -> pd.DataFrame:
    rows = cohort
    if "timepoint" in rows:
        labels = rows["timepoint"].fillna("").astype(str).replace("", "baseline")  # empty = baseline (manifest.md)
        rows = rows[labels == timepoint]
    rows = rows.assign(patient_id=rows["patient_id"].astype(str))
    if rows["patient_id"].duplicated().any():
        raise ManifestError(f"manifest has several {timepoint!r} rows for patients "
                            f"{sorted(set(rows.loc[rows['patient_id'].duplicated(), 'patient_id']))[:5]}")
    if rows.empty:
        raise ManifestError(f"the manifest has no rows with timepoint {timepoint!r}")
    return rows.set_index("patient_id", drop=False)


def _labels(rows: pd.DataFrame, config: StudyConfig) -> pd.DataFrame:
    labels = label_cohort(rows, config.resistance).set_index("patient_id")
    dates = pd.to_datetime(rows["exam_date"], format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        raise ManifestError(f"patients {list(rows.index[dates.isna()])[:5]}: exam_date must be YYYY-MM-DD")
    split = pd.Timestamp(config.split_date)
    labels.insert(0, "exam_date", dates.dt.strftime("%Y-%m-%d"))
    labels.insert(0, "cohort", np.where(dates < split, "training", "validation"))
    return labels


def _prepare(features: pd.DataFrame, cohort: pd.DataFrame, config: StudyConfig) -> _Data:
    rows = _manifest_rows(cohort, config.timepoint)
    feats = _feature_table(features.copy(), config.timepoint)
    numeric = feats.select_dtypes(include="number")
    warnings = [f"non-numeric feature columns ignored: {sorted(set(feats.columns) - set(numeric.columns))[:10]}"] \
        if numeric.shape[1] < feats.shape[1] else []
    absent = rows.index.difference(numeric.index)
    exclusions = pd.DataFrame({"patient_id": absent, "reason": "no feature row"})
    rows = rows.loc[rows.index.intersection(numeric.index, sort=False)]
    labels = _labels(rows, config)
    clinical = encode_clinical(rows)
    clinical.index = rows.index
    design = pd.concat([clinical, numeric.loc[rows.index]], axis=1)
    train = labels.index[labels["cohort"] == "training"]
    _check_training(design, labels, train, config)
    complete = [c for c in numeric.columns if design.loc[train, c].notna().all()]
    leading = (LeadingStep("complete_in_training", tuple(complete)),) if len(complete) < numeric.shape[1] else ()
    codes = normalise_codes(rows)
    rows = rows.assign(**{c: codes[c] for c in codes.columns})
    return _Data(rows, labels, design, tuple(numeric.columns), exclusions, leading, tuple(warnings))


def _check_training(design: pd.DataFrame, labels: pd.DataFrame, train: pd.Index, config: StudyConfig) -> None:
    if labels.loc[train, "resistant"].nunique() < 2:
        raise ClinicalDataError(f"the training cohort (exams before {config.split_date}) needs resistant and "
                                f"sensitive patients; it has {len(train)} patients of one class")
    problems = []  # every missing clinical value at once, not one per run
    for name in config.models.clinical_candidates:
        if name not in design:
            problems.append(f"clinical candidate {name!r} cannot be computed: its manifest column is absent")
            continue
        empty = design.loc[train, name].isna()
        if empty.any():
            patients = list(train[empty])
            more = f" and {len(patients) - 10} more" if len(patients) > 10 else ""
            problems.append(f"patients {', '.join(map(str, patients[:10]))}{more}: clinical variable {name!r} is empty")
    if problems:
        raise ClinicalDataError(f"{len(problems)} clinical problem(s) in the training cohort: " + "; ".join(problems)
                                + "; fill the manifest cells or remove the variables from models.clinical_candidates")


# ------------------------------------------------------------------------------------------------- tables 1-4
TABLE1_CONTINUOUS = ("age_years", "bmi_kg_m2", "tumor_size_mm")
TABLE1_CATEGORICAL = {"menopause": ["pre", "post"], "side": ["left", "right"], "t_stage": ["T1", "T2", "T3", "T4"],
                      "n_stage": ["N0", "N1", "N2", "N3"], "grade": ["1", "2", "3"]}
TABLE2_CATEGORICAL = {"er": ["positive", "negative"], "pr": ["positive", "negative"],
                      "her2": ["positive", "negative"], "ki67_ge_20": [">= 20%", "< 20%"],
                      "subtype": ["luminal_a", "luminal_b", "her2_enriched", "triple_negative"]}


def _descriptive_tables(data: _Data, config: StudyConfig) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    train = data.part("training")
    y = data.labels.loc[train, "resistant"]
    rows = data.rows.loc[train]
    if "ki67_ge_20" in data.design:
        ki67 = data.design.loc[train, "ki67_ge_20"].map({1.0: ">= 20%", 0.0: "< 20%"})
        rows = rows.assign(ki67_ge_20=ki67)
    table1 = comparison_table(rows, y, TABLE1_CONTINUOUS, TABLE1_CATEGORICAL)
    table2 = comparison_table(rows, y, ("dose_intensity_pct",), TABLE2_CATEGORICAL)
    present = [f for f in config.table3_features if f in data.design]
    table3 = comparison_table(data.design.loc[train], y, present)
    return table1, table2, table3


def _table4(fitted: FittedModels, design: pd.DataFrame, y: np.ndarray, level: float) -> pd.DataFrame:
    """Each model refitted with statsmodels on the terms chosen for it; a term the model left out as not
    estimable (constant or aliased on training) appears with NaN estimates and the reason in ``note``."""
    full = design.assign(**{RAD_SCORE: fitted.radscore.compute(design)}) if fitted.radscore else design
    frames = []
    for name, model in fitted.as_dict().items():
        terms = list(fitted.requested_terms.get(name, [t.name for t in model.terms]))
        result = fit_logistic(full[terms], y, level=level)
        frames.append(result.table.assign(model=name, nagelkerke_r2=result.nagelkerke_r2,
                                          converged=result.converged, warnings="; ".join(result.warnings)))
    table = pd.concat(frames, ignore_index=True)
    return table[["model", *[c for c in table.columns if c != "model"]]]


def _selection_tables(fitted: FittedModels) -> dict[str, pd.DataFrame]:
    lasso = fitted.funnel.lasso_
    if lasso is None:
        curve = pd.DataFrame(columns=["lambda", "log_lambda", "cv_mean", "cv_sd", "nonzero"])
        path = pd.DataFrame(columns=["lambda", "feature", "coefficient"])
    else:
        curve = lasso.to_frame()
        path = pd.DataFrame(lasso.path.coefs, columns=list(lasso.feature_names)).assign(
            **{"lambda": lasso.path.lambdas}).melt(id_vars="lambda", var_name="feature", value_name="coefficient")
    rad = pd.DataFrame([("(intercept)", fitted.funnel.intercept_), *fitted.funnel.coef_.items()],
                       columns=["feature", "coefficient"])
    steps = [s.steps.assign(model=name) for name, s in fitted.stepwise.items() if len(s.steps)]
    stepwise = pd.concat(steps, ignore_index=True) if steps else pd.DataFrame(
        columns=["step", "action", "term", "statistic", "p_value", "model"])
    return {"funnel": fitted.funnel.to_frame(), "lasso_cv": curve, "lasso_path": path,
            "rad_score": rad, "clinical_univariate": fitted.clinical_univariate, "stepwise": stepwise}


# ------------------------------------------------------------------------------------------------ validation
def _probabilities(models: Mapping[str, StudyModel], design: pd.DataFrame) -> dict[str, np.ndarray]:
    return {name: sigmoid(model.linear_predictor(design)) for name, model in models.items()}


def _predictable(models: Mapping[str, StudyModel], design: pd.DataFrame, patients: pd.Index) -> pd.Index:
    needed = {t.name for m in models.values() for t in m.terms if t.kind != "rad_score"}
    needed |= {n for m in models.values() if m.radscore for n, _ in m.radscore.features}
    ok = design.loc[patients, sorted(needed)].notna().all(axis=1)
    return patients[ok.to_numpy()]


def _evaluate(name: str, models, design, y, config: StudyConfig) -> CohortPerformance | None:
    if len(y) == 0 or np.unique(y).size < 2:
        return None
    v = config.validation
    return evaluate_cohort(name, y, _probabilities(models, design), {n: m.threshold for n, m in models.items()},
                           level=v.level, proportion_ci=v.proportion_ci, hl_groups=v.hosmer_lemeshow_groups,
                           dca_thresholds=v.thresholds())


def _table6(models, parts: Mapping[str, tuple[pd.DataFrame, np.ndarray]], optimism: pd.DataFrame,
            config: StudyConfig, seed: int) -> pd.DataFrame:
    frames = []
    for cohort, (design, y) in parts.items():
        if len(y) and np.unique(y).size == 2:
            for name, prob in _probabilities(models, design).items():
                table = bootstrap_performance(y, prob, models[name].threshold, n_boot=config.validation.n_boot_performance,
                                              seed=seed, level=config.validation.level)
                frames.append(table.rename_axis("metric").reset_index().assign(cohort=cohort, model=name))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(optimism):
        auc = optimism.xs("auc", level="metric")
        extra = pd.DataFrame({"metric": "auc_optimism", "mean": auc["optimism"].to_numpy(), "cohort": "training",
                              "model": auc.index, "n_replicates": auc["n_replicates"].to_numpy()})
        table = pd.concat([table, extra], ignore_index=True)
    columns = ["cohort", "model", "metric", "mean", "sd", "ci_low", "ci_high", "n_replicates"]
    return table.reindex(columns=columns)


def _unpaired(models, parts) -> pd.DataFrame:
    (d_train, y_train), (d_val, y_val) = parts["training"], parts["validation"]
    if np.unique(y_val).size < 2:
        return pd.DataFrame(columns=["model", "auc_training", "auc_validation", "statistic", "df", "p_value"])
    p_train, p_val = _probabilities(models, d_train), _probabilities(models, d_val)
    rows = []
    for name in models:
        test = unpaired_auc_test(y_val, p_val[name], y_train, p_train[name])
        rows.append({"model": name, "auc_training": test.auc_b, "auc_validation": test.auc_a,
                     "statistic": test.statistic, "df": test.df, "p_value": test.p_value})
    return pd.DataFrame(rows)


# -------------------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class StudyResult:
    """Every table, curve and model of a study. DataFrames are tidy; curves are long tables."""

    config: StudyConfig
    seed: int
    cohort: pd.DataFrame
    """Per patient (index patient_id): cohort ("training"/"validation"), exam_date, rcb_index, rcb_class,
    shrinkage (fraction), resistant (0/1), criterion (which resistance criterion fired)."""
    exclusions: pd.DataFrame
    """Patients left out and why (patient_id, reason)."""
    table1: pd.DataFrame
    """Baseline characteristics, training cohort, resistant vs sensitive: variable, level, resistant,
    sensitive (mean ± SD or n (%)), test (t, mann_whitney, chi2, fisher), statistic, p_value."""
    table2: pd.DataFrame
    """Pathology and treatment (ER, PR, HER2, Ki-67 >= 20%, subtype, dose intensity), same layout."""
    table3: pd.DataFrame
    """Imaging parameters of ``config.table3_features`` found in the feature table, same layout."""
    funnel: pd.DataFrame
    """Selection funnel: step, n_in, n_removed, n_out (leading steps first, LASSO last)."""
    lasso_cv: pd.DataFrame
    """LASSO CV curve: lambda, log_lambda, cv_mean (binomial deviance), cv_sd, nonzero."""
    lasso_path: pd.DataFrame
    """LASSO coefficient path, long: lambda, feature, coefficient (original units)."""
    rad_score: pd.DataFrame
    """Rad-score definition: feature ("(intercept)" first), coefficient."""
    clinical_univariate: pd.DataFrame
    """Univariate Wald p of every clinical candidate and whether it entered the stepwise pool."""
    stepwise: pd.DataFrame
    """Forward-LR history: model, step, action, term, statistic, p_value."""
    table4: pd.DataFrame
    """Multivariable logistic regression of each model on the training cohort: model, term, beta, se,
    wald_chi2, df, p_value, odds_ratio, or_ci_low, or_ci_high, nagelkerke_r2, converged."""
    table5: pd.DataFrame
    """Discrimination per cohort and model: AUC with DeLong CI, threshold (fixed on training),
    sensitivity/specificity with CIs, and p_vs_clinical (paired DeLong)."""
    comparisons: pd.DataFrame
    """Paired DeLong tests per cohort: model_a vs model_b (clinical), difference with CI, z, p_value."""
    unpaired: pd.DataFrame
    """Unpaired DeLong comparison of each model's AUC, validation vs training cohort."""
    calibration: pd.DataFrame
    """Per cohort and model: Hosmer-Lemeshow statistic, df, p; calibration intercept, slope; Brier."""
    table6: pd.DataFrame
    """Bootstrap stability (fixed models, resampled patients): cohort, model, metric (auc, sensitivity,
    specificity, auc_optimism), mean, sd, ci_low, ci_high, n_replicates."""
    optimism: pd.DataFrame
    """Harrell optimism (whole pipeline refitted per replicate): model, metric, apparent, optimism,
    corrected, n_replicates."""
    cross_validation: pd.DataFrame
    """K-fold CV of the whole pipeline on training: model, pooled_auc, fold_auc_mean, fold_auc_sd."""
    predictions: pd.DataFrame
    """Per patient: cohort, resistant, and each model's probability and predicted class."""
    roc_curves: pd.DataFrame
    """Long: cohort, model, threshold, sensitivity, specificity, false_positive_rate."""
    calibration_curves: pd.DataFrame
    """Long: cohort, model, kind (binned / lowess), predicted, observed."""
    decision_curves: pd.DataFrame
    """Long: cohort, strategy (model, treat_all, treat_none), threshold, net_benefit, tp_rate, fp_rate."""
    models: dict = field(default_factory=dict)
    """Model name ("clinical", "radiomics", "combined") -> StudyModel."""
    warnings: tuple[str, ...] = ()
    lasso_lambdas: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["choice", "lambda"]))
    """LASSO λ: rows ``min`` (lowest CV deviance), ``1se`` and ``chosen`` (``config.selection.lasso_choice``)."""
    roc_bands: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Figure 1 bands: cohort, model, fpr, tpr, tpr_low, tpr_high (stratified bootstrap,
    ``config.validation.n_boot_performance`` replicates, seeded by ``seed``)."""
    table3_display: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Table 3 in the seed paper's display units (ADC in ×10⁻³ mm²/s, 3 significant digits)."""
    nomogram: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Combined model's nomogram terms: term, coefficient, low, high (training 1st-99th percentile)."""
    truth_predictors: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Synthetic cohorts only: true predictors of the phantom against the combined model's terms."""
    truth_aucs: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Synthetic cohorts only: model AUC, AUC of the true probabilities and Bayes-optimal AUC per cohort."""
    truth_probabilities: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Synthetic cohorts only: patient_id, cohort, combined_probability, true_probability."""
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Exams whose extraction failed (the extraction's failures.csv), listed in the cohort section."""
    checklist_clear: pd.DataFrame = field(default_factory=pd.DataFrame)
    """CLEAR checklist (Kocak et al. 2023) answered from the run: item, section, topic, answer, status."""
    checklist_tripod_ai: pd.DataFrame = field(default_factory=pd.DataFrame)
    """TRIPOD+AI checklist (Collins et al. 2024) answered from the run, same layout."""
    provenance: dict = field(default_factory=dict)
    """Versions, parameters, seed, command line and warnings of the run (JSON-ready)."""

    PAPER_ITEMS = {
        "Table 1": ("table1",), "Table 2": ("table2",), "Table 3": ("table3", "table3_display"),
        "Table 4": ("table4",), "Table 5": ("table5", "comparisons"), "Table 6": ("table6", "optimism"),
        "Figure 1": ("roc_curves", "roc_bands"), "Figure 2": ("calibration_curves", "calibration"),
        "Figure 3": ("decision_curves",),
    }
    """The seed paper's tables and figures -> the fields holding their numbers."""

    @property
    def baseline_characteristics(self) -> pd.DataFrame:
        """Table 1."""
        return self.table1

    @property
    def pathology_and_treatment(self) -> pd.DataFrame:
        """Table 2."""
        return self.table2

    @property
    def mri_parameters(self) -> pd.DataFrame:
        """Table 3."""
        return self.table3

    @property
    def multivariable_models(self) -> pd.DataFrame:
        """Table 4."""
        return self.table4

    @property
    def discrimination(self) -> pd.DataFrame:
        """Table 5."""
        return self.table5

    @property
    def bootstrap_validation(self) -> pd.DataFrame:
        """Table 6."""
        return self.table6

    def paper_item(self, item: str) -> dict[str, pd.DataFrame]:
        """The tables behind one of the seed paper's items ("Table 1" ... "Table 6", "Figure 1" ... "Figure 3")."""
        return {name: getattr(self, name) for name in self.PAPER_ITEMS[item]}

    @property
    def chosen_lambda(self) -> float:
        """The LASSO penalty the Rad-score was fitted at (NaN without LASSO)."""
        chosen = self.lasso_lambdas.loc[self.lasso_lambdas["choice"] == "chosen", "lambda"]
        return float(chosen.iloc[0]) if len(chosen) else float("nan")

    @property
    def synthetic(self) -> bool:
        """True when the study was compared with a phantom's truth."""
        return len(self.truth_aucs) > 0 or len(self.truth_predictors) > 0

    TABLES = ("cohort", "exclusions", "table1", "table2", "table3", "funnel", "lasso_cv", "lasso_path",
              "rad_score", "clinical_univariate", "stepwise", "table4", "table5", "comparisons", "unpaired",
              "calibration", "table6", "optimism", "cross_validation", "predictions", "roc_curves",
              "calibration_curves", "decision_curves", "lasso_lambdas", "roc_bands", "table3_display", "nomogram",
              "truth_predictors", "truth_aucs", "truth_probabilities", "failures", "checklist_clear",
              "checklist_tripod_ai")

    def tables(self) -> dict[str, pd.DataFrame]:
        """Name -> DataFrame of every table and curve."""
        return {name: getattr(self, name) for name in self.TABLES}

    def summary(self) -> dict[str, Any]:
        """Headline numbers (JSON-ready)."""
        counts = self.cohort.groupby("cohort")["resistant"].agg(["size", "sum"])
        return {
            "research_use_only": RESEARCH_USE_ONLY, "seed": self.seed, "config": self.config.to_dict(),
            "cohorts": {c: {"n": int(r["size"]), "resistant": int(r["sum"])} for c, r in counts.iterrows()},
            "funnel": self.funnel.to_dict(orient="records"),
            "selected_features": self.rad_score["feature"].iloc[1:].tolist(),
            "models": {n: [t.name for t in m.terms] for n, m in self.models.items()},
            "auc": self.table5[["cohort", "model", "auc", "auc_low", "auc_high"]].to_dict(orient="records"),
            "n_excluded": len(self.exclusions), "warnings": list(self.warnings),
        }

    def write(self, out_dir: str | Path) -> Path:
        """Write the study folder (every table as CSV, ``summary.json``, ``study.json``, ``models/<name>.json``);
        :func:`study_folder.read_study` reads it back. Returns ``out_dir``."""
        from .study_folder import write_study

        return write_study(self, out_dir)


# ------------------------------------------------------------------------------------------------- run_study
def _stage(progress: Progress | None, start: float, stop: float) -> Progress | None:
    """A progress callback mapping a sub-task's 0..1 onto start..stop of the study."""
    if progress is None:
        return None
    return lambda message, fraction: progress(message, start + (stop - start) * fraction)


def _tell(progress: Progress | None, message: str, fraction: float) -> None:
    if progress is not None and progress(message, fraction):
        raise CancelledError(f"study cancelled at: {message}")


def _performance_tables(perf: Sequence[CohortPerformance]) -> dict[str, pd.DataFrame]:
    def cat(attr: str) -> pd.DataFrame:
        return pd.concat([getattr(p, attr) for p in perf], ignore_index=True)

    comparisons = cat("comparisons")
    table5 = cat("discrimination").merge(
        comparisons[["cohort", "model_a", "p_value"]].rename(columns={"model_a": "model", "p_value": "p_vs_clinical"}),
        on=["cohort", "model"], how="left")
    first = ["cohort", "model"]
    return {"table5": table5[first + [c for c in table5.columns if c not in first]], "comparisons": comparisons,
            "calibration": cat("calibration"), "roc_curves": cat("roc_curves"),
            "calibration_curves": cat("calibration_curves"), "decision_curves": cat("decision_curves")}


def _predictions(models, data: _Data, patients: pd.Index) -> pd.DataFrame:
    frame = data.labels.loc[patients, ["cohort", "resistant"]].copy()
    for name, prob in _probabilities(models, data.design.loc[patients]).items():
        frame[f"{name}_probability"] = prob
        frame[f"{name}_class"] = np.where(prob >= models[name].threshold, "resistant", "sensitive")
    radscore = models["combined"].radscore if "combined" in models else None
    if radscore is not None:
        frame["rad_score"] = radscore.compute(data.design.loc[patients])
    return frame.rename_axis("patient_id").reset_index()


def run_study(features: pd.DataFrame, cohort: pd.DataFrame, config: StudyConfig | Mapping | str | Path | None = None,
              *, analysis: AnalysisConfig | Mapping | str | Path | None = None, seed: int = 0,
              progress: Progress | None = None, leading_steps: Sequence[LeadingStep] = ()) -> StudyResult:
    """Run the seed paper's analysis.

    Parameters
    ----------
    features : DataFrame
        One row per patient (index ``patient_id``, or ``(patient_id, timepoint)``, or a ``patient_id``
        column); numeric columns are the candidate features (pyradiomics names, ``adc_mean``, ...).
    cohort : DataFrame
        The manifest frame (docs/manifest.md) with clinical and outcome columns.
    config : StudyConfig, mapping or YAML path, optional
        Overrides of ``params/study.yaml``.
    analysis : AnalysisConfig, mapping or YAML path, optional
        The analysis parameters the features were extracted with (``analysis_parameters.json`` beside an
        ``extract`` table); every model carries them as content. Models without them cannot be written.
    seed : int
        Root seed: LASSO folds, CV folds and bootstrap replicates derive from it.
    progress : callable ``(message, fraction) -> bool``, optional
        Returning True cancels (:class:`~NACResistanceLib.errors.CancelledError`).
    leading_steps : sequence of selection.LeadingStep
        Caller-supplied filters run first in the selection funnel, in order, in the fit and in every
        cross-validation fold and bootstrap replicate, and recorded as the first rows of ``funnel``
        (e.g. ``robustness.funnel_step(decision)``, the ICC filter).
    """
    config = config if isinstance(config, StudyConfig) else load_study_config(config)
    _tell(progress, "preparing labels and features", 0.0)
    data = _prepare(features, cohort, config)
    train, val = data.part("training"), data.part("validation")
    y_train = data.labels.loc[train, "resistant"].to_numpy(float)
    _tell(progress, "fitting the three models", 0.02)
    training = {"data": config.data_description, "split_date": config.split_date, "seed": seed,
                "exam_dates": [data.labels.loc[train, "exam_date"].min(), data.labels.loc[train, "exam_date"].max()]}
    leading = tuple(leading_steps) + data.leading
    task = PipelineTask(data.design.loc[train].reset_index(drop=True), y_train, data.feature_names,
                        config.models, config.selection, leading)
    fitted = fit_models(task.design, y_train, data.feature_names, settings=config.models, selection=config.selection,
                        leading_steps=leading, random_state=seed, training=training,
                        analysis_config=None if analysis is None else load_analysis_config(analysis).to_dict())
    models = fitted.as_dict()
    val_ok = _predictable(models, data.design, val)
    exclusions = pd.concat([data.exclusions, pd.DataFrame({"patient_id": val.difference(val_ok),
                                                           "reason": "validation features missing"})],
                           ignore_index=True)
    parts = {"training": (data.design.loc[train], y_train),
             "validation": (data.design.loc[val_ok], data.labels.loc[val_ok, "resistant"].to_numpy(float))}
    perf = [p for p in (_evaluate(n, models, d, y, config) for n, (d, y) in parts.items()) if p is not None]
    _tell(progress, f"{config.validation.cv_folds}-fold cross-validation", 0.1)
    cv = cross_validate(task, n_folds=config.validation.cv_folds, seed=seed, progress=_stage(progress, 0.1, 0.3))
    optimism = bootstrap_optimism(task, apparent_performance(fitted, task.design, y_train),
                                  n_boot=config.validation.n_boot_optimism, seed=seed,
                                  workers=config.validation.workers, progress=_stage(progress, 0.3, 0.95))
    _tell(progress, "bootstrap stability and tables", 0.95)
    table1, table2, table3 = _descriptive_tables(data, config)
    warnings = list(data.warnings) + list(fitted.notes) + [f"bootstrap replicate {f.replicate} failed: {f.reason}" for f in optimism.failures]
    if len(perf) < 2:
        warnings.append("the validation cohort is empty or has one class: no validation metrics")
    selection_tables = _selection_tables(fitted)
    predictions = _predictions(models, data, train.append(val_ok))
    training_design = data.design.loc[train]
    result = StudyResult(
        config=config, seed=seed, cohort=data.labels, exclusions=exclusions,
        table1=table1, table2=table2, table3=table3, **selection_tables,
        table4=_table4(fitted, task.design, y_train, config.validation.level), **_performance_tables(perf),
        unpaired=_unpaired(models, parts), table6=_table6(models, parts, optimism.table, config, seed),
        optimism=optimism.table.reset_index(), cross_validation=cv.table.rename_axis("model").reset_index(),
        predictions=predictions, models=models, warnings=tuple(warnings),
        lasso_lambdas=numbers.lasso_lambdas(selection_tables["lasso_cv"], config.selection.lasso_choice),
        roc_bands=numbers.roc_bands(predictions, models, config.validation.n_boot_performance, seed),
        table3_display=numbers.table3_display(table3, training_design, data.labels["resistant"]),
        nomogram=numbers.nomogram_terms(models["combined"], models["combined"].term_values(training_design)))
    _tell(progress, "done", 1.0)
    return result
