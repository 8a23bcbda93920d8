"""DICOM folders: list the series they hold and read one series into a SimpleITK image."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import SimpleITK as sitk

from ..errors import InputFileError

SERIES_DESCRIPTION_TAG = "0008|103e"
"""DICOM tag (group|element) of SeriesDescription."""
IMAGE_POSITION_TAG = "0020|0032"
"""DICOM tag of ImagePositionPatient."""


@dataclass(frozen=True)
class DicomSeries:
    """One DICOM series found in a folder."""

    series_uid: str
    """SeriesInstanceUID (0020,000E)."""
    description: str
    """SeriesDescription (0008,103E), ``""`` when absent."""
    files: tuple[str, ...]
    """Slice files in the order GDCM sorts them (by position along the slice normal)."""

    @property
    def n_files(self) -> int:
        """Number of files in the series."""
        return len(self.files)

    def __str__(self) -> str:
        return f"{self.series_uid} ({self.description or 'no description'}, {self.n_files} files)"


def list_dicom_series(folder: str | Path) -> list[DicomSeries]:
    """List the DICOM series in ``folder`` (not recursive).

    Parameters
    ----------
    folder : str or Path
        A directory holding DICOM files of one or more series.

    Returns
    -------
    list of DicomSeries
        One entry per SeriesInstanceUID, sorted by UID; empty when the folder holds no DICOM series.

    Raises
    ------
    InputFileError
        If ``folder`` is not a directory.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(f"DICOM folder {folder} does not exist or is not a directory")
    series = []
    for uid in sorted(sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))):
        files = tuple(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), uid))
        series.append(DicomSeries(uid, _series_description(files[0]), files))
    return series


def read_dicom_series(folder: str | Path, series_uid: str | None = None) -> sitk.Image:
    """Read one DICOM series of ``folder`` as a 3D image (LPS physical space).

    Parameters
    ----------
    folder : str or Path
        A directory of DICOM files.
    series_uid : str, optional
        SeriesInstanceUID to read; required when the folder holds more than one series.

    Raises
    ------
    InputFileError
        If the folder holds no series, if ``series_uid`` is not among them, or if it is ``None`` while
        several series exist. The message lists every series with UID, description and file count.
    """
    series = list_dicom_series(folder)
    if not series:
        raise InputFileError(f"DICOM folder {folder} holds no DICOM series")
    chosen = _choose_series(series, series_uid, folder)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(list(chosen.files))
    reader.MetaDataDictionaryArrayUpdateOn()
    try:
        image = reader.Execute()
    except RuntimeError as error:
        raise InputFileError(f"cannot read DICOM series {chosen} in {folder}: {error}") from error
    _check_one_volume(reader, chosen, folder)
    return image


def _check_one_volume(reader: sitk.ImageSeriesReader, series: DicomSeries, folder: str | Path) -> None:
    positions = {
        reader.GetMetaData(i, IMAGE_POSITION_TAG).strip()
        for i in range(series.n_files) if reader.HasMetaDataKey(i, IMAGE_POSITION_TAG)
    }
    if positions and len(positions) < series.n_files:
        raise InputFileError(
            f"DICOM series {series} in {folder} has only {len(positions)} distinct slice positions: it holds "
            "several volumes (for example DCE phases or DWI b-values); read it with read_dce or read_dwi"
        )


def _choose_series(series: list[DicomSeries], series_uid: str | None, folder: str | Path) -> DicomSeries:
    listing = "; ".join(str(s) for s in series)
    if series_uid is None:
        if len(series) == 1:
            return series[0]
        raise InputFileError(
            f"DICOM folder {folder} holds {len(series)} series; choose one with series_uid: {listing}"
        )
    for candidate in series:
        if candidate.series_uid == series_uid:
            return candidate
    raise InputFileError(f"DICOM folder {folder} has no series with UID {series_uid}; it holds: {listing}")


def _series_description(path: str) -> str:
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    reader.ReadImageInformation()
    if reader.HasMetaDataKey(SERIES_DESCRIPTION_TAG):
        return reader.GetMetaData(SERIES_DESCRIPTION_TAG).strip()
    return ""
