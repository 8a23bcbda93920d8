"""Voxel grids in physical space: RAS <-> LPS geometry and numpy arrays <-> SimpleITK images.

The Slicer module pulls voxel arrays and IJK-to-RAS matrices out of MRML nodes and hands them here,
so that everything that can be wrong about axis order or geometry is tested by pytest.

Conventions
-----------
- Voxel arrays are in numpy order ``(z, y, x)`` = ``(k, j, i)``, as returned by
  ``sitk.GetArrayFromImage`` and ``slicer.util.arrayFromVolume``.
- Geometry follows SimpleITK: physical point (LPS, mm) = ``origin + D @ diag(spacing) @ (i, j, k)``,
  with ``D`` the direction matrix whose columns are the unit vectors of the i, j, k axes.
- Slicer stores the same mapping as a 4x4 IJK-to-RAS matrix; RAS and LPS differ by the sign of the
  first two axes (``LPS = diag(-1, -1, 1) @ RAS``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from ..errors import AcquisitionError, ImageError

LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0])
"""3x3 matrix turning RAS coordinates into LPS coordinates (and back: it is its own inverse)."""


@dataclass(frozen=True)
class ImageGeometry:
    """Where a voxel grid sits in physical space (LPS, mm), in SimpleITK's convention."""

    spacing: tuple[float, float, float]
    """Voxel size along the i, j, k (x, y, z) axes, mm."""
    origin: tuple[float, float, float]
    """Centre of voxel (0, 0, 0), LPS, mm."""
    direction: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    """Row-major 3x3 matrix whose columns are the unit vectors of the i, j, k axes in LPS."""

    def __post_init__(self) -> None:
        if len(self.spacing) != 3 or not all(math.isfinite(s) and s > 0 for s in self.spacing):
            raise ImageError(f"voxel spacing must be three positive numbers (mm), got {self.spacing}")
        if len(self.origin) != 3 or not all(math.isfinite(o) for o in self.origin):
            raise ImageError(f"origin must be three finite numbers (mm), got {self.origin}")
        matrix = np.reshape(np.asarray(self.direction, dtype=float), (-1,))
        if matrix.size != 9 or not np.allclose(matrix.reshape(3, 3).T @ matrix.reshape(3, 3), np.eye(3), atol=1e-4):
            raise ImageError(f"direction must be an orthonormal 3x3 matrix (9 numbers), got {self.direction}")

    @classmethod
    def from_ijk_to_ras(cls, matrix: np.ndarray) -> ImageGeometry:
        """Geometry of a Slicer volume from its 4x4 IJK-to-RAS matrix (``GetIJKToRASMatrix``)."""
        matrix = np.asarray(matrix, dtype=float)
        if matrix.shape != (4, 4):
            raise ImageError(f"IJK-to-RAS matrix must be 4x4, got shape {matrix.shape}")
        axes_lps = LPS_FROM_RAS @ matrix[:3, :3]
        spacing = np.linalg.norm(axes_lps, axis=0)
        if np.any(spacing <= 0):
            raise ImageError(f"IJK-to-RAS matrix has a zero-length axis: {matrix.tolist()}")
        direction = axes_lps / spacing
        origin = LPS_FROM_RAS @ matrix[:3, 3]
        return cls(_floats(spacing), _floats(origin), _floats(direction.ravel()))

    @classmethod
    def from_image(cls, image: sitk.Image) -> ImageGeometry:
        """Geometry of a 3D SimpleITK image."""
        return cls(_floats(image.GetSpacing()), _floats(image.GetOrigin()), _floats(image.GetDirection()))

    def ijk_to_ras(self) -> np.ndarray:
        """The 4x4 IJK-to-RAS matrix that Slicer needs for this grid (``SetIJKToRASMatrix``)."""
        axes_lps = np.reshape(self.direction, (3, 3)) * np.asarray(self.spacing)
        matrix = np.eye(4)
        matrix[:3, :3] = LPS_FROM_RAS @ axes_lps
        matrix[:3, 3] = LPS_FROM_RAS @ np.asarray(self.origin)
        return matrix


