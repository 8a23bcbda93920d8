"""The source series the DICOM SEG and SR reference: the exam's own DICOM slices of the ROI phase when the exam
was read from DICOM (:func:`find_source_series`), else a minimal MR Image Storage series written from the ROI
phase image (:func:`write_source_series`, one file per slice, pydicom).

For a written series, the geometry is exact (SimpleITK's physical space is DICOM's patient LPS space);
intensities are rescaled linearly to 12-bit unsigned integers (the series carries the geometry, not
quantitative values).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from .. import __version__

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"


def write_source_series(image: sitk.Image, folder: str | Path, *, patient_id: str, study_date: str | None = None,
                        description: str = "DCE ROI phase (from NIfTI)", study_uid: str | None = None,
                        laterality: str = "") -> list:
    """Write ``image`` as an MR series into ``folder``; returns the pydicom datasets in slice order (index k).

    ``laterality`` is "L", "R" or "" (unknown; the manifest's ``side`` column gives it).
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    values = sitk.GetArrayFromImage(image).astype(float)  # (z, y, x)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    pixels = np.round((np.nan_to_num(values, nan=low) - low) / max(high - low, 1e-12) * 4095).astype(np.uint16)
    direction = np.array(image.GetDirection()).reshape(3, 3)
    spacing = image.GetSpacing()
    date = (study_date or dt.date.today().isoformat()).replace("-", "")
    study_uid, series_uid, frame_uid = study_uid or generate_uid(), generate_uid(), generate_uid()
    datasets = []
    for k in range(values.shape[0]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MR_IMAGE_STORAGE
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = MR_IMAGE_STORAGE, meta.MediaStorageSOPInstanceUID
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = f"{patient_id}^", patient_id, "", ""
        ds.StudyInstanceUID, ds.StudyDate, ds.StudyTime, ds.StudyID = study_uid, date, "000000", "1"
        ds.ReferringPhysicianName, ds.AccessionNumber = "", ""
        ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber = "MR", series_uid, 1
        ds.SeriesDescription = description
        ds.Laterality, ds.PatientPosition = laterality, "HFP"  # breast MRI: head first, prone
        ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = frame_uid, ""
        ds.Manufacturer = "NACResistance"
        ds.SoftwareVersions = __version__
        ds.InstanceNumber = k + 1
        ds.ContentDate, ds.ContentTime = date, "000000"
        ds.ImageType = ["DERIVED", "SECONDARY", "OTHER"]
        ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions, ds.MRAcquisitionType = "GR", "NONE", "", "3D"
        ds.EchoTime, ds.RepetitionTime, ds.EchoTrainLength = "", "", ""
        ds.ImageOrientationPatient = [f"{v:.10g}" for v in (*direction[:, 0], *direction[:, 1])]
        position = image.TransformIndexToPhysicalPoint((0, 0, k))
        ds.ImagePositionPatient = [f"{v:.10g}" for v in position]
        ds.PixelSpacing = [f"{spacing[1]:.10g}", f"{spacing[0]:.10g}"]  # row spacing (y), column spacing (x)
        ds.SliceThickness = f"{spacing[2]:.10g}"
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = pixels.shape[1], pixels.shape[2]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PixelData = pixels[k].tobytes()
        ds.save_as(folder / f"slice_{k + 1:04d}.dcm", enforce_file_format=True)
        datasets.append(ds)
    return datasets


IMAGE_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")


def _candidate_files(paths: str) -> list[Path]:
    """DICOM candidates among ``;``-separated exam source paths (folders searched recursively)."""
    files = []
    for token in (t.strip() for t in paths.split(";") if t.strip()):
        path = Path(token)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file() and not path.name.lower().endswith(IMAGE_SUFFIXES):
            files.append(path)
    return files


def find_source_series(paths: str, grid: sitk.Image, *, tolerance: float = 1e-4) -> list | None:
    """The DICOM slices the ROI phase ``grid`` was read from, in slice order, or None.

    ``paths`` is the exam's DCE source (``Exam.sources["dce_phases"]``, folders or files separated by ``;``).
    A slice matches when its geometry equals the grid's slice (rows, columns, orientation, position within
    0.01 mm) and its rescaled pixel values equal the grid's values (relative ``tolerance`` of the image range);
    among the phases at one position exactly one must match. None when the source is not DICOM or any slice
    has no unique match (the caller then writes a source series with :func:`write_source_series`).
    """
    import pydicom

    try:
        from pydicom.pixels import apply_modality_lut
    except ImportError:  # pydicom < 3
        from pydicom.pixel_data_handlers.util import apply_modality_lut

    files = _candidate_files(paths)
    if not files:
        return None
    values = sitk.GetArrayFromImage(grid).astype(float)
    size_z, rows, columns = values.shape
    direction = np.array(grid.GetDirection()).reshape(3, 3)
    positions = np.array([grid.TransformIndexToPhysicalPoint((0, 0, k)) for k in range(size_z)])
    scale = max(float(np.nanmax(values) - np.nanmin(values)), 1e-12)
    matches: dict[int, list] = {k: [] for k in range(size_z)}
    for path in files:
        try:
            header = pydicom.dcmread(path, stop_before_pixels=True)
        except (pydicom.errors.InvalidDicomError, OSError):
            continue
        if ((header.get("Rows"), header.get("Columns")) != (rows, columns) or "ImagePositionPatient" not in header
                or "FrameOfReferenceUID" not in header):
            continue
        orientation = np.array(header.get("ImageOrientationPatient", [0] * 6), float)
        if not np.allclose(orientation, np.concatenate([direction[:, 0], direction[:, 1]]), atol=1e-4):
            continue
        distance = np.linalg.norm(positions - np.array(header.ImagePositionPatient, float), axis=1)
        k = int(np.argmin(distance))
        if distance[k] > 0.01:
            continue
        dataset = pydicom.dcmread(path)
        pixels = apply_modality_lut(dataset.pixel_array, dataset).astype(float)
        if np.nanmax(np.abs(pixels - values[k])) <= tolerance * scale:
            matches[k].append(dataset)
    if any(len(found) != 1 for found in matches.values()):
        return None
    return [matches[k][0] for k in range(size_z)]
