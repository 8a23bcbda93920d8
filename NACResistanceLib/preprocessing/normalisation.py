"""Z-score intensity normalisation with statistics of the whole native image (its finite voxels)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from ..errors import ImageError


@dataclass(frozen=True)
class IntensityStatistics:
    """Mean and standard deviation of every finite voxel of an image."""

    mean: float
    """Mean intensity, image units."""
    sd: float
    """Population standard deviation (divisor n), image units."""
    n_voxels: int
    """Number of voxels the statistics describe (every finite voxel of the image)."""
    n_nonfinite: int = 0
    """NaN or infinite voxels left out (count)."""


def whole_image_statistics(image: sitk.Image) -> IntensityStatistics:
    """Mean and SD of every finite voxel of ``image`` (background included, no mask), in float64.

    NaN and infinite voxels are left out: ``n`` counts the finite voxels only, so on an image whose only
    non-finite voxels are NaN the result equals ``np.nanmean`` and ``np.nanstd`` (``ddof=0``). Two passes over
    z-slices (mean, then sum of squared deviations), so no full-size float64 copy is made; a slice without
    non-finite voxels is summed whole, as on an image without any.

    Raises
    ------
    ImageError
        If the image has no finite voxel.
    """
    planes = [_finite(plane) for plane in sitk.GetArrayViewFromImage(image)]
    n = sum(plane.size for plane in planes)
    if n == 0:
        raise ImageError("the image has no finite voxel (all NaN or infinite): z-score normalisation is undefined")
    mean = sum(float(plane.sum(dtype=np.float64)) for plane in planes) / n
    squares = sum(float(np.square(plane.astype(np.float64) - mean).sum()) for plane in planes)
    return IntensityStatistics(mean, (squares / n) ** 0.5, int(n), int(image.GetNumberOfPixels() - n))


def _finite(plane: np.ndarray) -> np.ndarray:
    """The plane itself when every voxel is finite (integer images always), else its finite voxels (1-D)."""
    if not np.issubdtype(plane.dtype, np.floating):
        return plane
    finite = np.isfinite(plane)
    return plane if finite.all() else plane[finite]


def zscore(image: sitk.Image, statistics: IntensityStatistics, source: str = "") -> sitk.Image:
    """``(image - mean) / sd`` as float64, with ``statistics`` from :func:`whole_image_statistics`.

    Raises
    ------
    ImageError
        If the SD is 0 (a constant image cannot be normalised).
    """
    if statistics.sd == 0:
        raise ImageError(f"image {source} is constant ({statistics.mean}); z-score normalisation is undefined")
    shifted = sitk.Cast(image, sitk.sitkFloat64) - statistics.mean
    return shifted / statistics.sd
