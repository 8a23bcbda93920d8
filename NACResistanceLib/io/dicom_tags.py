"""What one DICOM file (or one frame of an enhanced multi-frame file) says about itself.

:func:`frames_of_dataset` turns a pydicom dataset read once (without pixel data) into one
:class:`DicomFrame` per 2D image: identity (study, series, instance), geometry (LPS position and
orientation), timing, and the diffusion b-value and gradient direction from the standard tags or the
vendor's private tags (docs/imaging.md lists every tag per vendor). Nothing here reads pixel data.
"""

from __future__ import annotations

import datetime as dt
import struct
import warnings
from dataclasses import dataclass

import numpy as np

B_ZERO_BELOW = 1.0
"""b-values (s/mm²) below this are read as 0: scanners write 0.001 or similar for b≈0 volumes."""
GRADIENT_MIN_NORM = 0.5
"""Gradient vectors shorter than this are dummies (b≈0 volumes, trace images) and read as absent."""

DERIVED_IMAGE_TYPES = ("DERIVED", "SUBTRACTION", "SUB", "MIP", "PROJECTION IMAGE", "MPR", "REFORMATTED",
                       "ADC", "TRACEW", "TRACE", "FA", "SCREEN SAVE")
"""ImageType (0008,0008) values that mark a series computed from others (never a DCE phase or raw DWI)."""
IMAGE_STORAGE_MARKERS = ("Image Storage", "Enhanced MR", "MR Image", "CT Image")
NON_IMAGE_MODALITIES = ("PR", "SR", "KO", "REG", "RTSTRUCT", "DOC")


@dataclass(frozen=True)
class DicomFrame:
    """One 2D image: a classic single-frame file, or one frame of an enhanced multi-frame file."""

    path: str
    frame: int | None
    """0-based frame number in a multi-frame file, ``None`` for a single-frame file."""
    modality: str
    study_uid: str
    series_uid: str
    series_number: int | None
    description: str
    image_type: tuple[str, ...]
    instance: int | None
    patient_id: str
    study_date: str
    """StudyDate (0008,0020) as ``YYYY-MM-DD`` (``""`` when absent)."""
    manufacturer: str
    rows: int
    columns: int
    pixel_spacing: tuple[float, float] | None
    """(between rows, between columns) in mm, as PixelSpacing (0028,0030) stores them."""
    orientation: tuple[float, ...] | None
    """ImageOrientationPatient (0020,0037): row direction then column direction, LPS."""
    position: tuple[float, float, float] | None
    """ImagePositionPatient (0020,0032) of the first voxel, mm, LPS."""
    b_value: float | None
    """Diffusion b-value, s/mm² (``None`` when no tag gives one)."""
    b_source: str
    gradient: tuple[float, float, float] | None
    """Unit diffusion gradient direction in LPS, ``None`` for b≈0, trace or unknown."""
    temporal_position: int | None
    """TemporalPositionIdentifier (0020,0100) or, enhanced, TemporalPositionIndex (0020,9128)."""
    trigger_time_ms: float | None
    acquisition_time_s: float | None
    """AcquisitionDateTime / AcquisitionDate+Time, or enhanced FrameAcquisitionDateTime, in s since 1970."""
    acquisition_time_source: str
    content_time_s: float | None
    acquisition_number: int | None
    volume_key: tuple | None
    """Vendor volume index: Philips (2005,1596), else (2005,1412) b-value number with (2005,1413) gradient number."""
    rescale: tuple[float, float] = (1.0, 0.0)
    """(slope, intercept) from (0028,1053)/(0028,1052) or the enhanced PixelValueTransformationSequence."""
    mosaic: bool = False

    @property
    def is_derived(self) -> bool:
        """True for computed images (ImageType DERIVED, subtraction, MIP, ADC/trace maps...)."""
        return any(value in DERIVED_IMAGE_TYPES for value in self.image_type[:1] + self.image_type[2:])

    @property
    def normal(self) -> np.ndarray | None:
        """Slice normal (row × column direction), LPS."""
        if self.orientation is None:
            return None
        return np.cross(self.orientation[:3], self.orientation[3:])


