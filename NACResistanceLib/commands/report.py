"""``nacresistance report``: render report.html from a study folder written by ``train`` (nothing is recomputed).

The older form ``report FEATURES MANIFEST --out DIR`` runs ``train`` into ``DIR/tables`` first and renders
``DIR/report.html`` from that folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import progress_from_args

HELP = ("Render report.html (figures embedded, no network needed) from a study folder written by "
        "`nacresistance train`, without recomputing; or, given a feature table and a manifest, run the study "
        "first (tables in OUT/tables).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", type=Path, metavar="STUDY_FOLDER | FEATURES MANIFEST",
                        help="a study folder from `nacresistance train`, or a feature table and its manifest")
    parser.add_argument("--out", "-o", type=Path,
                        help="output folder (default: the study folder itself; required with FEATURES MANIFEST)")
    parser.add_argument("--study-config", type=Path, help="study parameter file (FEATURES MANIFEST form)")
    parser.add_argument("--seed", type=int, default=0, help="root seed (FEATURES MANIFEST form)")
    parser.add_argument("--bootstrap", type=int, metavar="B", help="bootstrap replicates (FEATURES MANIFEST form)")
    parser.add_argument("--workers", type=int, default=1, help="processes for the bootstrap (FEATURES MANIFEST form)")
    parser.add_argument("--description", help="what the training data are (FEATURES MANIFEST form)")
    parser.add_argument("--progress", choices=("auto", "bar", "log", "none"), default="auto", help="progress display")
    parser.add_argument("--truth", type=str, default="auto",
                        help="phantom truth folder (FEATURES MANIFEST form); 'auto' looks beside the manifest")


def run(args: argparse.Namespace) -> int:
    from ..report import render_study
    from .train import command_line, run_study_from_files, study_overrides

    if len(args.inputs) == 1:
        folder = args.inputs[0]
        print(f"report: {render_study(folder, args.out)}")
        return 0
    if len(args.inputs) != 2 or args.out is None:
        raise SystemExit("nacresistance report: give STUDY_FOLDER, or FEATURES MANIFEST --out DIR")
    features, manifest = args.inputs
    result, _, _, _ = run_study_from_files(features, manifest, study_overrides(args), args.seed,
                                           progress_from_args(args), truth=args.truth, command=command_line())
    tables = result.write(args.out / "tables")
    print(f"report: {render_study(tables, args.out)}")
    return 0
