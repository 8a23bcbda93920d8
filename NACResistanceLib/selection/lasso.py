"""L1-penalised logistic regression with R glmnet's conventions, and its K-fold cross-validation.

glmnet (Friedman, Hastie & Tibshirani, J Stat Softw 2010) minimises
``-(1/N) loglik(b0, β) + λ ||β||₁`` over features standardised with the 1/N standard deviation,
leaves the intercept unpenalised and reports coefficients on the original scale. The path is
solved with glmnet's outer loop (IRLS quadratic approximation, sequential strong rule, KKT
check, early path stop); the inner weighted lasso is solved exactly by feature-sign search (an
active-set method: small linear solves on the support) instead of glmnet's coordinate descent,
which needs a compiled loop to be fast. The full fit and the K fold fits of the cross-validation
are solved together, in lockstep over λ, by :mod:`.lasso_solver`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit
from threadpoolctl import threadpool_limits

from ..stats.roc import StatisticsInputError
from .lasso_solver import P_CLIP, solve_paths, standardised_problems


@dataclass(frozen=True)
class LassoPath:
    """Solutions along a λ path, on the original feature scale."""

    lambdas: np.ndarray
    """(L,) penalties actually fitted (a prefix of the requested grid when the path stopped early)."""
    intercepts: np.ndarray
    """(L,) intercepts."""
    coefs: np.ndarray
    """(L, p) coefficients, original feature units."""
    deviance_ratio: np.ndarray
    """(L,) 1 - deviance / null deviance on the fitted data."""


def standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and 1/N standard deviations (glmnet ``standardize=TRUE``); sd 0 is returned as 0."""
    mean = X.mean(axis=0)
    sd = np.sqrt(np.mean((X - mean) ** 2, axis=0))
    return mean, sd


def lambda_grid(X: np.ndarray, y: np.ndarray, n_lambda: int = 100, min_ratio: float | None = None) -> np.ndarray:
    """glmnet's grid: λ_max = max_j |z_jᵀ(y - ȳ)| / N on standardised z, log-spaced down to λ_max·ratio.

    ``min_ratio`` defaults to 1e-4 when N > p and 1e-2 otherwise.
    """
    n, p = X.shape
    mean, sd = standardise(X)
    usable = sd > 0
    z = (X[:, usable] - mean[usable]) / sd[usable]
    lam_max = np.max(np.abs(z.T @ (y - y.mean()))) / n
    ratio = (1e-4 if n > p else 1e-2) if min_ratio is None else min_ratio
    return lam_max * ratio ** (np.arange(n_lambda) / (n_lambda - 1))


