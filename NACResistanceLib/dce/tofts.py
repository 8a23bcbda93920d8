"""Tracer-kinetic forward models: Tofts, extended Tofts and Patlak tissue concentration, mM.

With plasma concentration Cp(t) (mM), Ktrans and kep = Ktrans/ve in 1/min (the literature's units), t in s::

    Tofts           Ct(t) = Ktrans·∫₀ᵗ Cp(u)·exp(−kep(t−u)) du
    extended Tofts  Ct(t) = vp·Cp(t) + Ktrans·∫₀ᵗ Cp(u)·exp(−kep(t−u)) du      (Tofts et al., JMRI 1999)
    Patlak          Ct(t) = vp·Cp(t) + Ktrans·∫₀ᵗ Cp(u) du                     (Patlak et al., JCBFM 1983)

The integrals are exact for a Cp that is linear between the points of the grid it is given on (an
exponential integrator, vectorised over rates). This is the one implementation: the phantom
(:mod:`NACResistanceLib.phantom.dce`) generates its DCE signals with it and :mod:`.pk` fits with it.
"""

from __future__ import annotations

import numpy as np

from .aif import PARKER_2006, parker_blood, plasma_concentration

MODELS = ("tofts", "extended_tofts", "patlak")
"""Forward models, in order of the parameters they need: (Ktrans, ve), (Ktrans, ve, vp), (Ktrans, vp)."""

FINE_STEP_S = 0.5
"""Largest step, s, of the grid on which a population AIF is integrated (sample times are grid points)."""

__all__ = ["FINE_STEP_S", "MODELS", "PARKER_2006", "cumulative_integral", "exponential_convolution",
           "extended_tofts", "fine_grid", "model_concentration", "parker_aif"]


def fine_grid(times_s: np.ndarray, step_s: float = FINE_STEP_S) -> tuple[np.ndarray, np.ndarray]:
    """Grid ``0, step, 2·step, … ∪ times_s`` (s) and the indices of ``times_s`` in it."""
    times_s = np.asarray(times_s, dtype=np.float64)
    grid = np.union1d(np.arange(0.0, times_s.max(), step_s), times_s)
    return grid, np.searchsorted(grid, times_s)


def exponential_convolution(grid_s: np.ndarray, cp_mm: np.ndarray, rate_per_s: np.ndarray,
                            keep: np.ndarray | None = None) -> np.ndarray:
    """``∫₀ᵗ Cp(u)·exp(−k(t−u)) du`` (mM·s) for each rate ``k`` (1/s, > 0) at the grid indices ``keep``.

    ``cp_mm`` is given on ``grid_s`` (s) and taken linear between its points; the result is exact for
    that Cp. Returns ``(len(rate_per_s), len(keep))`` (``keep`` = all grid points when ``None``).
    """
    rate = np.atleast_1d(np.asarray(rate_per_s, dtype=np.float64))
    kept_mask = np.zeros(len(grid_s), dtype=bool)
    kept_mask[np.arange(len(grid_s)) if keep is None else np.asarray(keep)] = True
    value = np.zeros_like(rate)
    kept = [value.copy()] if kept_mask[0] else []
    for i in range(1, len(grid_s)):
        h = grid_s[i] - grid_s[i - 1]
        decay = np.exp(-rate * h)
        integral0 = -np.expm1(-rate * h) / rate
        integral1 = (h - integral0) / rate
        value = decay * value + cp_mm[i - 1] * integral0 + (cp_mm[i] - cp_mm[i - 1]) / h * integral1
        if kept_mask[i]:
            kept.append(value.copy())
    return np.stack(kept, axis=1)


def cumulative_integral(grid_s: np.ndarray, cp_mm: np.ndarray) -> np.ndarray:
    """``∫₀ᵗ Cp(u) du`` (mM·s) at every grid point: the trapezoid rule, exact for a piecewise-linear Cp."""
    steps = np.diff(grid_s) * 0.5 * (cp_mm[1:] + cp_mm[:-1])
    return np.concatenate([[0.0], np.cumsum(steps)])


def model_concentration(model: str, grid_s: np.ndarray, cp_mm: np.ndarray, *, ktrans_per_min, ve=None, vp=0.0,
                        keep: np.ndarray | None = None) -> np.ndarray:
    """Tissue concentration (mM) of ``(n,)`` voxels under ``model`` at the grid indices ``keep``; ``(n, n_keep)``.

    ``ktrans_per_min`` (1/min), ``ve`` (Tofts models) and ``vp`` (extended Tofts, Patlak) broadcast to ``(n,)``;
    ``cp_mm`` is the plasma concentration on ``grid_s`` (s).
    """
    if model not in MODELS:
        raise ValueError(f"unknown kinetic model {model!r}; choose from {', '.join(MODELS)}")
    keep = np.arange(len(grid_s)) if keep is None else np.asarray(keep)
    ktrans = np.atleast_1d(np.asarray(ktrans_per_min, dtype=np.float64)) / 60.0
    vp = np.broadcast_to(np.asarray(0.0 if model == "tofts" else vp, dtype=np.float64), ktrans.shape)
    if model == "patlak":
        integral = cumulative_integral(grid_s, cp_mm)[keep]
        return vp[:, None] * cp_mm[keep][None, :] + ktrans[:, None] * integral[None, :]
    ve = np.broadcast_to(np.asarray(ve, dtype=np.float64), ktrans.shape)
    kep = np.maximum(np.divide(ktrans, ve, out=np.zeros_like(ktrans), where=ve > 0), 1e-9)
    convolved = exponential_convolution(grid_s, cp_mm, kep, keep)
    return vp[:, None] * cp_mm[keep][None, :] + ktrans[:, None] * convolved


def parker_aif(times_s: np.ndarray, *, onset_s: float = 0.0, hematocrit: float = 0.42) -> np.ndarray:
    """Plasma concentration (mM) of the Parker 2006 AIF arriving at ``onset_s`` (s); see :mod:`.aif`."""
    return plasma_concentration(parker_blood(times_s, onset_s), hematocrit)


def extended_tofts(times_s: np.ndarray, *, ktrans_per_min: float, kep_per_min: float, vp: float,
                   onset_s: float = 0.0, hematocrit: float = 0.42) -> np.ndarray:
    """Extended-Tofts concentration (mM) at ``times_s`` (s) for the Parker AIF arriving at ``onset_s`` (s).

    Integrated on :func:`fine_grid` (population AIF linear between 0.5 s points).
    """
    grid, keep = fine_grid(times_s)
    cp = parker_aif(grid, onset_s=onset_s, hematocrit=hematocrit)
    return model_concentration("extended_tofts", grid, cp, ktrans_per_min=ktrans_per_min,
                               ve=ktrans_per_min / kep_per_min, vp=vp, keep=keep)[0]
