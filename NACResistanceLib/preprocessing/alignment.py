"""Bring a mask drawn on one series onto another series' grid (nearest neighbour) and count the change."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk


@dataclass(frozen=True)
class MaskTransfer:
    """A mask moved onto a reference grid, with what the move changed."""

    mask: sitk.Image
    """Binary ``sitkUInt8`` mask on the reference grid."""
    source_voxels: int
    """ROI voxels on the source grid (count)."""
    target_voxels: int
    """ROI voxels on the reference grid (count)."""
    lost_voxels: int
    """Source ROI voxels whose nearest reference voxel is outside the transferred ROI (source-grid count)."""
    gained_voxels: int
    """Source voxels outside the ROI whose nearest reference voxel is inside it (source-grid count)."""
    source_volume_mm3: float
    """ROI volume on the source grid, mm³."""
    target_volume_mm3: float
    """ROI volume on the reference grid, mm³."""

    def as_step(self) -> dict[str, object]:
        """The record stored in preprocessing steps and provenance."""
        return {"step": "align_mask", "source_voxels": self.source_voxels, "target_voxels": self.target_voxels,
                "lost_voxels": self.lost_voxels, "gained_voxels": self.gained_voxels,
                "source_volume_mm3": self.source_volume_mm3, "target_volume_mm3": self.target_volume_mm3}


def resample_mask_to(mask: sitk.Image, reference: sitk.Image) -> MaskTransfer:
    """Resample a binary mask onto the grid of ``reference`` with nearest-neighbour interpolation.

    Parameters
    ----------
    mask : SimpleITK.Image
        3D mask, nonzero inside, on its own grid (for example the DCE grid).
    reference : SimpleITK.Image
        Image whose grid (size, spacing, origin, direction) the mask is moved onto (for example DWI).

    Returns
    -------
    MaskTransfer
        The moved mask and the counts. Lost and gained voxels come from a round trip: the moved mask is
        sampled back onto the source grid (nearest neighbour) and compared with the original mask, so
        both are counts of source-grid voxels.

    Notes
    -----
    Parts of the mask outside the reference grid are dropped and counted as lost.
    """
    binary = sitk.Cast(mask != 0, sitk.sitkUInt8)
    moved = sitk.Resample(binary, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    back = sitk.Resample(moved, binary, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    source = sitk.GetArrayViewFromImage(binary).astype(bool)
    round_trip = sitk.GetArrayViewFromImage(back).astype(bool)
    n_source = int(np.count_nonzero(source))
    n_target = int(np.count_nonzero(sitk.GetArrayViewFromImage(moved)))
    return MaskTransfer(
        mask=moved,
        source_voxels=n_source,
        target_voxels=n_target,
        lost_voxels=int(np.count_nonzero(source & ~round_trip)),
        gained_voxels=int(np.count_nonzero(~source & round_trip)),
        source_volume_mm3=n_source * float(np.prod(binary.GetSpacing())),
        target_volume_mm3=n_target * float(np.prod(reference.GetSpacing())),
    )
