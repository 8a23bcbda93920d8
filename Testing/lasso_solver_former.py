"""The LASSO solver's inner steps as they were before the overhead cuts of the train-speed change.

A verbatim copy of ``lasso_solver._irls_step``, ``lasso_quadratic``, ``_feature_sign_step``,
``_objective_on_segment`` and ``_solve_on_support`` at commit 36497e3, kept so that
``test_selection_solver_equivalence.py`` can check that the current code does the same arithmetic
(bit-identical results), not merely close results. Shared helpers come from the library.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from NACResistanceLib.selection.lasso_solver import P_CLIP, _add_to_diagonal, _gram, _matvec, _rows, _solve


def _irls_step(Zc, valid, y, train, n_obs, lam, b0, beta):
    """One IRLS iteration on the working sets ``Zc`` (F, c, n): exact weighted lasso.

    Minimises ``(1/2N) Σ w (z - b0 - Zβ)² + λ‖β‖₁`` (weighted-centred, so b0 drops out;
    ``H = RRᵀ``, ``q = R√(w/N)(z - z̄)`` with ``R = (Z - x̄_w)√(w/N)``). ``valid`` (F, c) is False on padding.
    Returns (b0, beta, glmnet's change ``max(max_j xv_j Δβ_j², Σw/N·Δb0²)``, xv_j the weighted
    variance of column j).
    """
    eta = b0[:, None] + _matvec(Zc, beta)
    p = np.clip(expit(eta), P_CLIP, 1 - P_CLIP)
    w = train * p * (1 - p)
    z = eta + (y - p) / (p * (1 - p))
    sw = w.sum(axis=1)
    x_mean = np.matmul(Zc, w[:, :, None])[:, :, 0] / sw[:, None]
    z_mean = np.sum(w * z, axis=1) / sw
    root = np.sqrt(w / n_obs[:, None])
    centred = (Zc - x_mean[:, :, None]) * root[:, None, :]  # padding rows stay 0
    q = np.matmul(centred, (root * (z - z_mean[:, None]))[:, :, None])[:, :, 0]
    H = _gram(centred)
    xv = np.diagonal(H, axis1=1, axis2=2).copy()
    _add_to_diagonal(H, ~valid)  # padding: decoupled unit rows, never entered
    new = lasso_quadratic(H, q, lam, beta, valid)
    new_b0 = z_mean - np.sum(x_mean * new, axis=1)
    change = np.maximum(np.max(xv * (new - beta) ** 2, axis=1), sw / n_obs * (new_b0 - b0) ** 2)
    return new_b0, new, change



def lasso_quadratic(H: np.ndarray, q: np.ndarray, lam: float, beta: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Exact minimisers of ``½ βᵀH_fβ - q_fᵀβ + λ‖β‖₁`` for F problems by feature-sign search.

    ``H`` (F, c, c) positive semi-definite, ``q`` (F, c), warm start ``beta`` (F, c); only
    ``allowed`` (F, c) coordinates may become non-zero. Active-set method (Lee et al., NIPS 2006):
    when the support is optimal, add the zero coordinate that most violates ``|(Hβ - q)_j| <= λ``;
    solve the signed linear system on the support and line-search over sign changes; stop when no
    allowed zero coordinate violates the condition (relative slack 1e-9). Problems advance one
    step per loop pass; a finished problem is left untouched.
    """
    beta = beta.astype(float).copy()
    F, c = beta.shape
    tol = 1e-9 * max(lam, 1e-300)
    theta = np.sign(beta)
    checking, done = np.ones(F, dtype=bool), np.zeros(F, dtype=bool)
    rows = np.arange(F)
    for _ in range(10 * (c + 1) ** 2):
        if checking.any():
            g = np.matmul(H, beta[:, :, None])[:, :, 0] - q
            sign = np.sign(beta)
            support_error = np.max(np.abs(g + lam * sign) * (sign != 0), axis=1)
            slack = np.where((sign == 0) & allowed, np.abs(g) - lam, -np.inf)
            j = np.argmax(slack, axis=1)
            optimal = checking & (support_error <= tol)
            add = optimal & (slack[rows, j] > tol)
            done |= optimal & ~add
            theta[checking] = sign[checking]
            theta[add, j[add]] = -np.sign(g[add, j[add]])
        s = np.flatnonzero(~done)
        if s.size == 0:
            break
        beta[s] = _feature_sign_step(H[s], q[s], lam, beta[s], theta[s])
        checking = np.zeros(F, dtype=bool)
        checking[s] = np.all(np.sign(beta[s]) == theta[s], axis=1)
        theta[s] = np.sign(beta[s])
    return beta


def _feature_sign_step(H, q, lam, beta, theta) -> np.ndarray:
    """One feature-sign step for each problem on the support of its ``theta``; returns new betas."""
    on = theta != 0
    new = _solve_on_support(H, q - lam * theta, on)
    consistent = np.all(np.sign(new) == theta, axis=1)
    if consistent.all():
        return new
    step = new - beta
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(on, -beta / step, np.nan)
    inside = (crossing > 0) & (crossing < 1)
    points = np.sort(np.concatenate([np.where(inside, crossing, 1.0), np.ones((beta.shape[0], 1))], axis=1), axis=1)
    objective = _objective_on_segment(H, q, lam, beta, step, points)
    t = points[np.arange(beta.shape[0]), np.argmin(objective, axis=1)]
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


def _solve_on_support(H: np.ndarray, rhs: np.ndarray, on: np.ndarray) -> np.ndarray:
    """(F, c) solutions of ``H_SS x_S = rhs_S`` on each problem's support S = ``on``, 0 elsewhere.

    The supports are gathered into (F, s, s) systems, s the largest support, padded with unit rows.
    """
    order = np.argsort(~on, axis=1, kind="stable")[:, : max(int(on.sum(axis=1).max()), 1)]
    valid = _rows(on, order)
    rows = np.arange(on.shape[0])[:, None, None]
    A = H[rows, order[:, :, None], order[:, None, :]]
    A *= valid[:, :, None] & valid[:, None, :]
    _add_to_diagonal(A, ~valid)
    x = _solve(A, _rows(rhs, order) * valid)
    out = np.zeros_like(rhs)
    out[np.arange(out.shape[0])[:, None], order] = x * valid
    return out
