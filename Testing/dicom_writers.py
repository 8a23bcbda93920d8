"""Write synthetic DICOM exports with pydicom for the tests (classic, enhanced multi-frame, SEG, non-image)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"
SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
GRAYSCALE_PR_STORAGE = "1.2.840.10008.5.1.4.1.1.11.1"
ROOT = "1.2.826.0.1.3680043.8.498."
"""pydicom's UID root (generate_uid with a fixed entropy source keeps the files deterministic)."""

PRIVATE_CREATORS = {0x0019: "SIEMENS MR HEADER", 0x0043: "GEMS_PARM_01", 0x2001: "Philips Imaging DD 001",
                    0x2005: "Philips MR Imaging DD 001"}


def uid(*parts) -> str:
    return generate_uid(prefix=ROOT, entropy_srcs=[str(p) for p in parts])


def _file(dataset: Dataset, sop_class: str, path: Path, implicit: bool = False) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    dataset.file_meta = meta
    dataset.SOPClassUID = sop_class
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        dataset.save_as(str(path), enforce_file_format=True)   # pydicom >= 3
    except TypeError:
        dataset.save_as(str(path), write_like_original=False)   # pydicom 2.4 (Python 3.9)


def _identity(dataset: Dataset, patient: str, study_uid: str, series_uid: str, number: int, description: str,
              study_date: str = "20240115") -> None:
    dataset.PatientID = patient
    dataset.PatientName = patient
    dataset.StudyInstanceUID = study_uid
    dataset.SeriesInstanceUID = series_uid
    dataset.SeriesNumber = number
    dataset.SeriesDescription = description
    dataset.StudyDate = study_date
    dataset.Modality = "MR"


def _pixels(dataset: Dataset, array: np.ndarray) -> None:
    array = np.ascontiguousarray(array, dtype=np.int16)
    dataset.Rows, dataset.Columns = array.shape[-2:]
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated = 16
    dataset.BitsStored = 16
    dataset.HighBit = 15
    dataset.PixelRepresentation = 1
    dataset.PixelData = array.tobytes()


def write_slice(path: Path, array: np.ndarray, *, patient="P1", study_uid=None, series_uid="1.2.3", number=1,
                description="series", instance=1, position=(0.0, 0.0, 0.0), orientation=(1, 0, 0, 0, 1, 0),
                spacing=(1.0, 1.0), image_type=("ORIGINAL", "PRIMARY"), manufacturer="", private=None,
                study_date="20240115", implicit=False, **attributes) -> None:
    """One classic MR Image Storage file holding the 2D ``array`` (rows, columns), int16.

    ``private`` maps (group, element) -> (VR, value) for vendor tags (their private creator is added);
    other keyword arguments are DICOM keywords (AcquisitionTime, TriggerTime, DiffusionBValue, ...).
    """
    dataset = Dataset()
    _identity(dataset, patient, study_uid or uid(patient, "study"), series_uid, number, description, study_date)
    dataset.SOPInstanceUID = uid(series_uid, instance, path.name)
    dataset.InstanceNumber = instance
    dataset.ImageType = list(image_type)
    dataset.Manufacturer = manufacturer
    dataset.ImagePositionPatient = [float(v) for v in position]
    dataset.ImageOrientationPatient = [float(v) for v in orientation]
    dataset.PixelSpacing = [float(v) for v in spacing]
    dataset.SliceThickness = 1.0
    _pixels(dataset, array)
    for keyword, value in attributes.items():   # after the pixel module, so that tests may override it
        setattr(dataset, keyword, value)
    for (group, element), (vr, value) in (private or {}).items():
        dataset.add_new((group, 0x0010), "LO", PRIVATE_CREATORS.get(group, "TEST"))
        dataset.add_new((group, element), vr, value)
    _file(dataset, MR_IMAGE_STORAGE, path, implicit)


