"""A small, fast maximum-likelihood logistic fit (Newton-Raphson) for inner loops.

Stepwise selection and the bootstrap fit thousands of small logistic models; statsmodels' ``Logit``
costs milliseconds of overhead per fit, this costs tens of microseconds. Reported tables use
statsmodels (:mod:`NACResistanceLib.models.logistic`); the tests check both agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_ITER = 60
TOL = 1e-10


@dataclass(frozen=True)
class NewtonFit:
    """Result of :func:`fit_logit_newton`."""

    params: np.ndarray
    """(k,) coefficients in the column order of the design matrix."""
    cov: np.ndarray
    """(k, k) inverse observed information (covariance of ``params``)."""
    loglik: float
    converged: bool
    """False when the iterations hit the limit (separation: coefficients diverge)."""


def log_likelihood(eta: np.ndarray, y: np.ndarray) -> float:
    """Bernoulli log-likelihood of linear predictor ``eta`` (n,) for 0/1 ``y`` (n,)."""
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def sigmoid(eta: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-eta)), computed without overflow."""
    return np.exp(-np.logaddexp(0.0, -eta))


def fit_logit_newton(X: np.ndarray, y: np.ndarray, start: np.ndarray | None = None) -> NewtonFit:
    """Maximum-likelihood logistic regression by Newton-Raphson with step halving.

    Parameters
    ----------
    X : (n, k) design matrix, including the intercept column if one is wanted.
    y : (n,) 0/1 outcomes.
    start : (k,) starting coefficients, default zeros.
    """
    beta = np.zeros(X.shape[1]) if start is None else np.array(start, dtype=float)
    loglik = log_likelihood(X @ beta, y)
    converged = False
    for _ in range(MAX_ITER):
        p = sigmoid(X @ beta)
        info = (X * (p * (1 - p))[:, None]).T @ X
        step = _solve(info, X.T @ (y - p))
        new_beta, new_loglik = _halve_until_better(X, y, beta, step, loglik)
        change = abs(new_loglik - loglik)
        beta, loglik = new_beta, new_loglik
        if change < TOL * (abs(loglik) + TOL):
            converged = True
            break
    p = sigmoid(X @ beta)
    cov = np.linalg.pinv((X * (p * (1 - p))[:, None]).T @ X)
    return NewtonFit(beta, cov, loglik, converged and bool(np.all(np.abs(beta) < 50 / _col_scale(X))))


def _col_scale(X: np.ndarray) -> np.ndarray:
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    return scale


def _solve(info: np.ndarray, score: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(info, score)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(info, score, rcond=None)[0]


def _halve_until_better(X, y, beta, step, loglik) -> tuple[np.ndarray, float]:
    for _ in range(30):
        candidate = beta + step
        value = log_likelihood(X @ candidate, y)
        if value >= loglik - 1e-12:
            return candidate, value
        step = step / 2
    return beta, loglik


def score_test(X_restricted: np.ndarray, fit: NewtonFit, X_extra: np.ndarray, y: np.ndarray) -> float:
    """Rao score statistic for adding ``X_extra`` (n, q) to a model fitted on ``X_restricted`` (n, k).

    ``U' I⁻¹ U`` with the score U and information I of the full model evaluated at the restricted
    MLE (extra coefficients 0); chi-square with q df under the null. Equals R ``add1(test="Rao")``.
    """
    X = np.column_stack([X_restricted, X_extra])
    p = sigmoid(X_restricted @ fit.params)
    u = X.T @ (y - p)
    info = (X * (p * (1 - p))[:, None]).T @ X
    return float(u @ np.linalg.pinv(info) @ u)


ALIAS_TOLERANCE = 1e-7
"""Relative residual norm under which a column counts as aliased (R's ``lm``/``glm`` QR tolerance)."""


def aliased_columns(X: np.ndarray, tol: float = ALIAS_TOLERANCE) -> list[int]:
    """Indices of the columns of ``X`` (n, k) that are linear combinations of the columns before them.

    Columns are taken in order, as R's ``glm`` does (its QR, ``dqrdc2``, reports such coefficients as
    ``NA`` "not defined because of singularities"): column j is aliased when its residual after
    projection on the kept earlier columns has a norm ≤ ``tol`` × its own norm (a zero column is
    aliased). With an intercept first, a column constant over the rows is aliased with it.
    """
    basis = np.empty((X.shape[0], 0))
    aliased = []
    for j in range(X.shape[1]):
        column = np.asarray(X[:, j], dtype=float)
        norm = np.linalg.norm(column)
        residual = column - basis @ (basis.T @ column)
        residual = residual - basis @ (basis.T @ residual)  # second pass: orthogonal to working precision
        if norm == 0 or np.linalg.norm(residual) <= tol * norm:
            aliased.append(j)
        else:
            basis = np.column_stack([basis, residual / np.linalg.norm(residual)])
    return aliased
