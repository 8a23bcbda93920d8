"""DCE signal: Parker population AIF, extended Tofts tissue concentration, spoiled gradient echo.

Equations (t in s; the AIF's published constants are in min and mmol/L):

* AIF (Parker et al., MRM 2006;56:993), blood concentration, mM, t' = t − bolus arrival in min::

      Cb(t') = Σ_{n=1,2} A_n/(σ_n√(2π))·exp(−(t'−T_n)²/(2σ_n²)) + α·exp(−β t')/(1 + exp(−s(t'−τ)))

  and the plasma concentration ``Cp = Cb / (1 − Hct)``; ``Cp = 0`` before arrival.
* Extended Tofts (Tofts et al., JMRI 1999)::

      Ct(t) = vp·Cp(t) + Ktrans·∫_0^t Cp(τ)·exp(−kep(t − τ)) dτ,   kep = Ktrans / ve

* Spoiled gradient echo, with ``R1 = 1/T1 + r1·Ct`` and ``E1 = exp(−TR·R1)``::

      S = M0·sin α·(1 − E1) / (1 − cos α·E1)
"""

from __future__ import annotations

import numpy as np

from .tissues import DCE_SIGNAL_SCALE, GADOBUTROL_R1_PER_MM_S, HEMATOCRIT

PARKER_2006 = {"A1": 0.809, "A2": 0.330, "T1": 0.17046, "T2": 0.365, "sigma1": 0.0563, "sigma2": 0.132,
               "alpha": 1.050, "beta": 0.1685, "s": 38.078, "tau": 0.483}
"""Population AIF constants of Parker et al. 2006 (A in mmol·min/L, T, σ, τ in min, α in mmol/L, β, s in 1/min)."""

CONVOLUTION_STEP_S = 0.5
"""Largest time step of the piecewise-linear convolution, s (phase times are always grid points)."""


def parker_aif(times_s: np.ndarray, arrival_s: float) -> np.ndarray:
    """Plasma concentration of gadolinium, mM, at ``times_s`` (s) for a bolus arriving at ``arrival_s`` (s)."""
    p = PARKER_2006
    t = (np.asarray(times_s, dtype=np.float64) - arrival_s) / 60.0
    gaussians = sum(
        p[f"A{n}"] / (p[f"sigma{n}"] * np.sqrt(2 * np.pi)) * np.exp(-((t - p[f"T{n}"]) ** 2) / (2 * p[f"sigma{n}"] ** 2))
        for n in (1, 2)
    )
    tail = p["alpha"] * np.exp(-p["beta"] * t) / (1.0 + np.exp(-p["s"] * (t - p["tau"])))
    return np.where(t >= 0.0, (gaussians + tail) / (1.0 - HEMATOCRIT), 0.0)


def tofts_concentration(ktrans_per_min, ve, vp, times_s, arrival_s: float) -> np.ndarray:
    """Extended-Tofts tissue concentration, mM, of ``(n,)`` voxels at ``(n_t,)`` times (s); returns ``(n, n_t)``.

    ``ktrans_per_min`` (min⁻¹), ``ve`` and ``vp`` are ``(n,)`` arrays or scalars. The convolution
    integral is exact for an AIF that is linear between the points of a grid with steps of at most
    :data:`CONVOLUTION_STEP_S` that contains every requested time (exponential integrator), and it
    is vectorised over voxels.
    """
    times_s = np.asarray(times_s, dtype=np.float64)
    ktrans = np.atleast_1d(np.asarray(ktrans_per_min, dtype=np.float64)) / 60.0
    ve = np.broadcast_to(np.asarray(ve, dtype=np.float64), ktrans.shape)
    vp = np.broadcast_to(np.asarray(vp, dtype=np.float64), ktrans.shape)
    kep = np.maximum(np.divide(ktrans, ve, out=np.zeros_like(ktrans), where=ve > 0), 1e-9)
    fine = np.union1d(np.arange(0.0, times_s.max(), CONVOLUTION_STEP_S), times_s)
    cp = parker_aif(fine, arrival_s)
    convolved = _exponential_convolution(fine, cp, kep, set(np.searchsorted(fine, times_s)))
    return vp[:, None] * parker_aif(times_s, arrival_s)[None, :] + ktrans[:, None] * convolved


def _exponential_convolution(fine: np.ndarray, cp: np.ndarray, kep: np.ndarray, keep: set) -> np.ndarray:
    """``∫ Cp(τ)·exp(−kep(t − τ)) dτ`` (mM·s) at the grid indices in ``keep``; ``(n, len(keep))``."""
    value = np.zeros_like(kep)
    kept = [value.copy()] if 0 in keep else []
    for i in range(1, len(fine)):
        h = fine[i] - fine[i - 1]
        decay = np.exp(-kep * h)
        integral0 = -np.expm1(-kep * h) / kep
        integral1 = (h - integral0) / kep
        value = decay * value + cp[i - 1] * integral0 + (cp[i] - cp[i - 1]) / h * integral1
        if i in keep:
            kept.append(value.copy())
    return np.stack(kept, axis=1)


def spgr_signal(concentration_mm: np.ndarray, t1_ms, m0, tr_ms: float, flip_angle_deg: float) -> np.ndarray:
    """Spoiled gradient-echo signal (scanner units) for concentrations (mM) of any shape.

    ``t1_ms`` (native T1, ms) and ``m0`` broadcast against ``concentration_mm``; the signal is
    :data:`DCE_SIGNAL_SCALE` × M0 × sin α (1 − E1) / (1 − cos α E1) with R1 = 1/T1 + r1·C.
    """
    r1_per_s = 1000.0 / np.asarray(t1_ms, dtype=np.float64) + GADOBUTROL_R1_PER_MM_S * concentration_mm
    e1 = np.exp(-tr_ms / 1000.0 * r1_per_s)
    alpha = np.deg2rad(flip_angle_deg)
    return DCE_SIGNAL_SCALE * np.asarray(m0) * np.sin(alpha) * (1.0 - e1) / (1.0 - np.cos(alpha) * e1)