def write_volume(folder: Path, volume: np.ndarray, *, prefix="", first_instance=1, spacing=(1.0, 1.0, 2.0),
                 origin=(0.0, 0.0, 0.0), orientation=(1, 0, 0, 0, 1, 0), per_slice=None, **common) -> list[Path]:
    """Write a (z, y, x) volume as one file per slice; ``per_slice(z)`` may add keyword arguments per slice."""
    row, column = np.array(orientation[:3], float), np.array(orientation[3:], float)
    normal = np.cross(row, column)
    paths = []
    for z in range(volume.shape[0]):
        path = Path(folder) / f"{prefix}{first_instance + z:04d}.dcm"
        position = np.asarray(origin, float) + z * spacing[2] * normal
        extra = dict(per_slice(z)) if per_slice else {}
        arguments = {"instance": first_instance + z, **common, **extra}
        write_slice(path, volume[z], position=position, orientation=orientation, spacing=(spacing[1], spacing[0]),
                    **arguments)
        paths.append(path)
    return paths


def write_presentation_state(path: Path, study_uid: str) -> None:
    """A grayscale softcopy presentation state: a non-image object that readers must skip."""
    dataset = Dataset()
    _identity(dataset, "P1", study_uid, uid(path.name, "pr"), 999, "presentation")
    dataset.Modality = "PR"
    dataset.SOPInstanceUID = uid(path.name, "pr-instance")
    _file(dataset, GRAYSCALE_PR_STORAGE, path)


def write_enhanced(path: Path, volumes: list[np.ndarray], *, series_uid="1.2.9", description="enhanced",
                   spacing=(1.0, 1.0, 2.0), origin=(0.0, 0.0, 0.0), bvals=None, gradients=None, times=None,
                   patient="P1", study_uid=None, number=1, scramble=None) -> None:
    """One Enhanced MR Image Storage file: every slice of every volume as a frame with per-frame groups.

    ``bvals``/``gradients`` add an MRDiffusionSequence per frame; ``times`` (s, one per volume) add
    FrameContentSequence TemporalPositionIndex and FrameAcquisitionDateTime. ``scramble`` is a frame order.
    """
    dataset = Dataset()
    _identity(dataset, patient, study_uid or uid(patient, "study"), series_uid, number, description)
    dataset.SOPInstanceUID = uid(series_uid, "enhanced")
    dataset.InstanceNumber = 1
    dataset.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"]
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = [spacing[1], spacing[0]]
    measures.SliceThickness = spacing[2]
    shared.PixelMeasuresSequence = Sequence([measures])
    plane = Dataset()
    plane.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    shared.PlaneOrientationSequence = Sequence([plane])
    dataset.SharedFunctionalGroupsSequence = Sequence([shared])
    frames, arrays = [], []
    for v, volume in enumerate(volumes):
        for z in range(volume.shape[0]):
            item = Dataset()
            position = Dataset()
            position.ImagePositionPatient = [origin[0], origin[1], origin[2] + z * spacing[2]]
            item.PlanePositionSequence = Sequence([position])
            if bvals is not None:
                diffusion = Dataset()
                diffusion.DiffusionBValue = float(bvals[v])
                diffusion.DiffusionDirectionality = "DIRECTIONAL" if gradients is not None and bvals[v] > 0 else "NONE"
                if gradients is not None and bvals[v] > 0:
                    direction = Dataset()
                    direction.DiffusionGradientOrientation = [float(g) for g in gradients[v]]
                    diffusion.DiffusionGradientDirectionSequence = Sequence([direction])
                item.MRDiffusionSequence = Sequence([diffusion])
            if times is not None:
                content = Dataset()
                content.TemporalPositionIndex = v + 1
                seconds = 10 * 3600 + float(times[v])
                hh, rest = divmod(seconds, 3600)
                mm, ss = divmod(rest, 60)
                content.FrameAcquisitionDateTime = f"20240115{int(hh):02d}{int(mm):02d}{ss:09.6f}"
                item.FrameContentSequence = Sequence([content])
            frames.append(item)
            arrays.append(volume[z])
    order = list(range(len(frames))) if scramble is None else list(scramble)
    dataset.PerFrameFunctionalGroupsSequence = Sequence([frames[i] for i in order])
    dataset.NumberOfFrames = len(frames)
    _pixels(dataset, np.stack([arrays[i] for i in order]))
    _file(dataset, ENHANCED_MR_STORAGE, path)


