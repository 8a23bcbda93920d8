"""Job arrays without Dask: ``extract --shard K/N`` analyses one deterministic part of a cohort.

N independent processes (a Slurm/PBS/SGE/LSF job array, or N terminals) run :func:`run_shard` with
K = 1..N and the same manifest, parameters and output folder. Each analyses the exams of its shard
(:func:`.plan.shard_of`) into the shared cache, where every entry is written atomically under a
name derived from its content key, so shards never write the same file with different content and
need no locks; a killed shard leaves finished entries and, at most, temporary files that the next
run removes once their writer is gone. When it finishes, a shard writes its record
``cache/shards/K-of-N.json`` (the exams it covered, their cache files and its failures); re-running a
killed shard resumes from the cache. :func:`.merge.merge_shards` then assembles the tables.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from ..config.records import PARAMETERS_FILE
from . import cache
from .merge import shard_record_path
from .plan import Plan, Shard, plan_extraction
from .runner import Progress, prepare_output, read_manifest_rows, run_plan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShardResult:
    """What one shard did."""

    shard: Shard
    n_exams: int
    """Exams of this shard."""
    n_cached: int
    n_computed: int
    n_failed: int
    record_path: Path
    """``cache/shards/K-of-N.json``."""

    @property
    def ok(self) -> bool:
        """True when no exam of the shard failed."""
        return self.n_failed == 0


def run_shard(manifest, out_dir, config=None, *, shard: Shard | str, jobs: int = 1, scheduler: str | None = None,
              progress: Progress | None = None, skip_invalid: bool = False) -> ShardResult:
    """Analyse the exams of ``shard`` into ``out_dir/cache`` and record them for :func:`.merge.merge_shards`.

    Parameters are those of :func:`.runner.run_extraction`; ``shard`` is a :class:`.plan.Shard` or ``"K/N"``.
    With ``skip_invalid`` the invalid manifest rows of this shard are recorded as failures (every shard
    reads the same manifest, so each invalid row is recorded once, by its shard). Writes no feature table
    (N shards would race for it): ``nacresistance merge OUT/cache --out DIR`` does, once every shard has
    finished.
    """
    shard = shard if isinstance(shard, Shard) else Shard.parse(shard)
    manifest_path, frame, rows, skipped = read_manifest_rows(manifest, skip_invalid)
    config, cache_dir = prepare_output(Path(out_dir), config)
    plan = plan_extraction(manifest_path, frame, cache_dir, config.to_dict(), shard, rows=rows, skipped=skipped)
    logger.info("%s", plan.summary())
    failures = run_plan(plan, cache_dir, config.to_dict(), jobs=jobs, scheduler=scheduler, progress=progress)
    failed_rows = {f.task.row for f in failures}
    record = {
        "index": shard.index, "count": shard.count,
        "manifest": str(manifest_path), "manifest_sha256": _sha256(manifest_path),
        "analysis_sha256": hashlib.sha256((Path(out_dir) / PARAMETERS_FILE).read_bytes()).hexdigest(),
        "n_manifest_exams": plan.n_manifest_exams,
        "exams": [[e.row, e.cache_file] for e in plan.exams if e.key and e.row not in failed_rows],
        "failures": [[f.task.row, [f.task.patient_id, f.task.timepoint, f.error_type, f.message]] for f in failures],
    }
    path = shard_record_path(cache_dir, shard.index, shard.count)
    cache.write_atomic(path, json.dumps(record, indent=1) + "\n")
    counts = plan.counts()
    return ShardResult(shard, len(plan.exams), counts["cached"], counts["compute"] - _computed_failures(plan, failures),
                       len(failures), path)


def _computed_failures(plan: Plan, failures) -> int:
    invalid = {e.row for e in plan.exams if not e.key}
    return sum(1 for f in failures if f.task.row not in invalid)


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
