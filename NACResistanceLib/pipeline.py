"""One exam in, one feature row (plus maps, curves, provenance) out; and scoring with a study model.

Column names (units and descriptions travel with every result, see ``docs/quantification.md``):
pyradiomics names unchanged; ``tumor_volume_mm3``; ``adc_*``; ``dki_*`` (mean-signal kurtosis,
``dki_tensor_*`` for the kurtosis tensor); ``dce_*``; relative values ``adc_rADC``, ``dki_rMK``,
``dki_rMD``, ``dki_rKa``, ``dki_rKr``, ``dce_rPE``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import SimpleITK as sitk

from . import dce as dce_lib
from . import diffusion, preprocessing
from . import features as radiomics_features
from .config import AnalysisConfig, DceOptions, DiffusionOptions, load_analysis_config
from .errors import AcquisitionError, CancelledError, ImageError
from .io.exam import DwiSeries, Exam

Progress = Callable[[str, float], bool]


# ----------------------------------------------------------------------------------------- results
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
    """One-line definition of each of our features (pyradiomics features: ``"pyradiomics"``)."""
    maps: dict[str, sitk.Image]
    """Parametric maps on a voxel-aligned box of their source grid (ROI boxes + margin); NaN where not fitted."""
    curves: pd.DataFrame
    """Time-intensity curves: ``time_s`` (s), ``tumor``, ``reference`` (mean signal; NaN without reference)."""
    provenance: dict[str, Any]
    """Configuration, acquisition summary, which estimate each value is, voxel counts and exclusions."""
    warnings: tuple[str, ...]
    """Values omitted or computed with caveats, with the reason."""

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


@dataclass
class _Collector:
    """Accumulates one analysis (local to one call, never shared)."""

    features: dict[str, float] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    maps: dict[str, sitk.Image] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, name: str, value: float, unit: str, description: str) -> None:
        self.features[name] = float(value)
        self.units[name] = unit
        self.descriptions[name] = description


def _progress(progress: Progress | None, message: str, fraction: float) -> None:
    if progress is not None and progress(message, fraction):
        raise CancelledError(f"cancelled by the user during: {message}")


# ----------------------------------------------------------------------------------------- entry points
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
        Unusable image/mask pair (see ``preprocessing.check_image_and_mask``).
    AcquisitionError
        A value the configuration marks ``required`` cannot be computed from this acquisition.
    """
    config = config if isinstance(config, AnalysisConfig) else load_analysis_config(config)
    out = _Collector()
    _progress(progress, "checking images and masks", 0.0)
    _check_inputs(exam, config)
    out.add("tumor_volume_mm3", _volume_mm3(exam.tumor_mask), "mm³", "tumour segment volume on its own grid")
    _progress(progress, "DCE kinetics", 0.1)
    curves = _dce_features(exam, config, out)
    _progress(progress, "diffusion", 0.3)
    _diffusion_features(exam, config, out)
    _progress(progress, "radiomics", 0.5)
    _radiomics(exam, config, out, progress)
    _progress(progress, "done", 1.0)
    out.provenance["analysis_config"] = config.to_dict()
    out.provenance["analysis_sha256"] = config.sha256
    return ExamAnalysis(patient_id=exam.patient_id, timepoint=exam.timepoint, features=out.features,
                        units=out.units, descriptions=out.descriptions, maps=out.maps, curves=curves,
                        provenance=out.provenance, warnings=tuple(out.warnings))


def score_exam(exam: Exam, model: Any, config: AnalysisConfig | Mapping[str, Any] | None = None, *,
               progress: Progress | None = None) -> ExamScore:
    """Analyse ``exam`` with the model's own analysis configuration (unless ``config`` is given) and predict.

    The model row is ``analysis.features`` plus ``exam.clinical``; ``model.predict(row)`` gives the prediction.
    A ``config`` that differs from the model's adds a warning: the features may not match the training.
    """
    analysis = analyze_exam(exam, model.analysis_config if config is None else config, progress=progress)
    if config is not None and analysis.provenance["analysis_sha256"] != load_analysis_config(model.analysis_config).sha256:
        analysis = dataclasses.replace(analysis, warnings=analysis.warnings + (
            "the analysis configuration differs from the one the model was trained with (model.analysis_config)",))
    row = {**analysis.features, **dict(exam.clinical)}
    return ExamScore(analysis=analysis, prediction=model.predict(row))


