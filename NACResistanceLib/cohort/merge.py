"""The tables of a job array: :func:`merge_shards` assembles ``extract --shard K/N`` (K = 1..N) from the shared cache.

It uses the same code (:func:`.runner.write_cohort_tables`) and the same order as one uninterrupted
run, so the files are byte-identical.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config.records import PARAMETERS_FILE
from ..errors import ConfigError, InputFileError
from . import cache

logger = logging.getLogger(__name__)

INDEX = ["patient_id", "timepoint"]
FEATURES_FILE = "features.csv"
FAILURES_FILE = "failures.csv"
DICTIONARY_FILE = "feature_dictionary.csv"
FAILURE_COLUMNS = ["patient_id", "timepoint", "error_type", "message"]
SHARDS_FOLDER = "shards"
"""Sub-folder of the cache where each finished shard leaves its record ``<K>-of-<N>.json``."""


def write_table(frame: pd.DataFrame, path: Path, *, index: bool = False) -> Path:
    """Write ``frame`` as CSV atomically (full float precision, ``\\n`` line ends, NaN as empty cell)."""
    cache.write_atomic(Path(path), frame.to_csv(index=index, lineterminator="\n"))
    return Path(path)


def failure_frame(failures: Sequence[Sequence[str]]) -> pd.DataFrame:
    """``patient_id, timepoint, error_type, message`` rows as the failures table."""
    return pd.DataFrame([list(f) for f in failures], columns=FAILURE_COLUMNS)


@dataclass(frozen=True)
class MergeResult:
    """What :func:`merge_shards` wrote."""

    features: pd.DataFrame
    failures: pd.DataFrame
    features_path: Path
    failures_path: Path
    n_shards: int

    @property
    def ok(self) -> bool:
        """True when no exam failed."""
        return self.failures.empty


def shard_record_path(cache_dir: Path, index: int, count: int) -> Path:
    """Where shard ``index`` of ``count`` records what it covered."""
    return Path(cache_dir) / SHARDS_FOLDER / f"{index}-of-{count}.json"


def merge_shards(cache_dir, out_dir) -> MergeResult:
    """Assemble ``features.csv``, ``failures.csv``, ``warnings.csv``, ``feature_dictionary.csv`` and the parameters of a job array.

    Parameters
    ----------
    cache_dir : str or Path
        The shared cache folder (``OUT/cache`` of ``extract --shard K/N --out OUT``), or ``OUT`` itself.
    out_dir : str or Path
        Where to write the tables (created); the files equal those of one ``extract`` of the
        whole manifest byte for byte (failures are listed in manifest order).

    Raises
    ------
    ConfigError
        No shard records, a shard not finished, or shards of different manifests, parameters or N.
    InputFileError
        A cache entry a shard recorded is missing.
    """
    cache_dir = _cache_folder(Path(cache_dir))
    records = _shard_records(cache_dir)
    exams: list[tuple[int, str]] = []
    failures: list[tuple[int, list[str]]] = []
    for record in records:
        exams += [(row, name) for row, name in record["exams"]]
        failures += [(row, failure) for row, failure in record["failures"]]
    exams.sort()
    rows = sorted([row for row, _ in exams] + [row for row, _ in failures])
    if rows != list(range(records[0]["n_manifest_exams"])):
        raise ConfigError(f"{cache_dir / SHARDS_FOLDER}: the shard records do not cover each of the "
                          f"{records[0]['n_manifest_exams']} exams exactly once; re-run every shard")
    paths = [cache_dir / name for _, name in exams]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise InputFileError(f"cache {cache_dir}: {len(missing)} entries recorded by the shards are missing, "
                             f"e.g. {missing[0].name}; re-run their shards (extract --shard K/N) to recompute them")
    from .runner import write_cohort_tables

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parameters = cache_dir.parent / PARAMETERS_FILE
    analysis = json.loads(parameters.read_text(encoding="utf-8"))["analysis"] if parameters.is_file() else None
    if parameters.is_file() and parameters.resolve() != (out / PARAMETERS_FILE).resolve():
        shutil.copyfile(parameters, out / PARAMETERS_FILE)
    failure_rows = [f for _, f in sorted(failures, key=lambda item: item[0])]
    features, failure_table, _, _ = write_cohort_tables(out, paths, failure_rows, analysis)
    logger.info("merged %s shards: %s exams in %s, %s failed", len(records), len(features), out / FEATURES_FILE,
                len(failure_table))
    return MergeResult(features, failure_table, out / FEATURES_FILE, out / FAILURES_FILE, len(records))


def _cache_folder(path: Path) -> Path:
    if (path / SHARDS_FOLDER).is_dir():
        return path
    if (path / "cache" / SHARDS_FOLDER).is_dir():
        return path / "cache"
    raise ConfigError(f"{path} holds no shard records ({SHARDS_FOLDER}/K-of-N.json); give the cache folder "
                      "that 'extract --shard K/N --out OUT' wrote (OUT/cache) after every shard has finished")


def _shard_records(cache_dir: Path) -> list[dict]:
    records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((cache_dir / SHARDS_FOLDER).glob("*.json"))]
    if not records:
        raise ConfigError(f"{cache_dir / SHARDS_FOLDER} holds no shard records; run extract --shard K/N first")
    counts = {r["count"] for r in records}
    if len(counts) != 1:
        raise ConfigError(f"{cache_dir / SHARDS_FOLDER} holds records of different shard counts {sorted(counts)}; "
                          "delete the records of the old job array and merge again")
    count = counts.pop()
    current = [r for r in records if (r["manifest_sha256"], r["analysis_sha256"]) ==
               (records[-1]["manifest_sha256"], records[-1]["analysis_sha256"])]
    if len(current) != len(records):
        raise ConfigError(f"{cache_dir / SHARDS_FOLDER}: the shards ran on different manifests or analysis "
                          "parameters; re-run every shard with the same files")
    done = {r["index"] for r in records}
    waiting = [f"{k}/{count}" for k in range(1, count + 1) if k not in done]
    if waiting:
        raise ConfigError(f"shards {', '.join(waiting)} have not finished (no record in {cache_dir / SHARDS_FOLDER}); "
                          "run (or re-run) extract --shard K/N for each, then merge")
    return sorted(records, key=lambda r: r["index"])
