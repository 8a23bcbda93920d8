"""What an extraction will do, decided before any image is read: exams, shards, cached, to compute, invalid.

The plan is deterministic: the same manifest, parameters and cache give the same plan on every
machine, so the N shards of a job array (``extract --shard K/N``) split the cohort without talking
to each other. A shard is chosen by a stable hash of the exam's ``(patient_id, timepoint)``, never
by row position, so adding or reordering rows moves no other exam to another shard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import ConfigError, NACResistanceError, describe
from . import cache

if TYPE_CHECKING:
    from ..io.manifest import SkippedRow

CACHED, COMPUTE, INVALID = "cached", "compute", "invalid"
"""Statuses of a planned exam: a cache file exists; it will be analysed; its inputs cannot be read."""
PLAN_COLUMNS = ["row", "patient_id", "timepoint", "shard", "status", "cache_file", "reason"]


@dataclass(frozen=True)
class Shard:
    """The ``index``-th (1-based) of ``count`` deterministic parts of a cohort."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not (isinstance(self.count, int) and isinstance(self.index, int) and 1 <= self.index <= self.count):
            raise ConfigError(f"shard must be K/N with 1 <= K <= N, got {self.index}/{self.count} (option --shard)")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"3/8"`` -> ``Shard(3, 8)``."""
        parts = str(text).strip().split("/")
        try:
            index, count = (int(p) for p in parts)
        except ValueError:
            raise ConfigError(f"shard must be K/N (e.g. 3/8 for the third of eight shards), got {text!r} "
                              "(option --shard)") from None
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, patient_id: str, timepoint: str) -> bool:
        """True when the exam belongs to this shard."""
        return shard_of(patient_id, timepoint, self.count) == self.index


def shard_of(patient_id: str, timepoint: str, count: int) -> int:
    """The shard (1..count) of an exam: BLAKE2b of ``patient_id``, TAB, ``timepoint``, modulo ``count``.

    Stable across runs, machines and Python versions (no ``hash()`` randomisation) and independent
    of the exam's row.
    """
    digest = hashlib.blake2b(f"{patient_id}\t{timepoint}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % int(count) + 1


@dataclass(frozen=True)
class PlannedExam:
    """One exam of the plan."""

    row: int
    """0-based data row in the manifest file (its CSV line is ``row + 2``)."""
    patient_id: str
    timepoint: str
    shard: int
    """Its shard (1-based) when the plan is for a shard, else 1."""
    status: str
    """:data:`CACHED`, :data:`COMPUTE` or :data:`INVALID`."""
    key: str = ""
    """Cache key (empty when invalid)."""
    reason: str = ""
    """Why the exam is invalid (one line naming the file), else empty."""
    record: Mapping[str, object] | None = None
    """The manifest row (``Manifest.frame`` as a dict), for the worker; None when cached or invalid."""
    error_type: str = "InputFileError"
    """How an invalid exam is listed among the failures: ``InputFileError`` (its inputs cannot be read) or
    ``ManifestError`` (an invalid manifest row, left out with ``skip_invalid``)."""

    @property
    def cache_file(self) -> str:
        """File name of its cache entry (empty when invalid)."""
        return cache.entry_name(self.patient_id, self.timepoint, self.key) if self.key else ""


@dataclass(frozen=True)
class Plan:
    """The exams an extraction (or one shard of it) covers, in manifest order."""

    manifest_path: Path
    n_manifest_exams: int
    """Exams in the whole manifest (all shards)."""
    shard: Shard | None
    exams: tuple[PlannedExam, ...]

    def with_status(self, status: str) -> list[PlannedExam]:
        """The planned exams with ``status``, in manifest order."""
        return [exam for exam in self.exams if exam.status == status]

    def counts(self) -> dict[str, int]:
        """``{"cached": ..., "compute": ..., "invalid": ...}``."""
        return {status: len(self.with_status(status)) for status in (CACHED, COMPUTE, INVALID)}

    def to_frame(self) -> pd.DataFrame:
        """One row per exam: ``row`` (1-based CSV line, header = 1), patient, time point, shard, status, file, reason."""
        return pd.DataFrame([[e.row + 2, e.patient_id, e.timepoint, e.shard, e.status, e.cache_file, e.reason]
                             for e in self.exams], columns=PLAN_COLUMNS)

    def summary(self) -> str:
        """One line: how many exams are cached, to compute and invalid."""
        counts = self.counts()
        where = f"shard {self.shard} holds {len(self.exams)} of" if self.shard else "all"
        return (f"{where} {self.n_manifest_exams} exams of {self.manifest_path}: {counts[CACHED]} cached, "
                f"{counts[COMPUTE]} to compute, {counts[INVALID]} invalid")


def plan_extraction(manifest_path: Path, frame: pd.DataFrame, cache_dir: Path, parameters: Mapping[str, object],
                    shard: Shard | None = None, rows=None, skipped: Sequence[SkippedRow] = ()) -> Plan:
    """Decide, for every exam of a validated manifest (or of one shard of it), what the extraction does.

    Parameters
    ----------
    manifest_path : Path
        The manifest file (absolute); relative paths in it are relative to its folder.
    frame : pandas.DataFrame
        ``Manifest.frame`` (validated by :func:`NACResistanceLib.io.read_manifest`).
    cache_dir : Path
        The cache folder (need not exist).
    parameters : mapping
        ``AnalysisConfig.to_dict()``; part of every cache key.
    shard : Shard or None
        Only the exams of this shard.
    rows : sequence of int or None
        The 0-based data row in the manifest file of each frame row (a manifest read with
        ``skip_invalid`` lacks its invalid rows); None = the frame's positions.
    skipped : sequence of io.manifest.SkippedRow
        The invalid rows a manifest read with ``skip_invalid`` left out (``Manifest.skipped``): planned as
        invalid (``error_type`` ``ManifestError``, their problems as the reason) in their shard.

    Returns
    -------
    Plan
        Exams in manifest order; each input file is hashed once however many rows name it.
    """
    keys = cache.KeyMaker(parameters)
    existing = {p.name for p in cache_dir.glob("*.json")} if cache_dir.is_dir() else set()
    directory = manifest_path.parent
    exams = []
    records = frame.to_dict("records")
    for row, record in zip(range(len(records)) if rows is None else rows, records):
        patient_id, timepoint = str(record["patient_id"]), str(record.get("timepoint", "baseline"))
        part = shard_of(patient_id, timepoint, shard.count) if shard else 1
        if shard and part != shard.index:
            continue
        try:
            key = keys.key(record, directory)
        except NACResistanceError as error:
            exams.append(PlannedExam(row, patient_id, timepoint, part, INVALID, reason=describe(error)))
            continue
        cached = cache.entry_name(patient_id, timepoint, key) in existing
        exams.append(PlannedExam(row, patient_id, timepoint, part, CACHED if cached else COMPUTE, key,
                                 record=None if cached else record))
    for row in skipped:
        part = shard_of(row.patient_id, row.timepoint, shard.count) if shard else 1
        if not shard or part == shard.index:
            exams.append(PlannedExam(row.row, row.patient_id, row.timepoint, part, INVALID,
                                     reason="; ".join(row.problems), error_type="ManifestError"))
    return Plan(manifest_path, len(frame) + len(skipped), shard, tuple(sorted(exams, key=lambda e: e.row)))
