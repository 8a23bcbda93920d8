"""Read a dynamic contrast-enhanced (DCE) series from 3D files, one 4D file or a DICOM folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import SimpleITK as sitk

from ..errors import AcquisitionError, InputFileError
from .dicom import list_dicom_series, read_dicom_series
from .exam import DceSeries
from .geometry import grid_difference
from .images import read_image

SERIES_NUMBER_TAG = "0020|0011"
TEMPORAL_POSITION_TAG = "0020|0100"
"""DICOM TemporalPositionIdentifier, used to split one series holding every phase."""


def read_dce(source: str | Path | Sequence[str | Path], times_s: Sequence[float], roi_phase: int = 1) -> DceSeries:
    """Read the DCE phases and pair them with their acquisition times.

    Parameters
    ----------
    source : str, Path or sequence of them
        One 3D file per phase (a sequence, in acquisition order); one 4D file (NIfTI ``t`` axis, or NRRD
        with a ``list``/``vector`` axis); or a DICOM folder holding either one series per phase (ordered
        by SeriesNumber) or one series whose files carry TemporalPositionIdentifier (0020,0100).
    times_s : sequence of float, (n_phases,)
        Acquisition time of each phase relative to the pre-contrast phase, s.
    roi_phase : int
        Index of the phase the ROI was drawn on (default 1, the first post-contrast phase).

    Returns
    -------
    DceSeries

    Raises
    ------
    InputFileError
        If a file cannot be read.
    AcquisitionError
        If the number of phases differs from ``len(times_s)`` or the phases are not on one grid.
    """
    label = str(source) if isinstance(source, (str, Path)) else "; ".join(str(s) for s in source)
    phases = _read_phases(source)
    if len(phases) != len(times_s):
        raise AcquisitionError(
            f"DCE source {label} holds {len(phases)} phases but {len(times_s)} acquisition times were given"
        )
    _check_same_grid(phases, label)
    return DceSeries(tuple(phases), tuple(float(t) for t in times_s), roi_phase)


def _read_phases(source) -> list[sitk.Image]:
    if not isinstance(source, (str, Path)):
        return [read_image(path) for path in source]
    if Path(source).is_dir():
        return _read_dicom_phases(Path(source))
    return split_4d(read_image(source), str(source))


def split_4d(image: sitk.Image, source: str) -> list[sitk.Image]:
    """Split a 4D image (or a 3D vector image) into its 3D volumes, in order of the 4th axis."""
    if image.GetNumberOfComponentsPerPixel() > 1:
        return [sitk.VectorIndexSelectionCast(image, i) for i in range(image.GetNumberOfComponentsPerPixel())]
    if image.GetDimension() == 4:
        size = list(image.GetSize())
        return [sitk.Extract(image, size[:3] + [0], [0, 0, 0, t]) for t in range(size[3])]
    raise InputFileError(f"{source} is a single 3D volume; a time series needs a 4D file or one file per phase")


def _read_dicom_phases(folder: Path) -> list[sitk.Image]:
    series = list_dicom_series(folder)
    if len(series) > 1:
        series.sort(key=lambda s: int(_tag(s.files[0], SERIES_NUMBER_TAG) or 0))
        return [read_dicom_series(folder, s.series_uid) for s in series]
    if not series:
        raise InputFileError(f"DICOM folder {folder} holds no DICOM series")
    groups: dict[str, list[str]] = {}
    for path in series[0].files:
        groups.setdefault(_tag(path, TEMPORAL_POSITION_TAG), []).append(path)
    return [_read_files(groups[key]) for key in sorted(groups, key=lambda k: int(k or 0))]


def _read_files(files: list[str]) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(files)
    return reader.Execute()


def _tag(path: str, tag: str) -> str:
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    reader.ReadImageInformation()
    return reader.GetMetaData(tag).strip() if reader.HasMetaDataKey(tag) else ""


def _check_same_grid(phases: list[sitk.Image], label: str) -> None:
    """Refuse DCE phases on different grids, naming the file (1-based position) and what differs (size, spacing, origin)."""
    items = phases
    names = label.split("; ")
    first = items[0]
    for index, item in enumerate(items[1:], start=1):
        difference = grid_difference(item, first)
        if difference:
            where = (f"{names[index]} (DCE phase {index + 1} of {len(items)})" if len(names) == len(items)
                     else f"DCE phase {index + 1} of {len(items)} in {label}")
            reference = names[0] if len(names) == len(items) else "phase 1"
            raise AcquisitionError(f"{where} is not on the grid of {reference}: {difference}; "
                                   f"resample the phases onto one grid")
