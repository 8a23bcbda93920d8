"""Input checks: each failure raises :class:`ImageError` naming the file and the problem."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from ..errors import ImageError
from .resampling import Grid

SPACING_TOLERANCE = 1e-4
"""Relative tolerance on spacing for "same grid"."""
ORIGIN_TOLERANCE = 1e-3
"""Tolerance on origin for "same grid", in units of the largest voxel spacing."""
DIRECTION_TOLERANCE = 1e-5


def check_image_and_mask(image: sitk.Image, mask: sitk.Image, *, image_source: str, mask_source: str,
                         min_voxels: int) -> None:
    """Refuse an image/mask pair that cannot give meaningful features.

    NaN and infinite voxels are not checked here: they are refused only where an analysis reads them
    (:func:`check_finite` on the radiomics crop in :func:`~.preprocess.preprocess`, on the map boxes in the
    pipeline) and allowed elsewhere.

    Parameters
    ----------
    image : SimpleITK.Image
        3D scalar image.
    mask : SimpleITK.Image
        3D binary mask (nonzero inside), on the image grid or any grid overlapping it.
    image_source, mask_source : str
        Where the image and mask came from (file paths), for the messages.
    min_voxels : int
        Smallest accepted number of ROI voxels, counted on the mask's grid.

    Raises
    ------
    ImageError
        If the mask is empty, has fewer than ``min_voxels`` voxels, the two physical spaces do not overlap,
        or ROI voxels lie outside the image.
    """
    n_roi = int(np.count_nonzero(sitk.GetArrayViewFromImage(mask)))
    if n_roi == 0:
        raise ImageError(f"mask {mask_source} is empty (no nonzero voxel); check the segment or label chosen")
    if n_roi < min_voxels:
        raise ImageError(
            f"mask {mask_source} has {n_roi} ROI voxels, fewer than the minimum {min_voxels} "
            "(preprocessing key min_roi_voxels)"
        )
    if not boxes_overlap(image, mask):
        raise ImageError(
            f"image {image_source} and mask {mask_source} occupy physical spaces that do not overlap "
            f"(image origin {_fmt(image.GetOrigin())} mm, mask origin {_fmt(mask.GetOrigin())} mm); "
            "the mask was probably drawn on another exam or saved with a wrong origin"
        )
    outside = roi_voxels_outside(image, mask)
    if outside:
        raise ImageError(
            f"{outside} of {n_roi} ROI voxels of mask {mask_source} lie outside image {image_source}; "
            "the mask extends beyond the image field of view"
        )


@dataclass(frozen=True)
class NonFiniteVoxels:
    """The NaN and infinite voxels of a region of an image."""

    count: int
    """Number of NaN or infinite voxels in the region."""
    first_voxel: tuple[int, int, int] | None
    """Index (x, y, z) in the whole image of the first of them (slice z first, then row y); ``None`` when none."""


def nonfinite_voxels(image: sitk.Image, index: Sequence[int] | None = None,
                     size: Sequence[int] | None = None) -> NonFiniteVoxels:
    """Count the NaN and infinite voxels of ``image`` in the box ``index``, ``size`` (x, y, z; whole image if ``None``).

    Integer images have none. Counted slice by slice, so no full-size boolean copy is made.
    """
    if image.GetPixelID() not in (sitk.sitkFloat32, sitk.sitkFloat64):
        return NonFiniteVoxels(0, None)
    first, box = _box(image, index, size)
    count, where = 0, None
    for z, plane in enumerate(sitk.GetArrayViewFromImage(image)[box]):
        bad = ~np.isfinite(plane)
        n_bad = int(np.count_nonzero(bad))
        if n_bad and where is None:
            y, x = np.argwhere(bad)[0]
            where = (int(first[0] + x), int(first[1] + y), int(first[2] + z))
        count += n_bad
    return NonFiniteVoxels(count, where)


def check_finite(image: sitk.Image, source: str, *, index: Sequence[int] | None = None,
                 size: Sequence[int] | None = None, region: str = "",
                 reason: str = "filters would carry them into the tumour's values", mask: sitk.Image | None = None,
                 mask_source: str = "") -> None:
    """Raise :class:`ImageError` if a float image holds NaN or infinite voxels in the box ``index``, ``size``.

    The box (x, y, z; the whole image if ``None``) is the part of the image an analysis reads, named by ``region``
    ("inside the radiomics crop") and explained by ``reason`` in the message. The message gives the count, the
    first voxel index (x, y, z) of the whole image and, when ``mask`` is on the image grid, how many of them lie
    inside the mask.
    """
    found = nonfinite_voxels(image, index, size)
    if not found.count:
        return
    inside = ""
    if mask is not None and same_grid(image, mask):
        _, box = _box(image, index, size)
        values, roi = sitk.GetArrayViewFromImage(image)[box], sitk.GetArrayViewFromImage(mask)[box]
        count = int(np.count_nonzero(~np.isfinite(values) & (roi != 0)))
        inside = f", {count} of them inside mask {mask_source}"
    x, y, z = found.first_voxel
    where = f" {region}" if region else ""
    raise ImageError(f"image {source} has {found.count} NaN or infinite voxels{where} (the first at voxel x, y, z = "
                     f"{x}, {y}, {z}{inside}); replace them (e.g. with 0) or export the image again: {reason}")


def same_grid(a: sitk.Image, b: sitk.Image) -> bool:
    """True when ``a`` and ``b`` share size, spacing, origin and direction (within the tolerances above)."""
    spacing = np.asarray(a.GetSpacing())
    return (
        a.GetSize() == b.GetSize()
        and np.allclose(spacing, b.GetSpacing(), rtol=SPACING_TOLERANCE, atol=0)
        and np.all(np.abs(np.subtract(a.GetOrigin(), b.GetOrigin())) <= ORIGIN_TOLERANCE * spacing.max())
        and np.allclose(a.GetDirection(), b.GetDirection(), atol=DIRECTION_TOLERANCE)
    )


def physical_box(image: sitk.Image) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned physical bounding box (min, max corners, mm) of the image's voxel extent."""
    size = np.asarray(image.GetSize())
    corners = Grid.of(image).to_physical(np.array([np.where(bits, size - 0.5, -0.5) for bits in np.ndindex(2, 2, 2)]))
    return corners.min(axis=0), corners.max(axis=0)


