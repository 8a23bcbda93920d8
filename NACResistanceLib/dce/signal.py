"""Spoiled gradient-echo (SPGR) signal ↔ gadolinium concentration, and T1 by variable flip angle.

Steady-state SPGR signal with R1 = 1/T1₀ + r1·C (fast exchange) and E1 = exp(−TR·R1)::

    S = M0·sin α·(1 − E1) / (1 − cos α·E1)

Inverting it (e.g. Schabel & Parker, Phys Med Biol 2008): M0 from the mean pre-contrast signal S₀ and the
baseline T1₀; then for each phase E1 = (M0 sin α − S)/(M0 sin α − S cos α), R1 = −ln(E1)/TR and
C = (R1 − 1/T1₀)/r1. The baseline T1₀ may be an assumed value, a T1 map (any array broadcasting against the
voxels) or :func:`t1_from_variable_flip_angles`. Times in ms for TR and T1 (the DICOM units), r1 in s⁻¹·mM⁻¹.
"""

from __future__ import annotations

import numpy as np

from ..errors import AcquisitionError

GADOBUTROL_R1_3T_PER_MM_S = 5.0
"""r1 of gadobutrol in plasma at 3 T, s⁻¹·mM⁻¹ (Rohrer et al., Invest Radiol 2005)."""


def spgr_signal(concentration_mm: np.ndarray, *, t1_ms, m0, tr_ms: float, flip_angle_deg: float,
                relaxivity_per_mm_s: float) -> np.ndarray:
    """SPGR signal (units of ``m0``) for concentrations (mM) of any shape; ``t1_ms`` (T1₀) and ``m0`` broadcast."""
    r1_per_s = 1000.0 / np.asarray(t1_ms, dtype=np.float64) + relaxivity_per_mm_s * concentration_mm
    e1 = np.exp(-tr_ms / 1000.0 * r1_per_s)
    alpha = np.deg2rad(flip_angle_deg)
    return m0 * np.sin(alpha) * (1.0 - e1) / (1.0 - np.cos(alpha) * e1)


def concentration_from_signal(signal: np.ndarray, *, baseline_phases, t1_ms, tr_ms: float,
                              flip_angle_deg: float, relaxivity_per_mm_s: float) -> np.ndarray:
    """Concentration (mM) from SPGR signals ``(..., n_t)``; S₀ is their mean over the pre-contrast phases.

    ``baseline_phases``: the number of leading pre-contrast phases, or the indices of the phases to average
    (e.g. ``range(1, n)`` to skip a first phase still approaching steady state).
    ``t1_ms`` is T1₀ (ms): a number or an array broadcasting against ``signal[..., 0]``. Phases whose signal
    is at or above the SPGR ceiling M0·sin α (no positive finite R1 gives it: E1 outside (0, 1)) are NaN.

    Raises
    ------
    AcquisitionError
        No pre-contrast phase, or a flip angle / TR out of range.
    """
    baseline = np.arange(baseline_phases) if np.isscalar(baseline_phases) else np.asarray(baseline_phases, dtype=int)
    if baseline.size < 1:
        raise AcquisitionError("signal to concentration needs at least one pre-contrast phase (baseline_phases)")
    if not 0.0 < flip_angle_deg < 180.0 or tr_ms <= 0.0:
        raise AcquisitionError(f"flip angle {flip_angle_deg} deg and TR {tr_ms} ms cannot be an SPGR acquisition "
                               "(need 0 < flip angle < 180 deg and TR > 0 ms)")
    signal = np.asarray(signal, dtype=np.float64)
    alpha = np.deg2rad(flip_angle_deg)
    tr_s = tr_ms / 1000.0
    r10 = 1000.0 / np.asarray(t1_ms, dtype=np.float64)
    e10 = np.exp(-tr_s * r10)
    s0 = np.mean(signal[..., baseline], axis=-1)
    m0_sin = s0 * (1.0 - np.cos(alpha) * e10) / (1.0 - e10)
    with np.errstate(divide="ignore", invalid="ignore"):
        e1 = (m0_sin[..., None] - signal) / (m0_sin[..., None] - signal * np.cos(alpha))
        valid = (e1 > 0.0) & (e1 < 1.0)
        r1 = np.where(valid, -np.log(np.where(valid, e1, 0.5)) / tr_s, np.nan)
    return (r1 - np.asarray(r10)[..., None]) / relaxivity_per_mm_s


def t1_from_variable_flip_angles(signals: np.ndarray, flip_angles_deg, tr_ms: float) -> np.ndarray:
    """T1₀ (ms) from SPGR images at several flip angles, ``signals`` ``(n_angles, ...)`` (DESPOT1, Deoni 2003).

    Linear least squares of S/sin α = E1·S/tan α + M0(1 − E1) per voxel (vectorised); T1 = −TR/ln E1.
    Voxels with E1 outside (0, 1) are NaN.

    Raises
    ------
    AcquisitionError
        Fewer than two distinct flip angles.
    """
    angles = np.deg2rad(np.asarray(flip_angles_deg, dtype=np.float64))
    if len(np.unique(angles)) < 2:
        raise AcquisitionError(f"variable-flip-angle T1 needs at least 2 distinct flip angles, got {list(flip_angles_deg)}")
    signals = np.asarray(signals, dtype=np.float64)
    shape = (len(angles),) + (1,) * (signals.ndim - 1)
    y = signals / np.sin(angles).reshape(shape)
    x = signals / np.tan(angles).reshape(shape)
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = ((x - x_mean) * (y - y_mean)).sum(axis=0) / ((x - x_mean) ** 2).sum(axis=0)
        t1 = -tr_ms / np.log(np.where((slope > 0) & (slope < 1), slope, np.nan))
    return t1
