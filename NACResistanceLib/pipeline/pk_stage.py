"""Pharmacokinetic stage: Tofts-family fits of the DCE series (tumour-mean curve and voxel maps), columns ``pk_*``.

Signal → concentration with the series' flip angle and TR and a native T1 that is assumed
(``baseline_t1_ms``) or read voxel by voxel from the exam's T1 map (``t1_source: map``). The AIF is a
population curve whose bolus arrival is searched on the tumour-mean curve and then used for every voxel of
the ROI boxes, or measured in the exam's arterial segment (``aif: measured``, used as sampled, delay 0).
Every input is checked before the first fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import SimpleITK as sitk

from .. import dce as dce_lib
from .. import preprocessing
from ..config import AnalysisConfig, PharmacokineticsOptions
from ..errors import AcquisitionError
from ..io.exam import Exam
from .geometry import RoisOnGrid, rois_on_grid
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
POPULATION_AIF_TEXT = {"parker": "Parker 2006 population AIF", "georgiou": "Georgiou 2019 population AIF"}
MIN_AIF_VOXELS = 5
"""Fewest voxels of the arterial segment on the DCE grid for a measured AIF. An artery seen in breast DCE
(internal thoracic artery, 2–3 mm across) spans a few voxels per slice; averaging at least 5 cuts voxel noise
by √5 and keeps one partial-volume or inflow voxel from setting the AIF."""
PLAUSIBLE_T1_MS = (100.0, 10000.0)
"""Range of the median tumour T1 of a T1 map taken as milliseconds (a map in seconds has medians of ~1)."""


@dataclass(frozen=True)
class PkInputs:
    """What the fits need, every part checked: the model (with its AIF), concentrations and their provenance."""

    model: dce_lib.PkModel
    concentration_mm: np.ndarray
    """``(z, y, x, n_t)`` concentration in the ROI box, mM; NaN where the T1 map has no usable value."""
    inputs_text: str
    """Which AIF and which T1 were used, for the feature descriptions."""
    provenance: dict[str, Any]
    warnings: tuple[str, ...] = ()


def analyse_pharmacokinetics(exam: Exam, config: AnalysisConfig) -> StageResult:
    """``pk_*`` values (tumour-mean fit and voxel-map means) and maps; nothing when the section is ``off``."""
    opts = config.pharmacokinetics
    if opts.mode == "off" or exam.dce is None:
        return StageResult()
    rois = rois_on_grid(exam, exam.dce.roi_image, "DCE", config.map_margin_mm)
    inputs, warnings = optional_model(opts.mode, f"the {MODEL_TEXT[opts.model]} model", "pk_* pharmacokinetic values",
                                      lambda: _inputs(exam, opts, rois))
    if inputs is None:
        return StageResult(warnings=warnings)
    tumor, model, text = rois.tumor_in_box, inputs.model, MODEL_TEXT[opts.model]
    roi_curve = np.nanmean(inputs.concentration_mm[tumor], axis=0)
    features = {}
    if opts.aif == "measured":
        roi_fit, delay_s = model.fit(roi_curve), 0.0
    else:
        low, high = opts.aif_delay_range_s
        roi_fit = model.fit_with_delay(roi_curve, np.arange(low, high + 0.5 * opts.aif_delay_step_s,
                                                            opts.aif_delay_step_s))
        delay_s = float(roi_fit.delay_s)
        model = model.with_aif(model.aif.delayed(delay_s))
    voxel_fit = model.fit(inputs.concentration_mm)
    for name, unit, definition in _reported(opts.model):
        features[f"pk_roi_{name}"] = FeatureValue(
            float(getattr(roi_fit, name)), unit,
            f"{definition}, {text} fit of the tumour-mean concentration curve ({inputs.inputs_text})")
    if opts.aif != "measured":
        features["pk_roi_delay_s"] = FeatureValue(delay_s, "s", "bolus arrival after the pre-contrast phase, fitted "
                                                               "on the tumour-mean curve")
    features["pk_roi_r_squared"] = FeatureValue(float(roi_fit.r_squared), "", "R² of the tumour-mean curve fit")
    maps = {}
    for name, unit, definition in _reported(opts.model):
        values = getattr(voxel_fit, name)
        maps[f"pk_{name}"] = rois.box.image(values, rois.grid)
        inside = values[tumor & np.isfinite(values)]
        features[f"pk_{name}_mean"] = FeatureValue(
            float(np.mean(inside)) if inside.size else float("nan"), unit,
            f"mean over tumour voxels of the {text} {definition} map ({inputs.inputs_text})")
    maps["pk_r_squared"] = rois.box.image(voxel_fit.r_squared, rois.grid)
    quality = voxel_fit.r_squared[tumor]
    features["pk_poor_fit_fraction"] = FeatureValue(
        float(np.mean(~(quality >= opts.min_r_squared))), "",
        f"fraction of tumour voxels whose {text} fit has R² < {opts.min_r_squared:g} (or no fit)")
    provenance = {"pharmacokinetics": {"model": opts.model, **inputs.provenance, "aif_delay_s": delay_s}}
    return StageResult(features=features, maps=maps, provenance=provenance,
                       warnings=warnings + inputs.warnings + tuple(voxel_fit.warnings))


def _inputs(exam: Exam, opts: PharmacokineticsOptions, rois: RoisOnGrid) -> PkInputs:
    """The model, its AIF and the box's concentrations, every input checked before any fit.

    Raises
    ------
    AcquisitionError
        No flip angle / TR, no arterial segment or T1 map when the configuration asks for one (all missing
        inputs named at once), an unusable one (named, with the reason), or an acquisition the model cannot
        support.
    """
    needed = (("DCE flip angle (manifest column dce_flip_angle_deg)", exam.dce.flip_angle_deg is None),
              ("DCE TR (manifest column dce_tr_ms)", exam.dce.tr_ms is None),
              ("arterial segment for aif: measured (manifest column aif_segment)",
               opts.aif == "measured" and exam.aif_mask is None),
              ("T1 map for t1_source: map (manifest column t1_map)", opts.t1_source == "map" and exam.t1_map is None))
    missing = [name for name, absent in needed if absent]
    if missing:
        raise AcquisitionError(f"the exam has no {' and no '.join(missing)}; fill "
                               f"{'the column' if len(missing) == 1 else 'these columns'} in the manifest")
    t1_ms, t1_text, t1_provenance, warnings = (_t1_map_in_box(exam, rois) if opts.t1_source == "map" else
                                               (opts.baseline_t1_ms, f"assumed native T1 {opts.baseline_t1_ms:g} ms",
                                                {"baseline_t1_ms": opts.baseline_t1_ms}, ()))
    aif, aif_text, aif_provenance = _measured_aif(exam, opts) if opts.aif == "measured" else (
        dce_lib.Aif(opts.aif, hematocrit=opts.hematocrit), POPULATION_AIF_TEXT[opts.aif],
        {"aif_delay": f"searched on the tumour-mean curve in [{opts.aif_delay_range_s[0]:g}, "
                      f"{opts.aif_delay_range_s[1]:g}] s every {opts.aif_delay_step_s:g} s"})
    model = dce_lib.PkModel(opts.model, exam.dce.times_s, aif, max_vp_interval_s=opts.max_vp_interval_s)
    phases = dce_lib.phase_array(exam.dce)[rois.box.slices]
    concentration = dce_lib.concentration_from_signal(
        phases, baseline_phases=1, t1_ms=t1_ms, tr_ms=exam.dce.tr_ms, flip_angle_deg=exam.dce.flip_angle_deg,
        relaxivity_per_mm_s=opts.relaxivity_per_mm_s)
    provenance = {"aif": opts.aif, **aif_provenance, "hematocrit": opts.hematocrit, "tr_ms": exam.dce.tr_ms,
                  "flip_angle_deg": exam.dce.flip_angle_deg, "t1_source": opts.t1_source, **t1_provenance,
                  "relaxivity_per_mm_s": opts.relaxivity_per_mm_s}
    return PkInputs(model, concentration, f"{aif_text}; {t1_text}", provenance, warnings)


def _measured_aif(exam: Exam, opts: PharmacokineticsOptions) -> tuple[dce_lib.Aif, str, dict[str, Any]]:
    """The plasma AIF from the mean DCE signal of the exam's arterial segment, its description and provenance."""
    where = "the arterial segment (manifest column aif_segment)"
    grid = exam.dce.roi_image
    provenance: dict[str, Any] = {}
    mask = exam.aif_mask
    if not preprocessing.same_grid(mask, grid):
        transfer = preprocessing.resample_mask_to(mask, grid)
        provenance["aif_mask_on_DCE"] = transfer.as_step()
        mask = transfer.mask
    inside = sitk.GetArrayViewFromImage(mask) != 0
    n_voxels = int(np.count_nonzero(inside))
    if n_voxels < MIN_AIF_VOXELS:
        raise AcquisitionError(f"{where} has {n_voxels} voxels on the DCE grid; a measured AIF needs at least "
                               f"{MIN_AIF_VOXELS} (draw it over more of the artery)")
    signal = [float(np.mean(sitk.GetArrayViewFromImage(phase)[inside])) for phase in exam.dce.phases]
    try:
        aif = dce_lib.Aif.from_blood_signal(
            signal, exam.dce.times_s, blood_t1_ms=opts.blood_t1_ms, tr_ms=exam.dce.tr_ms,
            flip_angle_deg=exam.dce.flip_angle_deg, relaxivity_per_mm_s=opts.relaxivity_per_mm_s,
            hematocrit=opts.hematocrit)
    except AcquisitionError as error:
        raise AcquisitionError(f"{where}: {error}") from None
    provenance.update({"aif_voxels": n_voxels, "blood_t1_ms": opts.blood_t1_ms,
                       "aif_peak_plasma_mm": float(np.max(aif.plasma_mm)),
                       "aif_delay": "not searched: the measured AIF is used as sampled (delay 0 s)"})
    return aif, f"AIF measured in the arterial segment, blood T1 {opts.blood_t1_ms:g} ms", provenance


