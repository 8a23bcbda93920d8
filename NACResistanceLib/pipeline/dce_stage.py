"""DCE stage: time-intensity curves, kinetic maps and their tumour means, curve-type composition, FTV, rPE."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import SimpleITK as sitk

from .. import dce as dce_lib
from .. import diffusion
from ..config import AnalysisConfig, DceOptions
from ..io.exam import Exam
from .geometry import Box, check_finite_in_box, rois_on_grid
from .optional import optional_model
from .results import FeatureValue, StageResult, join

DCE_MAPS = (
    ("ie", "initial_enhancement", "%", "enhancement at the early phase, 100·(S_early − S0)/S0"),
    ("pe", "peak_enhancement", "%", "largest post-contrast enhancement, 100·(S − S0)/S0"),
    ("ttp", "time_to_peak", "s", "time of the largest post-contrast signal after the pre-contrast phase"),
    ("wash_in", "wash_in", "%/s", "peak enhancement / time to peak"),
    ("washout", "washout", "%/s", "(E_peak − E_last) / (t_last − t_peak), 0 when the peak is the last phase"),
    ("ser", "ser", "", "signal enhancement ratio (S_early − S0)/(S_late − S0), voxels with S_late > S0"),
)
"""DCE maps: (column stem, KineticsFit attribute, unit, definition)."""
CURVE_TYPE_NAMES = {"non_enhancing": "non-enhancing", "persistent": "persistent", "plateau": "plateau",
                    "washout": "washout"}
"""How each curve type of :data:`~NACResistanceLib.dce.CURVE_TYPES` reads in a description."""
CURVES_COLUMNS = ("time_s", "tumor", "reference")


@dataclass(frozen=True)
class DceStage:
    """The DCE values and maps, and the time-intensity curves (columns :data:`CURVES_COLUMNS`)."""

    result: StageResult
    curves: pd.DataFrame


def analyse_dce(exam: Exam, config: AnalysisConfig) -> DceStage:
    """``dce_*`` values, DCE maps (box of the DCE grid) and the tumour/reference time-intensity curves."""
    if exam.dce is None:
        return DceStage(StageResult(warnings=("no DCE series in the exam: dce_* and the time-intensity curves omitted",)),
                        pd.DataFrame(columns=list(CURVES_COLUMNS)))
    opts = config.dce
    rois = rois_on_grid(exam, exam.dce.roi_image, "DCE", config.map_margin_mm)
    check_finite_in_box([(phase, exam.part_source("dce", k)) for k, phase in enumerate(exam.dce.phases)], rois, "DCE",
                        config.map_margin_mm)
    phases = dce_lib.phase_array(exam.dce)
    curves = dce_lib.time_intensity_curves(exam.dce, rois.tumor, rois.reference, phases=phases)
    model, warnings = optional_model("auto", "DCE kinetics", "dce_* kinetic values", lambda: dce_lib.KineticsModel(
        exam.dce.times_s, early_time_s=opts.early_time_s, late_time_s=opts.late_time_s,
        enhancement_threshold_pct=opts.enhancement_threshold_pct, curve_tolerance_pct=opts.curve_tolerance_pct,
        timing_tolerance_s=opts.timing_tolerance_s))
    if model is None:
        return DceStage(StageResult(provenance=rois.transfers, warnings=warnings), curves)
    box = rois.box.slices
    timing = StageResult(provenance=rois.transfers, warnings=warnings + tuple(model.warnings))
    maps = _dce_maps(model.fit(phases[box]), rois.tumor_in_box, rois.reference_in_box, rois.grid, rois.box)
    composition = _tumor_composition(model.fit(phases[box], rois.tumor_in_box), float(np.prod(rois.grid.GetSpacing())),
                                     opts)
    phases_used = StageResult(provenance={"dce": {
        "times_s": list(exam.dce.times_s), "early_phase": model.early, "late_phase": model.late,
        "early_time_s": float(model.times_s[model.early]), "late_time_s": float(model.times_s[model.late]),
        **({"times_source": exam.dce.times_source} if exam.dce.times_source else {})}})
    return DceStage(join(timing, maps, composition, phases_used), curves)


def _dce_maps(fit: dce_lib.KineticsFit, tumor: np.ndarray, reference: np.ndarray | None, grid: sitk.Image,
              box: Box) -> StageResult:
    """Each kinetic map, its tumour mean, the curve-type map and ``dce_rPE``."""
    features, maps, warnings = {}, {}, []
    for stem, attr, unit, definition in DCE_MAPS:
        values = getattr(fit, attr)
        maps[f"dce_{stem}"] = box.image(values, grid)
        inside, missing = diffusion.roi_values(values, tumor, name=f"DCE {stem} in the tumour")
        features[f"dce_{stem}_mean"] = FeatureValue(float(np.mean(inside)), unit, f"mean over tumour voxels of the {definition}")
        if missing:
            warnings.append(f"dce_{stem}_mean: {missing} tumour voxels have no value (excluded or undefined)")
    maps["dce_curve_type"] = box.image(fit.curve_type, grid)
    if reference is not None:
        pe = fit.peak_enhancement
        rel = diffusion.relative_value(pe[tumor & np.isfinite(pe)], pe[reference & np.isfinite(pe)], "mean")
        features["dce_rPE"] = FeatureValue(rel.value, "", "mean peak enhancement of the tumour / of the reference region")
    return StageResult(features=features, maps=maps, warnings=tuple(warnings))


def _tumor_composition(fit: dce_lib.KineticsFit, voxel_mm3: float, opts: DceOptions) -> StageResult:
    """Curve-type fractions of the tumour voxels and the functional tumour volume (mm³)."""
    features = {f"dce_curve_{name}_fraction": FeatureValue(
        fraction, "", f"fraction of tumour voxels with a {CURVE_TYPE_NAMES[name]} curve (BI-RADS type, "
                      f"±{opts.curve_tolerance_pct:g} %)") for name, fraction in fit.curve_composition().items()}
    ftv = dce_lib.functional_tumor_volume(fit, voxel_mm3, pe_threshold_pct=opts.enhancement_threshold_pct,
                                          background_pct=opts.ftv_background_pct)
    features["dce_ftv_mm3"] = FeatureValue(
        ftv.volume_mm3, "mm³", f"functional tumour volume: early enhancement >= {ftv.pe_threshold_pct:g} % and "
                               f"pre-contrast signal >= {ftv.background_pct:g} % of the tumour maximum (I-SPY)")
    features["dce_ftv_fraction"] = FeatureValue(ftv.fraction, "", "functional tumour volume / analysed tumour volume")
    return StageResult(features=features)
