"""Diffusion stage: ADC statistics (from the DWI or the scanner ADC map), mean-signal kurtosis, kurtosis tensor.

Values in mm²/s (diffusivities) or dimensionless (kurtosis, relative values); maps on a box of the DWI grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from .. import diffusion
from ..config import AnalysisConfig, DiffusionOptions
from ..io.exam import DwiSeries, Exam
from .geometry import Box, check_finite_in_box, rois_on_grid
from .optional import optional_model
from .results import FeatureValue, StageResult, join


@dataclass(frozen=True)
class DwiRegion:
    """The DWI signal and masks inside the ROI box (numpy (z, y, x, n_volumes) / (z, y, x))."""

    signal: np.ndarray
    tumor: np.ndarray
    reference: np.ndarray | None
    box: Box
    grid: sitk.Image

    def map(self, values: np.ndarray) -> sitk.Image:
        """A map of the box as an image aligned with the DWI grid."""
        return self.box.image(values, self.grid)


def analyse_diffusion(exam: Exam, config: AnalysisConfig) -> StageResult:
    """``adc_*`` and ``dki_*`` values and the diffusion maps of ``exam``."""
    if exam.dwi is None:
        if exam.adc is None:
            return StageResult(warnings=("no DWI and no ADC map in the exam: adc_*, dki_* omitted",))
        return _scanner_adc(exam, config)
    dwi = exam.dwi
    rois = rois_on_grid(exam, dwi.volumes[0], "DWI", config.map_margin_mm)
    check_finite_in_box([(volume, exam.part_source("dwi", k)) for k, volume in enumerate(dwi.volumes)], rois, "DWI",
                        config.map_margin_mm)
    region = DwiRegion(signal=dwi.signal_array()[rois.box.slices], tumor=rois.tumor_in_box,
                       reference=rois.reference_in_box, box=rois.box, grid=rois.grid)
    no_b0 = () if min(dwi.bvals) <= 50.0 else (
        f"the DWI ({exam.source('dwi')}) has no b <= 50 s/mm² volume (lowest b = {min(dwi.bvals):g} s/mm²): S0 is "
        "fitted as a parameter, so adc_* and dki_* rest on the diffusion-weighted volumes alone; check the b-values",)
    acquisition = StageResult(provenance={**rois.transfers, "dwi": {
        "bvals_s_mm2": list(dwi.bvals), "trace_weighted": dwi.is_trace, "b0_present": min(dwi.bvals) <= 50.0,
        "s0": "fitted as a parameter by every model"}}, warnings=no_b0)
    return join(acquisition, _adc_from_dwi(dwi, region, config.diffusion), _mean_kurtosis(dwi, region, config.diffusion),
                _tensor_kurtosis(dwi, region, config.diffusion))


def _adc_from_dwi(dwi: DwiSeries, region: DwiRegion, opts: DiffusionOptions) -> StageResult:
    low, high = opts.adc_bvalue_range
    chosen = np.flatnonzero([(low <= b <= high) for b in dwi.bvals])
    model, warnings = optional_model("required", "ADC", "adc_*", lambda: diffusion.AdcModel(
        np.asarray(dwi.bvals)[chosen], method=opts.adc_method, min_signal=opts.min_signal))
    adc_fit = model.fit(region.signal[..., chosen])
    fit = StageResult(maps={"adc": region.map(adc_fit.adc)}, warnings=warnings, provenance={"adc": {
        "source": f"{opts.adc_method} fit of the DWI", "bvals_s_mm2": np.asarray(dwi.bvals)[chosen].tolist(),
        "excluded_voxels_in_box": adc_fit.n_excluded}})
    return join(fit, _adc_statistics(adc_fit.adc, region.tumor, region.reference, opts, f"{opts.adc_method.upper()} ADC"))


def _scanner_adc(exam: Exam, config: AnalysisConfig) -> StageResult:
    rois = rois_on_grid(exam, exam.adc, "ADC", config.map_margin_mm)
    check_finite_in_box([(exam.adc, exam.source("adc"))], rois, "ADC", config.map_margin_mm)
    adc = sitk.GetArrayFromImage(rois.grid).astype(np.float64)[rois.box.slices]
    source = StageResult(maps={"adc": rois.box.image(adc, rois.grid)},
                         provenance={**rois.transfers, "adc": {"source": f"scanner ADC map {exam.source('adc')}"}},
                         warnings=("no DWI in the exam: ADC statistics from the scanner ADC map; dki_* omitted",))
    return join(source, _adc_statistics(adc, rois.tumor_in_box, rois.reference_in_box, config.diffusion, "scanner ADC"))


def _adc_statistics(adc: np.ndarray, tumor: np.ndarray, reference: np.ndarray | None, opts: DiffusionOptions,
                    source: str) -> StageResult:
    """``adc_<statistic>`` of the tumour voxels (mm²/s) and ``adc_rADC``; ``source`` names the ADC (``"WLS ADC"``)."""
    values, missing = diffusion.roi_values(adc, tumor, name="ADC in the tumour")
    statistics = diffusion.described_map_statistics(values, percentiles=opts.percentiles,
                                                    robust_extreme_percentile=opts.robust_extreme_percentile)
    features = {f"adc_{key}": FeatureValue(statistic.value, "mm²/s", statistic.describe(f"the tumour voxel {source}"))
                for key, statistic in statistics.items()}
    warnings: tuple[str, ...] = ()
    if missing:
        warnings = (f"{missing} tumour voxels have no ADC (signal <= min_signal or non-finite); "
                    f"ADC statistics use the other {values.size}",)
    negative = int(np.count_nonzero(values < 0))
    if negative:  # fit noise: kept, since dropping them would bias the low percentiles upwards
        warnings += (f"{negative} of {values.size} tumour voxels have a negative {source} (fit noise in low-signal "
                     "voxels); they are kept in adc_* (mean, percentiles), which lowers the low percentiles",)
    if reference is not None:
        ref_values, _ = diffusion.roi_values(adc, reference, name="ADC in the reference region")
        rel = diffusion.relative_value(values, ref_values, opts.relative_statistic)
        features["adc_rADC"] = FeatureValue(rel.value, "", f"{rel.statistic} {source} of the tumour / {rel.statistic} "
                                                           "of the reference region")
    return StageResult(features=features, warnings=warnings)


def _mean_kurtosis(dwi: DwiSeries, region: DwiRegion, opts: DiffusionOptions) -> StageResult:
    if opts.mean_kurtosis == "off":
        return StageResult()
    model, warnings = optional_model(
        opts.mean_kurtosis, "mean-signal kurtosis (diffusion.mean_kurtosis)", "dki_md_roi, dki_mk_roi, dki_rMK, dki_rMD",
        lambda: diffusion.MeanKurtosisModel(dwi.bvals, min_signal=opts.min_signal,
                                            voxelwise_min_bmax=opts.voxelwise_kurtosis_min_bmax))
    if model is None:
        return StageResult(warnings=warnings)
    tumor = diffusion.fit_roi_mean_kurtosis(region.signal, dwi.bvals, region.tumor, min_signal=opts.min_signal)
    features = {
        "dki_md_roi": FeatureValue(tumor.md, "mm²/s", "mean-signal diffusivity fitted to the tumour-averaged, "
                                                      "direction-averaged signal"),
        "dki_mk_roi": FeatureValue(tumor.mk, "", "mean-signal kurtosis fitted to the tumour-averaged, "
                                                 "direction-averaged signal"),
    }
    if region.reference is not None:
        ref = diffusion.fit_roi_mean_kurtosis(region.signal, dwi.bvals, region.reference, min_signal=opts.min_signal)
        for name, quantity, t, r in (("dki_rMK", "MK", tumor.mk, ref.mk), ("dki_rMD", "MD", tumor.md, ref.md)):
            rel = diffusion.relative_value(t, r, "roi_averaged_signal")
            features[name] = FeatureValue(rel.value, "", f"{quantity}: ROI-averaged-signal fit of the tumour / of the "
                                                         "reference region")
    voxel_fit = model.fit(region.signal)
    return StageResult(
        features=features, warnings=warnings,
        maps={"dki_md": region.map(voxel_fit.md), "dki_mk": region.map(voxel_fit.mk),
              "dki_mk_quality": region.map(voxel_fit.quality)},
        provenance={"mean_kurtosis": {
            "feature_source": "roi_averaged_signal", "voxelwise_supported": model.voxelwise_supported,
            "voxelwise_reason": model.voxelwise_reason, "tumor_voxels_averaged": tumor.n_voxels,
            "tumor_voxels_excluded": tumor.n_excluded,
            "tumor_voxel_quality_fraction": float(np.mean(voxel_fit.quality[region.tumor])),
        }})


TENSOR_MAPS = (("mk", "MK_tensor", "MK", ""), ("ak", "Ka", "Ka", ""), ("rk", "Kr", "Kr", ""),
               ("md", "MD_tensor", "MD", "mm²/s"))
"""Kurtosis tensor maps: (fit attribute, relative-value suffix ``dki_r<suffix>``, quantity, unit)."""


def _tensor_kurtosis(dwi: DwiSeries, region: DwiRegion, opts: DiffusionOptions) -> StageResult:
    if opts.tensor_kurtosis == "off":
        return StageResult()
    model, warnings = optional_model(
        opts.tensor_kurtosis, "the kurtosis tensor (diffusion.tensor_kurtosis)",
        "dki_tensor_mk/ak/rk/md_mean, dki_rKa, dki_rKr, dki_rMK_tensor, dki_rMD_tensor",
        lambda: diffusion.DkiModel(dwi.bvals, dwi.bvecs, min_signal=opts.min_signal))
    if model is None:
        return StageResult(warnings=warnings)
    regions = region.tumor if region.reference is None else region.tumor | region.reference
    fit = model.fit(region.signal, regions)
    features, maps = {}, {}
    for attr, suffix, quantity, unit in TENSOR_MAPS:
        values = getattr(fit, attr)
        maps[f"dki_tensor_{attr}"] = region.map(values)
        tumor, _ = diffusion.roi_values(values, region.tumor, name=f"tensor {attr} in the tumour")
        features[f"dki_tensor_{attr}_mean"] = FeatureValue(float(np.mean(tumor)), unit, f"mean of the tumour voxel tensor "
                                                                                        f"{quantity} (DIPY WLS)")
        if region.reference is not None:
            ref, _ = diffusion.roi_values(values, region.reference, name=f"tensor {attr} in the reference region")
            rel = diffusion.relative_value(tumor, ref, opts.relative_statistic)
            features[f"dki_r{suffix}"] = FeatureValue(rel.value, "", f"{rel.statistic} tumour / {rel.statistic} reference "
                                                                     f"of the tensor {quantity}")
    return StageResult(features=features, maps=maps, warnings=warnings, provenance={"tensor_kurtosis": {
        "excluded_voxels": fit.n_excluded, "fit": "DIPY DiffusionKurtosisModel WLS, kurtosis clipped to [-3/7, 10]"}})
