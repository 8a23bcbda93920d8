"""Delta radiomics: per-patient change of every feature between two time points, and feature sets.

The review's RS1 / RS2 / Delta RS comparison trains one model on baseline features (RS1), one on the
features after two cycles (RS2) and one on their change (Delta RS). :func:`delta_features` computes the
change; :func:`feature_sets` builds the frames those models are trained on, all over the same patients
so that their AUCs can be compared with paired DeLong tests.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import ManifestError

BASELINE = "baseline"
"""Default baseline time point label (manifest column ``timepoint``)."""
FOLLOWUP = "cycle2"
"""Default follow-up time point label: after two cycles of chemotherapy."""
ABSOLUTE_PREFIX = "delta_"
"""Prefix of absolute-change columns: ``delta_<feature> = followup - baseline`` (feature unit)."""
RELATIVE_PREFIX = "reldelta_"
"""Prefix of relative-change columns: ``reldelta_<feature> = (followup - baseline) / |baseline|`` (ratio)."""
FEATURE_SET_NAMES = ("baseline", "followup", "delta", "baseline+delta", "baseline+followup")
"""Feature sets :func:`feature_sets` can build, in report order (RS1, RS2, Delta RS, combinations)."""


@dataclass(frozen=True)
class DeltaFeatures:
    """Absolute and relative change of every feature between two time points, one row per patient."""

    frame: pd.DataFrame
    """Indexed by ``patient_id``; columns ``delta_<f>`` then ``reldelta_<f>`` for every feature ``f``."""
    baseline: str
    """Baseline time point label."""
    followup: str
    """Follow-up time point label."""
    undefined_relative: pd.Series
    """Per feature: patients whose relative change is NaN because ``|baseline| <= zero_tolerance`` (count)."""
    patients_without_both: tuple[str, ...]
    """Patients left out because one of the two time points is missing."""

    @property
    def warnings(self) -> tuple[str, ...]:
        """Human-readable caveats: left-out patients and undefined relative changes."""
        messages = []
        if self.patients_without_both:
            messages.append(f"{len(self.patients_without_both)} patient(s) lack time point {self.baseline!r} or "
                            f"{self.followup!r} and have no delta features: {', '.join(self.patients_without_both)}")
        undefined = self.undefined_relative[self.undefined_relative > 0]
        if len(undefined):
            messages.append(f"relative change undefined (zero baseline) for {len(undefined)} feature(s), e.g. "
                            f"{undefined.index[0]} in {int(undefined.iloc[0])} patient(s)")
        return tuple(messages)


def _split_timepoints(features: pd.DataFrame, baseline: str, followup: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The numeric baseline and follow-up frames (indexed by patient_id) of a long feature table."""
    if list(features.index.names) != ["patient_id", "timepoint"]:
        raise ManifestError(f"delta features need a table indexed by (patient_id, timepoint), got index "
                            f"{list(features.index.names)}; use ExamAnalysis.to_frame() rows or set_index")
    timepoints = set(features.index.get_level_values("timepoint"))
    missing = [t for t in (baseline, followup) if t not in timepoints]
    if missing:
        raise ManifestError(f"time point(s) {missing} not in the feature table (column timepoint has "
                            f"{sorted(timepoints)}); set baseline/followup to existing labels")
    numeric = features.select_dtypes("number")
    return numeric.xs(baseline, level="timepoint"), numeric.xs(followup, level="timepoint")


def delta_features(features: pd.DataFrame, *, baseline: str = BASELINE, followup: str = FOLLOWUP,
                   zero_tolerance: float = 1e-12) -> DeltaFeatures:
    """Absolute and relative change of every numeric feature from ``baseline`` to ``followup``.

    Parameters
    ----------
    features : DataFrame
        Long table indexed by ``(patient_id, timepoint)``, one row per exam (e.g. the rows of
        ``ExamAnalysis.to_frame()`` concatenated); non-numeric columns are ignored.
    baseline, followup : str
        Time point labels of the two exams.
    zero_tolerance : float
        A baseline value with ``|baseline| <= zero_tolerance`` (feature unit) has no relative change.

    Returns
    -------
    DeltaFeatures
        Patients with both time points, in baseline order.

    Raises
    ------
    ManifestError
        If the index is not ``(patient_id, timepoint)`` or a time point label is absent.

    Notes
    -----
    ``delta_f = f(followup) - f(baseline)`` in the feature's unit, and
    ``reldelta_f = (f(followup) - f(baseline)) / |f(baseline)|``. Dividing by the magnitude keeps the
    sign of the change for negative baselines (a value going from -2 to -1 has ``reldelta = +0.5``);
    a zero baseline (``|f| <= zero_tolerance``) gives NaN, counted in ``undefined_relative``, never a
    substitute value.
    """
    before, after = _split_timepoints(features, baseline, followup)
    both = [p for p in before.index if p in after.index]
    without = sorted(set(before.index).symmetric_difference(after.index), key=str)
    before, after = before.loc[both], after.loc[both, before.columns]
    change = after - before
    magnitude = before.abs()
    zero = magnitude <= zero_tolerance
    relative = change / magnitude.where(~zero)
    frame = pd.concat([change.add_prefix(ABSOLUTE_PREFIX), relative.add_prefix(RELATIVE_PREFIX)], axis=1)
    frame.index.name = "patient_id"
    return DeltaFeatures(frame=frame, baseline=baseline, followup=followup,
                         undefined_relative=zero.sum().astype(int), patients_without_both=tuple(without))


