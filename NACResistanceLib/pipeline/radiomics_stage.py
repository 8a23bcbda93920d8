"""Radiomics stage: pyradiomics features of the DCE ROI phase and of the parametric maps listed in the configuration."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import SimpleITK as sitk

from .. import features as radiomics_features
from .. import preprocessing, threads
from ..config import AnalysisConfig
from ..io.exam import Exam
from .regions import Region
from .results import FeatureValue, StageResult, join

Checkpoint = Callable[[str, float], None]
"""``checkpoint(message, fraction)``: reports progress and raises ``CancelledError`` when the user cancelled."""


def analyse_radiomics(exam: Exam, config: AnalysisConfig, maps: Mapping[str, sitk.Image],
                      checkpoint: Checkpoint, regions: Sequence[Region] = ()) -> StageResult:
    """pyradiomics features (names unchanged; ``<map>_<name>`` for a map) through ``preprocessing.preprocess``.

    ``maps`` are the maps of the other stages; ``regions`` (peritumoral shells) add the features of the ROI phase
    inside each region, named ``<region>_<name>``. Progress goes from 0.5 to 1 of the analysis.
    """
    if not config.radiomics:
        return StageResult()
    if exam.dce is None:
        return StageResult(warnings=("no DCE series in the exam: pyradiomics features of the ROI phase omitted",))
    preprocessing_config = config.preprocessing
    params = config.radiomics_params.parameters
    tumor_source = exam.source("tumor_mask")
    inputs = [("", exam.dce.roi_image, exam.part_source("dce", exam.dce.roi_phase), "DCE ROI phase", exam.tumor_mask, tumor_source)]
    map_prefixes = {f"{name}_" for name in config.radiomics_maps if name in maps}
    inputs += [(f"{name}_", maps[name], f"{name} map", f"{name} map", exam.tumor_mask, tumor_source)
               for name in config.radiomics_maps if name in maps]
    inputs += [(f"{region.name}_", exam.dce.roi_image, exam.source("dce"), f"DCE ROI phase, {region.name} region",
                region.mask, region.description) for region in regions]
    series, transfers = _extra_series_inputs(exam, config)
    inputs += series
    omitted = StageResult(warnings=tuple(f"radiomics on the {name} map omitted: the map was not computed for this exam"
                                         for name in sorted(set(config.radiomics_maps) - set(maps))) + tuple(
        f"radiomics on the {name} series omitted: the exam has no {name} series (manifest column "
        f"{'t2w' if name == 't2w' else 'series_' + name})" for name in config.multiparametric.series
        if name not in exam.extra_series), provenance=transfers)
    results = [omitted]
    for step, (prefix, image, source, label, mask, mask_source) in enumerate(inputs):
        checkpoint(f"radiomics {prefix.rstrip('_') or 'DCE ROI phase'}", 0.5 + 0.5 * step / len(inputs))
        image, warnings = _finite_for_radiomics(image, source) if prefix in map_prefixes else (image, ())
        prepared = preprocessing.preprocess(image, mask, preprocessing_config, source=source, mask_source=mask_source)
        result = radiomics_features.extract(prepared.image, prepared.mask, params, preprocessing_steps=prepared.steps,
                                            workers=threads.budget())
        results.append(StageResult(
            features={prefix + key: FeatureValue(value, "", f"pyradiomics, {label}") for key, value in result.items()},
            provenance={f"radiomics_{prefix.rstrip('_') or 'dce'}": result.provenance}, warnings=warnings))
    return join(*results)


def _extra_series_inputs(exam: Exam, config: AnalysisConfig) -> tuple[list[tuple], dict]:
    """Radiomics inputs of the configured extra series, the tumour mask carried onto each series' grid, and the
    provenance of each transfer (voxels lost / gained, as for DWI)."""
    inputs, transfers = [], {}
    for name in config.multiparametric.series:
        image = exam.extra_series.get(name)
        if image is None:
            continue
        transfer = preprocessing.resample_mask_to(exam.tumor_mask, image)
        transfers[f"roi_on_{name}"] = {"lost_voxels": transfer.lost_voxels, "gained_voxels": transfer.gained_voxels,
                                       "voxels": transfer.target_voxels}
        source = exam.source(name) if name in exam.sources else f"{name} series"
        inputs.append((f"{name}_", image, source, f"{name} series", transfer.mask,
                       f"tumour mask carried onto the {name} grid"))
    return inputs, transfers


def _finite_for_radiomics(image: sitk.Image, source: str) -> tuple[sitk.Image, tuple[str, ...]]:
    """Maps hold NaN where a voxel could not be fitted; pyradiomics needs finite values: NaN -> map median, warned.

    Only maps: NaN in an input image is refused inside the crop :func:`preprocessing.preprocess` reads and left out of
    its z-score statistics elsewhere.
    """
    values = sitk.GetArrayFromImage(image)
    bad = ~np.isfinite(values)
    if not bad.any():
        return image, ()
    filled = np.where(bad, np.median(values[~bad]), values)
    result = sitk.GetImageFromArray(filled)
    result.CopyInformation(image)
    return result, (f"{source}: {int(bad.sum())} unfitted (NaN) voxels set to the map median for pyradiomics",)
