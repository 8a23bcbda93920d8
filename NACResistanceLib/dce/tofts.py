"""Reference contrast-agent curves: the Parker population AIF and the extended Tofts model.

Used to build DCE test curves and synthetic exams with known kinetics. Times in s,
concentrations in mM, Ktrans and kep in 1/min (the units of the literature).
"""

from __future__ import annotations

import numpy as np

PARKER_2006 = {
    "A": (0.809, 0.330),  # mM·min
    "T": (0.17046, 0.365),  # min
    "sigma": (0.0563, 0.132),  # min
    "alpha": 1.050,  # mM
    "beta": 0.1685,  # 1/min
    "s": 38.078,  # 1/min
    "tau": 0.483,  # min
}
"""Population-average blood AIF parameters, Parker et al., Magn Reson Med 2006;56:993–1000, Table 1."""


def parker_aif(times_s: np.ndarray, *, onset_s: float = 0.0, hematocrit: float = 0.42) -> np.ndarray:
    """Plasma concentration Cp(t) = Cb(t)/(1 − Hct) of the Parker 2006 AIF, mM; 0 before ``onset_s``.

    Parameters
    ----------
    times_s : (n,) times, s. onset_s : contrast arrival (s). hematocrit : blood Hct (dimensionless).
    """
    p = PARKER_2006
    t = np.maximum((np.asarray(times_s, dtype=float) - onset_s) / 60.0, 0.0)
    gauss = sum(a / (sd * np.sqrt(2 * np.pi)) * np.exp(-((t - c) ** 2) / (2 * sd**2))
                for a, c, sd in zip(p["A"], p["T"], p["sigma"]))
    sigmoid = p["alpha"] * np.exp(-p["beta"] * t) / (1 + np.exp(-p["s"] * (t - p["tau"])))
    blood = np.where(np.asarray(times_s) >= onset_s, gauss + sigmoid, 0.0)
    return blood / (1 - hematocrit)


def extended_tofts(times_s: np.ndarray, *, ktrans_per_min: float, kep_per_min: float, vp: float,
                   onset_s: float = 0.0, step_s: float = 0.05) -> np.ndarray:
    """Tissue concentration Ct(t) = vp·Cp(t) + Ktrans·∫₀ᵗ Cp(u)·exp(−kep·(t−u)) du, mM, at ``times_s``.

    The convolution is integrated on a ``step_s`` grid (exact exponential recursion with
    trapezoidal input) and interpolated linearly at ``times_s``.
    """
    grid = np.arange(0.0, float(np.max(times_s)) + step_s, step_s)
    cp = parker_aif(grid, onset_s=onset_s)
    dt_min = step_s / 60.0
    decay = np.exp(-kep_per_min * dt_min)
    conv = np.zeros_like(grid)
    for i in range(1, grid.size):
        conv[i] = conv[i - 1] * decay + 0.5 * dt_min * (cp[i - 1] * decay + cp[i])
    tissue = vp * cp + ktrans_per_min * conv
    return np.interp(times_s, grid, tissue)
