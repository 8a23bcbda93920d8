"""Hosmer-Lemeshow, calibration, Brier and decision curves against ResourceSelection, blorr, rms, dcurves."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from NACResistanceLib import stats


def _r_names(frame):
    names = {"treat_all": "all", "treat_none": "none", "model": "model"}
    return {names[k]: v for k, v in frame.set_index("strategy")["net_benefit"].items()}


def _glm_probabilities(y, X):
    fit = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-12)
    return fit.fittedvalues.to_numpy()


def test_hosmer_lemeshow_resourceselection_help_example(data, expected):
    frame = pd.read_csv(data / "hoslem_example_seed123.csv")
    result = stats.hosmer_lemeshow(frame["y"], _glm_probabilities(frame["y"], frame["x"]))
    ref = expected["hosmer_lemeshow"]["hoslem_doc_example"]
    assert result.statistic == pytest.approx(ref["X2"], rel=1e-9)
    assert result.df == ref["df"]
    assert result.p_value == pytest.approx(ref["p"], rel=1e-9)


def test_hosmer_lemeshow_blorr_hsb2_with_tied_probabilities(data, expected):
    frame = pd.read_csv(data / "hsb2.csv")
    X = pd.get_dummies(frame["race"].astype("category"), prefix="race", drop_first=True).astype(float)
    X[["read", "science"]] = frame[["read", "science"]]
    result = stats.hosmer_lemeshow(frame["honcomp"], _glm_probabilities(frame["honcomp"], X))
    ref = expected["hosmer_lemeshow"]["blorr_hsb2"]
    assert result.statistic == pytest.approx(ref["X2"], rel=1e-7)
    assert result.p_value == pytest.approx(ref["p"], rel=1e-7)
    table = np.array(ref["groups_n_obs1_exp1"])
    assert result.table["n"].tolist() == table[:, 0].astype(int).tolist()
    assert result.table["observed"].tolist() == table[:, 1].tolist()
    assert result.table["expected"].to_numpy() == pytest.approx(table[:, 2], abs=0.006)


def test_hosmer_lemeshow_on_perfectly_calibrated_data_is_not_significant():
    # Outcomes equal to the expected count in every group make the statistic exactly 0.
    prob = np.repeat(np.linspace(0.05, 0.95, 10), 20)
    y = np.concatenate([np.r_[np.ones(round(p * 20)), np.zeros(20 - round(p * 20))]
                        for p in np.linspace(0.05, 0.95, 10)])
    result = stats.hosmer_lemeshow(y, prob)
    assert result.statistic == pytest.approx(0.0, abs=1e-20)
    assert (result.df, result.p_value) == (8, 1.0)


def test_hosmer_lemeshow_rejects_under_miscalibration(rng):
    prob = rng.uniform(0.05, 0.95, 2000)
    y = (rng.uniform(size=2000) < prob).astype(float)
    good = stats.hosmer_lemeshow(y, prob)
    bad = stats.hosmer_lemeshow(y, prob**3)
    assert good.p_value > 0.01 and bad.p_value < 1e-10


def test_val_prob_statistics_match_rms(data, expected):
    frame = pd.read_csv(data / "df_binary.csv")
    y, p = frame["cancer"].astype(int), frame["cancerpredmarker"]
    ref = expected["val_prob_rms"]
    fit = stats.calibration_intercept_slope(y, p)
    assert fit.intercept == pytest.approx(0.0, abs=1e-6)
    assert fit.slope == pytest.approx(1.0, abs=1e-6)
    assert stats.brier_score(y, p) == pytest.approx(ref["Brier"], abs=1e-7)
    # rms 6.5 val.prob prints an approximate C (anchors note, section 4); exact AUC differs by 7e-6.
    assert stats.roc_auc_ci(y, p).auc == pytest.approx(ref["C"], abs=1e-5)
    smooth = stats.smooth_calibration(y, p)
    assert smooth.e_max == pytest.approx(ref["Emax"], abs=1e-7)
    assert smooth.e_90 == pytest.approx(ref["E90"], abs=1e-7)
    assert smooth.e_avg == pytest.approx(ref["Eavg"], abs=1e-7)
    assert smooth.spiegelhalter_z == pytest.approx(ref["Spiegelhalter_z"], abs=1e-7)
    assert smooth.spiegelhalter_p == pytest.approx(ref["Spiegelhalter_p"], abs=1e-7)


def test_calibration_slope_below_one_for_overfitted_predictions(rng):
    lp = rng.normal(size=4000)
    y = (rng.uniform(size=4000) < 1 / (1 + np.exp(-lp))).astype(float)
    fit = stats.calibration_intercept_slope(y, 1 / (1 + np.exp(-2 * lp)))
    assert fit.slope == pytest.approx(0.5, abs=0.05)


def test_constant_predictions_have_no_slope_and_no_smooth():
    # An intercept-only model predicts the prevalence for everyone: logit(p) is constant, so the slope of
    # the recalibration model is not identifiable and lowess has one x value. Spiegelhalter's z is defined:
    # y = (1, 0, 0, 1), p = 0.25: z = sum((y - p)(1 - 2p)) / sqrt(sum((1 - 2p)^2 p (1 - p))) = 0.5/sqrt(0.1875).
    y, p = np.array([1.0, 0, 0, 1]), np.full(4, 0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = stats.calibration_intercept_slope(y, p)
        smooth = stats.smooth_calibration(y, p)
    assert np.isnan(fit.intercept) and np.isnan(fit.slope)
    assert np.isnan([smooth.e_max, smooth.e_90, smooth.e_avg]).all() and smooth.curve.empty
    assert smooth.spiegelhalter_z == pytest.approx(0.5 / np.sqrt(0.1875), rel=1e-12)


def test_net_benefit_matches_r_dcurves_tests(data, expected):
    frame = pd.read_csv(data / "df_binary.csv")
    y = frame["cancer"].astype(int)
    ref = expected["dca"]
    nb = _r_names(stats.net_benefit(y, frame["cancerpredmarker"], [0.25]))
    assert nb == pytest.approx(ref["R_dcurves_tests"]["cancerpredmarker_t0.25"], abs=1e-7)
    thresholds = [float(t) for t in ref["cancerpredmarker_nb"]]
    model = stats.net_benefit(y, frame["cancerpredmarker"], thresholds).query("strategy == 'model'")
    assert model["net_benefit"].tolist() == pytest.approx(list(ref["cancerpredmarker_nb"].values()), abs=1e-12)
    age = _r_names(stats.net_benefit(y, _glm_probabilities(y, frame["age"]), [0.25]))
    assert age == pytest.approx(ref["R_dcurves_tests"]["age_as_probability_t0.25"], abs=1e-7)
    famhistory = _r_names(stats.net_benefit(y, frame["famhistory"], [0.0]))
    assert famhistory == pytest.approx(ref["R_dcurves_tests"]["famhistory_t0"], abs=1e-12)
    # The R case-control value needs dcurves' df_case_control (not shipped here); its treat-all NB depends
    # only on the prevalence, and the model NB follows the documented case-control formula.
    control = _r_names(stats.net_benefit(y, frame["cancerpredmarker"], [0.25], prevalence=0.15))
    ref_cc = ref["R_dcurves_tests"]["case_control_prev0.15_cancerpredmarker_t0.25"]
    assert (control["all"], control["none"]) == pytest.approx((ref_cc["all"], ref_cc["none"]), abs=1e-7)
    positive = frame["cancerpredmarker"] >= 0.25
    by_hand = positive[y == 1].mean() * 0.15 - positive[y == 0].mean() * 0.85 / 3
    assert control["model"] == pytest.approx(by_hand, abs=1e-15)


def test_net_benefit_matches_r_benchmark_tables(data):
    frame = pd.read_csv(data / "df_binary.csv")
    y = frame["cancer"].astype(int)
    famhistory = pd.read_csv(data / "r_dca_famhistory.csv")
    for variable, ours_name in (("famhistory", "model"), ("all", "treat_all"), ("none", "treat_none")):
        ref = famhistory[famhistory["variable"] == variable]
        ours = stats.net_benefit(y, frame["famhistory"], ref["threshold"])
        ours = ours[ours["strategy"] == ours_name]
        assert ours["net_benefit"].to_numpy() == pytest.approx(ref["net_benefit"].to_numpy(), abs=1e-12)
    case3 = pd.read_csv(data / "r_case3_results.csv").query("variable == 'marker'")
    risk = _glm_probabilities(y, frame["marker"])
    ours = stats.net_benefit(y, risk, case3["threshold"], harm=0.0333).query("strategy == 'model'")
    for column in ("tp_rate", "fp_rate", "net_benefit"):
        assert ours[column].to_numpy() == pytest.approx(case3[column].to_numpy(), abs=1e-9)