def is_image_dataset(dataset) -> bool:
    """True when the dataset holds pixel rows (an image), False for SEG, SR, presentation states, DICOMDIR."""
    if "DirectoryRecordSequence" in dataset:
        return False
    modality = str(tag_value(dataset, "Modality", "")).upper()
    if modality in NON_IMAGE_MODALITIES or modality == "SEG":
        return False
    return "Rows" in dataset and "Columns" in dataset and "ImagePositionPatient" in dataset or _has_frames(dataset)


def _has_frames(dataset) -> bool:
    return "PerFrameFunctionalGroupsSequence" in dataset and "Rows" in dataset


def frames_of_dataset(dataset, path: str) -> list[DicomFrame]:
    """One :class:`DicomFrame` per 2D image of ``dataset`` (read with ``stop_before_pixels=True``)."""
    common = _common_fields(dataset, path)
    if "PerFrameFunctionalGroupsSequence" not in dataset:
        return [DicomFrame(frame=None, **common, **_frame_fields(dataset, dataset, common["manufacturer"]))]
    shared = dataset.get("SharedFunctionalGroupsSequence")
    shared_item = shared[0] if shared else None
    frames = []
    for index, item in enumerate(dataset.PerFrameFunctionalGroupsSequence):
        view = _FunctionalGroups(item, shared_item, dataset)
        frames.append(DicomFrame(frame=index, **common, **_frame_fields(view, dataset, common["manufacturer"])))
    return frames


class _FunctionalGroups:
    """Looks an attribute up in a frame's functional groups, then the shared ones, then the top level."""

    def __init__(self, per_frame, shared, top):
        self.sources = [s for s in (per_frame, shared) if s is not None]
        self.top = top

    def find(self, sequence: str, keyword: str):
        for source in self.sources:
            if sequence in source and len(source[sequence].value):
                item = source[sequence][0]
                if keyword in item:
                    return item[keyword].value
        if keyword in self.top and keyword != "ImagePositionPatient":
            return self.top[keyword].value   # some writers keep e.g. RescaleSlope at the top level
        return None


def _common_fields(dataset, path: str) -> dict:
    image_type = tuple(str(v).upper().strip() for v in _as_list(tag_value(dataset, "ImageType", [])))
    return dict(
        path=path,
        modality=str(tag_value(dataset, "Modality", "")),
        study_uid=str(tag_value(dataset, "StudyInstanceUID", "")),
        series_uid=str(tag_value(dataset, "SeriesInstanceUID", "")),
        series_number=_int(tag_value(dataset, "SeriesNumber")),
        description=str(dataset.get("SeriesDescription", "") or "").strip(),
        image_type=image_type,
        instance=_int(tag_value(dataset, "InstanceNumber")),
        patient_id=str(dataset.get("PatientID", "") or "").strip(),
        study_date=_iso_date(str(tag_value(dataset, "StudyDate", "") or "")),
        manufacturer=str(dataset.get("Manufacturer", "") or "").strip(),
        rows=int(tag_value(dataset, "Rows", 0) or 0),
        columns=int(tag_value(dataset, "Columns", 0) or 0),
        mosaic="MOSAIC" in image_type,
    )


