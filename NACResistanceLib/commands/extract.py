"""``nacresistance extract``: every exam of a manifest -> one feature table, with cache and failures."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ._common import add_parallel_options, existing_file, progress_from_args, quiet_known_notices

HELP = "Analyse every exam of a manifest into a feature table (features.csv) and a failures file."

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", type=existing_file, help="cohort manifest CSV (see docs/manifest.md)")
    parser.add_argument("--out", "-o", type=Path, required=True,
                        help="output folder: features.csv, failures.csv, feature_dictionary.csv, cache/")
    parser.add_argument("--config", type=existing_file,
                        help="analysis parameter file (YAML; default: NACResistanceLib/params/analysis.yaml)")
    add_parallel_options(parser)
    parser.add_argument("--cluster", type=existing_file, metavar="YAML",
                        help="start a Slurm/PBS/SGE/LSF/HTCondor Dask cluster from this file (dask-jobqueue; "
                             "see docs/cli.md) and analyse on it")
    parser.add_argument("--shard", metavar="K/N",
                        help="analyse only the K-th of N deterministic shards into OUT/cache (a job array); "
                             "then 'nacresistance merge OUT/cache --out DIR' writes the tables")
    parser.add_argument("--dry-run", action="store_true",
                        help="list what would be computed, what is cached and what is invalid (CSV on stdout); "
                             "read no image, write nothing")


def run(args: argparse.Namespace) -> int:
    from ..cohort import run_extraction

    quiet_known_notices()
    if args.dry_run or args.shard or args.cluster:
        from .extract_cohort import run_cohort_options

        return run_cohort_options(args)
    result = run_extraction(args.manifest, args.out, args.config, jobs=args.jobs,
                            scheduler=args.scheduler, progress=progress_from_args(args))
    print(f"features: {result.features_path} ({len(result.features)} exams; "
          f"{result.n_cached} from cache, {result.n_computed} analysed now)")
    if not result.ok:
        print(f"{len(result.failures)} exams failed, see {result.failures_path}", file=sys.stderr)
        return 1
    return 0
