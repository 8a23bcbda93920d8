"""ROI statistics of parametric maps and relative values rX = X(tumour) / X(reference)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, ImageError

STATISTICS = {
    "mean": np.mean,
    "median": np.median,
}
"""ROI statistics a relative value may use."""


def roi_values(values: np.ndarray, mask: np.ndarray, *, name: str) -> tuple[np.ndarray, int]:
    """Finite values of ``values`` inside ``mask`` (same shape) and the number of mask voxels without one."""
    inside = np.asarray(values)[np.asarray(mask, dtype=bool)]
    finite = inside[np.isfinite(inside)]
    if finite.size == 0:
        raise ImageError(f"{name}: no finite value inside the ROI ({inside.size} voxels)")
    return finite, int(inside.size - finite.size)


@dataclass(frozen=True)
class MapStatistic:
    """One ROI statistic of a map and what it is."""

    value: float
    """Units of the map."""
    name: str
    """What the value is, e.g. ``"mean"`` or ``"10th percentile"``."""
    note: str = ""
    """Caveat appended to the description (the robust extremes say what they stand for)."""

    def describe(self, of: str) -> str:
        """``"<name> of <of>"`` and the note, e.g. ``describe("the tumour voxel WLS ADC")``."""
        return f"{self.name} of {of}" + (f", {self.note}" if self.note else "")


def map_statistics(values: np.ndarray, *, percentiles=(10, 25, 50, 75, 90), robust_extreme_percentile: float = 5.0) -> dict[str, float]:
    """Summary of ROI voxel values.

    Returns ``mean``, ``std``, ``median``, ``p<q>`` for each percentile, ``min_p<k>`` (the
    ``k``-th percentile, standing in for the minimum) and ``max_p<100-k>``: the true minimum and
    maximum of a noisy map are single-voxel noise, so the extremes are percentiles by default
    (``robust_extreme_percentile = 0`` gives the true ``min_p0``/``max_p100``). Units of ``values``.
    """
    described = described_map_statistics(values, percentiles=percentiles, robust_extreme_percentile=robust_extreme_percentile)
    return {key: statistic.value for key, statistic in described.items()}


def described_map_statistics(values: np.ndarray, *, percentiles=(10, 25, 50, 75, 90),
                             robust_extreme_percentile: float = 5.0) -> dict[str, MapStatistic]:
    """:func:`map_statistics` with what each value is (:class:`MapStatistic`), same keys and values."""
    k = float(robust_extreme_percentile)
    extreme = "the true extreme of a noisy map is one noisy voxel"
    out = {"mean": MapStatistic(float(np.mean(values)), "mean"),
           "std": MapStatistic(float(np.std(values)), "standard deviation"),
           "median": MapStatistic(float(np.median(values)), "median")}
    for q in percentiles:
        out[f"p{_fmt(q)}"] = MapStatistic(float(np.percentile(values, q)), f"{q:g}th percentile")
    out[f"min_p{_fmt(k)}"] = MapStatistic(float(np.percentile(values, k)), f"{k:g}th percentile",
                                          f"reported as the minimum ({extreme})")
    out[f"max_p{_fmt(100 - k)}"] = MapStatistic(float(np.percentile(values, 100 - k)), f"{100 - k:g}th percentile",
                                                f"reported as the maximum ({extreme})")
    return out


def _fmt(q: float) -> str:
    return f"{q:g}".replace(".", "_")


@dataclass(frozen=True)
class RelativeValue:
    """rX = statistic(X in tumour) / statistic(X in reference)."""

    value: float
    """The ratio (dimensionless)."""
    tumor: float
    """Tumour value, units of X."""
    reference: float
    """Reference-region value, units of X."""
    statistic: str
    """How each region's value was obtained, e.g. ``"mean"`` or ``"roi_averaged_signal"``."""


def relative_value(tumor: np.ndarray | float, reference: np.ndarray | float, statistic: str = "mean") -> RelativeValue:
    """Ratio of a statistic of tumour values to the same statistic of reference values.

    ``tumor`` and ``reference`` are either 1D arrays of ROI voxel values (reduced with
    ``statistic``, one of :data:`STATISTICS`) or scalars already computed per region (then
    ``statistic`` names how, e.g. ``"roi_averaged_signal"``).
    """
    if np.ndim(tumor) == 0 and np.ndim(reference) == 0:
        t, r = float(tumor), float(reference)
    elif statistic in STATISTICS:
        t, r = float(STATISTICS[statistic](tumor)), float(STATISTICS[statistic](reference))
    else:
        raise ConfigError(f"relative statistic {statistic!r} is unknown; use one of {sorted(STATISTICS)}")
    if not np.isfinite(r) or r == 0:
        raise ImageError(f"reference value {r} ({statistic}) cannot be a denominator of a relative value")
    return RelativeValue(value=t / r, tumor=t, reference=r, statistic=statistic)
