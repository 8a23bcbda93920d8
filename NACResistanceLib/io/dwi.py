"""Read a diffusion-weighted series: 3D files per volume, one 4D file with FSL bval/bvec, or DICOM.

b-values are in s/mm². Gradient directions are returned as LPS unit vectors (world space). No
b=0 volume is required: every fit of :mod:`NACResistanceLib.diffusion` estimates S0 as a parameter.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..errors import AcquisitionError, InputFileError
from .dce import split_4d
from .dicom_index import (
    GRADIENT_DECIMALS,
    PixelCache,
    build_volume,
    choose_series,
    dwi_candidates,
    index_folder,
    split_volumes,
)
from .exam import DwiSeries
from .geometry import require_same_grid
from .images import read_image

B_VALUE_TAGS = (
    ("0018|9087", "standard DiffusionBValue"),
    ("0019|100c", "Siemens B_value"),
    ("0029|1010", "Siemens CSA header B_value"),
    ("0043|1039", "GE slop_int_6 (first value; 10⁹ offset removed)"),
    ("2001|1003", "Philips DiffusionBValue"),
)
"""DICOM tags read for the b-value of a file, in this order (:func:`.dicom_tags.classic_diffusion`)."""
UNIT_TOLERANCE = 0.05
"""Allowed deviation of a b > 0 gradient vector's norm from 1 before it is renormalised."""
B0_LIMIT = 50.0
"""Volumes with b <= this (s/mm²) may have a zero gradient vector."""

logger = logging.getLogger(__name__)


def read_dwi(source: str | Path | Sequence[str | Path], bvals: Sequence[float] | str | Path | None = None,
             bvecs: str | Path | np.ndarray | None = None, *, series: str | None = None) -> DwiSeries:
    """Read a DWI series.

    Parameters
    ----------
    source : one 4D NIfTI/NRRD file (volumes on the 4th axis), a sequence of 3D files (one per
        volume, e.g. trace images per b-value), or a DICOM folder of one diffusion series.
    bvals : (n_volumes,) b-values in s/mm², or the path of an FSL ``bval`` file. ``None`` for DICOM,
        where each file's b-value is read from (0018,9087) or the vendor tags of :data:`B_VALUE_TAGS`, and
        for a Slicer/3D Slicer DWI NRRD, whose header gives ``DWMRI_b-value`` and ``DWMRI_gradient_NNNN``.
    bvecs : path of an FSL ``bvec`` file (3 rows; voxel axes, first axis flipped when the image's
        direction matrix has a positive determinant, as FSL defines it), an ``(n_volumes, 3)`` LPS
        array, or ``None`` for trace-weighted volumes. DICOM: read from (0018,9089) or the vendor tags.
    series : for a DICOM folder holding several series, the one to read: a SeriesInstanceUID, a
        SeriesNumber or a SeriesDescription pattern (``*`` wildcards, any case).

    Returns
    -------
    DwiSeries
        Volumes in input order (DICOM: acquisition order), LPS unit ``bvecs`` or ``None``.

    Raises
    ------
    InputFileError
        Unreadable file, missing b-values, malformed bval/bvec file.
    AcquisitionError
        Count mismatch, negative b, volumes not on one grid, zero or non-unit gradient vectors.
    """
    label = str(source) if isinstance(source, (str, Path)) else "; ".join(str(s) for s in source)
    if isinstance(source, (str, Path)) and Path(source).is_dir():
        volumes, dicom_bvals, dicom_bvecs = read_dicom_dwi(Path(source), series)
        bvals = dicom_bvals if bvals is None else bvals
        bvecs = dicom_bvecs if bvecs is None else bvecs
    elif isinstance(source, (str, Path)):
        volumes = split_4d(read_image(source), str(source))
        if bvals is None and str(source).lower().endswith((".nrrd", ".nhdr")):
            bvals, header_bvecs = nrrd_gradient_table(Path(source))
            bvecs = header_bvecs if bvecs is None else bvecs
    else:
        volumes = [read_image(path) for path in source]
    if bvals is None:
        raise InputFileError(f"DWI {label}: b-values are required (list or FSL bval file) for this source")
    b = _read_numbers(bvals).ravel() if isinstance(bvals, (str, Path)) else np.asarray(bvals, dtype=float)
    require_same_grid(volumes, label, "DWI volume", "volumes")
    if b.size != len(volumes):
        raise AcquisitionError(f"DWI {label} holds {len(volumes)} volumes but {b.size} b-values were given")
    vectors = None if bvecs is None else _gradient_vectors(bvecs, volumes[0], b, label)
    if b.size and b.min() > B0_LIMIT:
        logger.info("DWI %s has no b <= %s s/mm² volume; every diffusion fit estimates S0 as a parameter", label, B0_LIMIT)
    return DwiSeries(tuple(volumes), tuple(float(v) for v in b), vectors)


