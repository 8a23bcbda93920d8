"""Selection: glmnet's LASSO CV on WDBC (R glmnet 4.1.6), filters, and the funnel bookkeeping."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.datasets import load_breast_cancer

from NACResistanceLib.config import default_study_config
from NACResistanceLib.selection import (
    LeadingStep,
    SelectionFunnel,
    correlation_prune,
    lambda_grid,
    lasso_cv,
    lasso_path,
    make_foldid,
    near_zero_variance,
    univariate_screen,
    univariate_wald_p,
)


@pytest.fixture(scope="module")
def wdbc():
    bunch = load_breast_cancer()
    X = pd.DataFrame(bunch.data, columns=[c.replace(" ", "_") for c in bunch.feature_names])
    return X, 1 - bunch.target


@pytest.fixture(scope="module")
def wdbc_cv(wdbc):
    X, y = wdbc
    return lasso_cv(X, y, foldid=np.arange(len(y)) % 10)


def test_lambda_grid_matches_glmnet(wdbc, data):
    X, y = wdbc
    ref = pd.read_csv(data / "glmnet_cv_wdbc.csv")
    assert lambda_grid(X.to_numpy(), y) == pytest.approx(ref["lambda"].to_numpy(), rel=1e-13)


def test_cv_curve_and_lambda_choice_match_glmnet(wdbc_cv, data):
    ref = pd.read_csv(data / "glmnet_cv_wdbc.csv")
    expected = json.loads((data / "expected_values.json").read_text())["lasso_glmnet_wdbc"]
    assert wdbc_cv.lambdas.size == 100
    assert wdbc_cv.lambda_min == pytest.approx(expected["lambda_min"], rel=1e-12)
    assert wdbc_cv.lambda_1se == pytest.approx(expected["lambda_1se"], rel=1e-12)
    i_min, i_1se = expected["lambda_min_index_1based"] - 1, expected["lambda_1se_index_1based"] - 1
    assert wdbc_cv.cv_mean[i_min] == pytest.approx(expected["cvm_at_min"], rel=1e-3)
    assert wdbc_cv.cv_sd[i_min] == pytest.approx(expected["cvsd_at_min"], rel=5e-3)
    assert wdbc_cv.cv_mean[i_1se] == pytest.approx(ref["cvm"][i_1se], rel=1e-3)
    assert wdbc_cv.nonzero()[[i_min, i_1se]].tolist() == [expected["nzero_min"], expected["nzero_1se"]]
    # Whole curve down to lambda.min: glmnet's own convergence threshold (1e-7) limits the agreement.
    assert wdbc_cv.cv_mean[:61] == pytest.approx(ref["cvm"][:61].to_numpy(), rel=2e-3)
    assert wdbc_cv.cv_sd[:61] == pytest.approx(ref["cvsd"][:61].to_numpy(), rel=1e-2)
    assert np.abs(wdbc_cv.nonzero() - ref["nzero"].to_numpy()).max() <= 2


def test_chosen_coefficients_follow_choice(wdbc_cv):
    assert len(wdbc_cv.selected) == 17
    assert wdbc_cv.lambda_chosen == wdbc_cv.lambda_min
    frame = wdbc_cv.to_frame()
    assert list(frame.columns) == ["lambda", "log_lambda", "cv_mean", "cv_sd", "nonzero"]


def test_fixed_lambda_coefficients_match_glmnet(wdbc, data):
    X, y = wdbc
    expected = json.loads((data / "expected_values.json").read_text())["lasso_glmnet_wdbc"]
    ref = expected["fixed_lambda_0.02_coefs_thresh1e-14"]
    grid = lambda_grid(X.to_numpy(), y)
    path = lasso_path(X, y, np.r_[grid[grid > 0.02], 0.02], stop_early=False)
    coefs = pd.Series(path.coefs[-1], index=X.columns)
    assert sorted(coefs.index[coefs != 0]) == sorted(k for k in ref if k != "Intercept")
    assert path.intercepts[-1] == pytest.approx(ref["Intercept"], rel=1e-4)
    for name, value in ref.items():
        if name != "Intercept":
            assert coefs[name] == pytest.approx(value, rel=1e-4)


def test_foldid_is_stratified_and_seeded():
    y = np.r_[np.ones(40), np.zeros(120)]
    folds = make_foldid(y, 10, random_state=3)
    assert np.array_equal(folds, make_foldid(y, 10, random_state=3))
    assert all(np.sum((folds == k) & (y == 1)) == 4 for k in range(10))


def test_near_zero_variance_uses_caret_definition():
    n = 100
    X = pd.DataFrame({
        "constant": np.ones(n),
        "rare": np.r_[np.zeros(96), 1, 2, 3, 4],          # ratio 96 > 19, 5% unique -> removed
        "rare_but_many_values": np.r_[np.zeros(80), np.arange(1, 21)],  # ratio 80, 21% unique -> kept
        "balanced": np.r_[np.zeros(50), np.ones(50)],      # ratio 1 -> kept
    })
    assert near_zero_variance(X) == ["rare_but_many_values", "balanced"]


def test_correlation_prune_keeps_the_more_discriminating_of_a_pair(rng):
    from sklearn.metrics import roc_auc_score

    n = 300
    y = rng.integers(0, 2, n).astype(float)
    strong = y + rng.normal(scale=0.5, size=n)
    X = pd.DataFrame({"a_copy": strong + rng.normal(scale=0.1, size=n), "b": strong,
                      "noise": rng.normal(size=n)})
    kept = correlation_prune(X, y, 0.9)
    r = X[kept].corr().abs().to_numpy()
    assert (r[~np.eye(len(kept), dtype=bool)] <= 0.9).all()
    auc = {c: abs(roc_auc_score(y, X[c]) - 0.5) for c in ("a_copy", "b")}
    assert kept == [max(auc, key=auc.get), "noise"]
    assert correlation_prune(X, y, 0.999) == ["a_copy", "b", "noise"]


def test_univariate_wald_p_matches_statsmodels(rng):
    n = 200
    X = rng.normal(size=(n, 5))
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.8 * X[:, 0] - 0.3 * X[:, 2])))).astype(float)
    ours = univariate_wald_p(X * 3.7 + 10, y)
    ref = [sm.Logit(y, sm.add_constant(X[:, j])).fit(disp=0).pvalues[1] for j in range(5)]
    assert ours == pytest.approx(ref, rel=1e-8)
    frame = pd.DataFrame(X, columns=list("abcde"))
    assert univariate_screen(frame, y, 0.05) == [c for c, p in zip("abcde", ref) if p < 0.05]


def _synthetic(rng, n=160, p=120):
    latent = rng.normal(size=(n, 4))
    X = latent @ rng.normal(size=(4, p)) + rng.normal(size=(n, p))
    X[:, :10] = 0.0
    X[:5, :5] = 1.0
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(latent[:, 0] - 1)))).astype(int)
    return pd.DataFrame(X, columns=[f"f{j:03d}" for j in range(p)]), y


def test_funnel_records_every_step_including_leading_ones(rng):
    X, y = _synthetic(rng)
    icc_kept = [c for c in X.columns if c != "f119"]
    funnel = SelectionFunnel(replace(default_study_config().selection, n_lambda=30),
                             leading_steps=[LeadingStep("icc_ge_0.75", icc_kept)]).fit(X, y)
    table = funnel.to_frame()
    assert table["step"].tolist() == ["icc_ge_0.75", "near_zero_variance", "correlation",
                                      "univariate_screen", "lasso"]
    assert table["n_in"].iloc[0] == 120 and table["n_removed"].iloc[0] == 1
    assert table["n_removed"].iloc[1] == 10
    assert (table["n_in"].iloc[1:].to_numpy() == table["n_out"].iloc[:-1].to_numpy()).all()
    assert table["n_out"].iloc[-1] == len(funnel.selected_) > 0
    score = funnel.rad_score(X)
    by_hand = funnel.intercept_ + X[list(funnel.selected_)].to_numpy() @ funnel.coef_.to_numpy()
    assert score.to_numpy() == pytest.approx(by_hand)


def test_funnel_accepts_callable_leading_step(rng):
    X, y = _synthetic(rng)
    step = LeadingStep("first_half", lambda frame, outcome: list(frame.columns[:60]))
    funnel = SelectionFunnel(replace(default_study_config().selection, screen_alpha=None, n_lambda=20), [step]).fit(X, y)
    assert funnel.steps_[0].n_out == 60
    assert [s.name for s in funnel.steps_] == ["first_half", "near_zero_variance", "correlation", "lasso"]
