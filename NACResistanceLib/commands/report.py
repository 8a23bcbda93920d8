"""``nacresistance report``: run the study and write the self-contained HTML report with every table beside it."""

from __future__ import annotations

import argparse
import shlex
import sys

from ._common import progress_from_args
from .train import add_study_arguments, run_study_from_files, study_overrides

HELP = ("Run the seed study on a feature table and its manifest and write report.html (figures embedded, "
        "no network needed) with every number in tables/*.csv and the models in tables/models/*.json.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_study_arguments(parser)
    parser.add_argument("--truth", type=str, default="auto",
                        help="folder with a synthetic cohort's truth.json/truth.csv for the ground-truth panel; "
                             "'auto' looks beside the manifest, 'none' leaves the panel out")


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..cohort.runner import FAILURES_FILE
    from ..report import extras, write_report

    result, rows, manifest, parameters = run_study_from_files(args.features, args.manifest, study_overrides(args),
                                                              args.seed, progress_from_args(args))
    truth = {"auto": lambda: extras.find_truth(manifest.path), "none": lambda: None}.get(args.truth,
                                                                                       lambda: args.truth)()
    failures_path = args.features.parent / FAILURES_FILE
    failures = pd.read_csv(failures_path) if failures_path.is_file() else None
    path = write_report(result, args.out, rows=rows, truth_dir=truth, failures=failures,
                        analysis_config=parameters, command=shlex.join(["nacresistance", *sys.argv[1:]]))
    print(f"report: {path}")
    return 0
