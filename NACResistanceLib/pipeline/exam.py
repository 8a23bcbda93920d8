"""One exam in, one feature row (plus maps, curves, provenance) out: the stages joined once; scoring with a model."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import SimpleITK as sitk

from .. import preprocessing
from ..config import AnalysisConfig, load_analysis_config
from ..errors import CancelledError, ModelFileError, add_context
from ..io.exam import Exam
from .dce_stage import analyse_dce
from .diffusion_stage import analyse_diffusion
from .pk_stage import analyse_pharmacokinetics
from .radiomics_stage import analyse_radiomics
from .regions import peritumoral_regions, region_values
from .results import FeatureValue, StageResult, join

NONFINITE_FILES_SHOWN = 3
"""Files named (with their counts) in the warning about ignored NaN or infinite voxels."""
Progress = Callable[[str, float], bool]
"""``progress(message, fraction) -> bool``; returning True cancels the analysis."""


@dataclass(frozen=True)
class ExamAnalysis:
    """Everything :func:`analyze_exam` derived from one exam."""

    patient_id: str
    timepoint: str
    features: dict[str, float]
    """Feature columns: pyradiomics names unchanged, ours namespaced (``adc_mean``, ``dki_rMK``, ...)."""
    units: dict[str, str]
    """Unit of each feature (``""`` for dimensionless or pyradiomics values)."""
    descriptions: dict[str, str]
    """One-line definition of each feature (pyradiomics features: ``"pyradiomics, <image>"``)."""
    maps: dict[str, sitk.Image]
    """Parametric maps on a voxel-aligned box of their source grid (ROI boxes + margin); NaN where not fitted."""
    curves: pd.DataFrame
    """Time-intensity curves: ``time_s`` (s), ``tumor``, ``reference`` (mean signal; NaN without reference)."""
    provenance: dict[str, Any]
    """Configuration, acquisition summary, which estimate each value is, voxel counts and exclusions."""
    warnings: tuple[str, ...]
    """Values omitted or computed with caveats, with the reason."""
    warning_stages: tuple[str, ...] = ()
    """The stage of each warning, in the same order: ``segmentation``, ``dce``, ``diffusion``, ``peritumoral``,
    ``radiomics`` or ``exam`` (the stage that gave it, not a guess from its words)."""

    def to_frame(self) -> pd.DataFrame:
        """One row indexed by ``(patient_id, timepoint)``."""
        index = pd.MultiIndex.from_tuples([(self.patient_id, self.timepoint)], names=["patient_id", "timepoint"])
        return pd.DataFrame([self.features], index=index)


@dataclass(frozen=True)
class ExamScore:
    """:func:`score_exam` result: the analysis and the model's prediction."""

    analysis: ExamAnalysis
    prediction: Any
    """The model's ``Prediction`` (``.probability``, ``.threshold``, ``.predicted_class``, ``.contributions``)."""


def analyze_exam(exam: Exam, config: AnalysisConfig | Mapping[str, Any] | str | Path | None = None, *,
                 progress: Progress | None = None) -> ExamAnalysis:
    """Quantify one exam: radiomics of the DCE ROI phase, ADC / kurtosis, DCE kinetics, relative values.

    Parameters
    ----------
    exam : the exam (masks on the grid they were drawn on; they are moved onto the DWI grid here).
    config : an :class:`AnalysisConfig`, or anything :func:`load_analysis_config` accepts.
    progress : ``progress(message, fraction) -> bool``; returning True cancels (:class:`CancelledError`).

    Raises
    ------
    ImageError
        Unusable image/mask pair (see ``preprocessing.check_image_and_mask``), or NaN or infinite voxels inside a
        region the analysis reads (a map box: ROIs plus ``map_margin_mm``; a radiomics crop). Such voxels
        elsewhere are ignored with one warning.
    AcquisitionError
        A value the configuration marks ``required`` cannot be computed from this acquisition.
    """
    config = config if isinstance(config, AnalysisConfig) else load_analysis_config(config)

    def checkpoint(message: str, fraction: float) -> None:
        if progress is not None and progress(message, fraction):
            raise CancelledError(f"cancelled by the user during: {message}")

    checkpoint("checking images and masks", 0.0)
    exam, reference_warnings = _without_empty_reference(exam)
    _check_inputs(exam, config)
    volume = StageResult(features={"tumor_volume_mm3": FeatureValue(
        _volume_mm3(exam.tumor_mask), "mm³", "tumour segment volume on its own grid")}, warnings=reference_warnings)
    background = StageResult(warnings=_nonfinite_background(exam, config))
    checkpoint("DCE kinetics", 0.1)
    dce = analyse_dce(exam, config)
    checkpoint("pharmacokinetics", 0.2)
    pharmacokinetics = analyse_pharmacokinetics(exam, config)
    checkpoint("diffusion", 0.3)
    diffusion = analyse_diffusion(exam, config)
    checkpoint("radiomics", 0.5)
    regions, region_provenance = peritumoral_regions(exam, config)
    quantitative = join(dce.result, pharmacokinetics, diffusion)
    map_units = {name[: -len("_mean")]: value.unit for name, value in quantitative.features.items()
                 if name.endswith("_mean")}
    region_provenance = join(region_provenance, region_values(regions, quantitative.maps, map_units))
    radiomics = analyse_radiomics(exam, config, join(dce.result, diffusion).maps, checkpoint, regions)
    checkpoint("done", 1.0)
    staged = (("exam", background), ("segmentation", volume), ("dce", dce.result), ("dce", pharmacokinetics),
              ("diffusion", diffusion), ("peritumoral", region_provenance), ("radiomics", radiomics),
              ("exam", StageResult(provenance={"analysis_config": config.to_dict(), "analysis_sha256": config.sha256})))
    result = join(*(part for _, part in staged))
    return ExamAnalysis(patient_id=exam.patient_id, timepoint=exam.timepoint,
                        features={name: f.value for name, f in result.features.items()},
                        units={name: f.unit for name, f in result.features.items()},
                        descriptions={name: f.description for name, f in result.features.items()},
                        maps=dict(result.maps), curves=dce.curves, provenance=dict(result.provenance),
                        warnings=result.warnings,
                        warning_stages=tuple(stage for stage, part in staged for _ in part.warnings))