def _check_inputs(exam: Exam, config: AnalysisConfig) -> None:
    min_voxels = config.preprocessing.min_roi_voxels
    images = []
    if exam.dce is not None:
        images.append((exam.dce.roi_image, exam.source("dce")))
    if exam.dwi is not None:
        images.append((exam.dwi.volumes[0], exam.source("dwi")))
    elif exam.adc is not None:
        images.append((exam.adc, exam.source("adc")))
    for image, source in images:
        preprocessing.check_image_and_mask(image, exam.tumor_mask, image_source=source,
                                           mask_source=exam.source("tumor_mask"), min_voxels=min_voxels)
        if exam.reference_mask is not None:
            preprocessing.check_image_and_mask(image, exam.reference_mask, image_source=source,
                                               mask_source=exam.source("reference_mask"), min_voxels=1)


def _volume_mm3(mask: sitk.Image) -> float:
    return float(np.count_nonzero(sitk.GetArrayViewFromImage(mask)) * np.prod(mask.GetSpacing()))


# ----------------------------------------------------------------------------------------- geometry helpers
def _mask_on(mask: sitk.Image, reference: sitk.Image, label: str, grid: str, out: _Collector) -> np.ndarray:
    """Bool ``(z, y, x)`` array of ``mask`` on the grid of ``reference`` (nearest neighbour if moved)."""
    if not preprocessing.same_grid(mask, reference):
        transfer = preprocessing.resample_mask_to(mask, reference)
        out.provenance[f"{label.replace(' ', '_')}_on_{grid}"] = transfer.as_step()
        mask = transfer.mask
    array = sitk.GetArrayFromImage(mask) != 0
    if not array.any():
        raise ImageError(f"{label} has no voxel on the {grid} grid after nearest-neighbour transfer")
    return array


