"""Performance of several models on one cohort: Table 5 rows, DeLong comparisons, calibration, curves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calibration import (
    binned_calibration,
    brier_score,
    calibration_intercept_slope,
    hosmer_lemeshow,
    smooth_calibration,
)
from .decision import net_benefit
from .roc import StatisticsInputError, delong_test, roc_auc_ci, roc_curve_frame, sensitivity_specificity


@dataclass(frozen=True)
class CohortPerformance:
    """Every validation table of one cohort (tidy DataFrames with a ``cohort`` column)."""

    discrimination: pd.DataFrame
    """Per model: auc, auc_low, auc_high, threshold, sensitivity (+ CI, counts), specificity (+ CI, counts)."""
    comparisons: pd.DataFrame
    """Paired DeLong test of each model against the reference model: model_a, model_b, auc difference,
    its CI, z, p_value."""
    calibration: pd.DataFrame
    """Per model: hl_statistic, hl_df, hl_p_value, calibration_intercept, calibration_slope, brier."""
    roc_curves: pd.DataFrame
    """Long: model, threshold, sensitivity, specificity, false_positive_rate."""
    calibration_curves: pd.DataFrame
    """Long: model, kind ("binned" quantile groups or "lowess"), predicted, observed."""
    decision_curves: pd.DataFrame
    """Long: strategy (model names, treat_all, treat_none), threshold, net_benefit, tp_rate, fp_rate."""


def _discrimination_row(y, prob, threshold, level, method) -> dict:
    auc = roc_auc_ci(y, prob, level)
    summary = sensitivity_specificity(y, prob, threshold, method=method, level=level)
    se, sp = summary.sensitivity, summary.specificity
    return {"auc": auc.auc, "auc_low": auc.low, "auc_high": auc.high, "threshold": threshold,
            "sensitivity": se.estimate, "sensitivity_low": se.low, "sensitivity_high": se.high,
            "specificity": sp.estimate, "specificity_low": sp.low, "specificity_high": sp.high,
            "true_positive": se.successes, "cases": se.total, "true_negative": sp.successes,
            "controls": sp.total, "proportion_ci": method}


def _calibration_row(y, prob, groups) -> dict:
    try:
        hl = hosmer_lemeshow(y, prob, groups)
        values = (hl.statistic, hl.df, hl.p_value)
    except StatisticsInputError:  # fewer than 3 distinct predictions (e.g. one binary predictor)
        values = (np.nan, np.nan, np.nan)
    fit = calibration_intercept_slope(y, prob)
    return {"hl_statistic": values[0], "hl_df": values[1], "hl_p_value": values[2],
            "calibration_intercept": fit.intercept, "calibration_slope": fit.slope, "brier": brier_score(y, prob)}


def _comparisons(y, probs: Mapping[str, np.ndarray], reference: str, level: float) -> pd.DataFrame:
    rows = []
    for name, prob in probs.items():
        if name != reference:
            test = delong_test(y, prob, probs[reference], level=level)
            rows.append({"model_a": name, "model_b": reference, "auc_a": test.auc_a, "auc_b": test.auc_b,
                         "difference": test.difference, "difference_low": test.difference_low,
                         "difference_high": test.difference_high, "z": test.z, "p_value": test.p_value})
    return pd.DataFrame(rows)


def _curves(y, probs: Mapping[str, np.ndarray], groups: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    roc, calib = [], []
    for name, prob in probs.items():
        curve = roc_curve_frame(y, prob).assign(model=name)
        roc.append(curve.assign(false_positive_rate=1 - curve["specificity"]))
        binned = binned_calibration(y, prob, groups)[["predicted", "observed"]].assign(kind="binned")
        smooth = smooth_calibration(y, prob).curve.assign(kind="lowess")
        calib.append(pd.concat([binned, smooth], ignore_index=True).assign(model=name))
    roc_frame = pd.concat(roc, ignore_index=True)[["model", "threshold", "sensitivity", "specificity",
                                                    "false_positive_rate"]]
    return roc_frame, pd.concat(calib, ignore_index=True)[["model", "kind", "predicted", "observed"]]


def evaluate_cohort(cohort: str, y, probs: Mapping[str, np.ndarray], thresholds: Mapping[str, float], *,
                    reference: str = "clinical", level: float = 0.95, proportion_ci: str = "wilson",
                    hl_groups: int = 10, dca_thresholds=None) -> CohortPerformance:
    """Evaluate fixed models (probabilities ``probs[name]``, thresholds fixed elsewhere) on one cohort.

    DeLong comparisons are paired, each model against ``reference`` (the seed's Table 5 "P*").
    ``dca_thresholds`` defaults to 0.01, 0.02, ..., 0.99.
    """
    y = np.asarray(y, dtype=float)
    dca_thresholds = np.arange(1, 100) / 100 if dca_thresholds is None else np.asarray(dca_thresholds)
    disc = pd.DataFrame([{"model": n, **_discrimination_row(y, p, thresholds[n], level, proportion_ci)}
                         for n, p in probs.items()])
    calib = pd.DataFrame([{"model": n, **_calibration_row(y, p, hl_groups)} for n, p in probs.items()])
    roc, calib_curves = _curves(y, probs, hl_groups)
    dca = [net_benefit(y, p, dca_thresholds, label=n) for n, p in probs.items()]
    decision = pd.concat([dca[0]] + [d[~d["strategy"].isin(["treat_all", "treat_none"])] for d in dca[1:]],
                         ignore_index=True)
    frames = [disc, _comparisons(y, probs, reference, level), calib, roc, calib_curves, decision]
    return CohortPerformance(*(f.assign(cohort=cohort) for f in frames))
