"""Image preprocessing before feature extraction: checks, mask alignment, crop, resampling,
z-score normalisation, Gaussian denoising and optional N4 bias correction (one module per step)."""

from __future__ import annotations

from ..config.preprocessing import PreprocessingConfig, load_preprocessing_config
from .alignment import MaskTransfer, resample_mask_to
from .checks import NonFiniteVoxels, check_finite, check_image_and_mask, nonfinite_voxels, same_grid
from .denoising import gaussian_denoise
from .n4 import n4_correct
from .normalisation import IntensityStatistics, whole_image_statistics, zscore
from .preprocess import Preprocessed, crop_read_box, preprocess
from .resampling import Grid, isotropic_grid, nearest_mask_on_grid, resample_to_grid

__all__ = [
    "Grid", "IntensityStatistics", "MaskTransfer", "NonFiniteVoxels", "Preprocessed", "PreprocessingConfig",
    "check_finite", "check_image_and_mask", "crop_read_box", "gaussian_denoise", "isotropic_grid", "load_preprocessing_config", "n4_correct", "nearest_mask_on_grid",
    "nonfinite_voxels",
    "preprocess", "resample_mask_to", "resample_to_grid", "same_grid", "whole_image_statistics", "zscore",
]
