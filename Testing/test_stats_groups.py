"""Group comparisons for Tables 1-3: the documented choice of test and its numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from NACResistanceLib.stats import StatisticsInputError, compare_categorical, compare_continuous
from NACResistanceLib.stats.groups import fisher_exact_rx2
from NACResistanceLib.stats.tables import comparison_table


def test_normal_groups_use_student_t(rng):
    a, b = rng.normal(52, 9, 40), rng.normal(50, 9, 120)
    result = compare_continuous(a, b)
    n1, n2 = a.size, b.size
    pooled = ((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2)
    t = (a.mean() - b.mean()) / np.sqrt(pooled * (1 / n1 + 1 / n2))
    assert result.test == "t"
    assert result.statistic == pytest.approx(t, rel=1e-12)
    assert result.p_value == pytest.approx(2 * sps.t.sf(abs(t), n1 + n2 - 2), rel=1e-10)


def test_skewed_groups_use_mann_whitney(rng):
    a, b = rng.lognormal(0, 1.2, 40), rng.lognormal(0.4, 1.2, 60)
    result = compare_continuous(a, b)
    assert result.test == "mann_whitney"
    u = sum((x > b).sum() + 0.5 * (x == b).sum() for x in a)
    assert result.statistic == pytest.approx(u)


def test_chi_square_without_correction_when_expected_counts_allow():
    table = np.array([[26, 45], [14, 75]])  # seed Table 2 ER layout (resistant, sensitive)
    result = compare_categorical(table)
    expected = np.outer(table.sum(1), table.sum(0)) / table.sum()
    assert result.test == "chi2"
    assert result.statistic == pytest.approx(((table - expected) ** 2 / expected).sum(), rel=1e-12)
    # By hand: E = (17.75, 53.25, 22.25, 66.75) -> 9.1913. (The seed prints 7.892 for these counts,
    # which neither the uncorrected nor the Yates-corrected statistic reproduces.)
    assert result.statistic == pytest.approx(9.19133, abs=1e-5)
    assert sps.chi2_contingency(table, correction=True)[0] == pytest.approx(8.1, abs=0.1)


def test_fisher_when_expected_counts_are_small():
    result = compare_categorical([[3, 1], [1, 3]])  # Fisher's tea-tasting table: two-sided p = 34/70
    assert result.test == "fisher"
    assert result.p_value == pytest.approx(34 / 70, rel=1e-12)


def test_fisher_r_by_2_is_the_exact_freeman_halton_p_value():
    # Margins: rows 2, 2, 2; groups 3, 3 (N = 6). First-column vectors x with sum 3 and x_i <= 2 have
    # P = prod C(2, x_i) / C(6, 3): the six permutations of (2, 1, 0) 2/20 each, (1, 1, 1) 8/20.
    # Observed (2, 0, 1): P = 2/20; tables no more probable: the six -> p = 12/20.
    result = compare_categorical([[2, 0], [0, 2], [1, 1]])
    assert (result.test, result.p_value) == ("fisher", pytest.approx(0.6, rel=1e-12))
    assert compare_categorical([[2, 0], [0, 2], [1, 1]]).p_value == result.p_value  # exact: no Monte Carlo


def test_fisher_enumeration_equals_scipy_on_2x2_tables(rng):
    for _ in range(20):
        table = rng.integers(0, 12, size=(2, 2))
        assert fisher_exact_rx2(table) == pytest.approx(sps.fisher_exact(table).pvalue, rel=1e-9)
    with pytest.raises(StatisticsInputError, match="2 groups"):
        fisher_exact_rx2(np.ones((3, 3), dtype=int))


def test_comparison_table_layout(rng):
    frame = pd.DataFrame({"age": rng.normal(50, 8, 60), "er": rng.choice(["positive", "negative"], 60)})
    y = np.r_[np.ones(20), np.zeros(40)]
    table = comparison_table(frame, y, ["age"], {"er": ["positive", "negative"]})
    assert table["variable"].tolist() == ["age", "er", "er", "er"]
    assert table["level"].tolist() == ["", "", "positive", "negative"]
    positive_resistant = int((frame["er"][:20] == "positive").sum())
    assert table["resistant"].iloc[2].startswith(f"{positive_resistant} (")
