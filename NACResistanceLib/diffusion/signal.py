"""Diffusion signal preparation: validity of voxels, b-value shells, direction and ROI averaging.

Arrays follow numpy order with the volumes on the LAST axis: ``signal[..., j]`` is volume ``j``;
b-values are in s/mm².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AcquisitionError, ImageError

DEFAULT_SHELL_TOLERANCE = 50.0
"""Two b-values closer than this (s/mm²) belong to one shell (scanners report e.g. 995 and 1005)."""


@dataclass(frozen=True)
class Shells:
    """Grouping of volumes into b-value shells."""

    bvals: np.ndarray
    """``(n_shells,)`` mean b-value of each shell, ascending, s/mm²."""
    index: np.ndarray
    """``(n_volumes,)`` shell number of each volume."""
    counts: np.ndarray
    """``(n_shells,)`` number of volumes (directions or repeats) in each shell."""


def as_bvals(bvals, n_volumes: int) -> np.ndarray:
    """Validate b-values: finite, non-negative, one per volume. Returns a float64 ``(n_volumes,)`` array, s/mm²."""
    b = np.asarray(bvals, dtype=np.float64).reshape(-1)
    if b.size != n_volumes:
        raise AcquisitionError(f"{b.size} b-values given for {n_volumes} volumes (last axis of the signal)")
    if not np.all(np.isfinite(b)) or np.any(b < 0):
        raise AcquisitionError(f"b-values must be finite and >= 0 s/mm², got {b.tolist()}")
    return b


def group_shells(bvals: np.ndarray, tolerance: float = DEFAULT_SHELL_TOLERANCE) -> Shells:
    """Group b-values into shells: sorted values whose gap is <= ``tolerance`` (s/mm²) share a shell."""
    order = np.argsort(bvals, kind="stable")
    sorted_b = bvals[order]
    new_shell = np.concatenate([[True], np.diff(sorted_b) > tolerance])
    shell_of_sorted = np.cumsum(new_shell) - 1
    index = np.empty_like(shell_of_sorted)
    index[order] = shell_of_sorted
    counts = np.bincount(index)
    means = np.bincount(index, weights=bvals) / counts
    return Shells(bvals=means, index=index, counts=counts)


def direction_average(signal: np.ndarray, shells: Shells) -> np.ndarray:
    """Arithmetic mean of the volumes of each shell (the powder-averaged, 'mean' signal).

    Parameters
    ----------
    signal : (..., n_volumes) array
    shells : grouping of the volumes

    Returns
    -------
    (..., n_shells) array, in the order of ``shells.bvals``.
    """
    one_hot = np.zeros((signal.shape[-1], shells.bvals.size))
    one_hot[np.arange(signal.shape[-1]), shells.index] = 1.0 / shells.counts[shells.index]
    return signal @ one_hot


def valid_voxels(samples: np.ndarray, min_signal: float) -> np.ndarray:
    """Voxels whose every sample is finite and strictly above ``min_signal``.

    Parameters
    ----------
    samples : (n_voxels, n_volumes) array
    min_signal : signal units; 0 excludes zero / negative samples only, a noise-floor level
        (e.g. the mean background signal) also excludes voxels whose decay reached the floor.

    Returns
    -------
    (n_voxels,) bool array.
    """
    return np.all(np.isfinite(samples), axis=-1) & np.all(samples > min_signal, axis=-1)


def select_voxels(signal: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Return the boolean voxel mask (shape ``signal.shape[:-1]``) and the ``(n_voxels, n_volumes)`` samples."""
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim < 1:
        raise ImageError("signal must have at least one axis (the volumes, last axis)")
    if mask is None:
        mask = np.ones(signal.shape[:-1], dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != signal.shape[:-1]:
        raise ImageError(f"mask shape {mask.shape} does not match the signal's voxel shape {signal.shape[:-1]}")
    return mask, signal[mask]


def scatter(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Put per-voxel ``values`` (n_voxels, ...) back into a NaN-filled array of shape ``mask.shape + values.shape[1:]``."""
    out = np.full(mask.shape + values.shape[1:], np.nan)
    out[mask] = values
    return out
