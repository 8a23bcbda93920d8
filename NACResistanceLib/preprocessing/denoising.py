"""Gaussian denoising with the standard deviation given in mm."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage


def gaussian_radius_voxels(sigma_mm: float, truncate: float, spacing: tuple[float, float, float]) -> np.ndarray:
    """Kernel radius (x, y, z) in voxels of a Gaussian of ``sigma_mm`` truncated at ``truncate`` SDs."""
    return np.ceil(truncate * sigma_mm / np.asarray(spacing) - 1e-9).astype(int)


def gaussian_denoise(image: sitk.Image, sigma_mm: float, truncate: float = 4.0) -> sitk.Image:
    """Convolve with a normalised, sampled 3D Gaussian of standard deviation ``sigma_mm`` (isotropic, mm).

    Parameters
    ----------
    image : SimpleITK.Image
        3D scalar image; any spacing (the kernel is ``sigma_mm / spacing`` voxels wide per axis).
    sigma_mm : float
        Standard deviation, mm.
    truncate : float
        Kernel radius in standard deviations.

    Returns
    -------
    SimpleITK.Image
        float64 image on the same grid.

    Notes
    -----
    ``scipy.ndimage.gaussian_filter`` with ``mode="nearest"``: the kernel ``exp(-x²/2σ²)`` is sampled at
    voxel offsets up to ``truncate·σ`` and normalised to sum 1, separably along each axis, so the
    response to a unit impulse is ``G(r) = Π_axes g(r_a) / Σ g`` ≈ ``V (2πσ²)^(-3/2) exp(-|r|²/2σ²)``
    (V the voxel volume, mm³). Voxels within the kernel radius of the image border see a replicated edge.
    """
    array = sitk.GetArrayFromImage(image).astype(np.float64, copy=False)
    sigma_voxels = sigma_mm / np.asarray(image.GetSpacing())[::-1]  # numpy (z, y, x) order
    smoothed = ndimage.gaussian_filter(array, sigma_voxels, mode="nearest", truncate=truncate)
    out = sitk.GetImageFromArray(smoothed)
    out.CopyInformation(image)
    return out