def _frame_fields(view, dataset, manufacturer: str) -> dict:
    enhanced = isinstance(view, _FunctionalGroups)
    if enhanced:
        spacing = view.find("PixelMeasuresSequence", "PixelSpacing")
        orientation = view.find("PlaneOrientationSequence", "ImageOrientationPatient")
        position = view.find("PlanePositionSequence", "ImagePositionPatient")
        slope = view.find("PixelValueTransformationSequence", "RescaleSlope")
        intercept = view.find("PixelValueTransformationSequence", "RescaleIntercept")
        temporal = view.find("FrameContentSequence", "TemporalPositionIndex")
        frame_time = view.find("FrameContentSequence", "FrameAcquisitionDateTime")
        acquisition, time_source = _datetime_s(frame_time), "FrameAcquisitionDateTime (0018,9074)"
        trigger = view.find("CardiacSynchronizationSequence", "NominalCardiacTriggerDelayTime")
        b_value, b_source, gradient = _enhanced_diffusion(view)
        volume_key = None
        content = acquisition
    else:
        spacing = tag_value(dataset, "PixelSpacing")
        orientation = tag_value(dataset, "ImageOrientationPatient")
        position = tag_value(dataset, "ImagePositionPatient")
        slope, intercept = tag_value(dataset, "RescaleSlope"), tag_value(dataset, "RescaleIntercept")
        temporal = tag_value(dataset, "TemporalPositionIdentifier")
        trigger = tag_value(dataset, "TriggerTime")
        acquisition, time_source = _acquisition_time(dataset)
        content = _date_time_s(tag_value(dataset, "ContentDate") or tag_value(dataset, "StudyDate"), tag_value(dataset, "ContentTime"))
        b_value, b_source, gradient = classic_diffusion(dataset, manufacturer)
        volume_key = _philips_volume_key(dataset)
    return dict(
        pixel_spacing=_floats(spacing, 2),
        orientation=_floats(orientation, 6),
        position=_floats(position, 3),
        b_value=b_value, b_source=b_source, gradient=gradient,
        temporal_position=_int(temporal),
        trigger_time_ms=_float(trigger),
        acquisition_time_s=acquisition, acquisition_time_source=time_source if acquisition is not None else "",
        content_time_s=content,
        acquisition_number=_int(tag_value(dataset, "AcquisitionNumber")),
        volume_key=volume_key,
        rescale=(_float(slope) if _float(slope) is not None else 1.0, _float(intercept) or 0.0),
    )


# --- diffusion ----------------------------------------------------------------------------------------------


def classic_diffusion(dataset, manufacturer: str = "") -> tuple[float | None, str, tuple[float, float, float] | None]:
    """b-value (s/mm²), its source and the LPS gradient of a classic (single-frame) file.

    Tried in order: standard DiffusionBValue (0018,9087) with DiffusionGradientOrientation (0018,9089,
    top level or in DiffusionGradientDirectionSequence); Siemens (0019,100c) with (0019,100e), then the
    Siemens CSA image header (0029,1010) ``B_value`` / ``DiffusionGradientDirection``; GE (0043,1039)
    with (0019,10bb–bd) (:func:`ge_gradient_to_lps`); Philips (2001,1003) with (2005,10b0–b2).
    """
    maker = manufacturer.upper()
    b = _first_number(dataset, (0x0018, 0x9087))
    gradient = _vector(dataset, (0x0018, 0x9089))
    if gradient is None and "DiffusionGradientDirectionSequence" in dataset:
        items = dataset.DiffusionGradientDirectionSequence
        if len(items) and "DiffusionGradientOrientation" in items[0]:
            gradient = _floats(items[0].DiffusionGradientOrientation, 3)
    source = "DiffusionBValue (0018,9087)"
    if "SIEMENS" in maker or (b is None and (0x0019, 0x100C) in dataset):
        if b is None and (0x0019, 0x100C) in dataset:
            b, source = _first_number(dataset, (0x0019, 0x100C)), "Siemens B_value (0019,100c)"
            gradient = gradient or _vector(dataset, (0x0019, 0x100E))
        if b is None and (0x0029, 0x1010) in dataset:
            b, csa_gradient = _siemens_csa(dataset)
            source, gradient = "Siemens CSA header (0029,1010) B_value", gradient or csa_gradient
    if (0x0043, 0x1039) in dataset and ("GE" in maker or b is None or gradient is None):
        ge_b, ge_gradient = _ge_diffusion(dataset)
        if b is None and ge_b is not None:
            b, source = ge_b, "GE slop_int_6 (0043,1039), first value, 10⁹ offset removed"
        gradient = gradient or ge_gradient
    if b is None and (0x2001, 0x1003) in dataset:
        b, source = _first_number(dataset, (0x2001, 0x1003)), "Philips DiffusionBValue (2001,1003)"
    if gradient is None and (0x2005, 0x10B0) in dataset:
        values = [_first_number(dataset, (0x2005, element)) for element in (0x10B0, 0x10B1, 0x10B2)]
        gradient = None if None in values else tuple(values)
    if b is None:
        return None, "", None
    return _clean_b(b), source, _clean_gradient(gradient, b)


