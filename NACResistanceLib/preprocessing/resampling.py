"""Output grids and resampling onto them (B-spline or linear for images, nearest neighbour for masks)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

INTERPOLATORS = {"bspline": sitk.sitkBSpline, "linear": sitk.sitkLinear, "nearest": sitk.sitkNearestNeighbor}
"""Interpolator name -> SimpleITK constant (``sitkBSpline`` is the cubic B-spline)."""


@dataclass(frozen=True)
class Grid:
    """A voxel grid in physical space (SimpleITK conventions: x, y, z order, LPS, mm)."""

    origin: tuple[float, float, float]
    """Physical position of voxel (0, 0, 0)'s centre, mm."""
    spacing: tuple[float, float, float]
    """Voxel spacing (x, y, z), mm."""
    direction: tuple[float, ...]
    """Row-major 3×3 direction cosine matrix."""
    size: tuple[int, int, int]
    """Voxels along (x, y, z)."""

    @classmethod
    def of(cls, image: sitk.Image) -> Grid:
        """The grid of ``image``."""
        return cls(image.GetOrigin(), image.GetSpacing(), image.GetDirection(), image.GetSize())

    def _matrix(self) -> np.ndarray:
        return np.asarray(self.direction).reshape(3, 3) * np.asarray(self.spacing)

    def to_physical(self, index_xyz: np.ndarray) -> np.ndarray:
        """``(n, 3)`` continuous indices (x, y, z) -> ``(n, 3)`` physical points, mm."""
        return np.asarray(index_xyz, dtype=float) @ self._matrix().T + np.asarray(self.origin)

    def to_index(self, points: np.ndarray) -> np.ndarray:
        """``(n, 3)`` physical points, mm -> ``(n, 3)`` continuous indices (x, y, z)."""
        return np.linalg.solve(self._matrix(), (np.asarray(points) - np.asarray(self.origin)).T).T

    def sub_grid(self, index: np.ndarray, size: np.ndarray) -> Grid:
        """The part of this grid starting at voxel ``index`` (x, y, z) with ``size`` voxels."""
        origin = self.to_physical(np.asarray(index, dtype=float)[None, :])[0]
        return Grid(tuple(float(v) for v in origin), self.spacing, self.direction, tuple(int(v) for v in size))


def isotropic_grid(image: sitk.Image, spacing_mm: tuple[float, float, float]) -> Grid:
    """The grid with ``spacing_mm`` covering ``image``'s voxel extent.

    The outer corner of the first voxel is kept (``origin' = origin + D (spacing_mm - spacing) / 2``) and the
    size is ``ceil(size * spacing / spacing_mm)`` per axis, as in pyradiomics' ``resampleImage``.
    """
    spacing = np.asarray(image.GetSpacing())
    new_spacing = np.asarray(spacing_mm, dtype=float)
    size = np.ceil(np.asarray(image.GetSize()) * spacing / new_spacing - 1e-6).astype(int)
    corner_shift = (new_spacing - spacing) / 2
    origin = np.asarray(image.GetOrigin()) + np.asarray(image.GetDirection()).reshape(3, 3) @ corner_shift
    return Grid(tuple(float(v) for v in origin), tuple(float(v) for v in new_spacing), image.GetDirection(),
                tuple(int(v) for v in size))


def resample_to_grid(image: sitk.Image, grid: Grid, interpolator: str,
                     pixel_type: int = sitk.sitkFloat64) -> sitk.Image:
    """Resample ``image`` onto ``grid`` (identity transform; points outside the image get 0).

    Only the voxels of ``grid`` are computed, but a B-spline interpolator prefilters the whole input,
    so crop the input first (see :mod:`.cropping`) when ``grid`` is a small part of it.
    """
    return sitk.Resample(image, list(grid.size), sitk.Transform(), INTERPOLATORS[interpolator], grid.origin,
                         grid.spacing, grid.direction, 0.0, pixel_type)


def nearest_mask_on_grid(mask: sitk.Image, grid: Grid, index: np.ndarray | None = None,
                         size: np.ndarray | None = None) -> sitk.Image:
    """Nearest-neighbour resampling of ``mask`` onto voxels ``index .. index + size - 1`` of ``grid``.

    ``grid`` must share the mask's direction (as :func:`isotropic_grid` does). The nearest source voxel is
    found per axis from the *global* grid index ``J``: ``k = floor((shift + J t) / s + 1/2)`` (ties round up,
    as ITK does), with ``shift`` the grid origin's offset from the mask origin along that axis. So a
    sub-grid gets bit-for-bit the voxels of the whole grid, which ``sitk.Resample`` does not guarantee at
    ties (its physical-point arithmetic depends on the output origin). Voxels outside the mask get 0.
    """
    index = np.zeros(3, int) if index is None else np.asarray(index)
    size = np.asarray(grid.size) if size is None else np.asarray(size)
    direction = np.asarray(mask.GetDirection()).reshape(3, 3)
    shift = direction.T @ (np.asarray(grid.origin) - np.asarray(mask.GetOrigin()))
    source = sitk.GetArrayViewFromImage(mask)
    picks, valid = [], []
    for axis in (2, 1, 0):  # numpy (z, y, x) order
        nearest = np.floor((shift[axis] + (index[axis] + np.arange(size[axis])) * grid.spacing[axis])
                           / mask.GetSpacing()[axis] + 0.5).astype(int)
        valid.append((nearest >= 0) & (nearest < mask.GetSize()[axis]))
        picks.append(np.clip(nearest, 0, mask.GetSize()[axis] - 1))
    inside = valid[0][:, None, None] & valid[1][None, :, None] & valid[2][None, None, :]
    out = sitk.GetImageFromArray(((source[np.ix_(*picks)] != 0) & inside).astype(np.uint8))
    sub = grid.sub_grid(index, size)
    out.SetOrigin(sub.origin)
    out.SetSpacing(sub.spacing)
    out.SetDirection(sub.direction)
    return out
