"""Index a folder of DICOM files once, group its images into series and volumes, build SimpleITK images.

Every file is read once with pydicom without its pixel data (:func:`index_folder`); pixel data is
read only for the series a caller asks for (:func:`build_volume`). Files that are not images
(presentation states, structured reports, DICOMDIR, key objects) are skipped with an INFO line; DICOM
SEG objects are kept apart (:attr:`DicomIndex.segmentations`).
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..errors import AcquisitionError, InputFileError
from .dicom_tags import DicomFrame, frames_of_dataset, is_image_dataset, tag_value

logger = logging.getLogger(__name__)

POSITION_DECIMALS = 3
"""Slice positions are compared after rounding to this many decimals of a millimetre."""
GRADIENT_DECIMALS = 3
DEFER_BYTES = 4096
"""Values larger than this (pixel data) are left in the file until used when datasets are kept."""
PIXEL_DATA_TAG = 0x7FE00010
NATIVE_SYNTAXES = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")
"""Implicit and explicit VR little endian: uncompressed pixel data read straight into numpy."""


@dataclass
class DicomIndex:
    """Everything one pass over a folder found."""

    folder: Path
    frames: list[DicomFrame] = field(default_factory=list)
    segmentations: list[tuple[str, object]] = field(default_factory=list)
    """(path, pydicom dataset without pixel data) of each DICOM SEG file."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) of each file that is not an image."""
    non_images: list[dict] = field(default_factory=list)
    """Identity (study_uid, series_uid, series_number, description, modality, path, reason) of each DICOM
    object skipped as not an image."""
    datasets: dict[str, object] = field(default_factory=dict)
    """path -> pydicom dataset with its pixel data deferred (only when indexed with ``keep_datasets``)."""

    def series(self) -> list[SeriesInfo]:
        """Image series, sorted by SeriesNumber then UID."""
        grouped: dict[str, list[DicomFrame]] = defaultdict(list)
        for frame in self.frames:
            grouped[frame.series_uid].append(frame)
        infos = [SeriesInfo(uid, tuple(frames)) for uid, frames in grouped.items()]
        return sorted(infos, key=lambda s: (s.number if s.number is not None else 10**9, s.series_uid))