def _box(masks: list[np.ndarray], spacing_xyz: tuple[float, ...], margin_mm: float) -> tuple[slice, ...]:
    """(z, y, x) slices of the bounding box of the masks plus ``margin_mm`` on each side."""
    idx = np.argwhere(np.logical_or.reduce(masks))
    pad = np.ceil(margin_mm / np.asarray(spacing_xyz[::-1], float)).astype(int)
    lo = np.maximum(idx.min(axis=0) - pad, 0)
    hi = np.minimum(idx.max(axis=0) + pad + 1, masks[0].shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


def _box_image(values: np.ndarray, reference: sitk.Image, box: tuple[slice, ...]) -> sitk.Image:
    """A map of the box as an image on the reference grid's spacing/direction, origin at the box corner.

    Float maps become float32 (NaN kept), bool masks uint8, integer codes int16.
    """
    values = np.asarray(values)
    dtype = np.uint8 if values.dtype == bool else np.int16 if np.issubdtype(values.dtype, np.integer) else np.float32
    image = sitk.GetImageFromArray(values.astype(dtype))
    image.SetSpacing(reference.GetSpacing())
    image.SetDirection(reference.GetDirection())
    image.SetOrigin(reference.TransformIndexToPhysicalPoint([box[2].start, box[1].start, box[0].start]))
    return image


def _stat_description(key: str, quantity: str, region: str = "tumour") -> str:
    if key.startswith("min_p") or key.startswith("max_p"):
        q = key[5:].replace("_", ".")
        kind = "minimum" if key.startswith("min") else "maximum"
        return (f"{q}th percentile of the {region} voxel {quantity}, reported as the {kind} "
                "(the true extreme of a noisy map is one noisy voxel)")
    if key.startswith("p"):
        return f"{key[1:].replace('_', '.')}th percentile of the {region} voxel {quantity}"
    return {"mean": "mean", "std": "standard deviation", "median": "median"}[key] + f" of the {region} voxel {quantity}"


def _optional(mode: str, what: str, omitted: str, build: Callable[[], Any], out: _Collector) -> Any:
    """Build a model; if the acquisition refuses it: raise when ``mode == "required"``, else warn and return None."""
    try:
        return build()
    except AcquisitionError as error:
        if mode == "required":
            raise AcquisitionError(f"{what} is required by the analysis configuration but {error}") from error
        out.warnings.append(f"{omitted} omitted: {error}")
        return None


# ----------------------------------------------------------------------------------------- diffusion
@dataclass(frozen=True)
class _DwiRegion:
    """The DWI signal and masks inside the ROI box (numpy (z, y, x, n_volumes) / (z, y, x))."""

    signal: np.ndarray
    tumor: np.ndarray
    reference: np.ndarray | None
    box: tuple[slice, ...]
    grid: sitk.Image


def _diffusion_features(exam: Exam, config: AnalysisConfig, out: _Collector) -> None:
    if exam.dwi is None:
        if exam.adc is None:
            out.warnings.append("no DWI and no ADC map in the exam: adc_*, dki_* omitted")
        else:
            _scanner_adc(exam, config, out)
        return
    region = _dwi_region(exam, exam.dwi, config, out)
    _adc_from_dwi(exam.dwi, region, config.diffusion, out)
    _mean_kurtosis(exam.dwi, region, config.diffusion, out)
    _tensor_kurtosis(exam.dwi, region, config.diffusion, out)


def _dwi_region(exam: Exam, dwi: DwiSeries, config: AnalysisConfig, out: _Collector) -> _DwiRegion:
    grid = dwi.volumes[0]
    tumor = _mask_on(exam.tumor_mask, grid, "tumour mask", "DWI", out)
    reference = None if exam.reference_mask is None else _mask_on(exam.reference_mask, grid, "reference mask", "DWI", out)
    box = _box([m for m in (tumor, reference) if m is not None], grid.GetSpacing(), config.map_margin_mm)
    out.provenance["dwi"] = {"bvals_s_mm2": list(dwi.bvals), "trace_weighted": dwi.is_trace,
                             "b0_present": min(dwi.bvals) <= 50.0, "s0": "fitted as a parameter by every model"}
    return _DwiRegion(signal=dwi.signal_array()[box], tumor=tumor[box],
                      reference=None if reference is None else reference[box], box=box, grid=grid)


def _adc_from_dwi(dwi: DwiSeries, region: _DwiRegion, opts: DiffusionOptions, out: _Collector) -> None:
    low, high = opts.adc_bvalue_range
    chosen = np.flatnonzero([(low <= b <= high) for b in dwi.bvals])
    model = _optional("required", "ADC", "adc_*", lambda: diffusion.AdcModel(
        np.asarray(dwi.bvals)[chosen], method=opts.adc_method, min_signal=opts.min_signal), out)
    adc_fit = model.fit(region.signal[..., chosen])
    out.maps["adc"] = _box_image(adc_fit.adc, region.grid, region.box)
    out.provenance["adc"] = {"source": f"{opts.adc_method} fit of the DWI", "bvals_s_mm2": np.asarray(dwi.bvals)[chosen].tolist(),
                             "excluded_voxels_in_box": adc_fit.n_excluded}
    _adc_statistics(adc_fit.adc, region.tumor, region.reference, opts, out, f"{opts.adc_method.upper()} ADC")


def _scanner_adc(exam: Exam, config: AnalysisConfig, out: _Collector) -> None:
    grid = exam.adc
    tumor = _mask_on(exam.tumor_mask, grid, "tumour mask", "ADC", out)
    reference = None if exam.reference_mask is None else _mask_on(exam.reference_mask, grid, "reference mask", "ADC", out)
    box = _box([m for m in (tumor, reference) if m is not None], grid.GetSpacing(), config.map_margin_mm)
    adc = sitk.GetArrayFromImage(grid).astype(np.float64)[box]
    out.maps["adc"] = _box_image(adc, grid, box)
    out.provenance["adc"] = {"source": f"scanner ADC map {exam.source('adc')}"}
    out.warnings.append("no DWI in the exam: ADC statistics from the scanner ADC map; dki_* omitted")
    _adc_statistics(adc, tumor[box], None if reference is None else reference[box], config.diffusion, out, "scanner ADC")


def _adc_statistics(adc: np.ndarray, tumor: np.ndarray, reference: np.ndarray | None, opts: DiffusionOptions,
                    out: _Collector, source: str) -> None:
    values, missing = diffusion.roi_values(adc, tumor, name="ADC in the tumour")
    stats = diffusion.map_statistics(values, percentiles=opts.percentiles,
                                     robust_extreme_percentile=opts.robust_extreme_percentile)
    for key, value in stats.items():
        out.add(f"adc_{key}", value, "mm²/s", _stat_description(key, source))
    if missing:
        out.warnings.append(f"{missing} tumour voxels have no ADC (signal <= min_signal or non-finite); "
                            f"ADC statistics use the other {values.size}")
    if reference is not None:
        ref_values, _ = diffusion.roi_values(adc, reference, name="ADC in the reference region")
        rel = diffusion.relative_value(values, ref_values, opts.relative_statistic)
        out.add("adc_rADC", rel.value, "", f"{rel.statistic} {source} of the tumour / {rel.statistic} of the reference region")


def _mean_kurtosis(dwi: DwiSeries, region: _DwiRegion, opts: DiffusionOptions, out: _Collector) -> None:
    if opts.mean_kurtosis == "off":
        return
    model = _optional(opts.mean_kurtosis, "mean-signal kurtosis (diffusion.mean_kurtosis)", "dki_md_roi, dki_mk_roi, dki_rMK, dki_rMD",
                      lambda: diffusion.MeanKurtosisModel(dwi.bvals, min_signal=opts.min_signal,
                                                          voxelwise_min_bmax=opts.voxelwise_kurtosis_min_bmax), out)
    if model is None:
        return
    tumor = diffusion.fit_roi_mean_kurtosis(region.signal, dwi.bvals, region.tumor, min_signal=opts.min_signal)
    out.add("dki_md_roi", tumor.md, "mm²/s", "mean-signal diffusivity fitted to the tumour-averaged, direction-averaged signal")
    out.add("dki_mk_roi", tumor.mk, "", "mean-signal kurtosis fitted to the tumour-averaged, direction-averaged signal")
    if region.reference is not None:
        ref = diffusion.fit_roi_mean_kurtosis(region.signal, dwi.bvals, region.reference, min_signal=opts.min_signal)
        for name, t, r in (("dki_rMK", tumor.mk, ref.mk), ("dki_rMD", tumor.md, ref.md)):
            rel = diffusion.relative_value(t, r, "roi_averaged_signal")
            out.add(name, rel.value, "", f"{name[5:]}: ROI-averaged-signal fit of the tumour / of the reference region")
    voxel_fit = model.fit(region.signal)
    out.maps.update({"dki_md": _box_image(voxel_fit.md, region.grid, region.box),
                     "dki_mk": _box_image(voxel_fit.mk, region.grid, region.box),
                     "dki_mk_quality": _box_image(voxel_fit.quality, region.grid, region.box)})
    out.provenance["mean_kurtosis"] = {
        "feature_source": "roi_averaged_signal", "voxelwise_supported": model.voxelwise_supported,
        "voxelwise_reason": model.voxelwise_reason, "tumor_voxels_averaged": tumor.n_voxels,
        "tumor_voxels_excluded": tumor.n_excluded,
        "tumor_voxel_quality_fraction": float(np.mean(voxel_fit.quality[region.tumor])),
    }


TENSOR_MAPS = (("mk", "MK_tensor", ""), ("ak", "Ka", ""), ("rk", "Kr", ""), ("md", "MD_tensor", "mm²/s"))
"""Kurtosis tensor maps: (fit attribute, relative-value suffix, unit)."""


def _tensor_kurtosis(dwi: DwiSeries, region: _DwiRegion, opts: DiffusionOptions, out: _Collector) -> None:
    if opts.tensor_kurtosis == "off":
        return
    model = _optional(opts.tensor_kurtosis, "the kurtosis tensor (diffusion.tensor_kurtosis)",
                      "dki_tensor_mk/ak/rk/md_mean, dki_rKa, dki_rKr, dki_rMK_tensor, dki_rMD_tensor",
                      lambda: diffusion.DkiModel(dwi.bvals, dwi.bvecs, min_signal=opts.min_signal), out)
    if model is None:
        return
    regions = region.tumor if region.reference is None else region.tumor | region.reference
    fit = model.fit(region.signal, regions)
    for attr, suffix, unit in TENSOR_MAPS:
        values = getattr(fit, attr)
        out.maps[f"dki_tensor_{attr}"] = _box_image(values, region.grid, region.box)
        tumor, _ = diffusion.roi_values(values, region.tumor, name=f"tensor {attr} in the tumour")
        out.add(f"dki_tensor_{attr}_mean", float(np.mean(tumor)), unit, f"mean of the tumour voxel tensor {suffix.split('_')[0]} (DIPY WLS)")
        if region.reference is not None:
            ref, _ = diffusion.roi_values(values, region.reference, name=f"tensor {attr} in the reference region")
            rel = diffusion.relative_value(tumor, ref, opts.relative_statistic)
            out.add(f"dki_r{suffix}", rel.value, "", f"{rel.statistic} tumour / {rel.statistic} reference of the tensor {suffix.split('_')[0]}")
    out.provenance["tensor_kurtosis"] = {"excluded_voxels": fit.n_excluded, "fit": "DIPY DiffusionKurtosisModel WLS, kurtosis clipped to [-3/7, 10]"}


# ----------------------------------------------------------------------------------------- DCE
DCE_MAPS = (
    ("ie", "initial_enhancement", "%", "enhancement at the early phase, 100·(S_early − S0)/S0"),
    ("pe", "peak_enhancement", "%", "largest post-contrast enhancement, 100·(S − S0)/S0"),
    ("ttp", "time_to_peak", "s", "time of the largest post-contrast signal after the pre-contrast phase"),
    ("wash_in", "wash_in", "%/s", "peak enhancement / time to peak"),
    ("washout", "washout", "%/s", "(E_peak − E_last) / (t_last − t_peak), 0 when the peak is the last phase"),
    ("ser", "ser", "", "signal enhancement ratio (S_early − S0)/(S_late − S0), voxels with S_late > S0"),
)
"""DCE maps: (column stem, KineticsFit attribute, unit, definition)."""
CURVES_COLUMNS = ("time_s", "tumor", "reference")


def _dce_features(exam: Exam, config: AnalysisConfig, out: _Collector) -> pd.DataFrame:
    if exam.dce is None:
        out.warnings.append("no DCE series in the exam: dce_* and the time-intensity curves omitted")
        return pd.DataFrame(columns=list(CURVES_COLUMNS))
    grid, opts = exam.dce.roi_image, config.dce
    tumor = _mask_on(exam.tumor_mask, grid, "tumour mask", "DCE", out)
    reference = None if exam.reference_mask is None else _mask_on(exam.reference_mask, grid, "reference mask", "DCE", out)
    phases = dce_lib.phase_array(exam.dce)
    curves = dce_lib.time_intensity_curves(exam.dce, tumor, reference, phases=phases)
    model = _optional("auto", "DCE kinetics", "dce_* kinetic values", lambda: dce_lib.KineticsModel(
        exam.dce.times_s, early_time_s=opts.early_time_s, late_time_s=opts.late_time_s,
        enhancement_threshold_pct=opts.enhancement_threshold_pct, curve_tolerance_pct=opts.curve_tolerance_pct,
        timing_tolerance_s=opts.timing_tolerance_s), out)
    if model is None:
        return curves
    out.warnings.extend(model.warnings)
    box = _box([m for m in (tumor, reference) if m is not None], grid.GetSpacing(), config.map_margin_mm)
    fit = model.fit(phases[box])
    _dce_maps(fit, tumor[box], None if reference is None else reference[box], grid, box, out)
    _dce_tumor_composition(model.fit(phases[box], tumor[box]), float(np.prod(grid.GetSpacing())), opts, out)
    out.provenance["dce"] = {"times_s": list(exam.dce.times_s), "early_phase": model.early, "late_phase": model.late,
                             "early_time_s": float(model.times_s[model.early]), "late_time_s": float(model.times_s[model.late])}
    return curves


def _dce_maps(fit: dce_lib.KineticsFit, tumor: np.ndarray, reference: np.ndarray | None, grid: sitk.Image,
              box: tuple[slice, ...], out: _Collector) -> None:
    for stem, attr, unit, definition in DCE_MAPS:
        values = getattr(fit, attr)
        out.maps[f"dce_{stem}"] = _box_image(values, grid, box)
        inside, missing = diffusion.roi_values(values, tumor, name=f"DCE {stem} in the tumour")
        out.add(f"dce_{stem}_mean", float(np.mean(inside)), unit, f"mean over tumour voxels of the {definition}")
        if missing:
            out.warnings.append(f"dce_{stem}_mean: {missing} tumour voxels have no value (excluded or undefined)")
    out.maps["dce_curve_type"] = _box_image(fit.curve_type, grid, box)
    if reference is not None:
        pe = fit.peak_enhancement
        rel = diffusion.relative_value(pe[tumor & np.isfinite(pe)], pe[reference & np.isfinite(pe)], "mean")
        out.add("dce_rPE", rel.value, "", "mean peak enhancement of the tumour / of the reference region")


def _dce_tumor_composition(fit: dce_lib.KineticsFit, voxel_mm3: float, opts: DceOptions, out: _Collector) -> None:
    for name, fraction in fit.curve_composition().items():
        out.add(f"dce_curve_{name}_fraction", fraction, "",
                f"fraction of tumour voxels with a {name.replace('_', '-')} curve (BI-RADS type, ±{opts.curve_tolerance_pct:g} %)")
    ftv = dce_lib.functional_tumor_volume(fit, voxel_mm3, pe_threshold_pct=opts.enhancement_threshold_pct,
                                          background_pct=opts.ftv_background_pct)
    out.add("dce_ftv_mm3", ftv.volume_mm3, "mm³",
            f"functional tumour volume: early enhancement >= {ftv.pe_threshold_pct:g} % and pre-contrast signal "
            f">= {ftv.background_pct:g} % of the tumour maximum (I-SPY)")
    out.add("dce_ftv_fraction", ftv.fraction, "", "functional tumour volume / analysed tumour volume")


# ----------------------------------------------------------------------------------------- radiomics
def _radiomics(exam: Exam, config: AnalysisConfig, out: _Collector, progress: Progress | None) -> None:
    if not config.radiomics:
        return
    if exam.dce is None:
        out.warnings.append("no DCE series in the exam: pyradiomics features of the ROI phase omitted")
        return
    preprocessing_config = config.preprocessing
    params = config.radiomics_params.parameters
    inputs = [("", exam.dce.roi_image, exam.source("dce"))]
    inputs += [(f"{name}_", out.maps[name], f"{name} map") for name in config.radiomics_maps if name in out.maps]
    for name in sorted(set(config.radiomics_maps) - set(out.maps)):
        out.warnings.append(f"radiomics on the {name} map omitted: the map was not computed for this exam")
    for step, (prefix, image, source) in enumerate(inputs):
        _progress(progress, f"radiomics {prefix.rstrip('_') or 'DCE ROI phase'}", 0.5 + 0.5 * step / len(inputs))
        image = _finite_for_radiomics(image, source, out)
        prepared = preprocessing.preprocess(image, exam.tumor_mask, preprocessing_config, source=source,
                                            mask_source=exam.source("tumor_mask"))
        result = radiomics_features.extract(prepared.image, prepared.mask, params, preprocessing_steps=prepared.steps)
        for key, value in result.items():
            out.add(prefix + key, value, "", f"pyradiomics, {source}")
        out.provenance[f"radiomics_{prefix.rstrip('_') or 'dce'}"] = result.provenance


def _finite_for_radiomics(image: sitk.Image, source: str, out: _Collector) -> sitk.Image:
    """Maps hold NaN where a voxel could not be fitted; pyradiomics needs finite values: NaN -> map median, warned."""
    values = sitk.GetArrayFromImage(image)
    bad = ~np.isfinite(values)
    if not bad.any():
        return image
    filled = np.where(bad, np.median(values[~bad]), values)
    out.warnings.append(f"{source}: {int(bad.sum())} unfitted (NaN) voxels set to the map median for pyradiomics")
    result = sitk.GetImageFromArray(filled)
    result.CopyInformation(image)
    return result
