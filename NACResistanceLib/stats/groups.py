"""Group comparisons for the descriptive tables (seed Tables 1-3).

Rule (documented in docs/statistics.md):

- continuous: Student's two-sample t test (pooled variance, as SPSS's first line) when both groups
  pass Shapiro-Wilk at alpha = 0.05 (groups of 3-5000); otherwise the two-sided Mann-Whitney U test
  (scipy ``method="auto"``: exact without ties for small groups, else normal approximation with
  continuity correction).
- categorical: Pearson's chi-square without continuity correction when no expected count is < 1
  and at most 20% are < 5 (Cochran's rule); otherwise Fisher's exact test (r x c as scipy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

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
    result = sps.fisher_exact(counts.astype(int))
    statistic = float(result.statistic) if counts.shape == (2, 2) else float("nan")
    return GroupTest("fisher", statistic, float(result.pvalue))


def crosstab(values: pd.Series, groups: pd.Series, levels=None) -> pd.DataFrame:
    """Counts of each level (rows) in each group (columns 1 then 0), NaN values dropped."""
    keep = values.notna() & groups.notna()
    table = pd.crosstab(values[keep], groups[keep])
    table = table.reindex(columns=[1, 0], fill_value=0)
    return table if levels is None else table.reindex(levels, fill_value=0)
