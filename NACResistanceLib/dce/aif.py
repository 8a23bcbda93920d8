"""Population arterial input functions (whole-blood gadolinium concentration, mM) with a bolus delay.

* Parker et al., Magn Reson Med 2006;56:993–1000 (Table 1), t′ = t − delay in min::

      Cb(t′) = Σ_{n=1,2} A_n/(σ_n√(2π))·exp(−(t′−T_n)²/(2σ_n²)) + α·exp(−β t′)/(1 + exp(−s(t′−τ)))

* Georgiou et al., Magn Reson Med 2019;81:2193–2207: the published representative curve (supporting information
  S2, 0–5 min every 0.1 s, shipped as ``georgiou_2019_aif.csv``) interpolated linearly; past its last sample the
  Horsfield functional form with the constants of Table 3 (t′ in min), which is within ~3 % of the tabulated
  curve but not within the OSIPI tolerance on the first-pass upslope::

      Cb(t′) = Σ_{i=1..3} A_i·exp(−m_i t′) · Σ_{k ≥ 0, t′ ≥ kτ} γ(t′ − kτ; α_k = (k+1)α + k, β),
      γ(x; a, b) = x^a·exp(−x/b) / (b^(a+1)·Γ(a+1))

Both are 0 before ``delay_s``. Plasma concentration: :func:`plasma_concentration` (Cp = Cb / (1 − Hct)).
A measured AIF (mean blood-pool curve of an ROI) needs no function here: pass it to the models as is.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.special import gammaln

PARKER_2006 = {"A1": 0.809, "A2": 0.330, "T1": 0.17046, "T2": 0.365, "sigma1": 0.0563, "sigma2": 0.132,
               "alpha": 1.050, "beta": 0.1685, "s": 38.078, "tau": 0.483}
"""Parker 2006 constants (A in mmol·min/L, T, σ, τ in min, α in mmol/L, β, s in 1/min)."""

GEORGIOU_2019 = {"A": (0.37, 0.33, 10.06), "m": (0.11, 1.17, 16.02), "alpha": 5.26, "beta": 0.032, "tau": 0.129}
"""Georgiou 2019 constants (A in mM, m in 1/min, α dimensionless, β and τ in min)."""

POPULATION_AIFS = ("parker", "georgiou")
GEORGIOU_TABLE = Path(__file__).with_name("georgiou_2019_aif.csv")


def parker_blood(times_s: np.ndarray, delay_s: float = 0.0) -> np.ndarray:
    """Parker 2006 whole-blood concentration, mM, at ``times_s`` (s) for a bolus arriving at ``delay_s`` (s)."""
    p = PARKER_2006
    t = (np.asarray(times_s, dtype=np.float64) - delay_s) / 60.0
    gaussians = sum(
        p[f"A{n}"] / (p[f"sigma{n}"] * np.sqrt(2 * np.pi)) * np.exp(-((t - p[f"T{n}"]) ** 2) / (2 * p[f"sigma{n}"] ** 2))
        for n in (1, 2)
    )
    tail = p["alpha"] * np.exp(-p["beta"] * t) / (1.0 + np.exp(-p["s"] * (t - p["tau"])))
    return np.where(t >= 0.0, gaussians + tail, 0.0)


def georgiou_blood(times_s: np.ndarray, delay_s: float = 0.0) -> np.ndarray:
    """Georgiou 2019 whole-blood concentration, mM, at ``times_s`` (s) for a bolus arriving at ``delay_s`` (s).

    The published table within its 5 min, the functional form (:func:`georgiou_functional_form`) after.
    """
    t_s = np.asarray(times_s, dtype=np.float64) - delay_s
    table_s, table_mm = _georgiou_table()
    tabulated = np.interp(t_s, table_s, table_mm)
    return np.where(t_s < 0.0, 0.0, np.where(t_s <= table_s[-1], tabulated, georgiou_functional_form(t_s)))


def georgiou_functional_form(times_s: np.ndarray, delay_s: float = 0.0) -> np.ndarray:
    """Horsfield functional form with Georgiou 2019 Table 3 constants, mM; 0 before ``delay_s`` (s).

    The recirculation gamma variates are evaluated in log space (their Γ(α_k + 1) overflows past k ≈ 27).
    """
    p = GEORGIOU_2019
    t = (np.asarray(times_s, dtype=np.float64) - delay_s) / 60.0
    t_valid = np.where(t >= 0.0, t, 0.0)
    n_passes = int(np.floor(np.max(t_valid, initial=0.0) / p["tau"])) + 1
    passes = np.zeros_like(t_valid)
    for k in range(n_passes):
        shifted = t_valid - k * p["tau"]
        shape = (k + 1) * p["alpha"] + k
        inside = shifted > 0.0
        log_gamma = (shape * np.log(np.where(inside, shifted, 1.0)) - shifted / p["beta"]
                     - (shape + 1.0) * np.log(p["beta"]) - gammaln(shape + 1.0))
        passes += np.where(inside, np.exp(log_gamma), 0.0)
    exponentials = sum(a * np.exp(-m * t_valid) for a, m in zip(p["A"], p["m"]))
    return np.where(t >= 0.0, exponentials * passes, 0.0)


@lru_cache(maxsize=1)
def _georgiou_table() -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and whole-blood concentrations (mM) of the published Georgiou curve."""
    table = np.loadtxt(GEORGIOU_TABLE, delimiter=",", comments="#", skiprows=3)
    return table[:, 0] * 60.0, table[:, 1]


def population_aif(name: str, times_s: np.ndarray, delay_s: float = 0.0) -> np.ndarray:
    """Whole-blood concentration (mM) of the population AIF ``name`` (one of :data:`POPULATION_AIFS`)."""
    if name == "parker":
        return parker_blood(times_s, delay_s)
    if name == "georgiou":
        return georgiou_blood(times_s, delay_s)
    raise ValueError(f"unknown population AIF {name!r}; choose from {', '.join(POPULATION_AIFS)}")


def plasma_concentration(blood_mm: np.ndarray, hematocrit: float) -> np.ndarray:
    """Plasma concentration Cp = Cb / (1 − Hct), mM (gadolinium stays out of the red cells)."""
    return np.asarray(blood_mm, dtype=np.float64) / (1.0 - hematocrit)
