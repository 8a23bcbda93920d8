"""DICOM Segmentation objects (SEG, 1.2.840.10008.5.1.4.1.1.66.4) as binary masks, read with pydicom.

Each frame of a SEG is one slice of one segment (PerFrameFunctionalGroupsSequence gives its segment in
SegmentIdentificationSequence and its place in PlanePositionSequence). The mask is built on the grid
spanned by every frame of the object (slices no frame covers are 0), in LPS; readers then move it to
the analysis grid as they do label maps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..errors import InputFileError
from .dicom_index import index_folder, selector_matches

SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"


def is_dicom_seg_file(path: str | Path) -> bool:
    """True when ``path`` is a DICOM file whose modality is SEG."""
    import pydicom

    try:
        dataset = pydicom.dcmread(str(path), stop_before_pixels=True, specific_tags=["Modality", "SOPClassUID"])
    except Exception:  # noqa: BLE001  anything unreadable is not a SEG
        return False
    return str(dataset.get("Modality", "")).upper() == "SEG" or str(dataset.get("SOPClassUID", "")) == SEG_SOP_CLASS


def find_dicom_seg(folder: str | Path, series: str | None = None) -> str | None:
    """The DICOM SEG file of ``folder`` (chosen by ``series`` when it holds several); ``None`` when it has none."""
    index = index_folder(folder)
    segs = index.segmentations
    if not segs:
        return None
    if series:
        segs = [(p, d) for p, d in segs if _seg_matches(d, series)]
    if len(segs) != 1:
        listing = "; ".join(f"{p} (series {d.get('SeriesNumber', '?')} '{d.get('SeriesDescription', '')}')"
                            for p, d in index.segmentations)
        what = "matches no DICOM SEG" if not segs else f"leaves {len(segs)} DICOM SEG objects"
        raise InputFileError(f"segmentation folder {folder}: {'selector ' + repr(series) if series else 'no choice'} "
                             f"{what}; choose one with segmentation_series: {listing}")
    return segs[0][0]


def _seg_matches(dataset, selector: str) -> bool:
    number = dataset.get("SeriesNumber")
    return selector_matches(selector, str(dataset.get("SeriesInstanceUID", "")),
                            None if number in (None, "") else int(number), str(dataset.get("SeriesDescription", "") or ""))


def seg_segments(dataset) -> list[tuple[int, str, str]]:
    """(SegmentNumber, SegmentLabel, SegmentDescription) of each segment."""
    return [(int(item.SegmentNumber), str(item.get("SegmentLabel", "")), str(item.get("SegmentDescription", "") or ""))
            for item in dataset.get("SegmentSequence", [])]


def read_dicom_seg_mask(path: str | Path, segment: int | str = 1) -> sitk.Image:
    """One segment of a DICOM SEG file as a ``sitkUInt8`` mask (1 inside).

    ``segment`` is a SegmentNumber (int) or a SegmentLabel / SegmentDescription (str; exact, then ignoring
    case). FRACTIONAL segmentations are thresholded at half their MaximumFractionalValue.

    Raises
    ------
    InputFileError
        Unreadable file, missing geometry, or a segment that is not there (the message lists every segment).
    """
    import pydicom

    try:
        dataset = pydicom.dcmread(str(path))
    except Exception as error:  # noqa: BLE001
        raise InputFileError(f"cannot read DICOM SEG {path}: {error}") from error
    segments = seg_segments(dataset)
    number = _segment_number(segments, segment, path)
    frames = dataset.PerFrameFunctionalGroupsSequence
    shared = dataset.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in dataset else None
    orientation = _find(frames[0], shared, "PlaneOrientationSequence", "ImageOrientationPatient")
    spacing = _find(frames[0], shared, "PixelMeasuresSequence", "PixelSpacing")
    if orientation is None or spacing is None:
        raise InputFileError(f"DICOM SEG {path} has no ImageOrientationPatient/PixelSpacing in its functional groups")
    row, column = np.array(orientation[:3], float), np.array(orientation[3:], float)
    normal = np.cross(row, column)
    positions = np.array([_find(f, None, "PlanePositionSequence", "ImagePositionPatient") for f in frames], float)
    offsets = positions @ normal
    distinct = np.unique(np.round(offsets, 3))
    step = _find(frames[0], shared, "PixelMeasuresSequence", "SpacingBetweenSlices")
    step = float(step) if step else (float(np.min(np.diff(distinct))) if len(distinct) > 1 else 1.0)
    slice_index = np.rint((offsets - distinct[0]) / step).astype(int)
    pixels = dataset.pixel_array.reshape(len(frames), int(dataset.Rows), int(dataset.Columns))
    if str(dataset.get("SegmentationType", "BINARY")).upper() == "FRACTIONAL":
        pixels = pixels > float(dataset.get("MaximumFractionalValue", 255)) / 2
    mask = np.zeros((int(slice_index.max()) + 1, int(dataset.Rows), int(dataset.Columns)), np.uint8)
    for k, item in enumerate(frames):
        ident = item.SegmentIdentificationSequence[0].ReferencedSegmentNumber
        if int(ident) == number:
            mask[slice_index[k]] |= (pixels[k] != 0).astype(np.uint8)
    first = int(np.argmin(offsets))
    image = sitk.GetImageFromArray(mask)
    image.SetOrigin(tuple(float(v) for v in positions[first]))
    image.SetSpacing((float(spacing[1]), float(spacing[0]), step))
    image.SetDirection(tuple(np.column_stack([row, column, normal]).ravel()))
    return image


def _find(item, shared, sequence: str, keyword: str):
    for source in (item, shared):
        if source is not None and sequence in source and len(source[sequence].value) and keyword in source[sequence][0]:
            return source[sequence][0][keyword].value
    return None


def _segment_number(segments: list[tuple[int, str, str]], segment: int | str, path) -> int:
    if isinstance(segment, str):
        chosen = [n for n, label, _ in segments if label == segment]
        chosen = chosen or [n for n, label, _ in segments if label.lower() == segment.lower()]
        chosen = chosen or [n for n, _, description in segments if description.lower() == segment.lower()]
    else:
        chosen = [n for n, _, _ in segments if n == segment]
    if len(chosen) != 1:
        listing = ", ".join(f"{n} '{label}'" + (f" ({description})" if description else "")
                            for n, label, description in segments) or "none"
        problem = "matches several segments of" if chosen else "is not in"
        raise InputFileError(f"segment {segment!r} {problem} DICOM SEG {path}; its segments (number 'label'): {listing}")
    return chosen[0]
