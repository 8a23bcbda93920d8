"""``nacresistance extract``: every exam of a manifest -> one feature table, with cache and failures."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ._common import (
    add_parallel_options,
    existing_file,
    print_warnings,
    progress_from_args,
    quiet_known_notices,
)

HELP = "Analyse every exam of a manifest into a feature table (features.csv) and a failures file."

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", type=existing_file, help="cohort manifest CSV (see docs/manifest.md)")
    parser.add_argument("--out", "-o", type=Path, required=True,
                        help="output folder: features.csv, failures.csv, warnings.csv, feature_dictionary.csv, cache/")
    parser.add_argument("--config", type=existing_file,
                        help="analysis parameter file (YAML; default: NACResistanceLib/params/analysis.yaml)")
    parser.add_argument("--skip-invalid", action="store_true",
                        help="analyse the valid rows of a manifest with invalid ones (clinical typos, missing files) "
                             "and list the invalid rows in failures.csv, instead of refusing the whole manifest")
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
    from ..errors import ManifestError, add_context

    quiet_known_notices()
    try:
        if args.dry_run or args.shard or args.cluster:
            from .extract_cohort import run_cohort_options

            return run_cohort_options(args)
        result = run_extraction(args.manifest, args.out, args.config, jobs=args.jobs,
                                scheduler=args.scheduler, progress=progress_from_args(args),
                                skip_invalid=args.skip_invalid)
    except ManifestError as error:
        if not args.skip_invalid and "invalid cell" in str(error) and "--skip-invalid" not in str(error):
            add_context(error, "fix these rows, or pass --skip-invalid to analyse the valid rows and list these "
                               "in failures.csv")
        raise
    print(f"features: {result.features_path} ({len(result.features)} exams; "
          f"{result.n_cached} from cache, {result.n_computed} analysed now)")
    print_warnings(result.warnings, result.warnings_path)
    if not result.ok:
        print(f"{len(result.failures)} exams failed, see {result.failures_path}", file=sys.stderr)
        return 1
    return 0
