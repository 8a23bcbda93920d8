"""Semi-quantitative DCE kinetics per voxel.

Definitions (S(t) signal of a voxel, t in s from the pre-contrast phase, S0 = pre-contrast signal,
E(t) = 100·(S(t) − S0)/S0 the relative enhancement in %; "early" and "late" are the post-contrast
phases closest to ``early_time_s`` and ``late_time_s``):

=====================  ==========================================================  ======
name                   definition (phases used)                                     unit
=====================  ==========================================================  ======
initial_enhancement    E(t_early) (pre, early); I-SPY's "PE" at the early phase     %
peak_enhancement       max E(t) over all post-contrast phases                       %
time_to_peak           t of the post-contrast phase with the largest S              s
wash_in                peak_enhancement / time_to_peak (pre, peak)                  %/s
washout                (E(t_peak) − E(t_last)) / (t_last − t_peak); 0 if the peak   %/s
                       is the last phase; > 0 means the signal falls (peak, last)
ser                    (S_early − S0) / (S_late − S0) (pre, early, late);           1
                       NaN where S_late <= S0 (Hylton et al. 1999)
curve_change           100·(S_late − S_early)/S_early (early, late)                 %
curve_type             0 non-enhancing (initial_enhancement < threshold), 1          code
                       persistent (change > +10 %), 2 plateau (within ±10 %),
                       3 washout (change < −10 %); BI-RADS MRI delayed phase
=====================  ==========================================================  ======
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import AcquisitionError, ImageError

CURVE_TYPES = {0: "non_enhancing", 1: "persistent", 2: "plateau", 3: "washout"}
"""Curve type codes of :attr:`KineticsFit.curve_type`."""


def nearest_post_phase(times_s: np.ndarray, target_s: float) -> int:
    """Index of the post-contrast phase (index >= 1) whose time is closest to ``target_s``."""
    return 1 + int(np.argmin(np.abs(times_s[1:] - target_s)))


class KineticsModel:
    """Kinetic analysis of one DCE timing.

    Parameters
    ----------
    times_s : (n_phases,) acquisition times, s, ``times_s[0]`` the pre-contrast phase.
    early_time_s : target time of the early phase (I-SPY: ~150 s, centre of k-space ~2.5 min).
    late_time_s : target time of the late phase (I-SPY: ~450 s); ``None`` = last phase.
    enhancement_threshold_pct : a voxel enhances if initial_enhancement >= this (%, I-SPY 70).
    curve_tolerance_pct : half-width of the plateau band of the curve type (%, BI-RADS 10).
    timing_tolerance_s : a chosen phase farther than this from its target gives a warning.

    Raises
    ------
    AcquisitionError
        Fewer than 2 post-contrast phases, or the early and late targets select the same phase.
    """

    def __init__(self, times_s, *, early_time_s: float = 150.0, late_time_s: float | None = 450.0,
                 enhancement_threshold_pct: float = 70.0, curve_tolerance_pct: float = 10.0,
                 timing_tolerance_s: float = 60.0) -> None:
        self.times_s = np.asarray(times_s, dtype=float)
        if self.times_s.size < 3:
            raise AcquisitionError(f"DCE kinetics need a pre-contrast and >= 2 post-contrast phases, got {self.times_s.size} phases")
        self.early = nearest_post_phase(self.times_s, early_time_s)
        self.late = self.times_s.size - 1 if late_time_s is None else nearest_post_phase(self.times_s, late_time_s)
        if self.late <= self.early:
            raise AcquisitionError(
                f"early phase {self.early} ({self.times_s[self.early]:.0f} s) is not before late phase {self.late} "
                f"({self.times_s[self.late]:.0f} s); check early_time_s / late_time_s against times {self.times_s.tolist()} s"
            )
        self.enhancement_threshold_pct = float(enhancement_threshold_pct)
        self.curve_tolerance_pct = float(curve_tolerance_pct)
        self.warnings = tuple(self._timing_warnings(early_time_s, late_time_s, timing_tolerance_s))

    def _timing_warnings(self, early_s, late_s, tolerance_s):
        for label, index, target in (("early", self.early, early_s), ("late", self.late, late_s)):
            if target is not None and abs(self.times_s[index] - target) > tolerance_s:
                yield (f"DCE {label} phase {index} at {self.times_s[index]:.0f} s is more than {tolerance_s:.0f} s "
                       f"from the {label} target {target:.0f} s")

    def fit(self, signal: np.ndarray, mask: np.ndarray | None = None) -> KineticsFit:
        """Analyse ``signal`` (``(..., n_phases)``, phases on the LAST axis) inside ``mask`` (bool, ``signal.shape[:-1]``).

        Voxels with a non-finite sample or a pre-contrast signal S0 <= 0 (relative enhancement
        undefined) are excluded before any division: NaN in every map, −1 in ``curve_type``, counted in
        :attr:`KineticsFit.n_excluded` and :attr:`KineticsFit.n_nonpositive_baseline`. No
        ``RuntimeWarning`` is emitted for them.
        """
        signal = np.asarray(signal, dtype=float)
        if signal.shape[-1] != self.times_s.size:
            raise AcquisitionError(f"signal has {signal.shape[-1]} phases but {self.times_s.size} times were given")
        mask = np.ones(signal.shape[:-1], bool) if mask is None else np.asarray(mask, bool)
        if mask.shape != signal.shape[:-1]:
            raise ImageError(f"mask shape {mask.shape} does not match the DCE voxel shape {signal.shape[:-1]}")
        samples = signal[mask]
        finite = np.all(np.isfinite(samples), axis=1)
        positive_baseline = np.greater(samples[:, 0], 0, out=np.zeros(len(samples), bool), where=finite)
        ok = finite & positive_baseline
        fitted = mask.copy()
        fitted[mask] = ok
        return KineticsFit(model=self, fitted=fitted, samples=samples[ok], n_excluded=int((~ok).sum()),
                           n_nonpositive_baseline=int((finite & ~positive_baseline).sum()))


@dataclass(frozen=True, eq=False)
class KineticsFit:
    """Kinetic maps of :meth:`KineticsModel.fit`; each map has the voxel shape, NaN where not fitted."""

    model: KineticsModel
    fitted: np.ndarray
    """Bool map of the analysed voxels."""
    samples: np.ndarray
    """``(n_fitted, n_phases)`` signals of the analysed voxels."""
    n_excluded: int
    """Mask voxels left out: non-finite sample or pre-contrast signal <= 0 (count)."""
    n_nonpositive_baseline: int = 0
    """Of :attr:`n_excluded`, the finite voxels left out because their pre-contrast signal is <= 0 (count)."""

    def _map(self, values: np.ndarray) -> np.ndarray:
        out = np.full(self.fitted.shape, np.nan)
        out[self.fitted] = values
        return out

    @cached_property
    def _enhancement(self) -> np.ndarray:
        s0 = self.samples[:, :1]
        return 100.0 * (self.samples - s0) / s0

    @cached_property
    def _peak(self) -> np.ndarray:
        return 1 + np.argmax(self.samples[:, 1:], axis=1)

    @cached_property
    def initial_enhancement(self) -> np.ndarray:
        """E(t_early), %."""
        return self._map(self._enhancement[:, self.model.early])

    @cached_property
    def peak_enhancement(self) -> np.ndarray:
        """Largest post-contrast E(t), %."""
        return self._map(self._enhancement[np.arange(len(self._peak)), self._peak])

    @cached_property
    def time_to_peak(self) -> np.ndarray:
        """Time of the largest post-contrast signal, s from the pre-contrast phase."""
        return self._map(self.model.times_s[self._peak])

    @cached_property
    def wash_in(self) -> np.ndarray:
        """peak_enhancement / time_to_peak, %/s; NaN where time_to_peak <= 0 (peak at or before t = 0)."""
        ttp = self.time_to_peak
        defined = np.isfinite(ttp) & (ttp > 0)
        return np.divide(self.peak_enhancement, ttp, out=np.full_like(ttp, np.nan), where=defined)

    @cached_property
    def washout(self) -> np.ndarray:
        """(E(t_peak) − E(t_last)) / (t_last − t_peak), %/s; 0 where the peak is the last phase."""
        times, last = self.model.times_s, self.model.times_s.size - 1
        drop = self._enhancement[np.arange(len(self._peak)), self._peak] - self._enhancement[:, last]
        span = times[last] - times[self._peak]
        return self._map(np.divide(drop, span, out=np.zeros_like(drop), where=span > 0))

    @cached_property
    def ser(self) -> np.ndarray:
        """(S_early − S0)/(S_late − S0), dimensionless; NaN where S_late <= S0 (undefined)."""
        s0, early, late = self.samples[:, 0], self.samples[:, self.model.early], self.samples[:, self.model.late]
        denominator = late - s0
        return self._map(np.where(denominator > 0, (early - s0) / np.where(denominator > 0, denominator, 1.0), np.nan))

    @cached_property
    def curve_change(self) -> np.ndarray:
        """100·(S_late − S_early)/S_early, %; NaN where S_early <= 0 (such voxels are non-enhancing)."""
        early, late = self.samples[:, self.model.early], self.samples[:, self.model.late]
        change = np.divide(100.0 * (late - early), early, out=np.full_like(early, np.nan), where=early > 0)
        return self._map(change)

    @cached_property
    def curve_type(self) -> np.ndarray:
        """Curve type code per voxel (see :data:`CURVE_TYPES`); −1 where not analysed."""
        change, tol = self.curve_change, self.model.curve_tolerance_pct
        codes = np.select([change > tol, change < -tol], [1, 3], default=2)
        codes = np.where(self.initial_enhancement >= self.model.enhancement_threshold_pct, codes, 0)
        return np.where(self.fitted, codes, -1)

    def curve_composition(self) -> dict[str, float]:
        """Fraction of analysed voxels of each curve type (keys of :data:`CURVE_TYPES` values; sum 1).

        Every fraction is NaN when no voxel was analysed (e.g. all pre-contrast signals <= 0).
        """
        codes = self.curve_type[self.fitted]
        if codes.size == 0:
            return {name: float("nan") for name in CURVE_TYPES.values()}
        return {name: float(np.count_nonzero(codes == code) / codes.size) for code, name in CURVE_TYPES.items()}