def _enhanced_diffusion(view: _FunctionalGroups):
    b = view.find("MRDiffusionSequence", "DiffusionBValue")
    if b is None:
        return None, "", None
    gradient = None
    directions = view.find("MRDiffusionSequence", "DiffusionGradientDirectionSequence")
    if directions and "DiffusionGradientOrientation" in directions[0]:
        gradient = _floats(directions[0].DiffusionGradientOrientation, 3)
    b = float(b)
    return _clean_b(b), "MRDiffusionSequence DiffusionBValue (0018,9117 > 0018,9087)", _clean_gradient(gradient, b)


def _clean_b(b: float) -> float:
    return 0.0 if b < B_ZERO_BELOW else float(b)


def _clean_gradient(gradient, b: float):
    if gradient is None or b < B_ZERO_BELOW:
        return None
    vector = np.asarray(gradient, dtype=float)
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm < GRADIENT_MIN_NORM:
        return None
    return tuple(float(v) for v in vector / norm)


def _ge_diffusion(dataset):
    values = _numbers(dataset[(0x0043, 0x1039)].value)
    if not values:
        return None, None
    b = values[0] % 1e9
    raw = [_first_number(dataset, (0x0019, element)) for element in (0x10BB, 0x10BC, 0x10BD)]
    orientation = _floats(tag_value(dataset, "ImageOrientationPatient"), 6)
    if None in raw or orientation is None:
        return b, None
    norm = float(np.linalg.norm(raw))
    if b >= B_ZERO_BELOW and 0.03 < norm < 0.97:   # GE writes a lower shell as a shorter vector under the top b
        scaled = b * norm**2
        b = 5.0 if scaled < 5 else float(np.floor((scaled + 2.5) / 5) * 5)
    phase_in_rows = str(tag_value(dataset, "InPlanePhaseEncodingDirection", "COL")).upper() == "ROW"
    return b, tuple(ge_gradient_to_lps(raw, orientation, phase_in_rows))


def ge_gradient_to_lps(ge_vector, orientation, phase_in_rows: bool = False) -> np.ndarray:
    """GE's (0019,10bb), (0019,10bc), (0019,10bd) -> LPS unit direction.

    GE writes the gradient in the image frame, not the patient frame. With ``r`` and ``c`` the row and
    column direction cosines of ImageOrientationPatient (LPS) and ``n = r × c`` the slice normal, and
    phase encoding along columns (0018,1312 ``COL``, the usual axial DWI), the patient direction is

        ``g_LPS = -bb · r - bc · c + bd · n``

    i.e. GE's first two components point along ``-r`` and ``-c`` (GE's in-plane axes run opposite to
    DICOM's row and column directions) and its third along the normal. Reasoning, checked against the
    real GE export in Testing/Data/dicom-ge-dwi: dcm2niix writes that series with its rows flipped
    (NIfTI voxel axes ``r, -c, n``, determinant -1, so FSL's convention flips no axis) and its bvec rows
    are ``(-bb, bc, bd)`` (dcm2niix's geCorrectBvecs for COL phase encoding); a bvec ``v`` in those voxel
    axes is the world vector ``v_x r + v_y (-c) + v_z n = -bb r - bc c + bd n``. With phase encoding along
    rows (``ROW``) GE swaps its first two components (dcm2niix: x = -bc, y = -bb), giving
    ``g_LPS = -bc · r + bb · c + bd · n``; no real ROW export was available to check that case.
    """
    bb, bc, bd = (float(v) for v in ge_vector)
    orientation = np.asarray(orientation, dtype=float)
    row, column = orientation[:3], orientation[3:]
    normal = np.cross(row, column)
    if phase_in_rows:
        vector = -bc * row + bb * column + bd * normal
    else:
        vector = -bb * row - bc * column + bd * normal
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else vector


