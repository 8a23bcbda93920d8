"""The extraction cache: one JSON file per finished exam, keyed by its inputs and the parameters.

Key. The cache key of an exam is a BLAKE2b digest of (a) the *content* of every input file the
manifest row names (DCE phases, DWI volumes and b-value/b-vector files, scanner ADC map,
segmentations, T1 map; every file of a DICOM folder), (b) the row's imaging columns (acquisition times,
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
``.tmp-*`` leftovers, which the next run removes (only those whose writer has ended, so that
the shards of a job array can share one cache folder: :func:`remove_leftovers`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import socket
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from .. import __version__
from ..errors import InputFileError
from ..io.manifest import IMAGING_COLUMNS as MANIFEST_IMAGING_COLUMNS
from ..io.manifest import SERIES_PREFIX

PATH_COLUMNS = tuple(sorted(name for name, column in MANIFEST_IMAGING_COLUMNS.items()
                           if column.kind in ("path", "paths", "bvals")))
"""Manifest columns that may name input files (``;``-separated lists, files or folders), with every
``series_<name>`` column of a row."""

IMAGING_COLUMNS = ("patient_id", "timepoint", *sorted(MANIFEST_IMAGING_COLUMNS))
"""Manifest columns whose values change the analysis of an exam: every imaging column the manifest reader
knows (``io.manifest.IMAGING_COLUMNS``, one list for both), plus each row's ``series_<name>`` columns. Clinical
and outcome columns do not change it."""

_CHUNK = 1 << 20


def series_columns(row: Mapping[str, object]) -> list[str]:
    """The row's ``series_<name>`` columns (further named series for multiparametric radiomics)."""
    return sorted(str(c) for c in row if str(c).startswith(SERIES_PREFIX) and len(str(c)) > len(SERIES_PREFIX))


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def input_files(row: Mapping[str, object], directory: Path) -> list[Path]:
    """Every existing input file a manifest row names, sorted, with folders expanded recursively.

    ``dwi_bvals`` may be a list of numbers rather than a file; entries that are not existing paths
    are ignored here (their text is part of the key through :data:`IMAGING_COLUMNS`).
    """
    files: set[Path] = set()
    for column in (*PATH_COLUMNS, *series_columns(row)):
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


ENTRY_FORMAT = 2
"""Layout of a cache entry (2: ``warning_stages`` beside ``warnings``). It is part of the key, so an entry of
another layout is recomputed, never misread."""


def exam_key(row: Mapping[str, object], directory: Path, parameters: Mapping[str, object]) -> str:
    """The cache key (64 hex digits) of one manifest row under the given analysis parameters."""
    return KeyMaker(parameters).key(row, directory)


class KeyMaker:
    """Cache keys of many rows under one set of parameters, each input file hashed once per run.

    A cohort's rows often share files (a common b-value file; test manifests of thousands of rows
    pointing at a few images): digests are remembered by (path, size, modification time, inode),
    and the parameters and versions are serialised once, so planning 10,000 rows takes seconds.
    The keys are those of :func:`exam_key` (the same JSON text, assembled in parts).
    """

    def __init__(self, parameters: Mapping[str, object]):
        self._tail = (', "parameters": ' + json.dumps(parameters, sort_keys=True, default=str)
                      + ', "versions": ' + json.dumps(software_versions(), sort_keys=True)
                      + f', "entry_format": {ENTRY_FORMAT}' + "}")
        self._digests: dict[tuple, str] = {}

    def digest(self, path: Path) -> str:
        """:func:`file_digest` of ``path``, remembered while the file's size and time stamp stay the same."""
        try:
            status = path.stat()
        except OSError as error:
            raise InputFileError(f"cannot read {path} to compute its cache key: {error}") from error
        memo = (str(path), status.st_size, status.st_mtime_ns, status.st_ino)
        if memo not in self._digests:
            self._digests[memo] = file_digest(path)
        return self._digests[memo]

    def key(self, row: Mapping[str, object], directory: Path) -> str:
        """The cache key of ``row`` (paths relative to ``directory``)."""
        columns = {c: (None if _is_empty(row.get(c)) else str(row.get(c)))
                   for c in (*IMAGING_COLUMNS, *series_columns(row))}
        files = [[p.name, self.digest(p)] for p in input_files(row, directory)]
        text = ('{"columns": ' + json.dumps(columns, sort_keys=True) + ', "files": ' + json.dumps(files)
                + self._tail)
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

    The temporary name carries this process's id and host (``.tmp-<pid>-<host>~...``), so that
    :func:`remove_leftovers` in another process writing to the same folder (a shard of a job
    array) can tell a live writer's file from one a killed process left.

    The file gets the mode an ordinary ``open`` would give (0666 minus the umask, e.g. 0644 under
    umask 022), not the 0600 of :func:`tempfile.mkstemp`, so colleagues sharing the folder can read it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-{_HOST}~", suffix=path.suffix,
                                         dir=path.parent)
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


TEMPORARY_PREFIX = ".tmp-"
STALE_TEMPORARY_S = 600.0
"""A temporary file older than this (s) is a leftover whatever wrote it: an entry is written in milliseconds."""
_HOST = socket.gethostname().replace("~", "-") or "localhost"
_OWNER = re.compile(r"^\.tmp-(\d+)-(.+?)~")


def is_leftover(path: Path, now: float | None = None) -> bool:
    """True when the temporary file ``path`` is no longer being written.

    That is: its writer was a process of this host that has ended, or its name names no writer
    (an older version's), or it is older than :data:`STALE_TEMPORARY_S` (a writer on another host).
    """
    owner = _OWNER.match(path.name)
    if owner is None:
        return True
    pid, host = int(owner.group(1)), owner.group(2)
    if host == _HOST and pid != os.getpid() and not _process_alive(pid):
        return True
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except OSError:
        return False  # renamed meanwhile: it was live
    return age > STALE_TEMPORARY_S


def _process_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT; rely on the age there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def current_umask() -> int:
    """The process umask (read by setting it and restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_leftovers(folder: Path) -> int:
    """Delete the ``.tmp-*`` files killed runs left in ``folder`` (see :func:`is_leftover`); returns how many.

    Temporary files of processes still writing (other shards sharing the folder) are kept.
    """
    leftovers = [p for p in folder.glob(TEMPORARY_PREFIX + "*") if is_leftover(p)] if folder.is_dir() else []
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
