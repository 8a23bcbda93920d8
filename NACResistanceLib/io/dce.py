"""Read a dynamic contrast-enhanced (DCE) series from 3D files, one 4D file or a DICOM folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import SimpleITK as sitk

from ..errors import AcquisitionError, InputFileError
from .dicom_dce import DicomDce, read_dicom_dce
from .dicom_index import DicomIndex, index_folder
from .exam import DceSeries
from .geometry import require_same_grid
from .images import read_image

DCE_TIME_TOLERANCE_S = 3.0
"""Largest difference (s) allowed between a given acquisition time and the DICOM header's before it is an error."""


def read_dce(source: str | Path | Sequence[str | Path], times_s: Sequence[float] | None = None, roi_phase: int = 1,
             *, series: str | None = None, time_tolerance_s: float = DCE_TIME_TOLERANCE_S) -> DceSeries:
    """Read the DCE phases and pair them with their acquisition times.

    Parameters
    ----------
    source : str, Path or sequence of them
        One 3D file per phase (a sequence, in acquisition order); one 4D file (NIfTI ``t`` axis, or NRRD
        with a ``list``/``vector`` axis); or a DICOM folder, or several (:func:`~.dicom_dce.read_dicom_dce`:
        one series per phase, one series holding every phase, or enhanced MR).
    times_s : sequence of float, (n_phases,), optional
        Acquisition time of each phase relative to the pre-contrast phase, s. Optional for a DICOM folder
        whose headers give the times; when both are given they must agree to ``time_tolerance_s``.
    roi_phase : int
        Index of the phase the ROI was drawn on (default 1, the first post-contrast phase).
    series : str, optional
        DICOM only: SeriesInstanceUID, SeriesNumber or SeriesDescription pattern of the DCE series.

    Returns
    -------
    DceSeries
        ``times_source`` names where the times came from (a DICOM tag, or ``dce_times_s``).

    Raises
    ------
    InputFileError
        If a file cannot be read, or no times are given for a source without header times.
    AcquisitionError
        If the number of phases differs from ``len(times_s)``, given and header times disagree (both are
        named), or the phases are not on one grid.
    """
    label = str(source) if isinstance(source, (str, Path)) else "; ".join(str(s) for s in source)
    folders = [Path(source)] if isinstance(source, (str, Path)) else [Path(s) for s in source]
    if folders and all(folder.is_dir() for folder in folders):
        dicom = read_dicom_dce(label, series, index=_combined_index(folders))
        phases = list(dicom.phases)
        times, times_source = _reconcile_times(dicom, times_s, label, time_tolerance_s)
    else:
        phases = _read_phases(source)
        if times_s is None:
            raise InputFileError(f"DCE source {label}: acquisition times (dce_times_s) are required; only DICOM "
                                 "folders carry them in their headers")
        times, times_source = [float(t) for t in times_s], "dce_times_s"
    if len(phases) != len(times):
        raise AcquisitionError(
            f"DCE source {label} holds {len(phases)} phases but {len(times)} acquisition times were given"
        )
    require_same_grid(phases, label, "DCE phase", "phases")
    return DceSeries(tuple(phases), tuple(float(t) for t in times), roi_phase, times_source)


def _combined_index(folders: list[Path]) -> DicomIndex:
    """One index over several DICOM folders (one series per phase, each in its own folder)."""
    indices = [index_folder(folder, keep_datasets=True) for folder in folders]
    combined = DicomIndex(folders[0])
    for index in indices:
        combined.frames.extend(index.frames)
        combined.datasets.update(index.datasets)
    return combined


def _reconcile_times(dicom: DicomDce, given, label: str, tolerance_s: float) -> tuple[list[float], str]:
    left_out = f"; derived/diffusion series left out: {dicom.left_out_text()}" if dicom.left_out else ""
    if given is None:
        if dicom.times_s is None:
            raise InputFileError(
                f"DCE DICOM folder {label}: the headers give no acquisition times for its {len(dicom.phases)} phases "
                "(no AcquisitionTime/TriggerTime increasing from phase to phase); give them in dce_times_s"
            )
        return list(dicom.times_s), dicom.times_source
    given = [float(t) for t in given]
    if len(given) != len(dicom.phases):
        raise AcquisitionError(
            f"DCE source {label} holds {len(dicom.phases)} phases but {len(given)} acquisition times were given"
            + left_out + (f"; its headers give {_times_text(dicom.times_s)} ({dicom.times_source})"
                          if dicom.times_s else "")
        )
    if dicom.times_s is not None:
        for phase, (mine, theirs) in enumerate(zip(given, dicom.times_s)):
            if abs(mine - theirs) > tolerance_s:
                raise AcquisitionError(
                    f"DCE source {label}, phase {phase}: dce_times_s gives {mine:g} s but the DICOM header gives "
                    f"{theirs:.1f} s ({dicom.times_source}); they differ by more than {tolerance_s:g} s. Header "
                    f"times: {_times_text(dicom.times_s)}; fix dce_times_s or leave it empty to use the headers"
                )
        return given, f"dce_times_s (agrees with {dicom.times_source} to {tolerance_s:g} s)"
    return given, "dce_times_s"


def _times_text(times) -> str:
    return "; ".join(f"{t:.1f}" for t in times) + " s"


def _read_phases(source) -> list[sitk.Image]:
    if not isinstance(source, (str, Path)):
        return [read_image(path) for path in source]
    return split_4d(read_image(source), str(source))


def split_4d(image: sitk.Image, source: str) -> list[sitk.Image]:
    """Split a 4D image (or a 3D vector image) into its 3D volumes, in order of the 4th axis."""
    if image.GetNumberOfComponentsPerPixel() > 1:
        return [sitk.VectorIndexSelectionCast(image, i) for i in range(image.GetNumberOfComponentsPerPixel())]
    if image.GetDimension() == 4:
        size = list(image.GetSize())
        return [sitk.Extract(image, size[:3] + [0], [0, 0, 0, t]) for t in range(size[3])]
    raise InputFileError(f"{source} is a single 3D volume; a time series needs a 4D file or one file per phase")