def lasso_path(X, y, lambdas, *, stop_early: bool = True) -> LassoPath:
    """Fit the L1 logistic path on ``X`` (n, p) with 0/1 ``y`` (n,) for decreasing ``lambdas``.

    Constant columns get coefficient 0 (glmnet excludes them). With ``stop_early`` the path stops
    as glmnet's does (deviance ratio > 0.999, or < 1e-5 relative improvement, after 5 values).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if not np.all(np.isin(y, (0.0, 1.0))) or y.min() == y.max():
        raise StatisticsInputError("y must be 0/1 with both classes present")
    return _paths(X, y, np.ones((1, y.size)), np.asarray(lambdas, dtype=float), stop_early)[0]


def _paths(X, y, train, lambdas, stop_early: bool = True) -> list[LassoPath]:
    """One :class:`LassoPath` per row of ``train`` (F, n), solved in lockstep (see ``lasso_solver``).

    A path holds the λ values its problem reached, within those reached by problem 0. Identical
    rows (x, y) are merged into one row weighted by their count in each problem (the same sums,
    fewer rows: a bootstrap sample repeats about 37% of its rows).
    """
    X, y, train = _merge_identical_rows(X, y, train)
    Z, mean, sd = standardised_problems(X, train)
    b0, beta, ratio = solve_paths(Z, y, train, lambdas, stop_early)
    paths = []
    for f in range(train.shape[0]):
        reached = ~np.isnan(ratio[:, f])
        coefs = np.divide(beta[reached, f], sd[f], out=np.zeros_like(beta[reached, f]), where=sd[f] > 0)
        paths.append(LassoPath(lambdas[: reached.size][reached], b0[reached, f] - coefs @ mean[f], coefs,
                               ratio[reached, f]))
    return paths


def make_foldid(y, n_folds: int = 10, random_state: int = 0) -> np.ndarray:
    """Fold ids 0..K-1, stratified: each class is shuffled and dealt round-robin over the folds."""
    y = np.asarray(y)
    rng = np.random.default_rng(random_state)
    foldid = np.empty(y.size, dtype=int)
    offset = 0
    for value in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == value))
        foldid[members] = (np.arange(members.size) + offset) % n_folds
        offset += members.size
    return foldid


@dataclass(frozen=True)
class LassoCV:
    """Cross-validated L1 logistic path (R ``cv.glmnet`` with ``type.measure = "deviance"``)."""

    lambdas: np.ndarray
    """(L,) λ values with a CV estimate (glmnet drops λ below the smallest any fold reached)."""
    cv_mean: np.ndarray
    """(L,) fold-size-weighted mean of the fold mean binomial deviances."""
    cv_sd: np.ndarray
    """(L,) sqrt(weighted mean of (fold - cv_mean)² / (K - 1))."""
    lambda_min: float
    """Largest λ attaining the minimum ``cv_mean``."""
    lambda_1se: float
    """Largest λ with ``cv_mean <= cv_mean[min] + cv_sd[min]``."""
    choice: str
    """"min" or "1se": which λ :attr:`coef_` and :attr:`intercept_` belong to."""
    path: LassoPath
    """The fit on all rows over the whole grid."""
    feature_names: tuple[str, ...]
    foldid: np.ndarray = field(repr=False)
    """(n,) fold of each row, 0..K-1."""

    @property
    def lambda_chosen(self) -> float:
        return self.lambda_min if self.choice == "min" else self.lambda_1se

    def _index(self, lam: float) -> int:
        return int(np.argmin(np.abs(self.path.lambdas - lam)))

    @property
    def coef_(self) -> pd.Series:
        """Coefficients at the chosen λ (original units), indexed by feature name."""
        return pd.Series(self.path.coefs[self._index(self.lambda_chosen)], index=list(self.feature_names))

    @property
    def intercept_(self) -> float:
        return float(self.path.intercepts[self._index(self.lambda_chosen)])

    @property
    def selected(self) -> tuple[str, ...]:
        """Names of the features with a non-zero coefficient at the chosen λ, in column order."""
        coef = self.coef_
        return tuple(coef.index[coef.to_numpy() != 0])

    def nonzero(self) -> np.ndarray:
        """(L,) number of non-zero coefficients at each λ of :attr:`lambdas` (glmnet ``nzero``)."""
        return (self.path.coefs[: self.lambdas.size] != 0).sum(axis=1)

    def to_frame(self) -> pd.DataFrame:
        """Tidy CV curve: ``lambda``, ``log_lambda``, ``cv_mean``, ``cv_sd``, ``nonzero``."""
        return pd.DataFrame({"lambda": self.lambdas, "log_lambda": np.log(self.lambdas),
                             "cv_mean": self.cv_mean, "cv_sd": self.cv_sd, "nonzero": self.nonzero()})


def _merge_identical_rows(X, y, train) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``[X, y]`` and (F, m) weights: how often each occurs in each problem's rows."""
    distinct, inverse = np.unique(np.column_stack([X, y]), axis=0, return_inverse=True)
    weights = np.zeros((train.shape[0], distinct.shape[0]))
    for f, row_weights in enumerate(train):
        weights[f] = np.bincount(inverse.ravel(), weights=row_weights, minlength=distinct.shape[0])
    return distinct[:, :-1], distinct[:, -1], weights


