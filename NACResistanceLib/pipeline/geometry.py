"""The tumour and reference masks on a source grid, and the box (ROIs plus a margin) where maps are computed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import SimpleITK as sitk

from .. import preprocessing
from ..errors import ImageError
from ..io.exam import Exam
from ..preprocessing import cropping


@dataclass(frozen=True)
class Box:
    """A box of voxels of a grid: first voxel ``index`` and ``size``, both (x, y, z) like SimpleITK."""

    index: tuple[int, int, int]
    size: tuple[int, int, int]

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        """(z, y, x) slices of the box in a numpy array of the grid."""
        return tuple(slice(first, first + n) for first, n in zip(self.index[::-1], self.size[::-1]))

    def image(self, values: np.ndarray, grid: sitk.Image) -> sitk.Image:
        """``values`` of the box ((z, y, x) array) as an image aligned with ``grid``, origin at the box corner.

        Float maps become float32 (NaN kept), bool masks uint8, integer codes int16.
        """
        values = np.asarray(values)
        dtype = np.uint8 if values.dtype == bool else np.int16 if np.issubdtype(values.dtype, np.integer) else np.float32
        image = sitk.GetImageFromArray(values.astype(dtype))
        image.CopyInformation(cropping.crop(grid, np.asarray(self.index), np.asarray(self.size)))
        return image


@dataclass(frozen=True)
class RoisOnGrid:
    """The exam's masks on one source grid (bool (z, y, x) arrays of the whole grid) and their box."""

    grid: sitk.Image
    tumor: np.ndarray
    reference: np.ndarray | None
    box: Box
    transfers: dict[str, Any]
    """Provenance of each mask moved onto this grid (``tumour_mask_on_DWI``, ...); empty when none moved."""

    @property
    def tumor_in_box(self) -> np.ndarray:
        return self.tumor[self.box.slices]

    @property
    def reference_in_box(self) -> np.ndarray | None:
        return None if self.reference is None else self.reference[self.box.slices]


def rois_on_grid(exam: Exam, grid: sitk.Image, grid_name: str, margin_mm: float) -> RoisOnGrid:
    """The tumour (and reference) mask of ``exam`` on ``grid`` and their bounding box plus ``margin_mm`` on each side.

    Raises
    ------
    ImageError
        A mask has no voxel left on ``grid`` after nearest-neighbour transfer.
    """
    transfers: dict[str, Any] = {}
    tumor = _mask_on(exam.tumor_mask, grid, "tumour mask", grid_name, transfers)
    reference = None if exam.reference_mask is None else _mask_on(exam.reference_mask, grid, "reference mask",
                                                                  grid_name, transfers)
    lo, hi = cropping.nonzero_box(tumor if reference is None else tumor | reference)
    margin_voxels = np.ceil(margin_mm / np.asarray(grid.GetSpacing(), float)).astype(int)
    index, size = cropping.padded_box(lo, hi, margin_voxels, grid.GetSize())
    box = Box(index=tuple(int(v) for v in index), size=tuple(int(v) for v in size))
    return RoisOnGrid(grid=grid, tumor=tumor, reference=reference, box=box, transfers=transfers)


def check_finite_in_box(images: Sequence[tuple[sitk.Image, str]], rois: RoisOnGrid, grid_name: str,
                        margin_mm: float) -> None:
    """Refuse NaN or infinite voxels of any of ``images`` ((image, source) on the grid of ``rois``) inside the box.

    The box (tumour and reference ROIs plus ``margin_mm``) is all the map stages read of these images.

    Raises
    ------
    ImageError
        Naming the file, the count and the first voxel (x, y, z).
    """
    reason = (f"that box is the tumour and reference ROIs plus map_margin_mm = {margin_mm:g} mm, where the maps and "
              "the ROI statistics are computed; outside it they are allowed")
    for image, source in images:
        preprocessing.check_finite(image, source, index=rois.box.index, size=rois.box.size,
                                   region=f"inside the {grid_name} map box", reason=reason)


def _mask_on(mask: sitk.Image, grid: sitk.Image, label: str, grid_name: str, transfers: dict[str, Any]) -> np.ndarray:
    """Bool ``(z, y, x)`` array of ``mask`` on ``grid`` (nearest neighbour if moved, recorded in ``transfers``)."""
    if not preprocessing.same_grid(mask, grid):
        transfer = preprocessing.resample_mask_to(mask, grid)
        transfers[f"{label.replace(' ', '_')}_on_{grid_name}"] = transfer.as_step()
        mask = transfer.mask
    array = sitk.GetArrayFromImage(mask) != 0
    if not array.any():
        raise ImageError(f"{label} has no voxel on the {grid_name} grid after nearest-neighbour transfer")
    return array
