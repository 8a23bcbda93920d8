"""``extract --dry-run``, ``--shard K/N`` and ``--cluster YAML``: the cluster-scale options of ``extract``."""

from __future__ import annotations

import argparse
import sys

from ._common import progress_from_args


def run_cohort_options(args: argparse.Namespace) -> int:
    """Dispatch the cluster-scale options of ``extract`` to the library; returns the exit code."""
    if args.dry_run:
        return _dry_run(args)
    if args.cluster:
        from ..cohort.cluster import open_cluster

        with open_cluster(args.cluster) as address:  # then as --scheduler ADDRESS
            return run_cohort_options(argparse.Namespace(**{**vars(args), "cluster": None, "scheduler": address}))
    if not args.shard:
        from .extract import run

        return run(args)
    return _shard(args)


def _shard(args: argparse.Namespace) -> int:
    from ..cohort.shards import run_shard

    shard = run_shard(args.manifest, args.out, args.config, shard=args.shard, jobs=args.jobs,
                      scheduler=args.scheduler, progress=progress_from_args(args), skip_invalid=args.skip_invalid)
    print(f"shard {shard.shard}: {shard.n_exams} exams ({shard.n_cached} from cache, {shard.n_computed} analysed "
          f"now, {shard.n_failed} failed); record {shard.record_path}. When every shard has finished: "
          f"nacresistance merge {shard.record_path.parent.parent} --out DIR")
    return 0 if shard.ok else 1


def _dry_run(args: argparse.Namespace) -> int:
    from ..cohort.plan import INVALID, Shard, plan_extraction
    from ..cohort.runner import CACHE_FOLDER, read_manifest_rows
    from ..config import load_analysis_config

    manifest_path, frame, rows, skipped = read_manifest_rows(args.manifest, args.skip_invalid)
    shard = Shard.parse(args.shard) if args.shard else None
    plan = plan_extraction(manifest_path, frame, args.out / CACHE_FOLDER, load_analysis_config(args.config).to_dict(),
                           shard, rows=rows, skipped=skipped)
    sys.stdout.write(plan.to_frame().to_csv(index=False, lineterminator="\n"))
    print(plan.summary(), file=sys.stderr)
    return 1 if plan.with_status(INVALID) else 0