def _read_numbers(path: str | Path) -> np.ndarray:
    try:
        return np.loadtxt(str(path), dtype=float, ndmin=2)
    except (OSError, ValueError) as error:
        raise InputFileError(f"cannot read numbers from {path}: {error}") from error


def _gradient_vectors(bvecs, reference: sitk.Image, bvals: np.ndarray, label: str) -> np.ndarray:
    if isinstance(bvecs, (str, Path)):
        table = _read_numbers(bvecs)
        rows, columns = table.shape
        if (rows, columns) not in ((3, bvals.size), (bvals.size, 3)):
            raise AcquisitionError(
                f"bvec file {bvecs} holds {rows} rows x {columns} columns, but DWI {label} has {bvals.size} volumes: "
                f"expected 3 rows x {bvals.size} columns (FSL: one column per volume) or {bvals.size} rows x 3 columns"
            )
        vectors = fsl_bvecs_to_lps(table, reference)
    else:
        vectors = np.asarray(bvecs, dtype=float)
    if vectors.shape != (bvals.size, 3):
        raise AcquisitionError(f"DWI {label}: bvecs have shape {vectors.shape}, expected ({bvals.size}, 3)")
    norms = np.linalg.norm(vectors, axis=1)
    weighted = bvals > B0_LIMIT
    bad = weighted & (np.abs(norms - 1.0) > UNIT_TOLERANCE)
    if np.any(bad):
        raise AcquisitionError(
            f"DWI {label}: gradient vectors of volumes {np.flatnonzero(bad).tolist()} (b > {B0_LIMIT:.0f} s/mm²) "
            f"have norms {np.round(norms[bad], 3).tolist()}, not 1; fix the bvec file"
        )
    return np.divide(vectors, norms[:, None], out=np.zeros_like(vectors), where=norms[:, None] > 0)


def fsl_bvecs_to_lps(table: np.ndarray, reference: sitk.Image) -> np.ndarray:
    """FSL bvec table (``(3, n)`` or ``(n, 3)``, voxel axes) -> ``(n, 3)`` LPS world directions.

    FSL stores gradients along the image's voxel axes, with the first axis negated when the
    voxel-to-world matrix has a positive determinant (FSL FDT documentation). The world direction
    is then ``D @ g`` with ``D`` the image's LPS direction matrix (its first three axes).
    """
    table = table.T if table.shape[0] == 3 and table.shape[1] != 3 else table
    if table.ndim != 2 or table.shape[1] != 3:
        raise InputFileError(f"a bvec table must have 3 rows (FSL) or 3 columns, got shape {table.shape}")
    dim = reference.GetDimension()
    direction = np.asarray(reference.GetDirection(), dtype=float).reshape(dim, dim)[:3, :3]
    voxel = table.copy()
    if np.linalg.det(direction) > 0:
        voxel[:, 0] *= -1
    return voxel @ direction.T


def read_dicom_dwi(folder: Path, series: str | None = None) -> tuple[list[sitk.Image], np.ndarray, np.ndarray | None]:
    """Read a DICOM diffusion series (classic or enhanced multi-frame) with pydicom.

    Each file's header is read once (:func:`~NACResistanceLib.io.dicom_index.index_folder`); b-values and
    LPS gradient directions come from the standard or vendor tags (:func:`~NACResistanceLib.io.dicom_tags.classic_diffusion`).
    Images are grouped into volumes by the Philips volume number when every image has one, else by
    (b-value, direction); repeated acquisitions (several b=0 volumes) are told apart by acquisition order.

    Returns the volumes in acquisition order, their b-values (s/mm²) and LPS unit directions (zero for
    b=0; ``None`` when a diffusion-weighted volume has no direction, i.e. trace-weighted images).
    """
    index = index_folder(folder, keep_datasets=True)
    found = index.series()
    candidates = dwi_candidates(found)
    if not candidates and len(found) == 1:
        frame = found[0].first
        raise InputFileError(
            f"DICOM file {frame.path} has no readable diffusion b-value; looked for "
            + ", ".join(f"({t.replace('|', ',')}) {name}" for t, name in B_VALUE_TAGS)
            + "; pass the b-values explicitly"
        )
    chosen = choose_series(candidates, series, folder, "DWI", found)
    frames = list(chosen.frames)
    missing = [f.path for f in frames if f.b_value is None]
    if missing:
        raise InputFileError(f"DICOM file {missing[0]} of DWI series {chosen.describe()} has no readable diffusion "
                             f"b-value ({len(missing)} such files)")
    use_vendor_index = all(f.volume_key is not None for f in frames)
    volumes_frames = split_volumes(frames, (lambda f: f.volume_key) if use_vendor_index else _volume_key)
    volumes_frames = _without_trace_volumes(volumes_frames, chosen.describe())
    cache = PixelCache(index)
    volumes = [build_volume(v, cache) for v in volumes_frames]
    bvals = np.array([float(np.mean([f.b_value for f in v])) for v in volumes_frames])
    directions = []
    for volume, b in zip(volumes_frames, bvals):
        gradient = volume[0].gradient
        if gradient is None and b >= B0_LIMIT:
            return volumes, bvals, None
        directions.append(gradient or (0.0, 0.0, 0.0))
    if all(b < B0_LIMIT for b in bvals):
        return volumes, bvals, None
    return volumes, bvals, np.array(directions, dtype=float)


