"""Pharmacokinetic fits: Tofts, extended Tofts and Patlak, per voxel (vectorised, bounded) and on an ROI curve.

The model is linear in Ktrans and vp for a fixed kep, so each fit is a one-dimensional search over kep
(variable projection): the bounded linear least-squares solution (closed form, box constraints
0 ≤ Ktrans ≤ min(Ktrans_max, kep·ve_max), vp_min ≤ vp ≤ vp_max) on a log-spaced kep grid shared by all voxels,
then one parabolic refinement of log kep per voxel. Patlak (kep = 0) is one linear fit. Units: Ktrans and
kep in 1/min, ve and vp dimensionless, times in s, concentrations in mM.

:class:`PkModel` refuses (:class:`~NACResistanceLib.errors.AcquisitionError`) a model the acquisition cannot
support: fewer post-contrast phases than the model has parameters plus :data:`EXTRA_PHASES`, or a vascular
term (vp) with phases further apart than ``max_vp_interval_s``.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field

import numpy as np

from ..errors import AcquisitionError
from . import tofts
from .aif import plasma_concentration, population_aif
from .signal import concentration_from_signal

PARAMETERS = {"tofts": ("ktrans", "ve"), "extended_tofts": ("ktrans", "ve", "vp"), "patlak": ("ktrans", "vp")}
EXTRA_PHASES = 2
"""Post-contrast phases needed beyond the number of fitted parameters (so a fit has residual degrees of freedom)."""
KTRANS_MAX_PER_MIN = 5.0
"""Upper bound of Ktrans, 1/min (the OSIPI test bounds)."""
KEP_GRID_PER_MIN = np.geomspace(1e-3, 500.0, 1200)
"""Shared kep grid, 1/min (ratio 1.011 between neighbours)."""
CHUNK_ELEMENTS = 2_000_000
"""Voxels × grid points handled at once (memory ~ 8 × this × a few bytes)."""


class Aif:
    """Plasma input function Cp(t) (mM): a population AIF with a delay, or a measured curve."""

    def __init__(self, name: str = "parker", *, hematocrit: float = 0.42, delay_s: float = 0.0,
                 times_s: np.ndarray | None = None, plasma_mm: np.ndarray | None = None):
        """``name``: ``"parker"``, ``"georgiou"`` or ``"measured"`` (then ``times_s`` and ``plasma_mm``, the
        measured plasma concentration, e.g. blood-pool ROI mean / (1 − Hct))."""
        if name == "measured" and (times_s is None or plasma_mm is None):
            raise ValueError("a measured AIF needs times_s and plasma_mm")
        self.name, self.hematocrit, self.delay_s = name, hematocrit, float(delay_s)
        self.times_s = None if times_s is None else np.asarray(times_s, dtype=np.float64)
        self.plasma_mm = None if plasma_mm is None else np.asarray(plasma_mm, dtype=np.float64)

    @classmethod
    def from_blood_signal(cls, blood_signal, times_s, *, blood_t1_ms: float, tr_ms: float, flip_angle_deg: float,
                          relaxivity_per_mm_s: float, hematocrit: float, baseline_phases: int = 1) -> Aif:
        """A measured AIF from the mean SPGR signal of an arterial ROI per phase.

        Blood concentration Cb from :func:`~.signal.concentration_from_signal` with T1₀ = ``blood_t1_ms`` (ms),
        plasma Cp = Cb / (1 − Hct); the curve is used as sampled at ``times_s`` (s), delay 0.

        Raises
        ------
        AcquisitionError
            The signal never rises above its pre-contrast mean (no bolus in the ROI), or a phase's signal is at
            or above the SPGR ceiling M0·sin α for that blood T1 (no concentration gives it).
        """
        signal = np.asarray(blood_signal, dtype=np.float64)
        baseline = float(np.mean(signal[:baseline_phases]))
        peak = float(np.max(signal[baseline_phases:]))
        if not peak > baseline:
            raise AcquisitionError(f"the arterial signal never rises above its pre-contrast mean (peak {peak:.4g} vs "
                                   f"baseline {baseline:.4g}): no bolus passes through the segment")
        blood_mm = concentration_from_signal(signal, baseline_phases=baseline_phases, t1_ms=blood_t1_ms, tr_ms=tr_ms,
                                             flip_angle_deg=flip_angle_deg, relaxivity_per_mm_s=relaxivity_per_mm_s)
        unconverted = np.flatnonzero(~np.isfinite(blood_mm))
        if unconverted.size:
            raise AcquisitionError(f"the arterial signal of phase(s) {', '.join(str(int(i)) for i in unconverted)} is "
                                   f"above what an SPGR acquisition with blood T1 {blood_t1_ms:g} ms can give "
                                   "(check the blood T1, flip angle and TR)")
        return cls("measured", hematocrit=hematocrit, times_s=times_s,
                   plasma_mm=plasma_concentration(blood_mm, hematocrit))

    def delayed(self, delay_s: float) -> Aif:
        """The same AIF arriving ``delay_s`` (s) later than its own zero."""
        return Aif(self.name, hematocrit=self.hematocrit, delay_s=delay_s, times_s=self.times_s,
                   plasma_mm=self.plasma_mm)

    def grid(self, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integration grid (s) containing ``times_s`` on which Cp is taken linear, and the sample indices."""
        times_s = np.asarray(times_s, dtype=np.float64)
        if self.name == "measured":
            grid = np.union1d(self.times_s + self.delay_s, times_s)
            grid = grid[(grid >= min(0.0, times_s.min())) & (grid <= times_s.max())]
            return grid, np.searchsorted(grid, times_s)
        return tofts.fine_grid(times_s)

    def plasma(self, times_s: np.ndarray) -> np.ndarray:
        """Cp (mM) at ``times_s`` (s)."""
        if self.name == "measured":
            return np.interp(times_s, self.times_s + self.delay_s, self.plasma_mm, left=0.0)
        return plasma_concentration(population_aif(self.name, times_s, self.delay_s), self.hematocrit)