def _siemens_csa(dataset):
    """B_value and DiffusionGradientDirection (patient LPS) from the Siemens CSA image header.

    Parsed with nibabel's CSA reader (a dependency); without nibabel, no value.
    """
    try:
        with warnings.catch_warnings():   # nibabel warns that its DICOM readers are experimental; we use its CSA parser
            warnings.simplefilter("ignore", UserWarning)
            from nibabel.nicom import csareader
        header = csareader.read(bytes(dataset[(0x0029, 0x1010)].value))
        b = csareader.get_b_value(header)
        vector = csareader.get_g_vector(header)
    except Exception:  # noqa: BLE001  a malformed CSA header means: no b-value from it
        return None, None
    return (None if b is None else float(b)), (None if vector is None else tuple(float(v) for v in vector))


def _philips_volume_key(dataset) -> tuple | None:
    if (0x2005, 0x1596) in dataset:
        value = _first_number(dataset, (0x2005, 0x1596))
        return None if value is None else ("2005,1596", value)
    if (0x2005, 0x1412) in dataset and (0x2005, 0x1413) in dataset:
        return ("2005,1412/1413", _first_number(dataset, (0x2005, 0x1412)), _first_number(dataset, (0x2005, 0x1413)))
    return None


# --- value parsing ------------------------------------------------------------------------------------------

_PLAIN_TEXT_VRS = {"UI", "CS", "IS", "DS", "DA", "TM", "DT", "AS"}
"""VRs whose bytes are ASCII whatever the character set: read from the raw bytes, skipping pydicom's conversion."""
_BINARY_VRS = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d"}
_TAGS: dict[str, int] = {}


def _little_endian(dataset) -> bool:
    encoding = getattr(dataset, "original_encoding", None)   # pydicom >= 3: (implicit VR, little endian)
    if encoding is not None and encoding[1] is not None:
        return bool(encoding[1])
    return bool(getattr(dataset, "is_little_endian", None) in (True, None))


def tag_value(dataset, keyword: str, default=None):
    """``dataset.get(keyword)``, fast for numbers and codes: raw bytes decoded here (a backslash-separated
    ``str`` for text, a list for several binary values), pydicom's own conversion otherwise."""
    tag = _TAGS.get(keyword)
    if tag is None:
        from pydicom.datadict import tag_for_keyword

        tag = _TAGS[keyword] = tag_for_keyword(keyword)
    try:
        element = dataset.get_item(tag)
    except KeyError:
        return default
    if element is None:
        return default
    raw = element.value
    vr = element.VR
    if isinstance(raw, bytes) and vr in _PLAIN_TEXT_VRS:
        text = raw.decode("ascii", errors="replace").strip("\x00 ")
        return text if "\\" not in text or vr not in ("CS",) else text.split("\\")
    if isinstance(raw, bytes) and vr in _BINARY_VRS and _little_endian(dataset):
        code = _BINARY_VRS[vr]
        count = len(raw) // struct.calcsize(code)
        values = struct.unpack(f"<{count}{code}", raw[: count * struct.calcsize(code)])
        return values[0] if count == 1 else list(values)
    value = dataset.get(keyword, default)
    return default if value is None else value