def _without_trace_volumes(volumes: list[list], label: str) -> list[list]:
    """Drop b > 0 volumes without a direction when others have one: the isotropic (trace) image that
    Philips and others store in the diffusion series itself (dcm2niix drops it too)."""
    weighted = [v for v in volumes if v[0].b_value >= B0_LIMIT]
    directional = [v for v in weighted if v[0].gradient is not None]
    if not directional or len(directional) == len(weighted):
        return volumes
    dropped = [v for v in weighted if v[0].gradient is None]
    logger.info("DWI %s: dropped %d isotropic (trace) volume(s) at b = %s s/mm² (b > 0 without a direction)", label,
                len(dropped), ", ".join(f"{v[0].b_value:g}" for v in dropped))
    return [v for v in volumes if not any(v is d for d in dropped)]


def _volume_key(frame) -> tuple:
    gradient = None if frame.gradient is None else tuple(round(v, GRADIENT_DECIMALS) for v in frame.gradient)
    return (round(frame.b_value), gradient)


NRRD_SPACES = {
    "left-posterior-superior": np.eye(3),
    "right-anterior-superior": np.diag([-1.0, -1.0, 1.0]),
    "left-anterior-superior": np.diag([1.0, -1.0, 1.0]),
}
"""NRRD world spaces we accept, as the matrix taking their coordinates to LPS."""


def nrrd_gradient_table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """b-values (s/mm²) and LPS unit directions from a DWI NRRD header (the 3D Slicer convention).

    ``b_i = DWMRI_b-value · |g_i|²`` and ``direction_i = M · g_i / |g_i|`` with ``M`` the measurement
    frame (its vectors are the columns) followed by the header's ``space`` into LPS.
    """
    fields = _nrrd_header(path)
    if "DWMRI_b-value" not in fields:
        raise InputFileError(f"NRRD {path} has no DWMRI_b-value in its header; pass the b-values explicitly")
    keys = sorted(k for k in fields if k.startswith("DWMRI_gradient_"))
    gradients = np.array([[float(x) for x in fields[k].split()] for k in keys])
    space = fields.get("space", "left-posterior-superior")
    if space not in NRRD_SPACES:
        raise InputFileError(f"NRRD {path}: space {space!r} is not one of {sorted(NRRD_SPACES)}")
    frame = np.eye(3)
    if "measurement frame" in fields:
        columns = [[float(x) for x in vector.strip("()").split(",")] for vector in fields["measurement frame"].split()]
        frame = np.array(columns).T
    norms = np.linalg.norm(gradients, axis=1)
    bvals = float(fields["DWMRI_b-value"]) * norms**2
    directions = (NRRD_SPACES[space] @ frame @ gradients.T).T
    return bvals, np.divide(directions, norms[:, None], out=np.zeros_like(directions), where=norms[:, None] > 0)


def _nrrd_header(path: Path) -> dict[str, str]:
    """``field: value`` and ``key:=value`` lines of an NRRD header (up to the first blank line)."""
    fields: dict[str, str] = {}
    with open(path, "rb") as handle:
        for raw in handle:
            line = raw.decode("latin-1").rstrip("\r\n")
            if not line:
                break
            key, sep, value = line.partition(":=") if ":=" in line else line.partition(": ")
            if sep and not line.startswith("#"):
                fields[key.strip()] = value.strip()
    return fields
