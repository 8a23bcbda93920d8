"""Read medical images (NIfTI, NRRD, MHA files or DICOM folders) into SimpleITK images."""

from __future__ import annotations

from pathlib import Path

import SimpleITK as sitk

from ..errors import InputFileError
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
        ambiguous or unknown (the message lists the series of the folder).
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
    try:
        return sitk.ReadImage(str(path))
    except RuntimeError as error:
        raise InputFileError(f"cannot read image file {path}: {error}") from error
