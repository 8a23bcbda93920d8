"""Radiomics stage: pyradiomics features of the DCE ROI phase and of the parametric maps listed in the configuration."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import SimpleITK as sitk

from .. import features as radiomics_features
from .. import preprocessing, threads
from ..config import AnalysisConfig
from ..io.exam import Exam
from .results import FeatureValue, StageResult, join

Checkpoint = Callable[[str, float], None]
"""``checkpoint(message, fraction)``: reports progress and raises ``CancelledError`` when the user cancelled."""


def analyse_radiomics(exam: Exam, config: AnalysisConfig, maps: Mapping[str, sitk.Image],
                      checkpoint: Checkpoint) -> StageResult:
    """pyradiomics features (names unchanged; ``<map>_<name>`` for a map) through ``preprocessing.preprocess``.

    ``maps`` are the maps of the other stages; progress goes from 0.5 to 1 of the analysis.
    """
    if not config.radiomics:
        return StageResult()
    if exam.dce is None:
        return StageResult(warnings=("no DCE series in the exam: pyradiomics features of the ROI phase omitted",))
    preprocessing_config = config.preprocessing
    params = config.radiomics_params.parameters
    inputs = [("", exam.dce.roi_image, exam.part_source("dce", exam.dce.roi_phase))]
    inputs += [(f"{name}_", maps[name], f"{name} map") for name in config.radiomics_maps if name in maps]
    omitted = StageResult(warnings=tuple(f"radiomics on the {name} map omitted: the map was not computed for this exam"
                                         for name in sorted(set(config.radiomics_maps) - set(maps))))
    results = [omitted]
    for step, (prefix, image, source) in enumerate(inputs):
        checkpoint(f"radiomics {prefix.rstrip('_') or 'DCE ROI phase'}", 0.5 + 0.5 * step / len(inputs))
        image, warnings = _finite_for_radiomics(image, source)
        prepared = preprocessing.preprocess(image, exam.tumor_mask, preprocessing_config, source=source,
                                            mask_source=exam.source("tumor_mask"))
        result = radiomics_features.extract(prepared.image, prepared.mask, params, preprocessing_steps=prepared.steps,
                                            workers=threads.budget())
        results.append(StageResult(
            features={prefix + key: FeatureValue(value, "", f"pyradiomics, {source}") for key, value in result.items()},
            provenance={f"radiomics_{prefix.rstrip('_') or 'dce'}": result.provenance}, warnings=warnings))
    return join(*results)


def _finite_for_radiomics(image: sitk.Image, source: str) -> tuple[sitk.Image, tuple[str, ...]]:
    """Maps hold NaN where a voxel could not be fitted; pyradiomics needs finite values: NaN -> map median, warned."""
    values = sitk.GetArrayFromImage(image)
    bad = ~np.isfinite(values)
    if not bad.any():
        return image, ()
    filled = np.where(bad, np.median(values[~bad]), values)
    result = sitk.GetImageFromArray(filled)
    result.CopyInformation(image)
    return result, (f"{source}: {int(bad.sum())} unfitted (NaN) voxels set to the map median for pyradiomics",)