def _floats(values: Sequence[float]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def image_from_array(array: np.ndarray, geometry: ImageGeometry, *, name: str = "image") -> sitk.Image:
    """A 3D SimpleITK image from a ``(z, y, x)`` array and its geometry (pixel type kept; bool -> uint8).

    Raises
    ------
    ImageError
        If the array is not 3D; ``name`` names the input in the message.
    """
    array = np.asarray(array)
    if array.ndim != 3:
        raise ImageError(f"{name} must be a 3D (z, y, x) array, got shape {array.shape}")
    image = sitk.GetImageFromArray(array.astype(np.uint8) if array.dtype == bool else array)
    image.SetSpacing(geometry.spacing)
    image.SetOrigin(geometry.origin)
    image.SetDirection(geometry.direction)
    return image


def mask_from_array(array: np.ndarray, geometry: ImageGeometry, *, name: str = "mask") -> sitk.Image:
    """A binary ``sitkUInt8`` mask (1 where ``array != 0``) on ``geometry``."""
    return image_from_array(np.asarray(array) != 0, geometry, name=name)


def array_from_image(image: sitk.Image) -> tuple[np.ndarray, ImageGeometry]:
    """The ``(z, y, x)`` voxel array (a copy) and the geometry of a 3D SimpleITK image."""
    if image.GetDimension() != 3:
        raise ImageError(f"expected a 3D image, got {image.GetDimension()}D")
    return sitk.GetArrayFromImage(image), ImageGeometry.from_image(image)


def bvecs_from_measurement_frame(gradients: np.ndarray, measurement_frame_to_ras: np.ndarray) -> np.ndarray:
    """Gradient directions of a Slicer DWI node, turned from its measurement frame into LPS unit vectors.

    Parameters
    ----------
    gradients : (n, 3) array
        ``GetDiffusionGradient(i)`` of each volume, in the measurement frame; zero rows (b = 0) stay zero.
    measurement_frame_to_ras : (3, 3) or (4, 4) array
        ``GetMeasurementFrameMatrix`` of the node.
    """
    frame = np.asarray(measurement_frame_to_ras, dtype=float)[:3, :3]
    lps = (LPS_FROM_RAS @ frame @ np.asarray(gradients, dtype=float).T).T
    norms = np.linalg.norm(lps, axis=1, keepdims=True)
    return np.divide(lps, norms, out=np.zeros_like(lps), where=norms > 0)


def grid_difference(image: sitk.Image, reference: sitk.Image) -> str:
    """How the grid of ``image`` differs from that of ``reference``: each differing property with both values.

    For example ``"origin (0.6, 0.0, 0.0) mm apart: (10.6, 5, 3) vs (10, 5, 3) mm"``; empty when they agree
    within 1e-4 mm (spacing), 1e-3 mm (origin) and 1e-5 (direction cosines).
    """
    parts = []
    if image.GetSize() != reference.GetSize():
        parts.append(f"size {image.GetSize()} vs {reference.GetSize()} voxels")
    if not np.allclose(image.GetSpacing(), reference.GetSpacing(), atol=1e-4):
        parts.append(f"spacing {_short(image.GetSpacing())} vs {_short(reference.GetSpacing())} mm")
    shift = np.subtract(image.GetOrigin(), reference.GetOrigin())
    if not np.allclose(shift, 0.0, atol=1e-3):
        parts.append(f"origin shifted by {_short(shift)} mm ({float(np.linalg.norm(shift)):.3g} mm): "
                     f"{_short(image.GetOrigin())} vs {_short(reference.GetOrigin())} mm")
    if not np.allclose(image.GetDirection(), reference.GetDirection(), atol=1e-5):
        parts.append(f"direction {_short(image.GetDirection())} vs {_short(reference.GetDirection())}")
    return "; ".join(parts)


def _short(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{float(v):.4g}" for v in values) + ")"


def require_same_grid(images: Sequence[sitk.Image], label: str, item: str, items: str) -> None:
    """Refuse images of one series on different grids, naming the file (1-based position) and what differs.

    ``label``: the series' files joined by ``"; "`` (or one path); ``item``/``items``: what one image is called,
    e.g. ``"DCE phase"``/``"phases"``, for the message.
    """
    names = label.split("; ")
    named = len(names) == len(images)
    for index, image in enumerate(images[1:], start=1):
        difference = grid_difference(image, images[0])
        if difference:
            position = f"{item} {index + 1} of {len(images)}"
            where = f"{names[index]} ({position})" if named else f"{position} in {label}"
            reference = names[0] if named else f"{item.split()[-1]} 1"
            raise AcquisitionError(f"{where} is not on the grid of {reference}: {difference}; "
                                   f"resample the {items} onto one grid")
