"""The preprocessing chain of the seed study: crop, resample, z-score, Gaussian (N4 optional first)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import SimpleITK as sitk

from ..config.preprocessing import PreprocessingConfig, load_preprocessing_config
from ..errors import ImageError
from .alignment import resample_mask_to
from .checks import check_finite, check_image_and_mask, same_grid
from .cropping import box_on_grid, crop, crop_for_grid, input_box_for_grid, roi_box
from .denoising import gaussian_denoise, gaussian_radius_voxels
from .n4 import n4_correct
from .normalisation import IntensityStatistics, whole_image_statistics, zscore
from .resampling import Grid, isotropic_grid, nearest_mask_on_grid, resample_to_grid

CROP_REASON = ("that crop is the ROI box plus crop_margin_mm, the Gaussian radius and the interpolation margin, and "
               "filters (Gaussian, wavelet, LoG) would carry them into the tumour's values; outside it they are allowed")
"""Why :func:`preprocess` refuses NaN and infinite voxels inside the crop it reads."""
N4_REASON = "N4 bias correction (preprocessing key n4) reads every voxel; set n4: false to allow them outside the crop"


@dataclass(frozen=True)
class Preprocessed:
    """The preprocessed ROI region, ready for :func:`NACResistanceLib.features.extract`."""

    image: sitk.Image
    """float64 image of the ROI box plus margin, on the output grid (1 mm isotropic by default)."""
    mask: sitk.Image
    """Binary ``sitkUInt8`` mask on the grid of ``image``."""
    steps: tuple[dict[str, Any], ...]
    """What was done, in order, with parameters and measured values (JSON-serialisable)."""


def preprocess(image: sitk.Image, mask: sitk.Image, config: PreprocessingConfig | None = None, *,
               source: str = "", mask_source: str = "") -> Preprocessed:
    """Check, align, crop, resample, normalise and denoise an image and its ROI mask.

    Parameters
    ----------
    image : SimpleITK.Image
        3D scalar image (for example the first post-contrast DCE phase).
    mask : SimpleITK.Image
        3D binary mask (nonzero inside). If it is on another grid, it is moved onto the image grid with
        nearest-neighbour interpolation first (recorded with the voxels lost and gained).
    config : PreprocessingConfig, optional
        Defaults from ``params/preprocessing.yaml`` when ``None``.
    source, mask_source : str
        Files the image and mask came from, for error messages.

    Returns
    -------
    Preprocessed

    Raises
    ------
    ImageError
        From :func:`~.checks.check_image_and_mask`; NaN or infinite voxels inside the input crop of step (5)
        (anywhere with N4); or fewer than ``min_roi_voxels`` left after resampling.

    Notes
    -----
    Order: (1) checks; (2) mask alignment if needed, then NaN and infinite voxels are refused inside the input
    crop of step (5) (the only voxels steps 6-8 read; allowed outside it); (3) optional N4 on the whole native
    image (refused when any voxel is NaN or infinite); (4) z-score statistics: mean and population SD of
    **every finite voxel of the whole native image** (after N4 if enabled; background included, no mask;
    non-finite voxels, all outside the crop, are left out); (5) crop: the output grid (``resample_spacing_mm``,
    outer corner of the first voxel kept) is restricted to the ROI bounding box plus ``crop_margin_mm`` plus the
    Gaussian radius; (6) the image is resampled onto that sub-grid from an input crop 20 voxels wider than
    it needs (B-spline) and the mask with nearest neighbour (:func:`~.resampling.nearest_mask_on_grid`);
    (7) z-score; (8) Gaussian denoising. Because
    each output voxel depends only on nearby input voxels and the statistics come from the whole image,
    the result equals the same steps on the whole volume inside the ROI box plus the crop margin.
    """
    config = config or load_preprocessing_config()
    source, mask_source = source or "<in memory>", mask_source or source or "<in memory>"
    check_image_and_mask(image, mask, image_source=source, mask_source=mask_source,
                         min_voxels=config.min_roi_voxels)
    mask, steps = _align(mask, image)
    read_index, read_size = crop_read_box(image, mask, config)
    check_finite(image, source, index=read_index, size=read_size, region="inside the radiomics crop",
                 reason=CROP_REASON, mask=mask, mask_source=mask_source)
    if config.n4:
        check_finite(image, source, reason=N4_REASON)
        image = n4_correct(image, shrink_factor=config.n4_shrink_factor, iterations=config.n4_iterations)
        steps.append({"step": "n4", "shrink_factor": config.n4_shrink_factor,
                      "iterations": list(config.n4_iterations)})
    statistics = whole_image_statistics(image) if config.normalization == "zscore" else None
    image, mask = _crop_and_resample(image, mask, config, steps)
    if statistics is not None:
        image = zscore(image, statistics, source)
        steps.append({"step": "zscore", "mean": statistics.mean, "sd": statistics.sd,
                      "voxels": _statistics_voxels(statistics)})
    if config.gaussian_sigma_mm > 0:
        image = gaussian_denoise(image, config.gaussian_sigma_mm, config.gaussian_truncate)
        steps.append({"step": "gaussian", "sigma_mm": config.gaussian_sigma_mm,
                      "truncate_sd": config.gaussian_truncate})
    _check_roi_left(mask, config, mask_source)
    return Preprocessed(image, mask, tuple(steps))


def crop_read_box(image: sitk.Image, mask: sitk.Image, config: PreprocessingConfig) -> tuple[np.ndarray, np.ndarray]:
    """Index and size (x, y, z) of the voxels of ``image`` that :func:`preprocess` reads after its checks.

    ``mask`` is on the grid of ``image``. The box is the output grid's ROI box plus ``crop_margin_mm`` and the
    Gaussian radius, widened by what the interpolator reads around it (20 voxels for the B-spline); without
    resampling it is the output box itself. NaN and infinite voxels are refused inside it.
    """
    target, index, size, _ = _output_box(image, mask, config)
    if not config.resample_spacing_mm:
        return index, size
    return input_box_for_grid(image, target.sub_grid(index, size), config.interpolator)


def _align(mask: sitk.Image, image: sitk.Image) -> tuple[sitk.Image, list[dict[str, Any]]]:
    if same_grid(mask, image):
        binary = sitk.Cast(mask != 0, sitk.sitkUInt8)
        binary.CopyInformation(image)
        return binary, []
    transfer = resample_mask_to(mask, image)
    return transfer.mask, [transfer.as_step()]


def _output_box(image: sitk.Image, mask: sitk.Image,
                config: PreprocessingConfig) -> tuple[Grid, np.ndarray, np.ndarray, np.ndarray]:
    """The output grid, the index and size (x, y, z) of its ROI box plus margin, and that margin (voxels)."""
    spacing = config.resample_spacing_mm
    target = isotropic_grid(image, spacing) if spacing else Grid.of(image)
    margin = np.ceil(config.crop_margin_mm / np.asarray(target.spacing) - 1e-9).astype(int)
    if config.gaussian_sigma_mm > 0:
        margin += gaussian_radius_voxels(config.gaussian_sigma_mm, config.gaussian_truncate, target.spacing)
    lo, hi = roi_box(mask)
    index, size = box_on_grid(Grid.of(image), lo, hi, target, margin)
    return target, index, size, margin


def _statistics_voxels(statistics: IntensityStatistics) -> str:
    """Which voxels the z-score statistics describe, for the provenance."""
    if not statistics.n_nonfinite:
        return f"all {statistics.n_voxels} voxels of the native image"
    return (f"the {statistics.n_voxels} finite voxels of the native image ({statistics.n_nonfinite} NaN or "
            "infinite voxels, all outside the radiomics crop, left out)")


def _crop_and_resample(image: sitk.Image, mask: sitk.Image, config: PreprocessingConfig,
                       steps: list[dict[str, Any]]) -> tuple[sitk.Image, sitk.Image]:
    spacing = config.resample_spacing_mm
    target, index, size, margin = _output_box(image, mask, config)
    steps.append({"step": "crop", "grid_index": index.tolist(), "grid_size": size.tolist(),
                  "margin_voxels": margin.tolist()})
    if not spacing:
        return sitk.Cast(crop(image, index, size), sitk.sitkFloat64), crop(mask, index, size)
    sub = target.sub_grid(index, size)
    resampled = resample_to_grid(crop_for_grid(image, sub, config.interpolator), sub, config.interpolator)
    resampled_mask = nearest_mask_on_grid(mask, target, index, size)
    steps.append({"step": "resample", "spacing_mm": list(spacing), "interpolator": config.interpolator,
                  "mask_interpolator": "nearest", "grid_origin_mm": list(sub.origin)})
    return resampled, resampled_mask


def _check_roi_left(mask: sitk.Image, config: PreprocessingConfig, mask_source: str) -> None:
    n_roi = int(np.count_nonzero(sitk.GetArrayViewFromImage(mask)))
    if n_roi < config.min_roi_voxels:
        raise ImageError(
            f"mask {mask_source} has {n_roi} ROI voxels after resampling to {config.resample_spacing_mm} mm, "
            f"fewer than the minimum {config.min_roi_voxels} (preprocessing keys min_roi_voxels, resample_spacing_mm)"
        )
