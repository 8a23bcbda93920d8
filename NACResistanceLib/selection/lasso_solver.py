"""Batched glmnet path solver: F L1-penalised logistic problems on one design, solved in lockstep.

Problem f minimises ``-(1/N_f) loglik_f(b0, β) + λ‖β‖₁`` over the rows with ``train[f] == 1``
(cv.glmnet's full fit and its K fold fits are F = K + 1 such problems on the same rows). All problems
take the same λ at the same time, so every numpy call below works on all F problems at once
instead of once per problem: that is what makes the K-fold CV fast in Python.

For each λ (Friedman, Hastie & Tibshirani, J Stat Softw 2010, glmnet's outer loop):

1. sequential strong rule (Tibshirani et al., J R Stat Soc B 2012): only columns ever active or
   with ``|∇_j| >= 2λ - λ_prev`` may enter;
2. IRLS: each quadratic approximation ``½βᵀHβ - qᵀβ + λ‖β‖₁`` is minimised exactly by
   feature-sign search (Lee et al., NIPS 2006; an active-set method with small linear solves on
   the support, instead of glmnet's coordinate descent), until glmnet's criterion
   ``max_j xv_j Δβ_j² < IRLS_TOL``;
3. KKT check on the excluded columns; violators join and IRLS resumes.

Each problem follows exactly the sequence of steps it would follow alone (finished problems are
masked, not iterated further), so a problem's solution does not depend on the others in the batch.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

P_CLIP = 1e-5
"""glmnet's ``pmin``: fitted probabilities are kept in [1e-5, 1 - 1e-5]."""
IRLS_MAX = 50
IRLS_TOL = 1e-7
KKT_SLACK = 1e-6
"""A column outside the strong set violates the KKT condition when ``|∇_j| > λ(1 + KKT_SLACK)``."""
MIN_LAMBDAS_BEFORE_STOP = 5
"""glmnet ``mnlam``: the path may stop early only after this many λ values."""
DEV_RATIO_MAX = 0.999
"""glmnet ``devmax``: stop when the deviance ratio exceeds it (saturated fit)."""
DEV_CHANGE_MIN = 1e-5
"""glmnet ``fdev``: stop when the deviance ratio improves by less than this (absolute)."""


