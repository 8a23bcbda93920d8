"""L1-penalised logistic regression with R glmnet's conventions, and its K-fold cross-validation.

glmnet (Friedman, Hastie & Tibshirani, J Stat Softw 2010) minimises
``-(1/N) loglik(b0, β) + λ ||β||₁`` over features standardised with the 1/N standard deviation,
leaves the intercept unpenalised and reports coefficients on the original scale. The path is
solved with glmnet's outer loop (IRLS quadratic approximation, sequential strong rule, KKT
check, early path stop); the inner weighted lasso is solved exactly by feature-sign search (an
active-set method: small linear solves on the support) instead of glmnet's coordinate descent,
which needs a compiled loop to be fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..stats.logit import sigmoid
from ..stats.roc import StatisticsInputError

P_CLIP = 1e-5
"""glmnet's ``pmin``: fitted probabilities are kept in [1e-5, 1 - 1e-5]."""
IRLS_MAX = 50
IRLS_TOL = 1e-7
MIN_LAMBDAS_BEFORE_STOP = 5
"""glmnet ``mnlam``: the path may stop early only after this many λ values."""
DEV_RATIO_MAX = 0.999
"""glmnet ``devmax``: stop when the deviance ratio exceeds it (saturated fit)."""
DEV_CHANGE_MIN = 1e-5
"""glmnet ``fdev``: stop when the deviance ratio improves by less than this (absolute)."""


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


def _deviance(eta: np.ndarray, y: np.ndarray) -> float:
    return float(-2 * np.sum(y * eta - np.logaddexp(0.0, eta)))


