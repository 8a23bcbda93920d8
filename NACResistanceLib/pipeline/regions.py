"""Analysis regions besides the tumour: the peritumoral shells of ``analysis.yaml`` on the tumour mask's grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from ..config import AnalysisConfig
from ..io.exam import Exam
from ..preprocessing import peritumoral
from .results import FeatureValue, StageResult

REGION_MAP_PREFIX = "region_"
"""Each region's mask is also returned as a map named ``region_<name>`` (uint8, 1 inside, on the tumour mask's
grid), which the Slicer module shows as a segment."""


REGION_VALUE_MAPS = ("dce_ie", "dce_pe", "dce_ser", "dce_ttp", "dce_wash_in", "dce_washout", "adc",
                     "pk_ktrans", "pk_ve", "pk_kep", "pk_vp")
"""Maps whose mean over each region is reported as ``<region>_<map>_mean`` (when the map was computed)."""


@dataclass(frozen=True)
class Region:
    """A named binary mask on the tumour mask's grid."""

    name: str
    """Feature prefix, e.g. ``peri3mm``."""
    mask: sitk.Image
    description: str


def peritumoral_regions(exam: Exam, config: AnalysisConfig) -> tuple[tuple[Region, ...], StageResult]:
    """The configured shells (empty when none) and their provenance (voxel counts, breast-mask source)."""
    opts = config.peritumoral
    if not opts.shells_mm:
        return (), StageResult()
    breast, breast_source = _breast_mask(exam, opts.breast_mask)
    exclude = exam.other_lesion_mask if opts.exclude_other_lesion else None
    regions, counts, warnings = [], {}, []
    for inner, outer in opts.shells_mm:
        name = peritumoral.shell_name(outer)
        mask = peritumoral.peritumoral_shell(exam.tumor_mask, inner, outer, breast_mask=breast, exclude_mask=exclude)
        voxels = int(np.count_nonzero(sitk.GetArrayViewFromImage(mask)))
        counts[name] = {"inner_mm": inner, "outer_mm": outer, "voxels": voxels}
        if voxels == 0:
            warnings.append(f"{name}: the shell {inner:g}-{outer:g} mm has no voxel inside the breast; its features "
                            "are omitted")
            continue
        regions.append(Region(name, mask, f"peritumoral shell {inner:g}-{outer:g} mm outside the tumour "
                                          f"(breast mask: {breast_source})"))
    provenance = {"peritumoral": {"breast_mask": breast_source, "other_lesion_excluded": exclude is not None,
                                  "shells": counts}}
    maps = {f"{REGION_MAP_PREFIX}{region.name}": region.mask for region in regions}
    return tuple(regions), StageResult(maps=maps, provenance=provenance, warnings=tuple(warnings))


def _breast_mask(exam: Exam, mode: str) -> tuple[sitk.Image | None, str]:
    if mode == "none":
        return None, "none"
    if mode == "auto" and exam.breast_mask is not None:
        return exam.breast_mask, "breast segment"
    if exam.dce is None:
        return None, "none (no DCE pre-contrast phase)"
    precontrast = exam.dce.phases[0]
    breast = peritumoral.breast_mask_from_precontrast(precontrast)
    breast = sitk.Resample(breast, exam.tumor_mask, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    return breast, "pre-contrast phase (Otsu, 3 classes)"


def region_values(regions: tuple[Region, ...], maps, units: dict[str, str]) -> StageResult:
    """``<region>_<map>_mean``: mean of each map of :data:`REGION_VALUE_MAPS` over each region's voxels (the region
    carried onto the map's grid by nearest neighbour; NaN map voxels and voxels outside the map's box excluded)."""
    features, warnings = {}, []
    for region in regions:
        for name in REGION_VALUE_MAPS:
            if name not in maps:
                continue
            image = maps[name]
            mask = sitk.GetArrayFromImage(sitk.Resample(region.mask, image, sitk.Transform(),
                                                        sitk.sitkNearestNeighbor, 0)) > 0
            values = sitk.GetArrayFromImage(image)[mask]
            values = values[np.isfinite(values)]
            column = f"{region.name}_{name}_mean"
            if values.size == 0:
                warnings.append(f"{column} omitted: no {region.name} voxel has a {name} value")
                continue
            features[column] = FeatureValue(float(np.mean(values)), units.get(name, ""),
                                            f"mean of the {name} map over the {region.description}")
    return StageResult(features=features, warnings=tuple(warnings))
