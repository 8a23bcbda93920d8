"""Feature selection: near-zero variance, correlation pruning, univariate screening, LASSO with CV.

:class:`SelectionFunnel` chains the steps (after any caller-supplied :class:`LeadingStep`, e.g. an
ICC >= 0.75 reproducibility filter) and records how many features each removed (the seed:
851 -> 127 near-zero -> 358 correlated -> 366 -> 10).
"""

from __future__ import annotations

from .filters import (
    correlation_prune,
    near_zero_variance,
    univariate_auc,
    univariate_screen,
    univariate_wald_p,
)
from .funnel import FunnelStep, LeadingStep, SelectionFunnel, SelectionSettings
from .lasso import LassoCV, LassoPath, lambda_grid, lasso_cv, lasso_path, make_foldid

__all__ = [
    "FunnelStep", "LassoCV", "LassoPath", "LeadingStep", "SelectionFunnel", "SelectionSettings",
    "correlation_prune", "lambda_grid", "lasso_cv", "lasso_path", "make_foldid", "near_zero_variance",
    "univariate_auc", "univariate_screen", "univariate_wald_p",
]
