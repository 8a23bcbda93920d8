"""Validation statistics: ROC/AUC with DeLong, calibration, decision curves, bootstrap, group tests.

Every function here follows a named reference implementation (pROC, ResourceSelection, rms,
dcurves); ``docs/statistics.md`` lists the conventions and the numbers the tests check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .bootstrap import ReplicateFailure, bootstrap_performance, run_replicates
    from .calibration import (
        CalibrationFit,
        HosmerLemeshow,
        SmoothCalibration,
        binned_calibration,
        brier_score,
        calibration_intercept_slope,
        hosmer_lemeshow,
        smooth_calibration,
    )
    from .decision import net_benefit
    from .groups import GroupTest, compare_categorical, compare_continuous
    from .performance import CohortPerformance, evaluate_cohort
    from .roc import (
        AucResult,
        ClassificationSummary,
        DelongTest,
        StatisticsInputError,
        UnpairedAucTest,
        delong_test,
        roc_auc_ci,
        roc_curve_frame,
        sensitivity_specificity,
        unpaired_auc_test,
        youden_threshold,
    )
    from .tables import comparison_table

__getattr__ = lazy_exports(__name__, {
    "ReplicateFailure": "bootstrap",
    "bootstrap_performance": "bootstrap",
    "run_replicates": "bootstrap",
    "CalibrationFit": "calibration",
    "HosmerLemeshow": "calibration",
    "SmoothCalibration": "calibration",
    "binned_calibration": "calibration",
    "brier_score": "calibration",
    "calibration_intercept_slope": "calibration",
    "hosmer_lemeshow": "calibration",
    "smooth_calibration": "calibration",
    "net_benefit": "decision",
    "GroupTest": "groups",
    "compare_categorical": "groups",
    "compare_continuous": "groups",
    "CohortPerformance": "performance",
    "evaluate_cohort": "performance",
    "AucResult": "roc",
    "ClassificationSummary": "roc",
    "DelongTest": "roc",
    "StatisticsInputError": "roc",
    "UnpairedAucTest": "roc",
    "delong_test": "roc",
    "roc_auc_ci": "roc",
    "roc_curve_frame": "roc",
    "sensitivity_specificity": "roc",
    "unpaired_auc_test": "roc",
    "youden_threshold": "roc",
    "comparison_table": "tables",
})
"""Each submodule is imported when one of its names is first used: predicting needs ``logit.sigmoid``
only, not scipy.stats (0.4 s of imports)."""

__all__ = [
    "CohortPerformance", "ReplicateFailure", "bootstrap_performance", "comparison_table", "evaluate_cohort",
    "run_replicates",
    "AucResult", "CalibrationFit", "ClassificationSummary", "DelongTest", "GroupTest", "HosmerLemeshow",
    "SmoothCalibration", "StatisticsInputError", "UnpairedAucTest", "binned_calibration", "brier_score",
    "calibration_intercept_slope", "compare_categorical", "compare_continuous", "delong_test",
    "hosmer_lemeshow", "net_benefit", "roc_auc_ci", "roc_curve_frame", "sensitivity_specificity",
    "smooth_calibration", "unpaired_auc_test", "youden_threshold",
]
