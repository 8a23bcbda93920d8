"""Logistic tables (hsb2, R glm), Rao score / Forward-LR stepwise (remission, R add1), model files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from NACResistanceLib.config import load_analysis_config
from NACResistanceLib.errors import ClinicalDataError, ModelFileError
from NACResistanceLib.models import (
    RadScore,
    fit_logistic,
    forward_lr,
    from_document,
    load,
    make_model,
    save,
    to_document,
)
from NACResistanceLib.stats.logit import fit_logit_newton, score_test


def test_logistic_table_matches_r_on_hsb2(data, expected):
    frame = pd.read_csv(data / "hsb2.csv")
    X = frame[["female", "read", "science"]].rename(columns={"female": "female1"})
    result = fit_logistic(X, frame["honcomp"])
    ref = expected["logistic_hsb2"]
    table = result.table.set_index("term").rename(index={"(intercept)": "Intercept"})
    for term, beta in ref["converged_tight"]["B"].items():
        assert table.loc[term, "beta"] == pytest.approx(beta, rel=1e-8)
        assert table.loc[term, "se"] == pytest.approx(ref["converged_tight"]["SE"][term], rel=1e-6)
    for term, odds in ref["OR"].items():
        assert table.loc[term, "odds_ratio"] == pytest.approx(odds, rel=1e-6)
        se = ref["converged_tight"]["SE"][term]
        beta = ref["converged_tight"]["B"][term]
        assert table.loc[term, "or_ci_low"] == pytest.approx(np.exp(beta - 1.959963984540054 * se), rel=1e-6)
    # Published p-values come from R glm default-convergence SEs (anchors, section 4): relative 2e-3.
    assert table.loc["female1", "p_value"] == pytest.approx(9.2016e-4, rel=2e-3)
    assert table.loc["read", "p_value"] == pytest.approx(5.8557e-5, rel=2e-3)
    assert table.loc["science", "wald_chi2"] == pytest.approx(9.69, abs=0.005)
    assert result.minus2_log_likelihood == pytest.approx(ref["minus2LL"], rel=1e-9)
    assert result.lr_chi2 == pytest.approx(ref["LR_chi2"], rel=1e-8)
    assert result.nagelkerke_r2 == pytest.approx(ref["nagelkerke_R2"], rel=1e-8)
    assert result.converged and result.warnings == ()


def test_newton_fit_agrees_with_statsmodels(data):
    frame = pd.read_csv(data / "hsb2.csv")
    X = frame[["female", "read", "science"]]
    ours = fit_logit_newton(np.column_stack([np.ones(len(X)), X.to_numpy(float)]), frame["honcomp"].to_numpy(float))
    ref = fit_logistic(X, frame["honcomp"]).table
    assert ours.params == pytest.approx(ref["beta"].to_numpy(), rel=1e-9)
    assert np.sqrt(np.diag(ours.cov)) == pytest.approx(ref["se"].to_numpy(), rel=1e-7)


def test_rao_score_statistics_match_r_add1(data, expected):
    frame = pd.read_csv(data / "remission.csv")
    y = frame["remiss"].to_numpy(float)
    ref = expected["stepwise_remission"]
    ones = np.ones((len(y), 1))
    null = fit_logit_newton(ones, y)
    # R add1(test="Rao") evaluates at glm's default-convergence MLE (epsilon 1e-8): agreement ~1e-5.
    assert score_test(ones, null, frame[["li"]].to_numpy(float), y) == pytest.approx(
        ref["score_entry_step1"]["li"], rel=1e-5)
    base = np.column_stack([ones, frame["li"]])
    fit = fit_logit_newton(base, y)
    assert score_test(base, fit, frame[["temp"]].to_numpy(float), y) == pytest.approx(
        ref["score_entry_step2_given_li"]["temp"], rel=1e-5)


def test_forward_lr_reproduces_remission_steps(data, expected):
    frame = pd.read_csv(data / "remission.csv")
    X, y = frame.drop(columns="remiss"), frame["remiss"]
    ref = expected["stepwise_remission"]
    result = forward_lr(X, y, p_enter=0.3, p_remove=0.35)
    assert list(result.selected) == ref["SAS_slentry0.3_slstay0.35_final"]
    assert result.steps["statistic"].tolist() == pytest.approx([7.9310991, 1.25906726, 1.47007515], rel=1e-5)
    assert result.steps["p_value"].tolist() == pytest.approx([0.0048592, 0.26183, 0.22533], rel=1e-4)
    final = fit_logistic(X[list(result.selected)], y).table.set_index("term")
    for term, beta in ref["final_fit"]["B"].items():
        assert final.loc["(intercept)" if term == "Intercept" else term, "beta"] == pytest.approx(beta, rel=1e-7)
    for term, wald in ref["final_fit"]["Wald"].items():
        assert final.loc[term, "wald_chi2"] == pytest.approx(wald, rel=1e-6)
    assert list(forward_lr(X, y).selected) == ref["SPSS_defaults_PIN0.05_POUT0.10_final"]


def test_forward_lr_removes_a_variable_made_redundant(rng):
    n = 400
    a = rng.normal(size=n)
    b = rng.normal(size=n)
    mix = a + 0.15 * rng.normal(size=n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(1.5 * a + 1.0 * b)))).astype(float)
    result = forward_lr(pd.DataFrame({"mix": mix, "a": a, "b": b}), y)
    assert set(result.selected) <= {"a", "b", "mix"} and "b" in result.selected
    entered = result.steps.query("action == 'enter'")["p_value"]
    assert (entered < 0.05).all()
    removed = result.steps.query("action == 'remove'")["p_value"]
    assert (removed > 0.10).all()


def _model():
    rad = RadScore(-0.5, (("original_firstorder_Mean", 0.02), ("dki_rMK", 1.1)), 0.01)
    return make_model("combined", -1.2, [("er_positive", 0.9), ("ki67_ge_20", 0.75), ("rad_score", 1.3)],
                      radscore=rad, threshold=0.3, training={"data": "synthetic test data", "n_patients": 100, "n_resistant": 25},
                      analysis_config=load_analysis_config().to_dict())


ROW = {"er": "positive", "ki67_pct": 35, "original_firstorder_Mean": 50.0, "dki_rMK": 1.4, "age_years": 50}


def test_prediction_and_contributions():
    model = _model()
    assert model.required_inputs == ("er", "ki67_pct", "original_firstorder_Mean", "dki_rMK")
    prediction = model.predict(ROW)
    rad = -0.5 + 0.02 * 50 + 1.1 * 1.4
    eta = -1.2 + 0.9 + 0.75 + 1.3 * rad
    assert prediction.linear_predictor == pytest.approx(eta, rel=1e-12)
    assert prediction.probability == pytest.approx(1 / (1 + np.exp(-eta)), rel=1e-12)
    assert prediction.predicted_class == "resistant"
    assert prediction.contributions["contribution"].sum() == pytest.approx(eta, rel=1e-12)
    assert prediction.contributions["term"].tolist() == ["(intercept)", "er_positive", "ki67_ge_20", "rad_score"]
    frame = model.predict_frame(pd.DataFrame([ROW, {**ROW, "er": "negative", "ki67_pct": 5}]))
    assert frame["probability"].iloc[0] == pytest.approx(prediction.probability)
    assert frame["linear_predictor"].iloc[1] == pytest.approx(eta - 0.9 - 0.75)


def test_missing_unknown_and_bad_inputs_name_the_field():
    model = _model()
    with pytest.raises(ModelFileError, match="'dki_rMK' is missing"):
        model.predict({k: v for k, v in ROW.items() if k != "dki_rMK"})
    with pytest.raises(ClinicalDataError, match="'er'.*'maybe'"):
        model.predict({**ROW, "er": "maybe"})
    with pytest.raises(ModelFileError, match="'original_firstorder_Mean' is not a number"):
        model.predict({**ROW, "original_firstorder_Mean": "high"})
    with pytest.raises(ModelFileError, match="unknown input 'colour'"):
        model.predict({**ROW, "colour": 1}, strict=True)


def test_model_file_round_trip_and_contents(tmp_path):
    model = _model()
    path = save(model, tmp_path / "model.json")
    document = json.loads(path.read_text())
    assert "Research use only" in document["research_use_only"]
    assert document["training"]["data"] == "synthetic test data"
    assert {"NACResistanceLib", "numpy", "statsmodels"} <= set(document["versions"])
    again = load(path)
    assert again.predict(ROW).probability == pytest.approx(model.predict(ROW).probability, rel=1e-15)
    assert again.required_inputs == model.required_inputs
    assert b"pickle" not in path.read_bytes()


def test_schema_errors_name_file_and_json_path(tmp_path):
    document = to_document(_model())
    document["terms"][1]["coefficient"] = "big"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match=r"broken\.json: \$\.terms\[1\]\.coefficient"):
        load(path)
    document = to_document(_model())
    del document["training"]
    with pytest.raises(ModelFileError, match=r"\$: 'training' is a required property"):
        from_document(document, "in-memory")
    document = to_document(_model())
    document["threshold"]["probability"] = 1.5
    with pytest.raises(ModelFileError, match=r"\$\.threshold\.probability"):
        from_document(document)
    document = to_document(_model())
    document["analysis_config"]["preprocessing"]["gaussian_sigma_mm"] = 2.0
    with pytest.raises(ModelFileError, match=r"\$\.analysis_sha256 [0-9a-f]{64} does not match \$\.analysis_config"):
        from_document(document, "edited.json")
    document = to_document(_model())
    document["analysis_config"]["radiomics_params"] = "seed"
    with pytest.raises(ModelFileError, match="incomplete analysis parameters"):
        from_document(document, "paths.json")
    document = dict(to_document(_model()), format_version=1)
    with pytest.raises(ModelFileError, match="format 1, which names its parameter files by path"):
        from_document(document, "old.json")
    (tmp_path / "not.json").write_text("{")
    with pytest.raises(ModelFileError, match="not JSON"):
        load(tmp_path / "not.json")


def test_only_needed_clinical_columns_are_checked():
    # A bad code in a column the model does not use does not block the prediction.
    assert _model().predict({**ROW, "side": "bilateral"}).predicted_class == "resistant"
