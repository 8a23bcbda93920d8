"""The preprocessing configuration (defaults: ``params/preprocessing.yaml``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import PARAMS_DIR, defaults_with_overrides
from .hashing import parameter_hash
from .values import Converter, boolean, build_section, choice, either, integer, number, optional, sequence

DEFAULTS_FILE = PARAMS_DIR / "preprocessing.yaml"
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
    """``"zscore"`` (statistics of every finite voxel of the whole native image) or ``"none"``."""
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

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML/JSON-serialisable values (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @property
    def sha256(self) -> str:
        """SHA-256 of the content (:func:`~NACResistanceLib.config.parameter_hash` of :meth:`to_dict`)."""
        return parameter_hash(self.to_dict())


def _isotropic(spacing: Converter) -> Converter:
    return Converter(lambda value: (spacing(value),) * 3, spacing.allowed)


_SPACING = number(gt=0, unit="mm")
SPECS: dict[str, Converter] = {
    "resample_spacing_mm": optional(either(_isotropic(_SPACING), sequence(_SPACING, length=3))),
    "interpolator": choice(INTERPOLATORS),
    "normalization": choice(NORMALIZATIONS),
    "gaussian_sigma_mm": number(ge=0, unit="mm"),
    "gaussian_truncate": number(gt=0, unit="standard deviations"),
    "n4": boolean(),
    "n4_shrink_factor": integer(ge=1),
    "n4_iterations": sequence(integer(ge=1), min_length=1),
    "crop_margin_mm": number(ge=0, unit="mm"),
    "min_roi_voxels": integer(ge=1),
}
"""Type and allowed range of each key."""


def load_preprocessing_config(source: str | Path | Mapping[str, Any] | PreprocessingConfig | None = None,
                              ) -> PreprocessingConfig:
    """The defaults overridden by ``source``: a YAML file, a mapping of any subset of keys, or ``None``.

    Raises
    ------
    ConfigError
        An unknown key, or a value of the wrong type or out of range (the message names the file, the
        key, the value and the allowed range), or an unreadable file.
    """
    if isinstance(source, PreprocessingConfig):
        return source
    values, label = defaults_with_overrides(DEFAULTS_FILE, source, "preprocessing")
    return build_section(PreprocessingConfig, SPECS, values, kind="preprocessing", label=label)