def _numbers(value) -> list[float]:
    """Numbers of a DICOM value: numbers, multi-values, backslash text, or raw little-endian FL/FD bytes (UN)."""
    if value is None:
        return []
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
        try:
            text = raw.decode("ascii").strip("\x00 ")
            return [float(part) for part in text.replace("\\", " ").split()]
        except (UnicodeDecodeError, ValueError):
            if len(raw) % 8 == 0 and len(raw) != 4:
                return [float(v) for v in struct.unpack(f"<{len(raw) // 8}d", raw)]
            if len(raw) % 4 == 0:
                return [float(v) for v in struct.unpack(f"<{len(raw) // 4}f", raw)]
            return []
    if isinstance(value, str):
        try:
            return [float(part) for part in value.replace("\\", " ").split()]
        except ValueError:
            return []
    try:
        return [float(v) for v in value]
    except TypeError:
        try:
            return [float(value)]
        except (TypeError, ValueError):
            return []
    except ValueError:
        return []


def _first_number(dataset, tag) -> float | None:
    if tag not in dataset:
        return None
    values = _numbers(dataset[tag].value)
    return values[0] if values else None


def _vector(dataset, tag):
    if tag not in dataset:
        return None
    values = _numbers(dataset[tag].value)
    return tuple(values[:3]) if len(values) >= 3 else None


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        return list(value)
    except TypeError:
        return [value]


def _floats(value, count: int):
    if value is None:
        return None
    element_value = getattr(value, "value", value)
    numbers = _numbers(element_value)
    return tuple(numbers[:count]) if len(numbers) >= count else None


def _float(value) -> float | None:
    numbers = _numbers(getattr(value, "value", value))
    return numbers[0] if numbers else None


def _int(value) -> int | None:
    number = _float(value)
    return None if number is None else int(round(number))


def _iso_date(text: str) -> str:
    text = text.strip()
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) >= 8 and text[:8].isdigit() else ""


def _time_of_day_s(text: str) -> float | None:
    text = str(text or "").strip().replace(":", "")
    if not text or not text.split(".")[0].isdigit():
        return None
    whole, _, fraction = text.partition(".")
    whole = whole.ljust(6, "0")
    seconds = int(whole[:2]) * 3600 + int(whole[2:4]) * 60 + int(whole[4:6])
    return seconds + (float("0." + fraction) if fraction.isdigit() else 0.0)


def _date_time_s(date, time) -> float | None:
    """Seconds since 1970-01-01 of a DA + TM pair (time of day alone when the date is absent)."""
    seconds = _time_of_day_s(str(time or ""))
    if seconds is None:
        return None
    day = str(date or "").strip()
    if len(day) >= 8 and day[:8].isdigit():
        epoch = dt.datetime(int(day[:4]), int(day[4:6]), int(day[6:8]), tzinfo=dt.timezone.utc).timestamp()
        return epoch + seconds
    return seconds


def _datetime_s(value) -> float | None:
    """Seconds since 1970 of a DT value ``YYYYMMDDHHMMSS.FFFFFF`` (time zone suffix ignored)."""
    text = str(value or "").strip().split("+")[0].split("-")[0]
    if len(text) < 8 or not text[:8].isdigit():
        return None
    return _date_time_s(text[:8], text[8:] or "000000")


def _acquisition_time(dataset) -> tuple[float | None, str]:
    if tag_value(dataset, "AcquisitionDateTime"):
        return _datetime_s(tag_value(dataset, "AcquisitionDateTime")), "AcquisitionDateTime (0008,002a)"
    date = tag_value(dataset, "AcquisitionDate") or tag_value(dataset, "SeriesDate") or tag_value(dataset, "StudyDate")
    return _date_time_s(date, tag_value(dataset, "AcquisitionTime")), "AcquisitionTime (0008,0032)"
