"""The preprocessing configuration: one frozen dataclass, defaults from ``params/preprocessing.yaml``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config_files import defaults_with_overrides
from ..errors import ConfigError

DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "params" / "preprocessing.yaml"
"""The one file holding every preprocessing default."""

INTERPOLATORS = ("bspline", "linear")
NORMALIZATIONS = ("zscore", "none")


@dataclass(frozen=True)
class PreprocessingConfig:
    """Preprocessing settings; see ``params/preprocessing.yaml`` for the defaults and their reasons."""

    resample_spacing_mm: tuple[float, float, float] | None
    """Output spacing (x, y, z), mm; ``None`` keeps the native grid."""
    interpolator: str
    """Image interpolator: ``"bspline"`` (cubic) or ``"linear"``; masks use nearest neighbour."""
    normalization: str
    """``"zscore"`` (statistics of every voxel of the whole native image) or ``"none"``."""
    gaussian_sigma_mm: float
    """Gaussian denoising standard deviation, mm; 0 disables denoising."""
    gaussian_truncate: float
    """Gaussian kernel radius in standard deviations."""
    n4: bool
    """Run N4 bias-field correction on the whole native image first."""
    n4_shrink_factor: int
    """Shrink factor per axis for fitting the N4 bias field."""
    n4_iterations: tuple[int, ...]
    """N4 iterations per fitting level."""
    crop_margin_mm: float
    """Margin around the ROI bounding box, mm, added to the Gaussian kernel radius."""
    min_roi_voxels: int
    """Smallest accepted ROI size, voxels."""

    def __post_init__(self) -> None:
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML/JSON-serialisable values (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def load_preprocessing_config(source: str | Path | Mapping[str, Any] | None = None) -> PreprocessingConfig:
    """Build the configuration from the defaults, overridden by ``source``.

    Parameters
    ----------
    source : str, Path, mapping or None
        A YAML file or a mapping holding any subset of the keys of ``params/preprocessing.yaml``;
        ``None`` gives the defaults.

    Raises
    ------
    ConfigError
        On an unknown key, a value of the wrong type or out of range (the message names the key, the
        value and the file), or an unreadable YAML file.
    """
    values, label = defaults_with_overrides(DEFAULTS_FILE, source, "preprocessing")
    try:
        return PreprocessingConfig(**_convert(values))
    except ConfigError as error:
        raise ConfigError(f"{error} (in {label})") from None


def _convert(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    try:
        spacing = out["resample_spacing_mm"]
        if spacing is not None:
            spacing = tuple(float(v) for v in (spacing if isinstance(spacing, (list, tuple)) else [spacing] * 3))
        out["resample_spacing_mm"] = spacing
        out["n4_iterations"] = tuple(int(v) for v in out["n4_iterations"])
        for key in ("gaussian_sigma_mm", "gaussian_truncate", "crop_margin_mm"):
            out[key] = float(out[key])
        for key in ("n4_shrink_factor", "min_roi_voxels"):
            out[key] = _as_int(key, out[key])
    except (TypeError, ValueError) as error:
        raise ConfigError(f"invalid preprocessing value: {error}") from None
    return out


def _as_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or float(value) != int(value):
        raise ConfigError(f"preprocessing key {key} must be an integer, got {value!r}")
    return int(value)


def _validate(config: PreprocessingConfig) -> None:
    checks = [
        ("resample_spacing_mm", config.resample_spacing_mm is None
         or (len(config.resample_spacing_mm) == 3 and min(config.resample_spacing_mm) > 0), "3 positive mm values or null"),
        ("interpolator", config.interpolator in INTERPOLATORS, f"one of {INTERPOLATORS}"),
        ("normalization", config.normalization in NORMALIZATIONS, f"one of {NORMALIZATIONS}"),
        ("gaussian_sigma_mm", config.gaussian_sigma_mm >= 0, ">= 0 mm"),
        ("gaussian_truncate", config.gaussian_truncate > 0, "> 0"),
        ("n4", isinstance(config.n4, bool), "true or false"),
        ("n4_shrink_factor", config.n4_shrink_factor >= 1, ">= 1"),
        ("n4_iterations", len(config.n4_iterations) > 0 and min(config.n4_iterations) > 0, "positive integers"),
        ("crop_margin_mm", config.crop_margin_mm >= 0, ">= 0 mm"),
        ("min_roi_voxels", config.min_roi_voxels >= 1, ">= 1"),
    ]
    for key, ok, expected in checks:
        if not ok:
            raise ConfigError(f"preprocessing key {key} must be {expected}, got {getattr(config, key)!r}")