@dataclass(frozen=True)
class SeriesInfo:
    """One image series of an index."""

    series_uid: str
    frames: tuple[DicomFrame, ...]

    @property
    def first(self) -> DicomFrame:
        return self.frames[0]

    @property
    def number(self) -> int | None:
        return self.first.series_number

    @property
    def description(self) -> str:
        return self.first.description

    @property
    def files(self) -> tuple[str, ...]:
        """Distinct files, in the order they were indexed."""
        return tuple(dict.fromkeys(frame.path for frame in self.frames))

    @property
    def n_positions(self) -> int:
        return len({_position_key(frame) for frame in self.frames})

    @property
    def n_volumes(self) -> int:
        """Number of 3D volumes (phases, b-value/direction acquisitions): images per slice position."""
        return max(1, len(self.frames) // max(1, self.n_positions))

    @property
    def b_values(self) -> tuple[float, ...]:
        """Distinct b-values (s/mm²) of the series, empty when no image carries one."""
        return tuple(sorted({round(f.b_value, 1) for f in self.frames if f.b_value is not None}))

    @property
    def is_derived(self) -> bool:
        return any(frame.is_derived for frame in self.frames)

    @property
    def is_dwi(self) -> bool:
        """Diffusion-weighted images as acquired: b-values in the headers, not derived."""
        return bool(self.b_values) and not self.is_derived

    @property
    def is_trace_dwi(self) -> bool:
        """The scanner's trace-weighted (direction-averaged) images: derived, ImageType TRACEW/TRACE, with b-values."""
        return bool(self.b_values) and any(value in ("TRACEW", "TRACE") for value in self.first.image_type)

    def describe(self) -> str:
        """One-line listing: number, description, files, volumes, b-values, derived."""
        parts = [f"series {self.number if self.number is not None else '?'} '{self.description or 'no description'}'",
                 f"{len(self.files)} files", f"{self.n_volumes} volume(s)"]
        if self.b_values:
            parts.append("b " + "/".join(f"{b:g}" for b in self.b_values) + " s/mm²")
        if self.is_derived:
            parts.append("derived (" + "\\".join(self.first.image_type) + ")")
        parts.append(f"UID {self.series_uid}")
        return ", ".join(parts)


def index_folder(folder: str | Path, recursive: bool = False, keep_datasets: bool = False) -> DicomIndex:
    """Read every file's header once (pydicom, no pixel data) and index its images.

    A folder holding only subfolders is read recursively. With ``keep_datasets`` the image datasets are kept with their pixel data deferred (pydicom reads it
    from the file on first use, without parsing the header again): one parse per file for a folder that
    is read whole. Without it (walking an export tree) only the small :class:`DicomFrame` records stay.

    Raises
    ------
    InputFileError
        If ``folder`` is not a directory.
    """
    import pydicom

    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(f"DICOM folder {folder} does not exist or is not a directory")
    index = DicomIndex(folder)
    paths = _files(folder, recursive)
    if not recursive and not paths and any(p.is_dir() for p in folder.iterdir()):
        paths = _files(folder, True)   # only subfolders (a DICOMDIR-style export): read them
    for path in paths:
        try:
            if keep_datasets:
                dataset = pydicom.dcmread(path, defer_size=DEFER_BYTES, force=False)
            else:
                dataset = pydicom.dcmread(path, stop_before_pixels=True, force=False)
        except (pydicom.errors.InvalidDicomError, OSError, EOFError, ValueError) as error:
            index.skipped.append((path, f"not a DICOM file ({type(error).__name__})"))
            continue
        modality = str(dataset.get("Modality", "")).upper()
        if modality == "SEG":
            index.segmentations.append((path, dataset))
        elif is_image_dataset(dataset):
            index.frames.extend(frames_of_dataset(dataset, path))
            if keep_datasets:
                index.datasets[path] = dataset
        else:
            reason = _skip_reason(dataset, modality)
            index.skipped.append((path, reason))
            index.non_images.append({
                "study_uid": str(dataset.get("StudyInstanceUID", "")), "series_uid": str(dataset.get("SeriesInstanceUID", "")),
                "series_number": dataset.get("SeriesNumber"), "description": str(dataset.get("SeriesDescription", "") or ""),
                "modality": modality, "path": path, "reason": reason})
    for path, reason in index.skipped:
        logger.info("DICOM: skipping %s: %s", path, reason)
    return index


def _skip_reason(dataset, modality: str) -> str:
    if "DirectoryRecordSequence" in dataset:
        return "DICOMDIR"
    sop = dataset.get("SOPClassUID", "?")
    if "Rows" in dataset:
        return f"an image without ImagePositionPatient (secondary capture or screenshot; SOP class {sop})"
    return f"not an image (modality {modality or '?'}, SOP class {sop})"


def _files(folder: Path, recursive: bool) -> list[str]:
    if not recursive:
        return sorted(str(p) for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    paths = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        paths.extend(os.path.join(root, name) for name in sorted(names) if not name.startswith("."))
    return paths


# --- choosing a series --------------------------------------------------------------------------------------


def matches(series: SeriesInfo, selector: str) -> bool:
    """True when ``selector`` is the series' UID, its SeriesNumber, or a SeriesDescription pattern.

    Patterns use shell wildcards (``*``, ``?``) and ignore case; without wildcards the description
    must equal the selector (ignoring case).
    """
    return selector_matches(selector, series.series_uid, series.number, series.description)


def selector_matches(selector: str, series_uid: str, number: int | None, description: str) -> bool:
    """:func:`matches` on the three attributes themselves."""
    selector = str(selector).strip()
    if selector == series_uid:
        return True
    if selector.isdigit():
        return number == int(selector)
    return fnmatch.fnmatchcase(description.lower(), selector.lower())


def choose_series(candidates: list[SeriesInfo], selector: str | None, folder, what: str,
                  everything: list[SeriesInfo] | None = None) -> SeriesInfo:
    """The one series of ``candidates`` that ``selector`` picks (or the only candidate when it is None).

    Raises
    ------
    InputFileError
        Naming the folder and listing every series (number, description, files, volumes, b-values).
    """
    everything = everything if everything is not None else candidates
    if selector:
        chosen = [s for s in everything if matches(s, selector)]
        if len(chosen) == 1:
            return chosen[0]
        problem = "matches no series" if not chosen else f"matches {len(chosen)} series"
        raise InputFileError(f"{what}: selector {selector!r} {problem} in DICOM folder {folder}; "
                             f"it holds: {listing(everything)}")
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputFileError(f"{what}: DICOM folder {folder} holds no suitable series; it holds: "
                             f"{listing(everything) or 'no image series'}")
    raise InputFileError(f"{what}: DICOM folder {folder} holds {len(candidates)} candidate series; choose one by "
                         f"SeriesInstanceUID, SeriesNumber or SeriesDescription pattern (manifest columns "
                         f"dce_series, dwi_series, adc_series, segmentation_series): {listing(everything)}")


def dwi_candidates(found: list[SeriesInfo]) -> list[SeriesInfo]:
    """Acquired diffusion series; the scanner's trace-weighted series only when there is none."""
    return [s for s in found if s.is_dwi] or [s for s in found if s.is_trace_dwi]


def listing(series: list[SeriesInfo]) -> str:
    return "; ".join(s.describe() for s in series)


# --- volumes ------------------------------------------------------------------------------------------------


def _position_key(frame: DicomFrame) -> tuple:
    if frame.position is None:
        return (frame.path, frame.frame)
    return tuple(round(v, POSITION_DECIMALS) for v in frame.position)


def _acquisition_order(frame: DicomFrame) -> tuple:
    """Sort key for 'acquired earlier' among images of one slice position."""
    return (
        frame.temporal_position if frame.temporal_position is not None else -1,
        frame.trigger_time_ms if frame.trigger_time_ms is not None else -1.0,
        frame.acquisition_time_s if frame.acquisition_time_s is not None else -1.0,
        frame.acquisition_number if frame.acquisition_number is not None else -1,
        frame.instance if frame.instance is not None else -1,
        frame.frame if frame.frame is not None else -1,
        frame.path,
    )


def split_volumes(frames, key=None) -> list[list[DicomFrame]]:
    """Group the images of one series into 3D volumes.

    ``key(frame)`` names the volume an image belongs to (b-value and direction, Philips volume number,
    temporal position); images sharing a key and a slice position are further told apart by acquisition
    order (the k-th image at each position belongs to the k-th volume), which also splits a series with
    no key at all (for example DCE phases told apart only by their acquisition time). Volumes come back
    in acquisition order of their first image.
    """
    groups: dict[object, list[DicomFrame]] = defaultdict(list)
    for frame in frames:
        groups[key(frame) if key else None].append(frame)
    volumes = []
    for members in groups.values():
        by_position: dict[tuple, list[DicomFrame]] = defaultdict(list)
        for frame in members:
            by_position[_position_key(frame)].append(frame)
        depth = max(len(v) for v in by_position.values())
        if any(len(v) != depth for v in by_position.values()):
            counts = sorted({len(v) for v in by_position.values()})
            raise AcquisitionError(
                f"DICOM series {frames[0].series_uid} ({frames[0].description}): slice positions hold "
                f"{counts} images each; some volumes are incomplete (missing files?)"
            )
        for position_images in by_position.values():
            position_images.sort(key=_acquisition_order)
        for k in range(depth):
            volumes.append([images[k] for images in by_position.values()])
    volumes.sort(key=lambda volume: min(_acquisition_order(f) for f in volume))
    return volumes


def volume_time_s(volume: list[DicomFrame]) -> tuple[dict[str, float], dict[str, str]]:
    """Earliest time of a volume by each source (s), and each source's name."""
    names = {"trigger": "TriggerTime (0018,1060)", "content": "ContentTime (0008,0033)"}
    values: dict[str, float] = {}
    acquisition = [f.acquisition_time_s for f in volume]
    if all(v is not None for v in acquisition):
        values["acquisition"] = min(acquisition)
        names["acquisition"] = volume[0].acquisition_time_source
    trigger = [f.trigger_time_ms for f in volume]
    if all(v is not None for v in trigger):
        values["trigger"] = min(trigger) / 1000.0
    content = [f.content_time_s for f in volume]
    if all(v is not None for v in content):
        values["content"] = min(content)
    return values, names


def sorted_slices(volume: list[DicomFrame]) -> list[DicomFrame]:
    """The images of one volume sorted along the slice normal (increasing ``position · normal``)."""
    normal = volume[0].normal
    if normal is None or any(f.position is None for f in volume):
        return sorted(volume, key=lambda f: (f.instance or 0, f.frame or 0))
    return sorted(volume, key=lambda f: float(np.dot(f.position, normal)))


def volume_geometry(volume: list[DicomFrame]) -> tuple[tuple, tuple, tuple, list[DicomFrame]]:
    """(origin, spacing, direction, sorted slices) of one volume, LPS; checks one grid and even spacing."""
    slices = sorted_slices(volume)
    first = slices[0]
    label = f"DICOM series {first.series_uid} ({first.description})"
    if first.orientation is None or first.position is None:
        raise AcquisitionError(f"{label}: images lack ImageOrientationPatient/ImagePositionPatient; cannot place them")
    if any(f.rows != first.rows or f.columns != first.columns for f in slices):
        raise AcquisitionError(f"{label}: images of one volume differ in size (rows × columns)")
    if any(not np.allclose(f.orientation, first.orientation, atol=1e-4) for f in slices):
        raise AcquisitionError(f"{label}: images of one volume differ in ImageOrientationPatient")
    row, column = np.asarray(first.orientation[:3]), np.asarray(first.orientation[3:])
    normal = np.cross(row, column)
    row_spacing, column_spacing = first.pixel_spacing or (1.0, 1.0)
    if len(slices) > 1:
        offsets = np.array([np.dot(np.subtract(f.position, first.position), normal) for f in slices])
        steps = np.diff(offsets)
        slice_spacing = float(np.median(steps))
        if slice_spacing <= 0 or np.max(np.abs(steps - slice_spacing)) > max(0.01, 0.01 * slice_spacing):
            raise AcquisitionError(f"{label}: slices are not evenly spaced along the normal (steps "
                                   f"{np.round(steps, 3).tolist()} mm)")
    else:
        slice_spacing = 1.0
    direction = np.column_stack([row, column, normal])
    return (tuple(first.position), (float(column_spacing), float(row_spacing), slice_spacing),
            tuple(direction.ravel()), slices)


class PixelCache:
    """Reads each file's pixel data once (pydicom) while building the volumes of one request.

    Uses the datasets an index kept (pixel data deferred) when there are any, else reads the file.
    Uncompressed little-endian data whose stored bits fill their allocation is viewed straight with
    numpy; anything else goes through pydicom's ``pixel_array`` (its decoders).
    """

    def __init__(self, index: DicomIndex | None = None) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.datasets = index.datasets if index is not None else {}

    def image(self, frame: DicomFrame) -> np.ndarray:
        import pydicom

        if frame.path not in self.arrays:
            try:
                dataset = self.datasets.pop(frame.path, None) or pydicom.dcmread(frame.path)
                self.arrays[frame.path] = _pixels(dataset)
            except Exception as error:  # noqa: BLE001  pydicom raises many types for unreadable pixel data
                raise InputFileError(f"cannot read the pixel data of DICOM file {frame.path}: {error}") from error
        array = self.arrays[frame.path]
        return array[frame.frame] if frame.frame is not None else array


def _pixels(dataset) -> np.ndarray:
    syntax = str(getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", ""))
    bits = int(tag_value(dataset, "BitsAllocated", 0) or 0)
    simple = (syntax in NATIVE_SYNTAXES and int(tag_value(dataset, "SamplesPerPixel", 1) or 1) == 1
              and bits in (8, 16, 32) and int(tag_value(dataset, "BitsStored", bits) or bits) == bits)
    if not simple:
        try:
            return dataset.pixel_array
        except Exception as error:  # noqa: BLE001  no pydicom decoder for this transfer syntax (JPEG, JPEG-LS...)
            return _pixels_with_gdcm(dataset, error)
    dtype = np.dtype(f"<{'i' if int(tag_value(dataset, 'PixelRepresentation', 0) or 0) == 1 else 'u'}{bits // 8}")
    rows, columns = int(tag_value(dataset, "Rows")), int(tag_value(dataset, "Columns"))
    frames = int(tag_value(dataset, "NumberOfFrames", 1) or 1)
    values = np.frombuffer(_pixel_bytes(dataset), dtype=dtype, count=frames * rows * columns)
    return values.reshape((frames, rows, columns) if frames > 1 or "PerFrameFunctionalGroupsSequence" in dataset
                          else (rows, columns))


def _pixel_bytes(dataset) -> bytes:
    """PixelData's bytes; a value deferred by ``dcmread(defer_size=...)`` is read straight from its file offset."""
    try:
        element = dataset.get_item(PIXEL_DATA_TAG, keep_deferred=True)   # pydicom >= 3
    except TypeError:
        element = None
    length = getattr(element, "length", None)
    offset = getattr(element, "value_tell", None)
    filename = getattr(dataset, "filename", None)
    if element is not None and element.value is None and offset and length and length != 0xFFFFFFFF \
            and isinstance(filename, str):
        with open(filename, "rb") as handle:
            handle.seek(offset)
            return handle.read(length)
    return dataset.PixelData


def _pixels_with_gdcm(dataset, pydicom_error: Exception) -> np.ndarray:
    """Stored values decoded by GDCM (SimpleITK) when pydicom has no decoder (for example JPEG Lossless
    without pylibjpeg). SimpleITK applies RescaleSlope/Intercept itself; they are undone here so that
    :func:`build_volume` applies them once, as for every other file."""
    path = str(getattr(dataset, "filename", ""))
    try:
        values = sitk.GetArrayFromImage(sitk.ReadImage(path)).astype(np.float64)
    except RuntimeError as error:
        raise InputFileError(f"cannot decode the pixel data of DICOM file {path} (transfer syntax "
                             f"{getattr(dataset.file_meta, 'TransferSyntaxUID', '?')}): pydicom: {pydicom_error}; "
                             f"GDCM: {error}") from error
    slope = float(dataset.get("RescaleSlope", 1) or 1)
    intercept = float(dataset.get("RescaleIntercept", 0) or 0)
    stored = (values - intercept) / slope
    stored = np.rint(stored) if np.allclose(stored, np.rint(stored), atol=1e-3) else stored
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if frames == 1 and "PerFrameFunctionalGroupsSequence" not in dataset:
        return stored.reshape(int(dataset.Rows), int(dataset.Columns))
    return stored.reshape(frames, int(dataset.Rows), int(dataset.Columns))


def build_volume(volume: list[DicomFrame], cache: PixelCache | None = None) -> sitk.Image:
    """A 3D SimpleITK image (LPS) of one volume's images, rescaled by RescaleSlope/Intercept."""
    cache = cache or PixelCache()
    origin, spacing, direction, slices = volume_geometry(volume)
    if slices[0].mosaic:
        raise InputFileError(f"DICOM file {slices[0].path} is a Siemens MOSAIC; convert it with dcm2niix first")
    stack = np.stack([cache.image(f) for f in slices])
    rescales = {f.rescale for f in slices}
    if rescales != {(1.0, 0.0)}:
        slopes = np.array([f.rescale[0] for f in slices], dtype=np.float32)[:, None, None]
        intercepts = np.array([f.rescale[1] for f in slices], dtype=np.float32)[:, None, None]
        stack = stack.astype(np.float32) * slopes + intercepts
    image = sitk.GetImageFromArray(stack)
    image.SetOrigin(origin)
    image.SetSpacing(spacing)
    image.SetDirection(direction)
    return image
