"""Unsupervised and univariate feature filters: near-zero variance, correlation pruning, screening.

Each filter takes ``X`` (n, p) DataFrame (and ``y`` where needed) and returns the kept column
names in their original order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.special import expit

NZV_FREQ_RATIO = 95 / 5
NZV_UNIQUE_PCT = 10.0


def near_zero_variance(X: pd.DataFrame, freq_ratio: float = NZV_FREQ_RATIO,
                       unique_pct: float = NZV_UNIQUE_PCT) -> list[str]:
    """Drop constant and near-zero-variance columns, defined as R caret's ``nearZeroVar`` does.

    A column is removed when it has one distinct value, or when BOTH the ratio of the most frequent
    value's count to the second most frequent's exceeds ``freq_ratio`` (default 95/5 = 19) AND
    distinct values make up at most ``unique_pct`` % (default 10) of the rows.
    """
    top, second, distinct = _value_counts(X.to_numpy(dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        near_zero = (top / second > freq_ratio) & (100.0 * distinct / len(X) <= unique_pct)
    keep = (distinct > 1) & ~near_zero
    return [name for name, kept in zip(list(X.columns), keep) if kept]


def _value_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p,) counts of the most and second most frequent value and number of distinct values per column.

    NaN is ignored. Vectorised: columns are sorted, runs of equal values numbered and counted.
    """
    n, p = values.shape
    ordered = np.sort(values, axis=0)  # NaN last
    present = ~np.isnan(ordered)
    starts = present.copy()
    starts[1:] &= ordered[1:] != ordered[:-1]
    run = np.where(present, np.cumsum(starts, axis=0) - 1, n)
    counts = np.bincount((run * p + np.arange(p)).ravel(), minlength=(n + 1) * p).reshape(n + 1, p)[:n]
    top_two = -np.sort(-counts, axis=0)[:2] if n >= 2 else np.vstack([counts, np.zeros((1, p))])
    return top_two[0].astype(float), top_two[1].astype(float), starts.sum(axis=0)


def univariate_auc(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(p,) Mann-Whitney AUC of each column of ``X`` (n, p) for 0/1 ``y``, ties counted 0.5."""
    ranks = sps.rankdata(X, axis=0)
    n1 = y.sum()
    n0 = y.size - n1
    return (ranks[y == 1].sum(axis=0) - n1 * (n1 + 1) / 2) / (n1 * n0)


def correlation_prune(X: pd.DataFrame, y, threshold: float = 0.9) -> list[str]:
    """Greedy Pearson pruning: no two kept columns have |r| > ``threshold``.

    Deterministic keep rule: columns are visited in decreasing univariate discrimination
    |AUC - 0.5| (ties: column order); a column is kept unless it correlates above the threshold
    with a column kept before it. So of a correlated pair, the one more associated with the
    outcome stays.
    """
    values = X.to_numpy(dtype=float)
    y = np.asarray(y, dtype=float)
    order = np.argsort(-np.abs(univariate_auc(values, y) - 0.5), kind="stable")
    r = np.abs(np.corrcoef(values, rowvar=False)) if values.shape[1] > 1 else np.zeros((1, 1))
    blocked = np.zeros(values.shape[1], dtype=bool)
    kept = np.zeros(values.shape[1], dtype=bool)
    for j in order:
        if not blocked[j]:
            kept[j] = True
            blocked |= ~(r[:, j] <= threshold)  # NaN (a constant column) blocks too
    return [name for name, keep in zip(list(X.columns), kept) if keep]


NEWTON_TOL = 1e-12
"""A univariate model has converged when its Newton step (|Δb0| + |Δb1|, standardised x) is below this."""


def univariate_wald_p(X: np.ndarray, y: np.ndarray, iterations: int = 30) -> np.ndarray:
    """(p,) Wald p-values of the slope in p separate logistic models ``y ~ 1 + x_j``.

    All p two-parameter models are solved together by Newton-Raphson (closed-form 2x2 inverse) on
    standardised columns; each model stops when its step falls below ``NEWTON_TOL`` (or after
    ``iterations``). A column that separates the classes ends with a huge SE and p near 1.
    """
    x = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    ybar = y.mean()
    b0 = np.full(x.shape[1], np.log(ybar / (1 - ybar)))
    b1 = np.zeros(x.shape[1])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        active = np.arange(x.shape[1])
        for _ in range(iterations):
            step0, step1 = _newton_step(x[:, active], y, b0[active], b1[active])
            b0[active] += step0
            b1[active] += step1
            active = active[np.abs(step0) + np.abs(step1) > NEWTON_TOL]  # NaN (constant column) stops too
            if active.size == 0:
                break
        return _wald_p(x, b0, b1)


def _information(x, b0, b1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(n, p) fitted probabilities and the (p,) entries h00, h01, h11 of each 2x2 information matrix."""
    p = expit(b0 + x * b1)
    w = p * (1 - p)
    return p, w.sum(axis=0), (w * x).sum(axis=0), (w * x * x).sum(axis=0)


def _newton_step(x, y, b0, b1) -> tuple[np.ndarray, np.ndarray]:
    p, h00, h01, h11 = _information(x, b0, b1)
    r = y[:, None] - p
    g0, g1 = r.sum(axis=0), (x * r).sum(axis=0)
    det = h00 * h11 - h01**2
    return (h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det


def _wald_p(x, b0, b1) -> np.ndarray:
    _, h00, h01, h11 = _information(x, b0, b1)
    se = np.sqrt(h00 / (h00 * h11 - h01**2))
    pvalue = 2 * sps.norm.sf(np.abs(b1 / se))
    return np.where(np.isfinite(pvalue), pvalue, 1.0)


def univariate_screen(X: pd.DataFrame, y, alpha: float = 0.05) -> list[str]:
    """Keep columns whose univariate logistic Wald p-value is below ``alpha``."""
    p = univariate_wald_p(X.to_numpy(dtype=float), np.asarray(y, dtype=float))
    return [name for name, value in zip(X.columns, p) if value < alpha]