def _solve(H: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``H x = rhs`` (least squares if ``H`` is singular)."""
    try:
        return np.linalg.solve(H, rhs)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(H, rhs, rcond=None)[0]


def _objective(H, q, lam, beta) -> float:
    return float(0.5 * beta @ H @ beta - q @ beta + lam * np.abs(beta).sum())


def _feature_sign_step(R, q, lam, beta, theta) -> np.ndarray:
    """One feature-sign step (Lee et al., NIPS 2006) on the support of ``theta``; returns new beta."""
    idx = np.flatnonzero(theta)
    old = beta[idx]
    sub_r = R[:, idx]
    sub_h, sub_q = sub_r.T @ sub_r, q[idx]
    new = _solve(sub_h, sub_q - lam * theta[idx])
    if np.array_equal(np.sign(new), theta[idx]):
        out = beta.copy()
        out[idx] = new
        return out
    step = new - old
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = -old / step
    points = np.unique(np.r_[crossing[(crossing > 0) & (crossing < 1)], 1.0])
    values = [_objective(sub_h, sub_q, lam, old + t * step) for t in points]
    t = points[int(np.argmin(values))]
    moved = old + t * step
    moved[np.isclose(crossing, t, rtol=1e-12, atol=0.0)] = 0.0
    out = beta.copy()
    out[idx] = moved
    return out


def _gradient(R: np.ndarray, q: np.ndarray, beta: np.ndarray) -> np.ndarray:
    support = np.flatnonzero(beta)
    return R.T @ (R[:, support] @ beta[support]) - q


def lasso_quadratic(R: np.ndarray, q: np.ndarray, lam: float, beta: np.ndarray) -> np.ndarray:
    """Exact minimiser of ``½ βᵀHβ - qᵀβ + λ‖β‖₁`` with ``H = RᵀR`` by feature-sign search.

    ``R`` is (n, k); only the blocks of H on the current support are formed (n·|support|² work
    instead of n·k²). Active-set method, warm-started at ``beta``: add the zero coordinate that
    most violates the KKT condition ``|(Hβ - q)_j| <= λ``, solve the signed linear system on the
    support, line-search over sign changes; stop when no zero coordinate violates the condition
    (relative slack 1e-9).
    """
    beta = beta.astype(float).copy()
    k = R.shape[1]
    tol = 1e-9 * max(lam, 1e-300)
    for _ in range(10 * (k + 1)):
        g = _gradient(R, q, beta)
        theta = np.sign(beta)
        support_error = np.max(np.abs(g + lam * theta)[theta != 0], initial=0.0)
        if support_error <= tol:
            slack = np.where(theta != 0, -np.inf, np.abs(g) - lam)
            j = int(np.argmax(slack)) if slack.size else 0
            if not slack.size or slack[j] <= tol:
                return beta
            theta[j] = -np.sign(g[j])
        for _ in range(k + 1):
            beta = _feature_sign_step(R, q, lam, beta, theta)
            if np.all(np.sign(beta) == theta):
                break
            theta = np.sign(beta)
    return beta


def _weighted_lasso(Z, y, b0, beta, lam) -> tuple[float, np.ndarray]:
    """IRLS for one λ on the columns of ``Z`` (standardised); returns (intercept, coefficients).

    Each iteration minimises ``(1/2N) Σ w (z - b0 - Zβ)² + λ‖β‖₁`` exactly (weighted-centred,
    so b0 drops out; ``H = RᵀR`` with ``R = √(w/N)·(Z - x̄_w)``); iterations stop when glmnet's
    criterion ``max_j xv_j Δβ_j² < IRLS_TOL`` holds, ``xv_j`` the weighted variance of column j
    (and Σw/N for the intercept).
    """
    n = Z.shape[0]
    for _ in range(IRLS_MAX):
        eta = b0 + Z @ beta
        p = np.clip(sigmoid(eta), P_CLIP, 1 - P_CLIP)
        w = p * (1 - p)
        z = eta + (y - p) / w
        sw = w.sum()
        x_mean = w @ Z / sw
        z_mean = w @ z / sw
        root = np.sqrt(w / n)
        R = (Z - x_mean) * root[:, None]
        q = R.T @ ((z - z_mean) * root)
        new = lasso_quadratic(R, q, lam, beta)
        new_b0 = z_mean - x_mean @ new
        xv = np.einsum("ij,ij->j", R, R)
        change = max(np.max(xv * (new - beta) ** 2, initial=0.0), sw / n * (new_b0 - b0) ** 2)
        b0, beta = new_b0, new
        if change < IRLS_TOL:
            break
    return float(b0), beta


def _path_standardised(Z: np.ndarray, y: np.ndarray, lambdas: np.ndarray, stop_early: bool):
    n, p = Z.shape
    ybar = y.mean()
    b0, beta = float(np.log(ybar / (1 - ybar))), np.zeros(p)
    null_dev = _deviance(np.full(n, b0), y)
    grad = Z.T @ (y - ybar) / n
    ever = np.zeros(p, dtype=bool)
    rows, previous = [], lambdas[0]
    for k, lam in enumerate(lambdas):
        cols = ever | (np.abs(grad) >= 2 * lam - previous)
        while True:
            b0, sub = _weighted_lasso(Z[:, cols], y, b0, beta[cols], lam)
            beta = np.zeros(p)
            beta[cols] = sub
            grad = Z.T @ (y - sigmoid(b0 + Z @ beta)) / n
            violated = ~cols & (np.abs(grad) > lam * (1 + 1e-6))
            if not violated.any():
                break
            cols |= violated
        ever |= beta != 0
        ratio = 1 - _deviance(b0 + Z @ beta, y) / null_dev
        rows.append((lam, b0, beta, ratio))
        previous = lam
        if stop_early and k + 1 >= MIN_LAMBDAS_BEFORE_STOP and (
            ratio > DEV_RATIO_MAX or (k > 0 and ratio - rows[-2][3] < DEV_CHANGE_MIN)
        ):
            break
    return rows


def lasso_path(X, y, lambdas, *, stop_early: bool = True) -> LassoPath:
    """Fit the L1 logistic path on ``X`` (n, p) with 0/1 ``y`` (n,) for decreasing ``lambdas``.

    Constant columns get coefficient 0 (glmnet excludes them). With ``stop_early`` the path stops
    as glmnet's does (deviance ratio > 0.999, or < 1e-5 relative improvement, after 5 values).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    mean, sd = standardise(X)
    usable = sd > 0
    Z = (X[:, usable] - mean[usable]) / sd[usable]
    rows = _path_standardised(Z, y, np.asarray(lambdas, dtype=float), stop_early)
    coefs = np.zeros((len(rows), X.shape[1]))
    coefs[:, usable] = np.array([r[2] for r in rows]) / sd[usable]
    intercepts = np.array([r[1] for r in rows]) - coefs @ mean
    return LassoPath(np.array([r[0] for r in rows]), intercepts, coefs, np.array([r[3] for r in rows]))


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


def _fold_deviance(X, y, foldid, lambdas) -> tuple[np.ndarray, np.ndarray]:
    """(K, L) mean test deviance per fold (NaN beyond a fold's path) and (K,) fold sizes."""
    folds = np.unique(foldid)
    out = np.full((folds.size, lambdas.size), np.nan)
    sizes = np.zeros(folds.size)
    for i, fold in enumerate(folds):
        test = foldid == fold
        path = lasso_path(X[~test], y[~test], lambdas)
        prob = np.clip(sigmoid(path.intercepts[None, :] + X[test] @ path.coefs.T), P_CLIP, 1 - P_CLIP)
        dev = -2 * (y[test, None] * np.log(prob) + (1 - y[test, None]) * np.log(1 - prob))
        out[i, : path.lambdas.size] = dev.mean(axis=0)
        sizes[i] = test.sum()
    return out, sizes


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
        full = lasso_path(X, y, lambda_grid(X, y, n_lambda, lambda_min_ratio))
        fold_dev, sizes = _fold_deviance(X, y, foldid, full.lambdas)
    keep = ~np.isnan(fold_dev).any(axis=0)
    fold_dev = fold_dev[:, keep]
    cvm = sizes @ fold_dev / sizes.sum()
    cvsd = np.sqrt(sizes @ (fold_dev - cvm) ** 2 / sizes.sum() / (sizes.size - 1))
    lambdas = full.lambdas[keep]
    i_min = int(np.flatnonzero(cvm <= cvm.min())[0])
    i_1se = int(np.flatnonzero(cvm <= cvm[i_min] + cvsd[i_min])[0])
    return LassoCV(lambdas, cvm, cvsd, float(lambdas[i_min]), float(lambdas[i_1se]), choice, full, names, foldid)