@dataclass(frozen=True)
class FeatureSets:
    """Feature frames for models trained on different time points, all over the same patients."""

    frames: dict[str, pd.DataFrame]
    """Feature set name (:data:`FEATURE_SET_NAMES`) -> frame indexed by ``patient_id``."""
    dropped_columns: dict[str, tuple[str, ...]]
    """Per set: columns left out because they are NaN for some patient (e.g. undefined relative change)."""
    delta: DeltaFeatures
    """The delta features the sets were built from (with their caveats)."""

    @property
    def warnings(self) -> tuple[str, ...]:
        dropped = [f"{name}: {len(cols)} column(s) with missing values left out"
                   for name, cols in self.dropped_columns.items() if cols]
        return self.delta.warnings + tuple(dropped)


def feature_sets(features: pd.DataFrame, names: Sequence[str] = ("baseline", "followup", "delta"), *,
                 baseline: str = BASELINE, followup: str = FOLLOWUP) -> FeatureSets:
    """Build the named feature sets (RS1, RS2, Delta RS, ...) over the patients that have both time points.

    Parameters
    ----------
    features : DataFrame
        Long table indexed by ``(patient_id, timepoint)`` (see :func:`delta_features`).
    names : sequence of str
        Any of :data:`FEATURE_SET_NAMES`. Baseline columns keep their names; follow-up columns keep
        theirs in ``"followup"`` and get the prefix ``"<followup>_"`` when combined with baseline columns;
        ``"delta"`` holds the ``delta_`` and ``reldelta_`` columns.
    baseline, followup : str
        Time point labels.

    Returns
    -------
    FeatureSets
        Every frame has the same patients in the same order. Columns with a NaN for some patient are
        left out of that set and listed in ``dropped_columns``.

    Raises
    ------
    ManifestError
        If a name is unknown, or as :func:`delta_features`.
    """
    unknown = [n for n in names if n not in FEATURE_SET_NAMES]
    if unknown:
        raise ManifestError(f"unknown feature set(s) {unknown}; choose from {list(FEATURE_SET_NAMES)}")
    delta = delta_features(features, baseline=baseline, followup=followup)
    before, after = _split_timepoints(features, baseline, followup)
    patients = delta.frame.index
    parts = {
        "baseline": [before.loc[patients]],
        "followup": [after.loc[patients]],
        "delta": [delta.frame],
        "baseline+delta": [before.loc[patients], delta.frame],
        "baseline+followup": [before.loc[patients], after.loc[patients].add_prefix(f"{followup}_")],
    }
    frames, dropped = {}, {}
    for name in names:
        frame = pd.concat(parts[name], axis=1)
        incomplete = frame.columns[frame.isna().any().to_numpy()]
        frames[name] = frame.drop(columns=incomplete).rename_axis("patient_id")
        dropped[name] = tuple(incomplete)
    return FeatureSets(frames=frames, dropped_columns=dropped, delta=delta)


@dataclass(frozen=True)
class AucComparison:
    """AUCs of models trained on different feature sets, and paired DeLong tests between them."""

    aucs: pd.DataFrame
    """One row per model: ``model, auc, ci_low, ci_high, n_cases, n_controls`` (DeLong CI)."""
    tests: pd.DataFrame
    """One row per pair: ``model_a, model_b, auc_a, auc_b, difference, ci_low, ci_high, z, p_value``."""


