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

from ..dce import aif, signal, tofts
from .tissues import DCE_SIGNAL_SCALE, GADOBUTROL_R1_PER_MM_S, HEMATOCRIT

PARKER_2006 = aif.PARKER_2006
"""Population AIF constants of Parker et al. 2006 (the library's, :data:`NACResistanceLib.dce.aif.PARKER_2006`)."""

CONVOLUTION_STEP_S = tofts.FINE_STEP_S
"""Largest time step of the piecewise-linear convolution, s (phase times are always grid points)."""


def parker_aif(times_s: np.ndarray, arrival_s: float) -> np.ndarray:
    """Plasma concentration of gadolinium, mM, at ``times_s`` (s) for a bolus arriving at ``arrival_s`` (s)."""
    return aif.plasma_concentration(aif.parker_blood(times_s, arrival_s), HEMATOCRIT)


def tofts_concentration(ktrans_per_min, ve, vp, times_s, arrival_s: float) -> np.ndarray:
    """Extended-Tofts tissue concentration, mM, of ``(n,)`` voxels at ``(n_t,)`` times (s); returns ``(n, n_t)``.

    ``ktrans_per_min`` (min⁻¹), ``ve`` and ``vp`` are ``(n,)`` arrays or scalars. The library's
    :func:`NACResistanceLib.dce.tofts.model_concentration` on a grid with steps of at most
    :data:`CONVOLUTION_STEP_S` that contains every requested time (exact for the AIF linear on that grid).
    """
    grid, keep = tofts.fine_grid(times_s, CONVOLUTION_STEP_S)
    return tofts.model_concentration("extended_tofts", grid, parker_aif(grid, arrival_s),
                                     ktrans_per_min=ktrans_per_min, ve=ve, vp=vp, keep=keep)


def spgr_signal(concentration_mm: np.ndarray, t1_ms, m0, tr_ms: float, flip_angle_deg: float) -> np.ndarray:
    """Spoiled gradient-echo signal (scanner units) for concentrations (mM) of any shape.

    ``t1_ms`` (native T1, ms) and ``m0`` broadcast against ``concentration_mm``; the signal is
    :data:`DCE_SIGNAL_SCALE` × M0 × sin α (1 − E1) / (1 − cos α E1) with R1 = 1/T1 + r1·C
    (:func:`NACResistanceLib.dce.signal.spgr_signal`).
    """
    return signal.spgr_signal(concentration_mm, t1_ms=t1_ms, m0=DCE_SIGNAL_SCALE * np.asarray(m0), tr_ms=tr_ms,
                              flip_angle_deg=flip_angle_deg, relaxivity_per_mm_s=GADOBUTROL_R1_PER_MM_S)
