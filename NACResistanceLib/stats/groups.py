"""Group comparisons for the descriptive tables (seed Tables 1-3).

Rule (documented in docs/statistics.md):

- continuous: Student's two-sample t test (pooled variance, as SPSS's first line) when both groups
  pass Shapiro-Wilk at alpha = 0.05 (groups of 3-5000); otherwise the two-sided Mann-Whitney U test
  (scipy ``method="auto"``: exact without ties for small groups, else normal approximation with
  continuity correction).
- categorical: Pearson's chi-square without continuity correction when no expected count is < 1
  and at most 20% are < 5 (Cochran's rule); otherwise Fisher's exact test: scipy for 2 x 2, and for
  r x 2 the exact Freeman-Halton test enumerated here (as R's ``fisher.test``). scipy < 1.15 (Slicer's
  Python 3.9) has no r x c test, and scipy >= 1.15 estimates it by Monte Carlo from an unseeded
  generator, which would make Tables 1-2 change from run to run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as sps

from .roc import StatisticsInputError

SHAPIRO_ALPHA = 0.05


@dataclass(frozen=True)
class GroupTest:
    """One comparison between two groups."""

    test: str
    """"t", "mann_whitney", "chi2" or "fisher"."""
    statistic: float
    """t, U, chi-square, or (Fisher) the odds ratio / table probability (NaN for r x c)."""
    p_value: float


def _normal(values: np.ndarray) -> bool:
    if not 3 <= values.size <= 5000 or np.ptp(values) == 0:
        return False
    return bool(sps.shapiro(values).pvalue > SHAPIRO_ALPHA)


def compare_continuous(a, b) -> GroupTest:
    """Compare a continuous variable between groups ``a`` and ``b`` (NaN dropped) by the rule above."""
    x = np.asarray(a, dtype=float)
    z = np.asarray(b, dtype=float)
    x, z = x[np.isfinite(x)], z[np.isfinite(z)]
    if _normal(x) and _normal(z):
        result = sps.ttest_ind(x, z, equal_var=True)
        return GroupTest("t", float(result.statistic), float(result.pvalue))
    result = sps.mannwhitneyu(x, z, alternative="two-sided")
    return GroupTest("mann_whitney", float(result.statistic), float(result.pvalue))


def compare_categorical(table) -> GroupTest:
    """Compare a (categories x groups) count table by the rule above; empty rows are dropped."""
    counts = np.asarray(table, dtype=float)
    counts = counts[counts.sum(axis=1) > 0]
    if counts.shape[0] < 2:
        return GroupTest("chi2", 0.0, 1.0)
    expected = sps.contingency.expected_freq(counts)
    if expected.min() >= 1 and np.mean(expected < 5) <= 0.2:
        chi2, p, _, _ = sps.chi2_contingency(counts, correction=False)
        return GroupTest("chi2", float(chi2), float(p))
    if counts.shape == (2, 2):
        result = sps.fisher_exact(counts.astype(int))
        return GroupTest("fisher", float(result.statistic), float(result.pvalue))
    return GroupTest("fisher", float("nan"), fisher_exact_rx2(counts.astype(int)))


def fisher_exact_rx2(table: np.ndarray) -> float:
    """Two-sided Fisher-Freeman-Halton exact p-value of an (r, 2) count table.

    With the margins fixed, the first column ``x`` (r,) is multivariate hypergeometric:
    ``P(x) = prod_i C(n_i, x_i) / C(N, m)``. Every table is enumerated (the states grow with the
    number of tables, fine for the small counts Fisher's test is used for); the p-value sums the
    tables with ``P <= P(observed)·(1 + 1e-7)`` (the relative tolerance of R's ``fisher.test``).
    """
    table = np.asarray(table, dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 2:
        raise StatisticsInputError(f"Fisher's exact test here needs a (categories x 2 groups) table, got {table.shape}")
    rows, m = table.sum(axis=1), int(table[:, 0].sum())
    log_c = [special.gammaln(n + 1) - special.gammaln(np.arange(n + 1) + 1) - special.gammaln(n - np.arange(n + 1) + 1)
             for n in rows]
    sums, logp = np.zeros(1, dtype=np.int64), np.zeros(1)
    for n, lc in zip(rows, log_c):  # partial tables: running sum of x and log-probability numerator
        sums = (sums[:, None] + np.arange(n + 1)[None, :]).ravel()
        logp = (logp[:, None] + lc[None, :]).ravel()
        keep = sums <= m
        sums, logp = sums[keep], logp[keep]
    logp = logp[sums == m]
    observed = float(sum(lc[x] for lc, x in zip(log_c, table[:, 0])))
    total = special.logsumexp(logp)
    p = np.exp(logp - total)[logp <= observed + np.log1p(1e-7)].sum()
    return float(min(1.0, p))


def crosstab(values: pd.Series, groups: pd.Series, levels=None) -> pd.DataFrame:
    """Counts of each level (rows) in each group (columns 1 then 0), NaN values dropped."""
    keep = values.notna() & groups.notna()
    table = pd.crosstab(values[keep], groups[keep])
    table = table.reindex(columns=[1, 0], fill_value=0)
    return table if levels is None else table.reindex(levels, fill_value=0)