def compare_aucs(y_true, scores: dict[str, Sequence[float]], *, level: float = 0.95) -> AucComparison:
    """AUC with DeLong CI for every model, and a paired DeLong test for every pair (later vs earlier).

    Parameters
    ----------
    y_true : (n,) array of 0/1
        Outcome of the same ``n`` patients for every model (1 = resistant).
    scores : dict of str to (n,) array
        Model name -> predicted probability (or any score, higher = more likely resistant), in the order
        the report lists them (e.g. baseline, followup, delta); pair ``(a, b)`` tests the later model
        ``a`` against the earlier ``b``.
    level : float
        Confidence level of the AUC and difference intervals.
    """
    from .stats import delong_test, roc_auc_ci

    names = list(scores)
    aucs = []
    for name in names:
        result = roc_auc_ci(y_true, scores[name], level)
        aucs.append([name, result.auc, result.low, result.high, result.n_cases, result.n_controls])
    tests = []
    for j, b in enumerate(names):
        for a in names[j + 1:]:
            test = delong_test(y_true, scores[a], scores[b], level=level)
            tests.append([a, b, test.auc_a, test.auc_b, test.difference, test.difference_low,
                          test.difference_high, test.z, test.p_value])
    return AucComparison(
        aucs=pd.DataFrame(aucs, columns=["model", "auc", "ci_low", "ci_high", "n_cases", "n_controls"]),
        tests=pd.DataFrame(tests, columns=["model_a", "model_b", "auc_a", "auc_b", "difference", "ci_low",
                                           "ci_high", "z", "p_value"]),
    )


SUMMARY_FILE = "delta.json"
"""Sets, compared model, evaluation cohort and notes written beside the tables (read back by the report)."""
SET_LABELS = {"baseline": "RS1 (baseline)", "followup": "RS2 (after two cycles)", "delta": "Delta RS",
              "baseline+delta": "RS1 + Delta RS", "baseline+followup": "RS1 + RS2"}
"""Report label of each feature set, after the review's RS1 / RS2 / Delta RS."""


@dataclass(frozen=True)
class DeltaStudy:
    """Models trained on several feature sets of the same patients, and their AUC comparison."""

    sets: FeatureSets
    """The feature frames (and the delta features with their caveats)."""
    studies: dict
    """Feature set name -> ``study.StudyResult`` (every table of the seed paper for that set)."""
    model: str
    """Which of the study's models is compared (``"radiomics"``: the Rad-score model, or ``"combined"``)."""
    evaluation_cohort: str
    """``"validation"`` (temporal validation patients) or ``"training"`` (apparent, optimistic)."""
    predictions: pd.DataFrame
    """Per evaluated patient (index ``patient_id``): ``resistant`` and one probability column per set."""
    comparison: AucComparison
    """AUCs with DeLong CIs and paired DeLong tests, on ``predictions``."""
    notes: tuple[str, ...] = ()

    def roc_curves(self) -> pd.DataFrame:
        """Long table ``model, fpr, tpr, label`` of every set's ROC curve on the evaluated patients."""
        return roc_curves(self.predictions, list(self.studies))

    def write(self, out_dir) -> dict:
        """Write each set's study (``<set>/``), the delta features and the comparison tables; name -> path."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {name: result.write(out / name.replace("+", "_plus_")) for name, result in self.studies.items()}
        tables = {"delta_features": self.sets.delta.frame, "delta_predictions": self.predictions,
                  "delta_auc": self.comparison.aucs.set_index("model"),
                  "delta_delong": self.comparison.tests.set_index(["model_a", "model_b"])}
        for name, table in tables.items():
            paths[name] = out / f"{name}.csv"
            table.to_csv(paths[name], lineterminator="\n")
        summary = {"sets": list(self.studies), "model": self.model, "evaluation_cohort": self.evaluation_cohort,
                   "n_patients": len(self.predictions), "notes": list(self.notes)}
        paths["summary"] = out / SUMMARY_FILE
        paths["summary"].write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        return paths


def roc_curves(predictions: pd.DataFrame, sets: Sequence[str]) -> pd.DataFrame:
    """Long table ``model, fpr, tpr, label`` of each set's ROC curve from a predictions table
    (column ``resistant`` and one probability column per set, as ``delta_predictions.csv``)."""
    from .stats import roc_curve_frame

    frames = []
    for name in sets:
        curve = roc_curve_frame(predictions["resistant"], predictions[name]).iloc[::-1]
        frames.append(pd.DataFrame({"model": name, "fpr": 1 - curve["specificity"].to_numpy(),
                                    "tpr": curve["sensitivity"].to_numpy(), "label": SET_LABELS.get(name, name)}))
    return pd.concat(frames, ignore_index=True)


def _unreproducible(columns, removed: set, followup: str) -> list[str]:
    """Columns whose underlying feature is in ``removed`` (``delta_f``, ``reldelta_f``, ``<followup>_f``, ``f``)."""
    prefixes = (ABSOLUTE_PREFIX, RELATIVE_PREFIX, f"{followup}_")
    base = {c: next((c[len(p):] for p in prefixes if c.startswith(p) and c[len(p):] in removed), c) for c in columns}
    return [c for c in columns if base[c] in removed]


def _icc_step(decision, columns, followup: str):
    """``robustness.funnel_step(decision)`` widened to the set's columns derived from a removed feature."""
    from .robustness import funnel_step
    from .robustness.filter import KeepReproducible

    removed = _unreproducible(columns, set(decision.removed), followup)
    return dataclasses.replace(funnel_step(decision), keep=KeepReproducible(frozenset(removed)))


