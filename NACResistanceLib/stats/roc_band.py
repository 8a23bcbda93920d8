"""Pointwise confidence band of an ROC curve by stratified bootstrap (pROC ``ci.se`` method).

For each replicate, cases and controls are resampled separately with replacement (their counts
fixed, as pROC's ``stratified = TRUE``), the empirical ROC curve is recomputed and its sensitivity
read at fixed false-positive rates; the band is the ``(1 - level) / 2`` and ``(1 + level) / 2``
quantiles over replicates at each rate (Robin et al. 2011, pROC ``ci.se``; Macskassy & Provost 2004
on pointwise bands). Replicates draw from ``np.random.default_rng(seed)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .roc import split_cases


def roc_points(cases: np.ndarray, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empirical ROC vertices, positive when score >= threshold, from (0, 0) to (1, 1).

    Returns
    -------
    fpr, tpr : (m,) arrays, both non-decreasing.
    """
    thresholds = np.unique(np.concatenate([cases, controls]))[::-1]
    tpr = (cases[None, :] >= thresholds[:, None]).mean(axis=1)
    fpr = (controls[None, :] >= thresholds[:, None]).mean(axis=1)
    return np.concatenate([[0.0], fpr]), np.concatenate([[0.0], tpr])


def sensitivity_at(fpr_grid: np.ndarray, fpr: np.ndarray, tpr: np.ndarray) -> np.ndarray:
    """Highest sensitivity reachable with a false-positive rate <= each value of ``fpr_grid``."""
    index = np.searchsorted(fpr, fpr_grid, side="right") - 1
    return np.maximum.accumulate(tpr)[np.clip(index, 0, None)]


def roc_band(y_true, score, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
             fpr_grid: np.ndarray | None = None) -> pd.DataFrame:
    """Empirical ROC curve on a false-positive-rate grid with its bootstrap band.

    Parameters
    ----------
    y_true : (n,) 0/1 outcomes.
    score : (n,) scores, larger = more likely positive.
    n_boot : int
        Stratified bootstrap replicates.
    seed : int
        Seed of ``np.random.default_rng``.
    level : float
        Coverage of the pointwise band.
    fpr_grid : (g,) array, optional
        False-positive rates (default 0, 0.01, ..., 1).

    Returns
    -------
    DataFrame
        Columns ``fpr``, ``tpr`` (the curve on all data), ``tpr_low``, ``tpr_high``.
    """
    cases, controls = split_cases(y_true, score)
    grid = np.linspace(0.0, 1.0, 101) if fpr_grid is None else np.asarray(fpr_grid, dtype=float)
    rng = np.random.default_rng(seed)
    replicates = np.empty((n_boot, grid.size))
    for b in range(n_boot):
        resampled = rng.choice(cases, cases.size), rng.choice(controls, controls.size)
        replicates[b] = sensitivity_at(grid, *roc_points(*resampled))
    low, high = np.quantile(replicates, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return pd.DataFrame({"fpr": grid, "tpr": sensitivity_at(grid, *roc_points(cases, controls)),
                         "tpr_low": low, "tpr_high": high})