def score_exam(exam: Exam, model: Any, config: AnalysisConfig | Mapping[str, Any] | None = None, *,
               progress: Progress | None = None) -> ExamScore:
    """Analyse ``exam`` with the model's own analysis configuration (unless ``config`` is given) and predict.

    The model row is ``analysis.features`` plus ``exam.clinical``; ``model.predict(row)`` gives the prediction.
    A ``config`` that differs from the model's adds a warning: the features may not match the training.
    """
    analysis = analyze_exam(exam, model.analysis_config if config is None else config, progress=progress)
    if config is not None and analysis.provenance["analysis_sha256"] != load_analysis_config(model.analysis_config).sha256:
        analysis = dataclasses.replace(analysis, warnings=analysis.warnings + (
            "the analysis configuration differs from the one the model was trained with (model.analysis_config)",),
            warning_stages=analysis.warning_stages + ("exam",))
    row = {**analysis.features, **dict(exam.clinical)}
    try:
        prediction = model.predict(row)
    except ModelFileError as error:  # say which exam, and why the analysis could not give the input
        lacking = [n for n in getattr(model, "required_inputs", ()) if repr(n) in str(error)
                   and (n not in row or pd.isna(row[n]))]
        reasons = [w for w in analysis.warnings if any(n in w for n in lacking)]
        raise add_context(error, f"patient {exam.patient_id}, timepoint {exam.timepoint}"
                          + (f": {reasons[0]}" if reasons else "")) from None
    return ExamScore(analysis=analysis, prediction=prediction)


def _without_empty_reference(exam: Exam) -> tuple[Exam, tuple[str, ...]]:
    """The exam without its reference mask when that mask is empty, and the warning saying so.

    Only the relative values (tumour / reference) need the reference region; every other feature is
    computed and the relative ones are left empty.
    """
    if exam.reference_mask is None or np.any(sitk.GetArrayViewFromImage(exam.reference_mask)):
        return exam, ()
    warning = (f"reference segment of {exam.source('reference_mask')} is empty (no nonzero voxel): the relative "
               "values (tumour / reference) are left empty, every other feature is computed; check the manifest's "
               "reference_segment")
    return dataclasses.replace(exam, reference_mask=None), (warning,)


def _check_inputs(exam: Exam, config: AnalysisConfig) -> None:
    min_voxels = config.preprocessing.min_roi_voxels
    images = []
    if exam.dce is not None:
        images.append((exam.dce.roi_image, exam.part_source("dce", exam.dce.roi_phase)))
    if exam.dwi is not None:
        images.append((exam.dwi.volumes[0], exam.part_source("dwi", 0)))
    elif exam.adc is not None:
        images.append((exam.adc, exam.source("adc")))
    for image, source in images:
        preprocessing.check_image_and_mask(image, exam.tumor_mask, image_source=source,
                                           mask_source=exam.source("tumor_mask"), min_voxels=min_voxels)
        if exam.reference_mask is not None:
            preprocessing.check_image_and_mask(image, exam.reference_mask, image_source=source,
                                               mask_source=exam.source("reference_mask"), min_voxels=1)


def _nonfinite_background(exam: Exam, config: AnalysisConfig) -> tuple[str, ...]:
    """The one warning counting the NaN and infinite voxels of the images the analysis reads (none: no warning).

    The stages refuse such voxels inside what they read (map boxes, radiomics crops), so when the analysis
    finishes, every voxel counted here lay outside those regions and was ignored.
    """
    images = []
    if exam.dce is not None:
        images += [(phase, exam.part_source("dce", k)) for k, phase in enumerate(exam.dce.phases)]
    if exam.dwi is not None:
        images += [(volume, exam.part_source("dwi", k)) for k, volume in enumerate(exam.dwi.volumes)]
    elif exam.adc is not None:
        images.append((exam.adc, exam.source("adc")))
    images += [(exam.extra_series[name], exam.source(name) if name in exam.sources else f"{name} series")
               for name in config.multiparametric.series if name in exam.extra_series]
    counts = [(source, preprocessing.nonfinite_voxels(image).count) for image, source in images]
    counts = [(source, n) for source, n in counts if n]
    if not counts:
        return ()
    shown = "; ".join(f"{source}: {n}" for source, n in counts[:NONFINITE_FILES_SHOWN])
    more = f"; and {len(counts) - NONFINITE_FILES_SHOWN} more files" if len(counts) > NONFINITE_FILES_SHOWN else ""
    return (f"{sum(n for _, n in counts)} NaN or infinite voxels ignored: they lie outside every region the analysis "
            f"reads (the crops and map boxes around the ROIs) and are left out of the whole-image z-score statistics "
            f"({shown}{more})",)


def _volume_mm3(mask: sitk.Image) -> float:
    """Volume of the nonzero voxels of ``mask`` on its own grid, mm³."""
    return float(np.count_nonzero(sitk.GetArrayViewFromImage(mask)) * np.prod(mask.GetSpacing()))
