"""ROC, DeLong and Youden against R pROC on the aSAH data (Testing/Data/stats, see README)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from NACResistanceLib import stats
from NACResistanceLib.stats import StatisticsInputError


@pytest.fixture(scope="module")
def expected(request):
    path = request.config.rootpath / "Testing" / "Data" / "stats" / "expected_values.json"
    return json.loads(path.read_text())["delong_pROC_aSAH"]


@pytest.fixture(scope="module")
def asah(request):
    frame = pd.read_csv(request.config.rootpath / "Testing" / "Data" / "stats" / "aSAH.csv")
    frame["y"] = (frame["outcome"] == "Poor").astype(int)
    return frame


@pytest.mark.parametrize("marker", ["wfns", "s100b", "ndka"])
def test_auc_variance_and_ci_match_proc(asah, expected, marker):
    result = stats.roc_auc_ci(asah["y"], asah[marker])
    assert result.auc == pytest.approx(expected["auc"][marker], abs=1e-13)
    assert result.variance == pytest.approx(expected["var_delong"][marker], rel=1e-12)
    assert (result.low, result.high) == pytest.approx(expected["ci95_auc_delong"][marker], abs=1e-12)
    assert (result.n_cases, result.n_controls) == (41, 72)


@pytest.mark.parametrize("pair", ["wfns_vs_s100b", "wfns_vs_ndka", "ndka_vs_s100b"])
def test_paired_delong_matches_proc_including_sign_and_ci(asah, expected, pair):
    a, b = pair.split("_vs_")
    result = stats.delong_test(asah["y"], asah[a], asah[b])
    ref = expected["paired_test"][pair]
    assert result.z == pytest.approx(ref["Z"], rel=1e-10)
    assert result.p_value == pytest.approx(ref["p"], rel=1e-10)
    assert (result.difference_low, result.difference_high) == pytest.approx(ref["ci_diff"], abs=1e-12)
    reverse = stats.delong_test(asah["y"], asah[b], asah[a])
    assert reverse.z == pytest.approx(-ref["Z"], rel=1e-10)
    assert reverse.p_value == pytest.approx(ref["p"], rel=1e-10)


def test_one_sided_delong_and_self_comparison(asah, expected):
    ref = expected["paired_test"]["wfns_vs_s100b"]
    greater = stats.delong_test(asah["y"], asah["wfns"], asah["s100b"], alternative="greater")
    less = stats.delong_test(asah["y"], asah["wfns"], asah["s100b"], alternative="less")
    assert greater.p_value == pytest.approx(ref["p_greater"], rel=1e-10)
    assert less.p_value == pytest.approx(ref["p_less"], rel=1e-10)
    same = stats.delong_test(asah["y"], asah["wfns"], asah["wfns"])
    assert (same.z, same.p_value) == (0.0, 1.0)


@pytest.mark.parametrize("pair", ["wfns_vs_s100b", "wfns_vs_ndka", "ndka_vs_s100b"])
def test_unpaired_comparison_matches_proc(asah, expected, pair):
    a, b = pair.split("_vs_")
    result = stats.unpaired_auc_test(asah["y"], asah[a], asah["y"], asah[b])
    ref = expected["unpaired_test"][pair]
    assert result.statistic == pytest.approx(ref["D"], rel=1e-10)
    assert result.p_value == pytest.approx(ref["p"], rel=1e-9)
    if "df" in ref:
        assert result.df == pytest.approx(ref["df"], rel=1e-10)


@pytest.mark.parametrize("marker", ["s100b", "wfns"])
def test_youden_threshold_matches_proc_coords(asah, expected, marker):
    ref = expected["youden_best"][marker]
    threshold = stats.youden_threshold(asah["y"], asah[marker])
    summary = stats.sensitivity_specificity(asah["y"], asah[marker], threshold)
    assert threshold == pytest.approx(ref["threshold"], abs=1e-12)
    assert summary.sensitivity.estimate == pytest.approx(ref["sensitivity"], abs=1e-12)
    assert summary.specificity.estimate == pytest.approx(ref["specificity"], abs=1e-12)


def test_wilson_and_clopper_pearson_intervals():
    # 26/41 positive: closed forms of the Wilson score interval and the Clopper-Pearson beta quantiles.
    from scipy import stats as sps

    y = np.r_[np.ones(41), np.zeros(10)]
    score = np.r_[np.ones(26), np.zeros(15), np.zeros(10)]
    wilson = stats.sensitivity_specificity(y, score, 0.5).sensitivity
    exact = stats.sensitivity_specificity(y, score, 0.5, method="beta").sensitivity
    z, n, p = sps.norm.ppf(0.975), 41, 26 / 41
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert (wilson.low, wilson.high) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert (wilson.low, wilson.high) == pytest.approx((0.481207, 0.764102), abs=1e-6)
    beta = (sps.beta.ppf(0.025, 26, 16), sps.beta.ppf(0.975, 27, 15))
    assert (exact.low, exact.high) == pytest.approx(beta, abs=1e-12)
    assert (exact.successes, exact.total, exact.method) == (26, 41, "beta")


def test_auc_properties_negation_and_monotone_invariance(rng):
    y = rng.integers(0, 2, 300)
    score = y * 0.8 + rng.normal(size=300)
    score[:40] = np.round(score[:40])  # ties
    auc = stats.roc_auc_ci(y, score).auc
    assert stats.roc_auc_ci(y, -score).auc == pytest.approx(1 - auc, abs=1e-14)
    assert stats.roc_auc_ci(y, np.exp(score) * 3 + 7).auc == pytest.approx(auc, abs=1e-14)
    assert stats.roc_auc_ci(y, np.arctan(score)).variance == pytest.approx(
        stats.roc_auc_ci(y, score).variance, rel=1e-12)


def test_single_class_is_an_error():
    with pytest.raises(StatisticsInputError, match="both cases"):
        stats.roc_auc_ci(np.ones(5), np.arange(5.0))
