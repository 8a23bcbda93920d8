"""``nacresistance merge``: the feature tables of a job array (``extract --shard K/N``) from the shared cache."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "Assemble features.csv, failures.csv and the dictionary from the shards of 'extract --shard K/N'."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cache", type=Path, help="the shared cache folder (OUT/cache of 'extract --shard K/N --out OUT')")
    parser.add_argument("--out", "-o", type=Path, required=True,
                        help="output folder: features.csv, failures.csv, warnings.csv, feature_dictionary.csv, "
                             "analysis_parameters.json (byte-identical to one 'extract' run)")


def run(args: argparse.Namespace) -> int:
    from ..cohort.merge import merge_shards

    result = merge_shards(args.cache, args.out)
    print(f"features: {result.features_path} ({len(result.features)} exams from {result.n_shards} shards)")
    if not result.ok:
        print(f"{len(result.failures)} exams failed, see {result.failures_path}", file=sys.stderr)
        return 1
    return 0