def boxes_overlap(a: sitk.Image, b: sitk.Image) -> bool:
    """True when the physical bounding boxes of ``a`` and ``b`` intersect."""
    a_min, a_max = physical_box(a)
    b_min, b_max = physical_box(b)
    return bool(np.all(a_min < b_max) and np.all(b_min < a_max))


def roi_voxels_outside(image: sitk.Image, mask: sitk.Image) -> int:
    """Number of ROI voxel centres of ``mask`` outside the voxel extent of ``image``."""
    if same_grid(image, mask):
        return 0
    zyx = np.argwhere(sitk.GetArrayViewFromImage(mask) != 0)
    index = Grid.of(image).to_index(Grid.of(mask).to_physical(zyx[:, ::-1]))
    size = np.asarray(image.GetSize())
    inside = np.all((index >= -0.5) & (index <= size - 0.5), axis=1)
    return int(np.count_nonzero(~inside))


def _box(image: sitk.Image, index: Sequence[int] | None,
         size: Sequence[int] | None) -> tuple[np.ndarray, tuple[slice, slice, slice]]:
    """First voxel (x, y, z) of the box and its (z, y, x) slices; the whole image when ``index`` is ``None``."""
    first = np.zeros(3, int) if index is None else np.asarray(index, int)
    extent = np.asarray(image.GetSize() if size is None else size, int)
    return first, tuple(slice(a, a + n) for a, n in zip(first[::-1], extent[::-1]))


def _fmt(values) -> str:
    return "(" + ", ".join(f"{v:.1f}" for v in values) + ")"
