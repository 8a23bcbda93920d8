"""Peritumoral regions: shells at physical distances outside the tumour, clipped to the breast.

Distance: SimpleITK's signed Maurer distance map of the tumour mask with ``useImageSpacing=True``, so distances
are Euclidean in mm on anisotropic voxels; outside the tumour it is the distance from a voxel centre to the
nearest tumour voxel centre. A shell ``(inner_mm, outer_mm]`` holds the non-tumour voxels with
``inner_mm < d <= outer_mm`` (``inner_mm = 0``: from the first voxel outside the tumour). Measured to voxel
centres, a shell is thinner than the ideal parallel band by the gap between the tumour surface and its
outermost voxel centres (at most half a voxel along the normal; see Testing/test_peritumoral.py).

Breast mask, when no breast segment is given (:func:`breast_mask_from_precontrast`): the pre-contrast phase is
smoothed (Gaussian, σ = 1 mm) and split into three classes by Otsu's multiple thresholds (air; fat, which is
dark on fat-suppressed DCE; fibroglandular tissue); everything above the lower threshold is body, of which
the largest connected component is kept and its holes filled slice by slice. It removes air; it does not remove the chest wall, which
is as bright as breast tissue on a T1-weighted image: give a breast segment for that. NaN and infinite voxels (the
background of a masked or resampled export) are never breast, even inside a filled hole: before smoothing they
take the smallest finite value (as dark as air), and the Otsu thresholds are computed from the finite voxels only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from ..errors import ImageError


@dataclass(frozen=True)
class Shell:
    """One peritumoral shell."""

    name: str
    """Region name used as the feature prefix, ``peri<outer>mm``."""
    inner_mm: float
    outer_mm: float


def shell_name(outer_mm: float) -> str:
    """``peri3mm`` for a shell ending 3 mm from the tumour (``peri2.5mm`` for 2.5 mm)."""
    return f"peri{outer_mm:g}mm"


def distance_outside_mm(tumor_mask: sitk.Image) -> sitk.Image:
    """Distance (mm, float32) of each voxel centre to the nearest tumour voxel centre; ≤ 0 inside the tumour."""
    binary = sitk.Cast(tumor_mask > 0, sitk.sitkUInt8)
    if not np.any(sitk.GetArrayViewFromImage(binary)):
        raise ImageError("the tumour mask is empty: no peritumoral region can be defined")
    return sitk.SignedMaurerDistanceMap(binary, insideIsPositive=False, squaredDistance=False, useImageSpacing=True,
                                        backgroundValue=0)


def peritumoral_shell(tumor_mask: sitk.Image, inner_mm: float, outer_mm: float, *,
                      breast_mask: sitk.Image | None = None, exclude_mask: sitk.Image | None = None) -> sitk.Image:
    """Binary (uint8) mask of the non-tumour voxels at ``inner_mm < d <= outer_mm`` from the tumour, on its grid.

    ``breast_mask`` (same grid) clips the shell to the breast; ``exclude_mask`` (same grid, e.g. a second
    lesion) removes its voxels.
    """
    if not 0.0 <= inner_mm < outer_mm:
        raise ValueError(f"a shell needs 0 <= inner_mm < outer_mm, got ({inner_mm}, {outer_mm}) mm")
    distance = sitk.GetArrayFromImage(distance_outside_mm(tumor_mask))
    tumor = sitk.GetArrayViewFromImage(tumor_mask) > 0
    shell = ~tumor & (distance > inner_mm) & (distance <= outer_mm)
    for other, what in ((breast_mask, "breast"), (exclude_mask, "excluded")):
        if other is None:
            continue
        _check_same_grid(other, tumor_mask, what)
        inside = sitk.GetArrayViewFromImage(other) > 0
        shell &= inside if what == "breast" else ~inside
    image = sitk.GetImageFromArray(shell.astype(np.uint8))
    image.CopyInformation(tumor_mask)
    return image


def breast_mask_from_precontrast(precontrast: sitk.Image, smoothing_mm: float = 1.0) -> sitk.Image:
    """Body/breast mask (uint8) of a pre-contrast T1-weighted image by the method in the module docstring."""
    image = sitk.Cast(precontrast, sitk.sitkFloat32)
    finite = np.isfinite(sitk.GetArrayViewFromImage(image))
    if not finite.any():
        raise ImageError("the pre-contrast phase has no finite voxel: no breast mask can be computed; give a breast "
                         "segment or set peritumoral breast_mask: none")
    if not finite.all():
        values = sitk.GetArrayFromImage(image)
        filled = sitk.GetImageFromArray(np.where(finite, values, values[finite].min()))
        filled.CopyInformation(image)
        image = filled
    if smoothing_mm > 0:
        image = sitk.SmoothingRecursiveGaussian(image, smoothing_mm)
    foreground = sitk.GetImageFromArray((_above_lower_otsu_threshold(image, finite) & finite).astype(np.uint8))
    foreground.CopyInformation(image)
    components = sitk.RelabelComponent(sitk.ConnectedComponent(foreground), sortByObjectSize=True)
    largest = sitk.Cast(components == 1, sitk.sitkUInt8)
    filled = sitk.BinaryFillhole(largest, fullyConnected=False, foregroundValue=1)
    slices = sitk.GetArrayFromImage(filled)
    for k in range(slices.shape[0]):
        one = sitk.GetImageFromArray(slices[k])
        slices[k] = sitk.GetArrayFromImage(sitk.BinaryFillhole(one, fullyConnected=False, foregroundValue=1))
    result = sitk.GetImageFromArray((slices.astype(bool) & finite).astype(np.uint8))
    result.CopyInformation(precontrast)
    return result


def _above_lower_otsu_threshold(image: sitk.Image, finite: np.ndarray) -> np.ndarray:
    """Voxels (bool (z, y, x)) above the lower of the two Otsu thresholds of the ``finite`` voxels of ``image``.

    The thresholds come from SimpleITK's 3-class Otsu (128-bin histogram) of those voxels alone, laid out as a
    1-voxel-high image; a voxel is above when its value exceeds the threshold in double precision, the comparison
    SimpleITK's labelling makes, so on an image without NaN this equals ``OtsuMultipleThresholds(image) >= 1``.
    """
    values = sitk.GetArrayViewFromImage(image)
    otsu = sitk.OtsuMultipleThresholdsImageFilter()
    otsu.SetNumberOfThresholds(2)
    otsu.Execute(sitk.GetImageFromArray(values[finite].reshape(1, 1, -1)))
    return values.astype(np.float64) > otsu.GetThresholds()[0]


def _check_same_grid(image: sitk.Image, reference: sitk.Image, what: str) -> None:
    same = (image.GetSize() == reference.GetSize()
            and np.allclose(image.GetSpacing(), reference.GetSpacing(), rtol=1e-6)
            and np.allclose(image.GetOrigin(), reference.GetOrigin(), atol=1e-4)
            and np.allclose(image.GetDirection(), reference.GetDirection(), atol=1e-6))
    if not same:
        raise ImageError(f"the {what} mask is not on the tumour mask's grid (size, spacing, origin or direction differ)")