def read_back(path: Path) -> pydicom.Dataset:
    return pydicom.dcmread(str(path))


def write_seg(path: Path, masks: dict[int, tuple[str, np.ndarray]], *, spacing=(1.0, 1.0, 2.0), origin=(0.0, 0.0, 0.0),
              patient="P1", study_uid=None, series_uid=None, number=100, description="segmentation",
              skip_empty=True) -> None:
    """A BINARY DICOM SEG: ``masks`` maps SegmentNumber -> (SegmentLabel, (z, y, x) 0/1 array), axial grid.

    Frames are written only for slices a segment covers when ``skip_empty`` (as most SEG writers do).
    """
    dataset = Dataset()
    series_uid = series_uid or uid(path.name, "seg")
    _identity(dataset, patient, study_uid or uid(patient, "study"), series_uid, number, description)
    dataset.Modality = "SEG"
    dataset.SOPInstanceUID = uid(series_uid, "seg-instance")
    dataset.SegmentationType = "BINARY"
    dataset.ImageType = ["DERIVED", "PRIMARY"]
    segments = []
    for segment_number, (label, _) in sorted(masks.items()):
        item = Dataset()
        item.SegmentNumber = segment_number
        item.SegmentLabel = label
        item.SegmentAlgorithmType = "MANUAL"
        segments.append(item)
    dataset.SegmentSequence = Sequence(segments)
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = [spacing[1], spacing[0]]
    measures.SliceThickness = spacing[2]
    measures.SpacingBetweenSlices = spacing[2]
    shared.PixelMeasuresSequence = Sequence([measures])
    plane = Dataset()
    plane.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    shared.PlaneOrientationSequence = Sequence([plane])
    dataset.SharedFunctionalGroupsSequence = Sequence([shared])
    frames, planes = [], []
    for segment_number, (_, mask) in sorted(masks.items()):
        for z in range(mask.shape[0]):
            if skip_empty and not mask[z].any():
                continue
            item = Dataset()
            ident = Dataset()
            ident.ReferencedSegmentNumber = segment_number
            item.SegmentIdentificationSequence = Sequence([ident])
            position = Dataset()
            position.ImagePositionPatient = [origin[0], origin[1], origin[2] + z * spacing[2]]
            item.PlanePositionSequence = Sequence([position])
            frames.append(item)
            planes.append(mask[z].astype(np.uint8))
    dataset.PerFrameFunctionalGroupsSequence = Sequence(frames)
    dataset.NumberOfFrames = len(frames)
    dataset.Rows, dataset.Columns = planes[0].shape
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated = 1
    dataset.BitsStored = 1
    dataset.HighBit = 0
    dataset.PixelRepresentation = 0
    packed = np.packbits(np.stack(planes).ravel(), bitorder="little").tobytes()
    dataset.PixelData = packed + (b"\0" if len(packed) % 2 else b"")
    _file(dataset, SEG_STORAGE, path)


def write_secondary_capture(path: Path, study_uid: str) -> None:
    """A screenshot-like image object without ImagePositionPatient: readers must skip it."""
    dataset = Dataset()
    _identity(dataset, "P1", study_uid, uid(path.name, "sc"), 998, "screen save")
    dataset.Modality = "OT"
    dataset.SOPInstanceUID = uid(path.name, "sc-instance")
    _pixels(dataset, np.zeros((4, 4), np.int16))
    _file(dataset, "1.2.840.10008.5.1.4.1.1.7", path)
