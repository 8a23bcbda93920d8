"""Mean-signal (trace) kurtosis: MD and MK from the direction-averaged signal.

Model (Jensen et al. 2005; DIPY ``msdki``, Henriques et al. 2018), per shell b (s/mm²):
``ln S̄(b) = ln S0 − b·MD + b²·MD²·MK/6``; MD in mm²/s, MK dimensionless. S̄(b) is the arithmetic
mean of the volumes of shell b (one volume per b for trace-weighted data). This is not the mean
of the kurtosis tensor: it needs no directions and cannot give axial/radial kurtosis.

Per voxel at b <= 1000 s/mm² the estimate is dominated by noise (SNR 30 at b=0/800/1000 gives
MK −1.8 ± 30 for a truth of 0.89), so the ROI-level fit on the ROI-averaged signal,
:func:`fit_roi_mean_kurtosis`, is the feature; the voxel map comes with a quality mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import AcquisitionError, ImageError
from .least_squares import weighted_log_linear
from .signal import (
    DEFAULT_SHELL_TOLERANCE,
    as_bvals,
    direction_average,
    group_shells,
    scatter,
    select_voxels,
    valid_voxels,
)

VOXELWISE_MIN_BMAX = 1500.0
"""Highest b-value (s/mm²) below which per-voxel kurtosis is flagged unreliable everywhere."""
PLAUSIBLE_MD = (0.0, 3.5e-3)
"""Open/closed range of MD (mm²/s) accepted by the quality mask (free water at 37 °C is 3.0e-3)."""
PLAUSIBLE_MK = (0.0, 3.0)
"""Closed range of MK accepted by the quality mask (tissue values are 0.3–1.5)."""


class MeanKurtosisModel:
    """Mean-signal kurtosis model of one acquisition.

    Parameters
    ----------
    bvals : (n_volumes,) s/mm². At least 3 shells (b=0 may be one of them; S0 is always fitted).
    min_signal : voxels whose direction-averaged signal of any shell is non-finite or <= ``min_signal``
        are excluded (NaN, counted); single zero volumes within a shell are averaged, not excluded.
    shell_tolerance : b-values within this distance (s/mm²) form one shell.
    voxelwise_min_bmax : below this highest b-value (s/mm²) the per-voxel quality mask is all False.

    Notes
    -----
    Weighted log-linear fit with weights ``n_j·S̄_j²`` (``n_j`` volumes in shell j, observed mean
    signal), the weighting of DIPY ``msdki.wls_fit_msdki``, solved for all voxels at once.
    """

    def __init__(self, bvals, *, min_signal: float = 0.0, shell_tolerance: float = DEFAULT_SHELL_TOLERANCE,
                 voxelwise_min_bmax: float = VOXELWISE_MIN_BMAX) -> None:
        self.bvals = as_bvals(bvals, np.size(bvals))
        self.shells = group_shells(self.bvals, shell_tolerance)
        b = self.shells.bvals
        if b.size < 3:
            raise AcquisitionError(
                f"mean-signal kurtosis needs at least 3 distinct b-values (b=0 may be one), got "
                f"{np.round(b).tolist()} s/mm²"
            )
        self.min_signal = float(min_signal)
        self.design = np.stack([np.ones_like(b), -b, b**2 / 6.0], axis=-1)
        self.voxelwise_supported = bool(b.max() >= voxelwise_min_bmax)
        self.voxelwise_reason = (
            f"highest b-value {b.max():.0f} s/mm² " + (">=" if self.voxelwise_supported else "<")
            + f" {voxelwise_min_bmax:.0f} s/mm² required for per-voxel kurtosis"
        )

    def fit(self, signal: np.ndarray, mask: np.ndarray | None = None) -> MeanKurtosisFit:
        """Fit every voxel of ``signal`` (``(..., n_volumes)``) inside ``mask`` (bool, ``signal.shape[:-1]``)."""
        signal = np.asarray(signal, dtype=np.float64)
        if signal.shape[-1] != self.bvals.size:
            raise AcquisitionError(f"signal has {signal.shape[-1]} volumes but the model has {self.bvals.size} b-values")
        mask, samples = select_voxels(signal, mask)
        mean_signal = direction_average(samples, self.shells)
        ok = valid_voxels(mean_signal, self.min_signal)
        fitted = mask.copy()
        fitted[mask] = ok
        return MeanKurtosisFit(model=self, fitted=fitted, params=self.fit_mean_signal(mean_signal[ok]),
                               n_excluded=int((~ok).sum()))

    def fit_mean_signal(self, mean_signal: np.ndarray) -> np.ndarray:
        """(n, n_shells) positive direction-averaged signal -> (n, 3) array ``(S0, MD, MK)``."""
        weights = self.shells.counts[None, :] * mean_signal**2
        p = weighted_log_linear(np.log(mean_signal), self.design, weights)
        md_squared = p[:, 1] ** 2
        mk = np.divide(p[:, 2], md_squared, out=np.full_like(md_squared, np.nan), where=md_squared > 0)
        return np.stack([np.exp(p[:, 0]), p[:, 1], mk], axis=-1)  # MK is NaN where MD = 0 (flat signal)


@dataclass(frozen=True, eq=False)
class MeanKurtosisFit:
    """Result of :meth:`MeanKurtosisModel.fit`; maps have the voxel shape, NaN where not fitted."""

    model: MeanKurtosisModel
    fitted: np.ndarray
    """Bool map of the fitted voxels."""
    params: np.ndarray
    """``(n_fitted, 3)`` array ``(S0, MD, MK)`` of the fitted voxels."""
    n_excluded: int
    """Mask voxels left out for a non-finite or <= ``min_signal`` shell mean (count)."""

    @cached_property
    def md(self) -> np.ndarray:
        """Mean-signal diffusivity map, mm²/s."""
        return scatter(self.params[:, 1], self.fitted)

    @cached_property
    def mk(self) -> np.ndarray:
        """Mean-signal kurtosis map (dimensionless), not clipped; see :attr:`quality`."""
        return scatter(self.params[:, 2], self.fitted)

    @cached_property
    def s0(self) -> np.ndarray:
        """Fitted b=0 signal, signal units."""
        return scatter(self.params[:, 0], self.fitted)

    @cached_property
    def quality(self) -> np.ndarray:
        """Bool map: fitted, MD in (0, 3.5e-3] mm²/s, MK in [0, 3], and the acquisition supports
        per-voxel kurtosis (``model.voxelwise_supported``; all False otherwise)."""
        md, mk = self.md, self.mk
        with np.errstate(invalid="ignore"):
            plausible = (md > PLAUSIBLE_MD[0]) & (md <= PLAUSIBLE_MD[1]) & (mk >= PLAUSIBLE_MK[0]) & (mk <= PLAUSIBLE_MK[1])
        return plausible & self.fitted & self.model.voxelwise_supported


@dataclass(frozen=True)
class RoiMeanKurtosis:
    """Mean-signal kurtosis fitted once to the ROI-averaged signal (the ROI-level feature)."""

    md: float
    """Mean-signal diffusivity of the ROI, mm²/s."""
    mk: float
    """Mean-signal kurtosis of the ROI (dimensionless)."""
    s0: float
    """Fitted b=0 signal, signal units."""
    n_voxels: int
    """ROI voxels averaged (count)."""
    n_excluded: int
    """ROI voxels left out for a non-finite or <= ``min_signal`` sample (count)."""
    source: str = "roi_averaged_signal"
    """Which estimate this is: the fit of the ROI-averaged signal, not an average of voxel fits."""


def fit_mean_kurtosis(signal: np.ndarray, bvals, mask: np.ndarray | None = None, *,
                      min_signal: float = 0.0) -> MeanKurtosisFit:
    """Per-voxel mean-signal kurtosis of ``signal`` (``(..., n_volumes)``, volumes last, b in s/mm²).

    Returns a :class:`MeanKurtosisFit` with ``.md`` (mm²/s), ``.mk`` and ``.quality`` maps.
    """
    return MeanKurtosisModel(bvals, min_signal=min_signal).fit(signal, mask)


def fit_roi_mean_kurtosis(signal: np.ndarray, bvals, mask: np.ndarray, *,
                          min_signal: float = 0.0) -> RoiMeanKurtosis:
    """Fit MD (mm²/s) and MK once to the mean signal of the valid voxels of ``mask``.

    Averaging N voxels raises the SNR about √N times, which is what makes kurtosis from
    b <= 1000 s/mm² usable at all (research note: SNR 300 gives MK 0.88 ± 0.13, truth 0.893).
    """
    model = MeanKurtosisModel(bvals, min_signal=min_signal)
    _, samples = select_voxels(signal, mask)
    mean_signal = direction_average(samples, model.shells)
    ok = valid_voxels(mean_signal, min_signal)
    if not np.any(ok):
        raise ImageError(
            f"no ROI voxel has a direction-averaged signal > {min_signal} on every shell "
            f"({samples.shape[0]} voxels in the ROI); check the mask placement and min_signal"
        )
    s0, md, mk = model.fit_mean_signal(mean_signal[ok].mean(axis=0)[None, :])[0]
    return RoiMeanKurtosis(md=float(md), mk=float(mk), s0=float(s0), n_voxels=int(ok.sum()),
                           n_excluded=int((~ok).sum()))
