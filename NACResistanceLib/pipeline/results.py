"""What one analysis stage returns (values with units and descriptions, maps, provenance, warnings) and the join."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import SimpleITK as sitk


@dataclass(frozen=True)
class FeatureValue:
    """One feature column: its value, unit and one-line definition, written where the value is computed."""

    value: float
    unit: str
    """``""`` for dimensionless or pyradiomics values."""
    description: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))


@dataclass(frozen=True)
class StageResult:
    """What one stage (or one step of it) derived from the exam; read-only, insertion-ordered."""

    features: Mapping[str, FeatureValue] = field(default_factory=dict)
    maps: Mapping[str, sitk.Image] = field(default_factory=dict)
    """Parametric maps on a voxel-aligned box of their source grid."""
    provenance: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    """Values omitted or computed with caveats, with the reason."""

    def __post_init__(self) -> None:
        for name in ("features", "maps", "provenance"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        object.__setattr__(self, "warnings", tuple(self.warnings))


def join(*results: StageResult) -> StageResult:
    """The results one after the other (order kept); a name two results both define is a programming error."""
    features: dict[str, FeatureValue] = {}
    maps: dict[str, sitk.Image] = {}
    provenance: dict[str, Any] = {}
    warnings: list[str] = []
    for result in results:
        for kind, joined, part in (("feature", features, result.features), ("map", maps, result.maps),
                                   ("provenance entry", provenance, result.provenance)):
            clash = sorted(joined.keys() & part.keys())
            if clash:
                raise ValueError(f"{kind} {clash} computed by two analysis steps")
            joined.update(part)
        warnings.extend(result.warnings)
    return StageResult(features=features, maps=maps, provenance=provenance, warnings=tuple(warnings))
