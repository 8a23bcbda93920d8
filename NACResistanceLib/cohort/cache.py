"""The extraction cache: one JSON file per finished exam, keyed by its inputs and the parameters.

Key. The cache key of an exam is a BLAKE2b digest of (a) the *content* of every input file the
manifest row names (DCE phases, DWI volumes and b-value/b-vector files, scanner ADC map,
segmentations; every file of a DICOM folder), (b) the row's imaging columns (acquisition times,
ROI phase, segment names, units), (c) the analysis parameters (``AnalysisConfig.to_dict()``) and
(d) the library and pyradiomics versions.

Why content and not size + modification time + path: a cohort is copied, cloned, restored from
backup or moved to a cluster's scratch space, and each of those changes modification times (and
paths), which would silently throw away hours of finished work; conversely a re-exported file of
the same size written within the file system's timestamp resolution would be missed. Hashing
costs one sequential read of the inputs (about 1 s per GB), small next to the extraction itself
(seconds per exam).

Files. A finished exam is ``<patient>__<timepoint>__<key[:16]>.json`` written to a temporary
name in the same folder and renamed with :func:`os.replace` (atomic on POSIX and Windows), so a
file that exists is complete; a run killed at any point leaves only finished files and
``.tmp-*`` leftovers, which the next run removes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .. import __version__
from ..errors import InputFileError

PATH_COLUMNS = ("dce_phases", "dwi", "dwi_bvals", "dwi_bvecs", "adc", "segmentation", "segmentation_reader2")
"""Manifest columns that may name input files (``;``-separated lists, files or folders)."""

IMAGING_COLUMNS = (
    "patient_id", "timepoint", "dce_phases", "dce_times_s", "dce_roi_phase", "dwi", "dwi_bvals",
    "dwi_bvecs", "adc", "adc_unit", "segmentation", "tumor_segment", "reference_segment",
    "segmentation_reader2", "tumor_segment_reader2",
    "dce_series", "dwi_series", "adc_series", "segmentation_series",
)
"""Manifest columns whose values change the analysis of an exam (clinical and outcome columns do not)."""

_CHUNK = 1 << 20


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def input_files(row: Mapping[str, object], directory: Path) -> list[Path]:
    """Every existing input file a manifest row names, sorted, with folders expanded recursively.

    ``dwi_bvals`` may be a list of numbers rather than a file; entries that are not existing paths
    are ignored here (their text is part of the key through :data:`IMAGING_COLUMNS`).
    """
    files: set[Path] = set()
    for column in PATH_COLUMNS:
        value = row.get(column)
        if _is_empty(value):
            continue
        for item in str(value).split(";"):
            path = Path(item.strip())
            path = path if path.is_absolute() else directory / path
            if path.is_dir():
                files.update(p for p in path.rglob("*") if p.is_file())
            elif path.is_file():
                files.add(path)
    return sorted(files)


def file_digest(path: Path) -> str:
    """BLAKE2b (128-bit) hex digest of a file's bytes."""
    digest = hashlib.blake2b(digest_size=16)
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
    except OSError as error:
        raise InputFileError(f"cannot read {path} to compute its cache key: {error}") from error
    return digest.hexdigest()


def exam_key(row: Mapping[str, object], directory: Path, parameters: Mapping[str, object]) -> str:
    """The cache key (64 hex digits) of one manifest row under the given analysis parameters."""
    record = {
        "columns": {c: (None if _is_empty(row.get(c)) else str(row.get(c))) for c in IMAGING_COLUMNS},
        "files": [[p.name, file_digest(p)] for p in input_files(row, directory)],
        "parameters": parameters,
        "versions": software_versions(),
    }
    text = json.dumps(record, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=32).hexdigest()


def software_versions() -> dict[str, str]:
    """Versions that change extracted values: this library and pyradiomics."""
    try:
        import radiomics

        radiomics_version = str(getattr(radiomics, "__version__", "unknown"))
    except ImportError:
        radiomics_version = "not installed"
    return {"NACResistanceLib": __version__, "pyradiomics": radiomics_version}


def entry_name(patient_id: str, timepoint: str, key: str) -> str:
    """File name of a cache entry (patient ids are restricted to letters, digits, ``_-.``)."""
    return f"{patient_id}__{timepoint}__{key[:16]}.json"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and :func:`os.replace`.

    The file gets the mode an ordinary ``open`` would give (0666 minus the umask, e.g. 0644 under
    umask 022), not the 0600 of :func:`tempfile.mkstemp`, so colleagues sharing the folder can read it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        os.chmod(temporary, 0o666 & ~current_umask())
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process umask (read by setting it and restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_leftovers(folder: Path) -> int:
    """Delete ``.tmp-*`` files a killed run left in ``folder``; returns how many were removed."""
    leftovers = list(folder.glob(".tmp-*")) if folder.is_dir() else []
    for path in leftovers:
        path.unlink(missing_ok=True)
    return len(leftovers)


def write_entry(path: Path, payload: Mapping[str, object]) -> None:
    """Store one finished exam (features, units, descriptions, warnings, provenance) atomically, keys in order."""
    write_atomic(path, json.dumps(payload, allow_nan=True, default=str))


def read_entry(path: Path) -> dict:
    """Read a cache entry written by :func:`write_entry` (floats round-trip exactly; NaN kept)."""
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)
