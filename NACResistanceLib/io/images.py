"""Read medical images (NIfTI, NRRD, MHA files or DICOM folders) into SimpleITK images."""

from __future__ import annotations

from pathlib import Path

import SimpleITK as sitk

from ..errors import InputFileError
from .completeness import check_complete
from .dicom import read_dicom_series

IMAGE_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")
"""File name endings read as single image files; a directory is read as a DICOM folder."""


def read_image(path: str | Path, *, series_uid: str | None = None, series: str | None = None) -> sitk.Image:
    """Read an image file or a DICOM series folder.

    Parameters
    ----------
    path : str or Path
        A NIfTI (``.nii``, ``.nii.gz``), NRRD (``.nrrd``, ``.nhdr``) or MetaImage (``.mha``, ``.mhd``)
        file, or a directory of DICOM files.
    series_uid : str, optional
        SeriesInstanceUID to read from a DICOM folder that holds several series. Ignored for files.
    series : str, optional
        Like ``series_uid``, or a SeriesNumber or SeriesDescription pattern (``*`` wildcards, any case).

    Returns
    -------
    SimpleITK.Image
        The image in LPS physical space, pixel type as stored (SimpleITK converts NIfTI RAS to LPS).

    Raises
    ------
    InputFileError
        If the path does not exist, has an unknown ending, cannot be read, or the DICOM series choice is
        ambiguous or unknown (the message lists the series of the folder), or holds fewer pixel bytes
        than its header describes (a truncated copy; see :mod:`.completeness`).
    """
    path = Path(path)
    if path.is_dir():
        return read_dicom_series(path, series_uid, series=series)
    if not path.is_file():
        raise InputFileError(f"image file {path} does not exist")
    if not path.name.lower().endswith(IMAGE_SUFFIXES):
        raise InputFileError(
            f"image file {path} has an unknown ending; expected one of {', '.join(IMAGE_SUFFIXES)} "
            "or a DICOM folder"
        )
    check_complete(path)
    try:
        return sitk.ReadImage(str(path))
    except RuntimeError as error:
        raise InputFileError(f"cannot read image file {path}: {itk_reason(error)}; check that it is a complete "
                             f"NIfTI, NRRD or MetaImage file") from None


def itk_reason(error: BaseException) -> str:
    """The useful sentence of a SimpleITK/ITK/teem error, without C++ source paths and multi-line dumps."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if "sitk::ERROR:" in line:
            return line.split("sitk::ERROR:", 1)[1].strip()
    for line in reversed(lines):
        if not line.startswith(("Exception thrown", "/", "itk::")) and ".cxx:" not in line and ".h:" not in line:
            return line.replace("[nrrd] ", "")
    return "the file is not a readable image"