def standardised_problems(X: np.ndarray, train: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardise ``X`` (n, p) once per problem with the mean and 1/N SD of its training rows.

    Returns ``Z`` (F, p + 1, n), feature-major (``Z[f, j]`` is column j for problem f, contiguous), with
    0 for columns constant on a problem's training rows (glmnet excludes them) and an all-zero last
    column used as padding by the solver, and the (F, p) means and SDs (SD 0 for the excluded columns).
    """
    n_obs = train.sum(axis=1)[:, None]
    mean = train @ X / n_obs
    sd = np.sqrt(np.einsum("fn,fnp->fp", train, (X[None] - mean[:, None, :]) ** 2) / n_obs)
    usable = sd > 0
    Z = np.zeros((train.shape[0], X.shape[1] + 1, X.shape[0]))
    scaled = (X[None] - mean[:, None, :]) / np.where(usable, sd, 1.0)[:, None, :] * usable[:, None, :]
    Z[:, :-1, :] = np.swapaxes(scaled, 1, 2)
    return Z, mean, np.where(usable, sd, 0.0)


def deviance(eta: np.ndarray, y: np.ndarray, train: np.ndarray) -> np.ndarray:
    """(F,) binomial deviance of linear predictors ``eta`` (F, n) on each problem's training rows."""
    return -2 * np.sum(train * (y * eta - np.logaddexp(0.0, eta)), axis=1)


def solve_paths(Z: np.ndarray, y: np.ndarray, train: np.ndarray, lambdas: np.ndarray, stop_early: bool = True):
    """Fit F L1 logistic paths in lockstep over decreasing ``lambdas`` (L,).

    Parameters
    ----------
    Z : (F, k + 1, n) standardised designs from :func:`standardised_problems`.
    y : (n,) 0/1 outcomes.
    train : (F, n) 1 for the rows each problem is fitted on, else 0.
    stop_early : stop a problem's path as glmnet does (after 5 λ, deviance ratio > 0.999 or
        improving by < 1e-5). The whole batch ends when problem 0's path ends (cv.glmnet's folds use
        the λ values the full fit reached).

    Returns
    -------
    intercepts (L', F), coefs (L', F, k) on the standardised scale and deviance ratios (L', F);
    NaN after a problem's path stopped. L' <= L is the length of problem 0's path.
    """
    F, k1, _ = Z.shape
    n_obs = train.sum(axis=1)
    ybar = train @ y / n_obs
    b0, beta = np.log(ybar / (1 - ybar)), np.zeros((F, k1))
    null_dev = deviance(np.repeat(b0[:, None], y.size, axis=1), y, train)
    grad = _gradient(Z, y, train, n_obs, np.repeat(b0[:, None], y.size, axis=1))
    ever = np.zeros((F, k1), dtype=bool)
    running = np.ones(F, dtype=bool)
    out_b0, out_beta, out_ratio = [], [], []
    previous = lambdas[0]
    for i, lam in enumerate(lambdas):
        cols = ever | (np.abs(grad) >= 2 * lam - previous)
        cols[:, -1] = False
        b0, beta, grad, eta = _solve_lambda(Z, y, train, n_obs, lam, cols, running, b0, beta, grad)
        ever |= beta != 0
        ratio = 1 - deviance(eta, y, train) / null_dev
        out_b0.append(np.where(running, b0, np.nan))
        out_beta.append(np.where(running[:, None], beta[:, :-1], np.nan))
        out_ratio.append(np.where(running, ratio, np.nan))
        if stop_early and i + 1 >= MIN_LAMBDAS_BEFORE_STOP:
            running &= ~((ratio > DEV_RATIO_MAX) | (ratio - out_ratio[-2] < DEV_CHANGE_MIN))
            if not running[0]:
                break
        previous = lam
    return np.array(out_b0), np.array(out_beta), np.array(out_ratio)


def _matvec(Z: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """(F, n) ``Z[f]ᵀ beta[f]`` for every problem (``Z`` feature-major, (F, k, n))."""
    return np.matmul(beta[:, None, :], Z)[:, 0, :]


def _gradient(Z, y, train, n_obs, eta) -> np.ndarray:
    """(F, k + 1) gradient of the mean log-likelihood, ``Zᵀ(y - p) / N``, on the training rows."""
    residual = train * (y - expit(eta)) / n_obs[:, None]
    return np.matmul(Z, residual[:, :, None])[:, :, 0]


def _solve_lambda(Z, y, train, n_obs, lam, cols, running, b0, beta, grad):
    """IRLS + KKT check at one λ for the ``running`` problems; returns (b0, beta, gradient, (F, n) η).

    IRLS works on the compact working set of the ``cols`` columns, gathered once per λ (and again
    after a KKT violation).
    """
    b0, grad, cols = b0.copy(), grad.copy(), cols.copy()
    pending = running.copy()
    iterations = np.zeros(b0.size, dtype=int)
    idx, Zc = _working_set(Z, cols)
    beta_c = _rows(beta, idx)
    while pending.any():
        s = slice(None) if pending.all() else np.flatnonzero(pending)
        b0[s], beta_c[s], change = _irls_step(Zc[s], idx[s] < Z.shape[1] - 1, y, train[s], n_obs[s], lam,
                                              b0[s], beta_c[s])
        iterations[s] += 1
        finished = np.zeros(b0.size, dtype=bool)
        finished[s] = (change < IRLS_TOL) | (iterations[s] >= IRLS_MAX)
        if finished.any():
            new_grad = _gradient(Z, y, train, n_obs, b0[:, None] + _matvec(Zc, beta_c))
            violated = finished[:, None] & ~cols & (np.abs(new_grad) > lam * (1 + KKT_SLACK))
            violated[:, -1] = False
            grad[finished] = new_grad[finished]
            again = violated.any(axis=1)
            if again.any():
                beta = _scatter(beta_c, idx, Z.shape[1])
                cols |= violated
                idx, Zc = _working_set(Z, cols)
                beta_c = _rows(beta, idx)
            iterations[again] = 0
            pending &= ~(finished & ~again)
    return b0, _scatter(beta_c, idx, Z.shape[1]), grad, b0[:, None] + _matvec(Zc, beta_c)


def _working_set(Z: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F, c) indices of each problem's ``cols`` (padded with the zero column k) and (F, c, n) ``Z`` on them."""
    width = max(int(cols.sum(axis=1).max()), 1)
    order = np.argsort(~cols, axis=1, kind="stable")[:, :width]
    idx = np.where(_rows(cols, order), order, cols.shape[1] - 1)
    return idx, _rows(Z, idx)


def _rows(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``values[f, idx[f]]`` for every problem f (a gather along axis 1; faster than ``take_along_axis``)."""
    return values[np.arange(values.shape[0])[:, None], idx]


def _scatter(beta_c: np.ndarray, idx: np.ndarray, width: int) -> np.ndarray:
    """(F, width) coefficients from their working-set values (0 outside the working set and in the padding)."""
    out = np.zeros((beta_c.shape[0], width))
    out[np.arange(out.shape[0])[:, None], idx] = beta_c
    out[:, -1] = 0.0
    return out


def _irls_step(Zc, valid, y, train, n_obs, lam, b0, beta):
    """One IRLS iteration on the working sets ``Zc`` (F, c, n): exact weighted lasso.

    Minimises ``(1/2N) Σ w (z - b0 - Zβ)² + λ‖β‖₁`` (weighted-centred, so b0 drops out;
    ``H = RRᵀ``, ``q = R√(w/N)(z - z̄)`` with ``R = (Z - x̄_w)√(w/N)``). ``valid`` (F, c) is False on padding.
    Returns (b0, beta, glmnet's change ``max(max_j xv_j Δβ_j², Σw/N·Δb0²)``, xv_j the weighted
    variance of column j).
    """
    eta = b0[:, None] + _matvec(Zc, beta)
    p = np.clip(expit(eta), P_CLIP, 1 - P_CLIP)
    one_minus_p = 1 - p
    w = train * p * one_minus_p
    z = eta + (y - p) / (p * one_minus_p)
    sw = w.sum(axis=1)
    x_mean = np.matmul(Zc, w[:, :, None])[:, :, 0] / sw[:, None]
    z_mean = (w * z).sum(axis=1) / sw
    root = np.sqrt(w / n_obs[:, None])
    centred = Zc - x_mean[:, :, None]
    centred *= root[:, None, :]  # padding rows stay 0
    q = np.matmul(centred, (root * (z - z_mean[:, None]))[:, :, None])[:, :, 0]
    H = _gram(centred)
    xv = np.diagonal(H, axis1=1, axis2=2).copy()
    _add_to_diagonal(H, ~valid)  # padding: decoupled unit rows, never entered
    new = lasso_quadratic(H, q, lam, beta, valid)
    new_b0 = z_mean - (x_mean * new).sum(axis=1)
    change = np.maximum((xv * (new - beta) ** 2).max(axis=1), sw / n_obs * (new_b0 - b0) ** 2)
    return new_b0, new, change


def _gram(R: np.ndarray) -> np.ndarray:
    """(F, c, c) ``R[f] R[f]ᵀ`` (one symmetric product per problem: numpy uses BLAS syrk for it)."""
    out = np.empty((R.shape[0], R.shape[1], R.shape[1]))
    for f, block in enumerate(R):
        np.matmul(block, block.T, out=out[f])
    return out


def _add_to_diagonal(A: np.ndarray, values: np.ndarray) -> None:
    """``A[f, i, i] += values[f, i]`` in place for a C-contiguous (F, c, c) ``A``."""
    A.reshape(A.shape[0], -1)[:, :: A.shape[1] + 1] += values


def lasso_quadratic(H: np.ndarray, q: np.ndarray, lam: float, beta: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Exact minimisers of ``½ βᵀH_fβ - q_fᵀβ + λ‖β‖₁`` for F problems by feature-sign search.

    ``H`` (F, c, c) positive semi-definite, ``q`` (F, c), warm start ``beta`` (F, c); only
    ``allowed`` (F, c) coordinates may become non-zero. Active-set method (Lee et al., NIPS 2006):
    when the support is optimal, add the zero coordinate that most violates ``|(Hβ - q)_j| <= λ``;
    solve the signed linear system on the support and line-search over sign changes; stop when no
    allowed zero coordinate violates the condition (relative slack 1e-9). Problems advance one
    step per loop pass; a finished problem is left untouched.
    """
    beta = beta.astype(float)  # a copy
    F, c = beta.shape
    tol = 1e-9 * max(lam, 1e-300)
    theta = np.sign(beta)
    checking, done = np.ones(F, dtype=bool), np.zeros(F, dtype=bool)
    for _ in range(10 * (c + 1) ** 2):
        if checking.any():
            _check_optimality(H, q, lam, tol, beta, allowed, checking, done, theta)
        s = (~done).nonzero()[0]
        if s.size == 0:
            break
        new = _feature_sign_step(H, q, lam, beta[s], theta[s], s)
        beta[s] = new
        sign = np.sign(new)
        checking = np.zeros(F, dtype=bool)
        checking[s] = (sign == theta[s]).all(axis=1)
        theta[s] = sign
    return beta


def _check_optimality(H, q, lam, tol, beta, allowed, checking, done, theta) -> None:
    """For the ``checking`` problems: mark ``done`` those at the optimum; else update the signs ``theta``
    (in place) to the current support plus, for an optimal support, the most violating zero coordinate."""
    g = np.matmul(H, beta[:, :, None])[:, :, 0] - q
    sign = np.sign(beta)
    support_error = (np.abs(g + lam * sign) * (sign != 0)).max(axis=1)
    slack = np.where((sign == 0) & allowed, np.abs(g) - lam, -np.inf)
    j = slack.argmax(axis=1)
    optimal = checking & (support_error <= tol)
    add = optimal & (slack[np.arange(slack.shape[0]), j] > tol)
    done |= optimal & ~add
    theta[checking] = sign[checking]
    theta[add, j[add]] = -np.sign(g[add, j[add]])


def _feature_sign_step(H, q, lam, beta, theta, s) -> np.ndarray:
    """One feature-sign step for the problems ``s`` (their ``beta`` and ``theta``) on the support of
    ``theta``; returns their new betas. ``H`` and ``q`` hold all problems."""
    on = theta != 0
    qs = q[s]
    new = _solve_on_support(H, s, qs - lam * theta, on)
    consistent = (np.sign(new) == theta).all(axis=1)
    if consistent.all():
        return new
    step = new - beta
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(on, -beta / step, np.nan)
    inside = (crossing > 0) & (crossing < 1)
    points = np.sort(np.concatenate([np.where(inside, crossing, 1.0), np.ones((beta.shape[0], 1))], axis=1), axis=1)
    objective = _objective_on_segment(H[s], qs, lam, beta, step, points)
    t = points[np.arange(beta.shape[0]), objective.argmin(axis=1)]
    moved = beta + t[:, None] * step
    moved[np.abs(crossing - t[:, None]) <= 1e-12 * t[:, None]] = 0.0  # the coordinates that crossed at t
    return np.where(consistent[:, None], new, moved)


def _objective_on_segment(H, q, lam, beta, step, points) -> np.ndarray:
    """(F, P) objective at ``beta + t·step`` for the P values ``t`` in ``points`` (F, P).

    The quadratic part is ``a + b t + ½ c t²`` (one product with H per problem, not one per point).
    """
    h_beta, h_step = np.matmul(H, beta[:, :, None])[:, :, 0], np.matmul(H, step[:, :, None])[:, :, 0]
    a = np.sum(beta * (0.5 * h_beta - q), axis=1)
    b = np.sum(step * (h_beta - q), axis=1)
    c = np.sum(step * h_step, axis=1)
    l1 = np.abs(beta[:, None, :] + points[:, :, None] * step[:, None, :]).sum(axis=2)
    return a[:, None] + b[:, None] * points + 0.5 * c[:, None] * points**2 + lam * l1


def _solve_on_support(H: np.ndarray, s: np.ndarray, rhs: np.ndarray, on: np.ndarray) -> np.ndarray:
    """(S, c) solutions of ``H_SS x_S = rhs_S`` for the problems ``s`` of ``H`` (F, c, c) on their supports
    S = ``on`` (S, c), 0 elsewhere.

    The supports are gathered into (S, m, m) systems, m the largest support, padded with unit rows.
    """
    c = H.shape[1]
    order = np.argsort(~on, axis=1, kind="stable")[:, : max(int(on.sum(axis=1).max()), 1)]
    rows = np.arange(on.shape[0])[:, None]
    valid = on[rows, order]
    flat = order[:, :, None] * c + order[:, None, :] + (s * (c * c))[:, None, None]
    A = H.reshape(-1)[flat]  # H[s[f], order[f, i], order[f, j]]
    A *= valid[:, :, None] & valid[:, None, :]
    _add_to_diagonal(A, ~valid)
    x = _solve(A, rhs[rows, order] * valid)
    out = np.zeros_like(rhs)
    out[rows, order] = x * valid
    return out


def _solve(A: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``A_f x_f = rhs_f`` for every problem (least squares where ``A_f`` is singular)."""
    try:
        return np.linalg.solve(A, rhs[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        return np.array([np.linalg.lstsq(a, b, rcond=None)[0] for a, b in zip(A, rhs)])