def _t1_map_in_box(exam: Exam, rois: RoisOnGrid) -> tuple[np.ndarray, str, dict[str, Any], tuple[str, ...]]:
    """Native T1 (ms) of the ROI box from the exam's T1 map (NaN where not finite and positive), with its
    description, provenance and warnings."""
    image = exam.t1_map
    where = f"the T1 map {exam.source('t1_map')} (manifest column t1_map)"
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise AcquisitionError(f"{where} is not a 3D scalar image")
    if preprocessing.same_grid(image, rois.grid):
        t1, resampling = sitk.GetArrayFromImage(image)[rois.box.slices].astype(np.float64), "none (DCE grid)"
    else:
        box_grid = preprocessing.Grid.of(rois.grid).sub_grid(np.asarray(rois.box.index), np.asarray(rois.box.size))
        t1, resampling = sitk.GetArrayFromImage(preprocessing.resample_to_grid(image, box_grid, "linear")), "linear"
    usable = np.isfinite(t1) & (t1 > 0)
    tumor = rois.tumor_in_box
    if not np.any(usable & tumor):
        raise AcquisitionError(f"{where} has no finite positive T1 in the tumour")
    median = float(np.median(t1[usable & tumor]))
    if not PLAUSIBLE_T1_MS[0] <= median <= PLAUSIBLE_T1_MS[1]:
        raise AcquisitionError(f"{where} has a median tumour T1 of {median:.4g}, outside {PLAUSIBLE_T1_MS[0]:g}–"
                               f"{PLAUSIBLE_T1_MS[1]:g} ms: give the map in ms")
    excluded_tumor = int(np.count_nonzero(~usable & tumor))
    warnings = (f"{excluded_tumor} of {int(np.count_nonzero(tumor))} tumour voxels have no finite positive T1 in "
                f"{where} and were not fitted",) if excluded_tumor else ()
    provenance = {"t1_map": {"resampling": resampling, "excluded_voxels": int(np.count_nonzero(~usable)),
                             "excluded_tumour_voxels": excluded_tumor, "tumour_median_t1_ms": median}}
    return np.where(usable, t1, np.nan), "native T1 from the exam's T1 map", provenance, warnings


def _reported(model: str):
    exclude = {"tofts": {"vp"}, "extended_tofts": set(), "patlak": {"ve", "kep"}}[model]
    return [row for row in PK_PARAMETERS if row[0] not in exclude]
