"""A minimal MR Image Storage series from a SimpleITK image (one file per slice), with pydicom.

Used when an exam was read from NIfTI: the DICOM SEG and SR must reference a source series on the ROI
phase's frame of reference. Geometry is exact (SimpleITK's physical space is DICOM's patient LPS space);
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
