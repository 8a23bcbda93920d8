"""Read a binary ROI mask from a label map or a 3D Slicer segmentation (``.seg.nrrd``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..errors import InputFileError
from .dicom_seg import find_dicom_seg, is_dicom_seg_file, read_dicom_seg_mask
from .images import IMAGE_SUFFIXES, read_image

_SEGMENT_KEY = re.compile(r"^Segment(\d+)_Name$")

MAX_LABELS = 64
"""A label map with more distinct non-zero values than this is taken for an intensity image."""
MAX_REGION_FRACTION = 0.5
"""A tumour, reference or other-lesion region covering more than this fraction of the field of view is not
plausible (an image given as the segmentation); a breast region may (``read_mask(..., max_fraction=None)``)."""


@dataclass(frozen=True)
class SegmentInfo:
    """One segment of a Slicer segmentation, from the ``Segment<N>_*`` NRRD header fields."""

    name: str
    """``Segment<N>_Name``."""
    label_value: int
    """``Segment<N>_LabelValue`` (1 when absent, as in files written before Slicer 4.11)."""
    layer: int
    """``Segment<N>_Layer``: component of a multi-layer (4D) file (the segment index when absent and 4D)."""


def read_mask(path: str | Path, segment: int | str = 1, *, series: str | None = None,
              max_fraction: float | None = MAX_REGION_FRACTION) -> sitk.Image:
    """Read one region as a binary mask.

    Parameters
    ----------
    path : str or Path
        A label map (NIfTI, NRRD, MHA, integer voxel values), a 3D Slicer segmentation ``.seg.nrrd``
        (single-layer 3D or multi-layer 4D, where each layer is a component of a vector image), a DICOM
        SEG file, or a DICOM folder holding a SEG object (or a label-map series).
    segment : int or str
        Label value (int) or segment name (str, Slicer segmentations and DICOM SEG only; matched exactly,
        then ignoring case; DICOM SEG: SegmentNumber, SegmentLabel or SegmentDescription).
    series : str, optional
        DICOM folder only: SeriesInstanceUID, SeriesNumber or SeriesDescription pattern of the SEG (or
        label-map series) to read.
    max_fraction : float or None
        Largest plausible fraction of the field of view the region covers; None = no limit (a breast
        segment may fill most of a breast MRI's field of view).

    Returns
    -------
    SimpleITK.Image
        ``sitkUInt8`` image, 1 inside the region and 0 elsewhere, on the grid of the file.

    Raises
    ------
    InputFileError
        If the file cannot be read, or the segment is not in it (the message lists the available
        label values, and segment names for Slicer segmentations), or the file does not look like a
        segmentation: non-integer values, more than :data:`MAX_LABELS` labels (an intensity image
        given as the segmentation), or a region covering more than ``max_fraction`` of the field of view.
    """
    seg_file = _dicom_seg(path, series)
    if seg_file is not None:
        return read_dicom_seg_mask(seg_file, segment)
    image = read_image(path, series=series) if Path(path).is_dir() else read_image(path)
    segments = segment_infos(image)
    if segments:
        return _plausible(_slicer_segment(image, segments, segment, path), segment, path, max_fraction)
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputFileError(f"label map {path} has vector voxels but no Segment<N>_Name header fields")
    return _plausible(_label_value(image, segment, path), segment, path, max_fraction)


def _plausible(mask: sitk.Image, segment: int | str, path, max_fraction: float | None) -> sitk.Image:
    if max_fraction is None:
        return mask
    fraction = float(np.count_nonzero(sitk.GetArrayViewFromImage(mask))) / max(1, int(np.prod(mask.GetSize())))
    if fraction > max_fraction:
        raise InputFileError(
            f"segment {segment!r} of {path} covers {fraction:.0%} of the field of view (more than "
            f"{max_fraction:.0%}): not a plausible tumour or reference region; check the manifest's "
            "segmentation and segment columns (is an image given as the segmentation?)"
        )
    return mask


def _dicom_seg(path: str | Path, series: str | None) -> str | None:
    path = Path(path)
    if path.is_dir():
        return find_dicom_seg(path, series)
    if path.is_file() and not path.name.lower().endswith(IMAGE_SUFFIXES) and is_dicom_seg_file(path):
        return str(path)
    return None


def segment_infos(image: sitk.Image) -> list[SegmentInfo]:
    """Segments described in the NRRD header of a Slicer segmentation, in segment index order."""
    indices = sorted(int(m.group(1)) for k in image.GetMetaDataKeys() if (m := _SEGMENT_KEY.match(k)))
    is_4d = image.GetNumberOfComponentsPerPixel() > 1

    def field(index: int, name: str, default: int) -> int:
        key = f"Segment{index}_{name}"
        return int(image.GetMetaData(key)) if image.HasMetaDataKey(key) else default

    return [
        SegmentInfo(
            image.GetMetaData(f"Segment{i}_Name"),
            field(i, "LabelValue", 1),
            field(i, "Layer", i if is_4d else 0),
        )
        for i in indices
    ]


def _slicer_segment(image: sitk.Image, segments: list[SegmentInfo], segment: int | str, path) -> sitk.Image:
    chosen = _find_segment(segments, segment)
    listing = ", ".join(f"'{s.name}' (label {s.label_value}, layer {s.layer})" for s in segments)
    if len(chosen) != 1:
        problem = "matches several segments" if chosen else "is not in"
        raise InputFileError(f"segment {segment!r} {problem} segmentation {path}; available segments: {listing}")
    info = chosen[0]
    if image.GetNumberOfComponentsPerPixel() > 1:
        image = sitk.VectorIndexSelectionCast(image, info.layer)
    return sitk.Cast(image == info.label_value, sitk.sitkUInt8)


def _find_segment(segments: list[SegmentInfo], segment: int | str) -> list[SegmentInfo]:
    if isinstance(segment, str):
        exact = [s for s in segments if s.name == segment]
        return exact or [s for s in segments if s.name.lower() == segment.lower()]
    return [s for s in segments if s.label_value == segment]


def _label_value(image: sitk.Image, segment: int | str, path) -> sitk.Image:
    values = sitk.GetArrayViewFromImage(image)
    if values.dtype.kind == "f" and not np.all(np.mod(values, 1) == 0):
        raise InputFileError(f"label map {path} has non-integer voxel values: it looks like an image, not a "
                             "segmentation; check the manifest's segmentation column")
    labels = np.unique(values)
    if np.count_nonzero(labels) > MAX_LABELS:
        raise InputFileError(
            f"label map {path} holds {np.count_nonzero(labels)} distinct values (a segmentation has at most "
            f"{MAX_LABELS} labels): it looks like an intensity image; check the manifest's segmentation column"
        )
    if isinstance(segment, str) or not np.any(labels == segment):
        labels = labels[labels != 0]
        listing = ", ".join(str(int(v)) for v in labels) or "none (all voxels are 0)"
        raise InputFileError(
            f"label {segment!r} is not in label map {path}; available label values: {listing} "
            "(segment names need a Slicer .seg.nrrd file)"
        )
    return sitk.Cast(image == segment, sitk.sitkUInt8)