def _evaluated(studies: dict, model: str) -> tuple[str, pd.DataFrame]:
    """Evaluation cohort and per-patient probabilities of ``model`` for every set, on common patients."""
    column = f"{model}_probability"
    frames = {name: r.predictions.set_index("patient_id") for name, r in studies.items()}
    first = next(iter(frames.values()))
    cohort = "validation"
    validation = first.loc[first["cohort"] == "validation", "resistant"]
    if validation.nunique() < 2:
        cohort = "training"
    patients = first.index[first["cohort"] == cohort]
    for frame in frames.values():
        patients = patients.intersection(frame.index[frame["cohort"] == cohort], sort=False)
    table = first.loc[patients, ["resistant"]].copy()
    for name, frame in frames.items():
        table[name] = frame.loc[patients, column].to_numpy(dtype=float)
    return cohort, table


def run_delta_study(features: pd.DataFrame, cohort: pd.DataFrame, *,
                    sets: Sequence[str] = ("baseline", "followup", "delta"), baseline: str = BASELINE,
                    followup: str = FOLLOWUP, study_config=None, model: str = "radiomics",
                    icc_decision=None, analysis=None, seed: int = 0, progress=None) -> DeltaStudy:
    """Train the seed study's models on each feature set and compare their AUCs (RS1 / RS2 / Delta RS).

    Parameters
    ----------
    features : DataFrame
        Long feature table indexed by ``(patient_id, timepoint)`` (``extract``'s ``features.csv``).
    cohort : DataFrame
        The manifest frame; clinical and outcome values come from its ``baseline`` rows.
    sets : sequence of str
        Feature sets (:data:`FEATURE_SET_NAMES`), compared in this order (RS1 first).
    baseline, followup : str
        Time point labels.
    study_config : study.StudyConfig, mapping, YAML path or None
        Overrides of ``params/study.yaml`` (its ``timepoint`` must be the baseline label: labels and
        clinical variables are pre-treatment).
    model : {"radiomics", "combined"}
        The model compared across sets: the Rad-score model (default) or the combined model.
    icc_decision : robustness.IccFilterDecision, optional
        The ICC filter of ``reproducibility``: the first step of every study's selection funnel (and of
        its cross-validation folds and bootstrap replicates) removes the features it removed and their
        delta and follow-up columns; the funnel table records it as ``icc_filter``.
    analysis : config.AnalysisConfig, mapping or None
        The analysis parameters the features were extracted with, carried by every model (see ``run_study``).
    seed : int
        Root seed of every study (LASSO folds, CV, bootstrap).
    progress : callable, optional
        ``progress(message, fraction) -> bool``; True cancels.

    Returns
    -------
    DeltaStudy
        AUCs on the temporal validation cohort when it has both classes, else on the training cohort
        (apparent performance, stated in ``notes``).
    """
    from .study import load_study_config, run_study

    config = load_study_config(study_config) if not hasattr(study_config, "timepoint") else study_config
    if config.timepoint != baseline:
        raise ManifestError(f"study timepoint is {config.timepoint!r} but the baseline is {baseline!r}; set the "
                            "study configuration's timepoint to the baseline label")
    built = feature_sets(features, sets, baseline=baseline, followup=followup)
    notes = list(built.warnings)
    studies = {}
    for position, name in enumerate(sets):
        frame = built.frames[name]
        leading = [] if icc_decision is None else [_icc_step(icc_decision, frame.columns, followup)]
        stage = None if progress is None else (
            lambda message, fraction, p=position, n=name: progress(f"{n}: {message}", (p + fraction) / len(sets)))
        studies[name] = run_study(frame, cohort, config, analysis=analysis, seed=seed, progress=stage,
                                  leading_steps=leading)
    evaluation, predictions = _evaluated(studies, model)
    if evaluation == "training":
        notes.append("the validation cohort lacks resistant or sensitive patients: AUCs are apparent "
                     "(training) performance, optimistic")
    comparison = compare_aucs(predictions["resistant"].to_numpy(), {n: predictions[n].to_numpy() for n in sets})
    comparison = AucComparison(comparison.aucs.assign(label=lambda t: t["model"].map(SET_LABELS)), comparison.tests)
    return DeltaStudy(built, studies, model, evaluation, predictions, comparison, tuple(notes))