def _fold_deviance(X, y, foldid, lambdas) -> tuple[LassoPath, np.ndarray, np.ndarray]:
    """The full-data path, (K, L) mean test deviance per fold (NaN beyond a fold's path), (K,) fold sizes.

    The full fit and the K fold fits are solved together, in lockstep over λ (cv.glmnet's folds use the
    λ values the full fit reached).
    """
    folds = np.unique(foldid)
    test = foldid[None, :] == folds[:, None]
    positives = (~test) @ y
    for fold, n_pos, n_train in zip(folds, positives, (~test).sum(axis=1)):
        if n_pos in (0, n_train):
            raise StatisticsInputError(
                f"LASSO cross-validation: the training rows of fold {fold} ({n_train} rows) have a single outcome "
                f"class ({int(n_pos)} positive); glmnet cannot fit them. Use fewer folds or other fold ids")
    full, *fold_paths = _paths(X, y, np.vstack([np.ones(y.size), ~test]).astype(float), lambdas)
    out = np.full((folds.size, full.lambdas.size), np.nan)
    for i, path in enumerate(fold_paths):
        prob = np.clip(expit(path.intercepts[None, :] + X[test[i]] @ path.coefs.T), P_CLIP, 1 - P_CLIP)
        dev = -2 * (y[test[i], None] * np.log(prob) + (1 - y[test[i], None]) * np.log(1 - prob))
        out[i, : path.lambdas.size] = dev.mean(axis=0)
    return full, out, test.sum(axis=1).astype(float)


def _check_xy(X, y) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    names = tuple(str(c) for c in X.columns) if isinstance(X, pd.DataFrame) else tuple(
        f"x{j}" for j in range(np.shape(X)[1]))
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    if X.ndim != 2 or X.shape[0] != y.size:
        raise StatisticsInputError(f"X has shape {X.shape} but y has {y.size} values")
    if not np.all(np.isfinite(X)):
        bad = names[int(np.flatnonzero(~np.isfinite(X).all(axis=0))[0])]
        raise StatisticsInputError(f"feature {bad!r} has NaN or infinite values; impute or drop it first")
    if not np.all(np.isin(y, (0.0, 1.0))) or y.min() == y.max():
        raise StatisticsInputError("y must be 0/1 with both classes present")
    return X, y, names


def lasso_cv(X, y, foldid=None, n_folds: int = 10, random_state: int = 0, *, choice: str = "min",
             n_lambda: int = 100, lambda_min_ratio: float | None = None) -> LassoCV:
    """K-fold cross-validated L1 logistic regression with glmnet's conventions.

    Parameters
    ----------
    X : (n, p) array or DataFrame
        Features in their own units (standardised internally with the 1/N SD).
    y : (n,) 0/1 outcomes.
    foldid : (n,) array of fold labels, optional
        As glmnet's ``foldid``; default :func:`make_foldid` (stratified, seeded by ``random_state``).
    n_folds : int
        Number of folds when ``foldid`` is None.
    random_state : int
        Seed of the fold assignment.
    choice : {"min", "1se"}
        Which λ the coefficients :attr:`LassoCV.coef_` belong to.
    n_lambda, lambda_min_ratio
        The grid (glmnet ``nlambda``, ``lambda.min.ratio``).

    Returns
    -------
    LassoCV
    """
    if choice not in ("min", "1se"):
        raise StatisticsInputError(f"choice {choice!r} must be 'min' or '1se'")
    X, y, names = _check_xy(X, y)
    foldid = make_foldid(y, n_folds, random_state) if foldid is None else np.asarray(foldid)
    if foldid.shape != y.shape or np.unique(foldid).size < 3:
        raise StatisticsInputError("foldid needs one fold label per row and at least 3 folds")
    # Small matrices: multi-threaded BLAS only adds synchronisation cost (10x slower on 2 busy cores).
    with threadpool_limits(limits=1, user_api="blas"):
        full, fold_dev, sizes = _fold_deviance(X, y, foldid, lambda_grid(X, y, n_lambda, lambda_min_ratio))
    keep = ~np.isnan(fold_dev).any(axis=0)
    fold_dev = fold_dev[:, keep]
    cvm = sizes @ fold_dev / sizes.sum()
    cvsd = np.sqrt(sizes @ (fold_dev - cvm) ** 2 / sizes.sum() / (sizes.size - 1))
    lambdas = full.lambdas[keep]
    i_min = int(np.flatnonzero(cvm <= cvm.min())[0])
    i_1se = int(np.flatnonzero(cvm <= cvm[i_min] + cvsd[i_min])[0])
    return LassoCV(lambdas, cvm, cvsd, float(lambdas[i_min]), float(lambdas[i_1se]), choice, full, names, foldid)
