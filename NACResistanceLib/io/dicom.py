"""DICOM folders: list the series they hold and read one series into a SimpleITK image.

Headers are read once per file with pydicom (:mod:`.dicom_index`); pixel data only for the series read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import SimpleITK as sitk

from ..errors import InputFileError
from .dicom_index import DicomIndex, PixelCache, SeriesInfo, build_volume, index_folder, matches


@dataclass(frozen=True)
class DicomSeries:
    """One DICOM series found in a folder."""

    series_uid: str
    """SeriesInstanceUID (0020,000E)."""
    description: str
    """SeriesDescription (0008,103E), ``""`` when absent."""
    files: tuple[str, ...]
    """Files of the series, sorted by name."""
    number: int | None = None
    """SeriesNumber (0020,0011)."""
    n_volumes: int = 1
    """3D volumes the series holds (images per slice position)."""
    b_values: tuple[float, ...] = ()
    """Distinct diffusion b-values, s/mm² (empty for non-diffusion series)."""
    derived: bool = False
    """ImageType marks it computed (DERIVED, subtraction, MIP, ADC...)."""

    @property
    def n_files(self) -> int:
        """Number of files in the series."""
        return len(self.files)

    def __str__(self) -> str:
        return f"{self.series_uid} ({self.description or 'no description'}, {self.n_files} files)"


def list_dicom_series(folder: str | Path, index: DicomIndex | None = None) -> list[DicomSeries]:
    """List the image series in ``folder`` (not recursive), one entry per SeriesInstanceUID, sorted by UID.

    Raises
    ------
    InputFileError
        If ``folder`` is not a directory.
    """
    index = index or index_folder(folder)
    return sorted((_summary(s) for s in index.series()), key=lambda s: s.series_uid)


def _summary(series: SeriesInfo) -> DicomSeries:
    return DicomSeries(series.series_uid, series.description, tuple(sorted(series.files)), series.number,
                       series.n_volumes, series.b_values, series.is_derived)


def read_dicom_series(folder: str | Path, series_uid: str | None = None, *, series: str | None = None,
                      index: DicomIndex | None = None) -> sitk.Image:
    """Read one single-volume DICOM series of ``folder`` as a 3D image (LPS physical space).

    Parameters
    ----------
    folder : str or Path
        A directory of DICOM files.
    series_uid : str, optional
        SeriesInstanceUID to read; needed (or ``series``) when the folder holds more than one series.
    series : str, optional
        A SeriesInstanceUID, a SeriesNumber or a SeriesDescription pattern (``*`` wildcards, any case).

    Raises
    ------
    InputFileError
        If the folder holds no series, if the choice matches none or several, or if it is ``None`` while
        several series exist. The message lists every series with UID, description and file count.
    """
    index = index or index_folder(folder, keep_datasets=True)
    found = index.series()
    if not found:
        raise InputFileError(f"DICOM folder {folder} holds no DICOM series")
    chosen = _choose(found, series_uid or series, folder)
    if chosen.n_volumes > 1:
        raise InputFileError(
            f"DICOM series {_summary(chosen)} in {folder} has only {chosen.n_positions} distinct slice positions: it "
            f"holds several volumes ({chosen.n_volumes}, for example DCE phases or DWI b-values); read it with "
            "read_dce or read_dwi"
        )
    return build_volume(list(chosen.frames), PixelCache(index))


def _choose(found: list[SeriesInfo], selector: str | None, folder) -> SeriesInfo:
    listing = "; ".join(str(_summary(s)) for s in sorted(found, key=lambda s: s.series_uid))
    if selector is None:
        if len(found) == 1:
            return found[0]
        raise InputFileError(
            f"DICOM folder {folder} holds {len(found)} series; choose one with series_uid (or a SeriesNumber or "
            f"SeriesDescription pattern): {listing}"
        )
    chosen = [s for s in found if matches(s, selector)]
    if len(chosen) == 1:
        return chosen[0]
    if not chosen:
        raise InputFileError(f"DICOM folder {folder} has no series with UID {selector}; it holds: {listing} "
                             "(a SeriesNumber or SeriesDescription pattern also selects)")
    raise InputFileError(f"DICOM folder {folder}: {selector!r} matches {len(chosen)} series; it holds: {listing}")
