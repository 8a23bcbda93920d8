"""Vectorised weighted linear least squares on log-signals, one small system per voxel."""

from __future__ import annotations

import numpy as np


def weighted_log_linear(log_signal: np.ndarray, design: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Solve ``min_x sum_j w_ij (y_ij - X_j x_i)²`` for every voxel ``i`` at once.

    Parameters
    ----------
    log_signal : (n_voxels, n_samples) array, ``y = ln S``
    design : (n_samples, n_params) array ``X`` shared by all voxels
    weights : (n_voxels, n_samples) non-negative array ``w``

    Returns
    -------
    (n_voxels, n_params) array of the parameters ``x``.

    Notes
    -----
    Builds the normal equations ``(Xᵀ W X) x = Xᵀ W y`` as one ``(n_voxels, p, p)`` stack and solves
    them together with :func:`numpy.linalg.solve` (no per-voxel Python loop).
    """
    normal = np.einsum("vs,sp,sq->vpq", weights, design, design)
    rhs = np.einsum("vs,sp,vs->vp", weights, design, log_signal)
    return np.linalg.solve(normal, rhs[..., None])[..., 0]