@dataclass(frozen=True)
class PkFit:
    """Parameter maps of a :class:`PkModel` fit (arrays shaped like the fitted voxels; NaN outside the mask)."""

    model: str
    ktrans: np.ndarray
    """Volume transfer constant Ktrans, 1/min."""
    ve: np.ndarray
    """Extravascular extracellular volume fraction (NaN for Patlak)."""
    vp: np.ndarray
    """Plasma volume fraction (0 for Tofts)."""
    kep: np.ndarray
    """Rate constant Ktrans/ve, 1/min (NaN for Patlak)."""
    r_squared: np.ndarray
    """Fit quality: 1 − SSE/SST of the voxel's concentration curve."""
    rmse: np.ndarray
    """Root-mean-square residual, mM."""
    delay_s: float | np.ndarray = 0.0
    """AIF delay used, s (an array when fitted per curve by :meth:`PkModel.fit_with_delay`)."""
    warnings: tuple[str, ...] = field(default=())


class PkModel:
    """A kinetic model on one acquisition: times, AIF and bounds; :meth:`fit` concentration curves."""

    def __init__(self, model: str, times_s, aif: Aif, *, baseline_phases: int = 1, max_vp_interval_s: float = 10.0,
                 ve_max: float = 1.0, vp_max: float = 1.0):
        """
        Parameters
        ----------
        model : one of ``tofts``, ``extended_tofts``, ``patlak``.
        times_s : (n_t,) phase times, s (the AIF's time axis).
        aif : the plasma input function.
        baseline_phases : leading pre-contrast phases (not counted as post-contrast).
        max_vp_interval_s : largest phase interval (s) at which a vascular term (vp) is fitted; the first pass
            of the bolus lasts ~10 s (Parker 2006: FWHM of the first peak ≈ 8 s), so a coarser sampling cannot
            separate vp·Cp from the leakage term.

        Raises
        ------
        AcquisitionError
            Too few post-contrast phases, or vp with too coarse a temporal resolution (the reason is given).
        """
        if model not in PARAMETERS:
            raise ValueError(f"unknown kinetic model {model!r}; choose from {', '.join(PARAMETERS)}")
        self.model, self.aif = model, aif
        self.times_s = np.asarray(times_s, dtype=np.float64)
        self.ve_max, self.vp_max = ve_max, vp_max
        n_post = len(self.times_s) - baseline_phases
        needed = len(PARAMETERS[model]) + EXTRA_PHASES
        if n_post < needed:
            raise AcquisitionError(f"the {model} model fits {len(PARAMETERS[model])} parameters and needs at least "
                                   f"{needed} post-contrast phases, the DCE series has {n_post}")
        interval = float(np.max(np.diff(self.times_s))) if len(self.times_s) > 1 else np.inf
        if "vp" in PARAMETERS[model] and interval > max_vp_interval_s:
            raise AcquisitionError(f"the {model} model fits vp, which needs phases at most {max_vp_interval_s:g} s "
                                   f"apart to sample the first pass of the bolus; the DCE series has phases "
                                   f"{interval:g} s apart")

    @functools.cached_property
    def _grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        grid, keep = self.aif.grid(self.times_s)
        return grid, keep, self.aif.plasma(grid)

    @functools.cached_property
    def _bases(self) -> tuple[np.ndarray, np.ndarray]:
        """Ktrans bases (mM·s per 1/s) on the kep grid ``(n_kep, n_t)``, and Cp at the samples ``(n_t,)``."""
        grid, keep, cp = self._grid
        if self.model == "patlak":
            return tofts.cumulative_integral(grid, cp)[keep][None, :], cp[keep]
        return tofts.exponential_convolution(grid, cp, KEP_GRID_PER_MIN / 60.0, keep), cp[keep]

    def fit(self, concentration_mm: np.ndarray, mask: np.ndarray | None = None) -> PkFit:
        """Fit curves ``(..., n_t)`` (mM); ``mask`` (shape ``...``) selects the voxels fitted (others NaN)."""
        conc = np.asarray(concentration_mm, dtype=np.float64)
        shape = conc.shape[:-1]
        selected = np.ones(shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        curves = conc[selected]
        finite = np.all(np.isfinite(curves), axis=-1)
        values = {name: np.full(curves.shape[0], np.nan) for name in ("ktrans", "ve", "vp", "kep", "r2", "rmse")}
        if np.any(finite):
            for name, fitted in zip(("ktrans", "vp", "kep", "sse"), self._fit_curves(curves[finite])):
                values[name if name != "sse" else "rmse"][finite] = fitted
            good = curves[finite]
            sse = values["rmse"][finite]
            sst = np.sum((good - good.mean(axis=1, keepdims=True)) ** 2, axis=1)
            values["r2"][finite] = np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0), np.nan)
            values["rmse"][finite] = np.sqrt(sse / good.shape[1])
            if self.model != "patlak":
                values["ve"][finite] = np.where(values["kep"][finite] > 0,
                                                values["ktrans"][finite] / values["kep"][finite], np.nan)
            else:
                values["kep"][:] = np.nan
        full = {}
        for name, flat in values.items():
            image = np.full(shape, np.nan)
            image[selected] = flat
            full[name] = image
        excluded = int(np.count_nonzero(~finite))
        warnings = (f"{excluded} voxels with non-finite concentration were not fitted",) if excluded else ()
        return PkFit(self.model, full["ktrans"], full["ve"], full["vp"], full["kep"], full["r2"], full["rmse"],
                     self.aif.delay_s, warnings)

    def _fit_curves(self, curves: np.ndarray) -> tuple[np.ndarray, ...]:
        """Ktrans (1/min), vp, kep (1/min) and SSE (mM²) of each row of ``curves`` ``(n, n_t)``."""
        bases, cp = self._bases
        vp_hi = 0.0 if self.model == "tofts" else self.vp_max
        n_grid = bases.shape[0]
        chunk = max(1, CHUNK_ELEMENTS // n_grid)
        out = [np.empty(curves.shape[0]) for _ in range(4)]
        for start in range(0, curves.shape[0], chunk):
            part = slice(start, start + chunk)
            fitted = self._fit_chunk(curves[part], bases, cp, vp_hi)
            for target, value in zip(out, fitted):
                target[part] = value
        return tuple(out)

    def _fit_chunk(self, curves, bases, cp, vp_hi):
        kep_grid = np.zeros(1) if self.model == "patlak" else KEP_GRID_PER_MIN
        k_hi = np.minimum(KTRANS_MAX_PER_MIN, kep_grid * self.ve_max) if self.model != "patlak" \
            else np.full(1, KTRANS_MAX_PER_MIN)
        gram = _Gram(bases @ curves.T, (cp @ curves.T)[None, :], np.sum(bases**2, axis=1)[:, None],
                     (bases @ cp)[:, None], float(cp @ cp), np.sum(curves**2, axis=1)[None, :])
        k_s, vp, sse = _box_least_squares(gram, k_hi[:, None] / 60.0, vp_hi)
        best = np.argmin(sse, axis=0)
        columns = np.arange(curves.shape[0])
        ktrans, vp_best, sse_best = k_s[best, columns] * 60.0, vp[best, columns], sse[best, columns]
        kep = kep_grid[best]
        if self.model != "patlak":
            ktrans, vp_best, kep, sse_best = self._refine(curves, best, sse, ktrans, vp_best, kep, sse_best, cp, vp_hi)
        return ktrans, vp_best, kep, sse_best

    def _refine(self, curves, best, sse, ktrans, vp, kep, sse_best, cp, vp_hi):
        """One parabolic step in log kep around the best grid point, kept where it lowers the SSE."""
        log_grid = np.log(KEP_GRID_PER_MIN)
        inner = np.clip(best, 1, len(log_grid) - 2)
        columns = np.arange(curves.shape[0])
        s_lo, s_mid, s_hi = sse[inner - 1, columns], sse[inner, columns], sse[inner + 1, columns]
        step = log_grid[1] - log_grid[0]
        curvature = s_lo - 2 * s_mid + s_hi
        with np.errstate(divide="ignore", invalid="ignore"):
            offset = np.where(curvature > 0, 0.5 * step * (s_lo - s_hi) / curvature, 0.0)
        new_kep = np.exp(log_grid[inner] + np.clip(offset, -step, step))
        grid, keep, cp_grid = self._grid
        basis = tofts.exponential_convolution(grid, cp_grid, new_kep / 60.0, keep)
        gram = _Gram(np.sum(basis * curves, axis=1), curves @ cp, np.sum(basis**2, axis=1), basis @ cp,
                     float(cp @ cp), np.sum(curves**2, axis=1))
        k_hi = np.minimum(KTRANS_MAX_PER_MIN, new_kep * self.ve_max) / 60.0
        k_new, vp_new, sse_new = _box_least_squares(gram, k_hi, vp_hi)
        better = sse_new < sse_best
        return (np.where(better, k_new * 60.0, ktrans), np.where(better, vp_new, vp), np.where(better, new_kep, kep),
                np.where(better, sse_new, sse_best))

    def fit_with_delay(self, concentration_mm: np.ndarray, delays_s, mask: np.ndarray | None = None) -> PkFit:
        """Fit curves ``(..., n_t)`` once per AIF delay in ``delays_s`` (s, the bounded search range sampled);
        each curve keeps the delay with the smallest SSE (``delay_s`` of the result is then an array, s)."""
        fits = [self.with_aif(self.aif.delayed(float(delay))).fit(concentration_mm, mask) for delay in delays_s]
        sse = np.stack([np.where(np.isfinite(f.rmse), f.rmse, np.inf) for f in fits])
        best = np.argmin(sse, axis=0)

        def pick(name):  # np.choose takes at most 32 choices on numpy 1.x; take_along_axis has no limit
            stacked = np.stack([np.asarray(getattr(f, name), dtype=np.float64) for f in fits])
            return np.take_along_axis(stacked, best[None, ...], axis=0)[0]

        delay = np.where(np.isfinite(fits[0].rmse), np.asarray(delays_s, dtype=np.float64)[best], np.nan)
        return PkFit(self.model, pick("ktrans"), pick("ve"), pick("vp"), pick("kep"), pick("r_squared"), pick("rmse"),
                     delay, fits[0].warnings)

    def with_aif(self, aif: Aif) -> PkModel:
        """The same model and acquisition with another AIF (e.g. a delayed one)."""
        other = copy.copy(self)
        other.__dict__.pop("_grid", None)
        other.__dict__.pop("_bases", None)
        other.aif = aif
        return other


@dataclass(frozen=True)
class _Gram:
    """Inner products of the Ktrans basis b, Cp c and the curves y: b·y, c·y, b·b, b·c, c·c, y·y."""

    by: np.ndarray
    cy: np.ndarray
    bb: np.ndarray
    bc: np.ndarray
    cc: float
    yy: np.ndarray

    def sse(self, k, v):
        return self.yy - 2 * (k * self.by + v * self.cy) + k * k * self.bb + 2 * k * v * self.bc + v * v * self.cc


def _box_least_squares(g: _Gram, k_hi, v_hi: float):
    """min ‖y − k·b − v·c‖² with 0 ≤ k ≤ k_hi, 0 ≤ v ≤ v_hi (closed form; broadcasts)."""
    k_hi = np.broadcast_to(k_hi, np.broadcast(g.by, g.bb).shape)

    def clip_k(v):
        return np.clip(np.divide(g.by - v * g.bc, g.bb, out=np.zeros(k_hi.shape), where=g.bb > 0), 0.0, k_hi)

    def clip_v(k):
        return np.clip((g.cy - k * g.bc) / g.cc, 0.0, v_hi) if v_hi > 0 else np.zeros_like(k)

    candidates = []
    if v_hi > 0:
        det = g.bb * g.cc - g.bc**2
        safe = np.where(det > 0, det, 1.0)
        k_free = (g.by * g.cc - g.cy * g.bc) / safe
        v_free = (g.cy * g.bb - g.by * g.bc) / safe
        inside = (det > 0) & (k_free >= 0) & (k_free <= k_hi) & (v_free >= 0) & (v_free <= v_hi)
        candidates.append((np.where(inside, k_free, 0.0), np.where(inside, v_free, 0.0), inside))
        for v_fixed in (0.0, v_hi):
            candidates.append((clip_k(v_fixed), np.full(k_hi.shape, v_fixed), None))
        for k_fixed in (np.zeros(k_hi.shape), k_hi):
            candidates.append((k_fixed, clip_v(k_fixed), None))
    else:
        candidates.append((clip_k(0.0), np.zeros(k_hi.shape), None))
    best_k = best_v = best_sse = None
    for k, v, valid in candidates:
        sse = g.sse(k, v)
        if valid is not None:
            sse = np.where(valid, sse, np.inf)
        if best_sse is None:
            best_k, best_v, best_sse = k, v, sse
        else:
            take = sse < best_sse
            best_k, best_v, best_sse = np.where(take, k, best_k), np.where(take, v, best_v), np.where(take, sse, best_sse)
    return best_k, best_v, np.maximum(best_sse, 0.0)
