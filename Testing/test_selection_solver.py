"""The lockstep LASSO solver and the vectorised filters against their definitions and the former code.

References: the KKT optimality conditions (closed-form truth for the quadratic lasso), separate
single-problem fits, the sequential implementation this solver replaced (numbers stored in
Testing/Data/stats/lasso_sequential_reference.json), statsmodels ``Logit`` and a per-column
``np.unique`` transcription of caret's ``nearZeroVar`` definition.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lasso_problems import bootstrap_problem

from NACResistanceLib.selection import lambda_grid, lasso_cv, lasso_path, make_foldid, near_zero_variance
from NACResistanceLib.selection.filters import univariate_wald_p
from NACResistanceLib.selection.lasso import _paths
from NACResistanceLib.selection.lasso_solver import lasso_quadratic


def test_lasso_quadratic_meets_kkt_conditions(rng):
    F, c, lam = 6, 15, 0.05
    M = rng.normal(size=(F, c, 40))
    H = M @ np.swapaxes(M, 1, 2) / 40
    q = rng.normal(size=(F, c)) * 0.3
    allowed = rng.uniform(size=(F, c)) < 0.8
    start = np.where(allowed & (rng.uniform(size=(F, c)) < 0.3), rng.normal(size=(F, c)), 0.0)
    beta = lasso_quadratic(H, q, lam, start, allowed)
    g = np.einsum("fij,fj->fi", H, beta) - q
    on = beta != 0
    assert np.all(beta[~allowed] == 0)
    assert np.abs(g + lam * np.sign(beta))[on] == pytest.approx(0.0, abs=1e-9)
    assert np.all(np.abs(g[~on & allowed]) <= lam * (1 + 1e-8))
    assert on.sum() > F  # a non-trivial support in most problems


def test_lockstep_paths_equal_separate_fits():
    X, y = bootstrap_problem()
    foldid = make_foldid(y, 5, random_state=1)
    lambdas = lambda_grid(X, y)
    train = np.vstack([np.ones(y.size), [foldid != k for k in range(5)]]).astype(float)
    together = _paths(X, y, train, lambdas)
    assert together[0].lambdas.size == lasso_path(X, y, lambdas).lambdas.size
    for path, rows in zip(together, train.astype(bool)):
        alone = lasso_path(X[rows], y[rows], lambdas)
        length = path.lambdas.size
        assert length == min(alone.lambdas.size, together[0].lambdas.size)
        assert path.coefs == pytest.approx(alone.coefs[:length], rel=1e-9, abs=1e-10)
        assert path.intercepts == pytest.approx(alone.intercepts[:length], rel=1e-9, abs=1e-10)


def test_lasso_cv_reproduces_the_sequential_implementation(request):
    ref = json.loads((request.config.rootpath / "Testing" / "Data" / "stats"
                      / "lasso_sequential_reference.json").read_text())
    X, y = bootstrap_problem()
    cv = lasso_cv(X, y, random_state=3)
    assert cv.lambdas == pytest.approx(ref["lambdas"], rel=1e-13)
    assert cv.path.lambdas.size == ref["path_length"]
    assert cv.cv_mean == pytest.approx(ref["cv_mean"], rel=1e-9)
    assert cv.cv_sd == pytest.approx(ref["cv_sd"], rel=1e-7)
    # the same grid points (neighbours are several % apart); the last digit differs across numpy versions
    assert (cv.lambda_min, cv.lambda_1se) == pytest.approx((ref["lambda_min"], ref["lambda_1se"]), rel=1e-13)
    assert cv.nonzero().tolist() == ref["nonzero"]
    assert cv.intercept_ == pytest.approx(ref["intercept_min"], rel=1e-9)
    assert cv.coef_.to_numpy() == pytest.approx(ref["coef_min"], rel=1e-8, abs=1e-11)


def _nzv_by_column(X: pd.DataFrame, freq_ratio=19.0, unique_pct=10.0) -> list[str]:
    keep = []
    for name in X.columns:
        column = X[name].to_numpy(dtype=float)
        counts = np.sort(np.unique(column[~np.isnan(column)], return_counts=True)[1])[::-1]
        if counts.size > 1 and not (counts[0] / counts[1] > freq_ratio and 100.0 * counts.size / len(X) <= unique_pct):
            keep.append(name)
    return keep


def test_near_zero_variance_matches_the_per_column_definition(rng):
    n = 100
    X = pd.DataFrame({
        "normal": rng.normal(size=n), "rare": np.r_[np.ones(3), np.zeros(n - 3)],
        "rare_nan": np.r_[np.ones(3), np.zeros(n - 13), np.full(10, np.nan)], "constant": np.full(n, 2.5),
        "all_nan": np.full(n, np.nan), "two_levels": rng.integers(0, 2, n).astype(float),
        "coarse": np.round(rng.exponential(0.04, n), 1), "signed_zero": np.r_[-0.0, np.zeros(n - 1)],
    })
    kept = near_zero_variance(X)
    assert kept == _nzv_by_column(X)
    assert {"normal", "two_levels"} <= set(kept)
    assert not {"rare", "rare_nan", "constant", "all_nan", "signed_zero"} & set(kept)


def test_univariate_wald_p_separation_and_constant_columns(rng):
    n = 80
    x = rng.normal(size=n)
    y = (x > 0).astype(float)
    X = np.column_stack([x, np.full(n, 3.0), x + rng.normal(size=n) * 2])
    p = univariate_wald_p(X, y)
    assert p[0] > 0.9 and p[1] == 1.0  # separation: huge SE; constant: no slope
    ref = sm.Logit(y, sm.add_constant(X[:, 2])).fit(disp=0, tol=1e-12).pvalues[1]
    assert p[2] == pytest.approx(ref, rel=1e-8)


def test_lasso_cv_refuses_a_fold_whose_training_rows_have_one_class(rng):
    from NACResistanceLib.stats.roc import StatisticsInputError

    X = rng.normal(size=(60, 8))
    y = np.r_[1.0, np.zeros(59)]  # the fold holding the only positive trains on negatives only
    with pytest.raises(StatisticsInputError, match="single outcome class"):
        lasso_cv(X, y)
    with pytest.raises(StatisticsInputError, match="both classes"):
        lasso_path(X, np.zeros(60), [0.1, 0.01])
