"""Z-score intensity normalisation with statistics of the whole native image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from ..errors import ImageError


@dataclass(frozen=True)
class IntensityStatistics:
    """Mean and standard deviation of every voxel of an image."""

    mean: float
    """Mean intensity, image units."""
    sd: float
    """Population standard deviation (divisor n), image units."""
    n_voxels: int
    """Number of voxels the statistics describe (all voxels of the image)."""


def whole_image_statistics(image: sitk.Image) -> IntensityStatistics:
    """Mean and SD of every voxel of ``image`` (background included, no mask), in float64.

    Two passes over z-slices (mean, then sum of squared deviations), so no full-size float64 copy is made.
    """
    array = sitk.GetArrayViewFromImage(image)
    n = array.size
    mean = sum(float(plane.sum(dtype=np.float64)) for plane in array) / n
    squares = sum(float(np.square(plane.astype(np.float64) - mean).sum()) for plane in array)
    return IntensityStatistics(mean, (squares / n) ** 0.5, int(n))


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
