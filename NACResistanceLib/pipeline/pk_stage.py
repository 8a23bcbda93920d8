"""Pharmacokinetic stage: Tofts-family fits of the DCE series (tumour-mean curve and voxel maps), columns ``pk_*``.

Signal → concentration with the series' flip angle and TR and the assumed baseline T1; a population AIF whose
bolus arrival is searched on the tumour-mean curve and then used for every voxel of the ROI boxes.
"""

from __future__ import annotations

import numpy as np

from .. import dce as dce_lib
from ..config import AnalysisConfig, PharmacokineticsOptions
from ..errors import AcquisitionError
from ..io.exam import Exam
from .geometry import rois_on_grid
from .optional import optional_model
from .results import FeatureValue, StageResult

PK_PARAMETERS = (
    ("ktrans", "1/min", "volume transfer constant Ktrans"),
    ("ve", "", "extravascular extracellular volume fraction ve"),
    ("kep", "1/min", "rate constant kep = Ktrans/ve"),
    ("vp", "", "plasma volume fraction vp"),
)
"""(PkFit attribute, unit, definition) of the reported parameters."""
MODEL_TEXT = {"tofts": "Tofts", "extended_tofts": "extended Tofts", "patlak": "Patlak"}


def analyse_pharmacokinetics(exam: Exam, config: AnalysisConfig) -> StageResult:
    """``pk_*`` values (tumour-mean fit and voxel-map means) and maps; nothing when the section is ``off``."""
    opts = config.pharmacokinetics
    if opts.mode == "off" or exam.dce is None:
        return StageResult()
    model, warnings = optional_model(opts.mode, f"the {MODEL_TEXT[opts.model]} model", "pk_* pharmacokinetic values",
                                     lambda: _model(exam, opts))
    if model is None:
        return StageResult(warnings=warnings)
    rois = rois_on_grid(exam, exam.dce.roi_image, "DCE", config.map_margin_mm)
    phases = dce_lib.phase_array(exam.dce)[rois.box.slices]
    concentration = dce_lib.concentration_from_signal(
        phases, baseline_phases=1, t1_ms=opts.baseline_t1_ms, tr_ms=exam.dce.tr_ms,
        flip_angle_deg=exam.dce.flip_angle_deg, relaxivity_per_mm_s=opts.relaxivity_per_mm_s)
    tumor = rois.tumor_in_box
    low, high = opts.aif_delay_range_s
    delays = np.arange(low, high + 0.5 * opts.aif_delay_step_s, opts.aif_delay_step_s)
    roi_fit = model.fit_with_delay(np.nanmean(concentration[tumor], axis=0), delays)
    delay_s = float(roi_fit.delay_s)
    voxel_fit = model.with_aif(model.aif.delayed(delay_s)).fit(concentration)
    features, maps = {}, {}
    text = MODEL_TEXT[opts.model]
    for name, unit, definition in _reported(opts.model):
        features[f"pk_roi_{name}"] = FeatureValue(float(getattr(roi_fit, name)), unit,
                                                  f"{definition}, {text} fit of the tumour-mean concentration curve")
    features["pk_roi_delay_s"] = FeatureValue(delay_s, "s", "bolus arrival after the pre-contrast phase, fitted "
                                                           "on the tumour-mean curve")
    features["pk_roi_r_squared"] = FeatureValue(float(roi_fit.r_squared), "", "R² of the tumour-mean curve fit")
    for name, unit, definition in _reported(opts.model):
        values = getattr(voxel_fit, name)
        maps[f"pk_{name}"] = rois.box.image(values, rois.grid)
        inside = values[tumor & np.isfinite(values)]
        features[f"pk_{name}_mean"] = FeatureValue(float(np.mean(inside)) if inside.size else float("nan"), unit,
                                                   f"mean over tumour voxels of the {text} {definition} map")
    maps["pk_r_squared"] = rois.box.image(voxel_fit.r_squared, rois.grid)
    quality = voxel_fit.r_squared[tumor]
    features["pk_poor_fit_fraction"] = FeatureValue(
        float(np.mean(~(quality >= opts.min_r_squared))), "",
        f"fraction of tumour voxels whose {text} fit has R² < {opts.min_r_squared:g} (or no fit)")
    provenance = {"pharmacokinetics": {
        "model": opts.model, "aif": opts.aif, "hematocrit": opts.hematocrit, "aif_delay_s": delay_s,
        "tr_ms": exam.dce.tr_ms, "flip_angle_deg": exam.dce.flip_angle_deg, "baseline_t1_ms": opts.baseline_t1_ms,
        "relaxivity_per_mm_s": opts.relaxivity_per_mm_s}}
    return StageResult(features=features, maps=maps, provenance=provenance,
                       warnings=warnings + tuple(voxel_fit.warnings))


def _model(exam: Exam, opts: PharmacokineticsOptions) -> dce_lib.PkModel:
    missing = [name for name, value in (("flip angle (manifest column dce_flip_angle_deg)", exam.dce.flip_angle_deg),
                                        ("TR (manifest column dce_tr_ms)", exam.dce.tr_ms)) if value is None]
    if missing:
        raise AcquisitionError(f"the DCE series has no {' and no '.join(missing)}, needed to convert its signal "
                               "to concentration")
    return dce_lib.PkModel(opts.model, exam.dce.times_s, dce_lib.Aif(opts.aif, hematocrit=opts.hematocrit),
                           max_vp_interval_s=opts.max_vp_interval_s)


def _reported(model: str):
    exclude = {"tofts": {"vp"}, "extended_tofts": set(), "patlak": {"ve", "kep"}}[model]
    return [row for row in PK_PARAMETERS if row[0] not in exclude]
