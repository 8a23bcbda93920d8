"""``nacresistance demo``: the whole seed study on the built-in synthetic cohort, end to end.

phantom (240 patients) -> extract -> train -> evaluate (temporal validation) -> report. Each stage
writes into its own folder under ``--out`` and a re-run resumes: the phantom is regenerated only if
its manifest is missing, and the extraction cache skips finished exams.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ._common import default_jobs, positive_int, print_warnings, progress_from_args, quiet_known_notices

HELP = ("Run the whole study on the built-in synthetic cohort: phantom -> extract -> train -> evaluate -> "
        "report (report.html with the ground truth panel).")

DESCRIPTION = "synthetic phantom cohort (NACResistanceLib.phantom), research use only"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", "-o", type=Path, default=Path("demo-output"), help="output folder")
    parser.add_argument("--patients", type=positive_int, default=240, help="synthetic patients (the seed study has 240)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the phantom and of the study")
    parser.add_argument("--jobs", "-j", type=positive_int, default=default_jobs(), metavar="N",
                        help="worker processes for the phantom, the extraction and the bootstrap")
    parser.add_argument("--bootstrap", type=positive_int, default=1000, metavar="B",
                        help="bootstrap replicates (optimism and Table 6; the seed study used 1000)")
    parser.add_argument("--small", action="store_true",
                        help="coarse phantom protocol (fast; for tests, not for the study)")
    parser.add_argument("--analysis-config", type=Path, help="analysis parameter file for the extraction")
    parser.add_argument("--progress", choices=("auto", "bar", "log", "none"), default="auto",
                        help="progress display")


def run(args: argparse.Namespace) -> int:
    quiet_known_notices()
    timings: dict[str, float] = {}
    out = args.out
    manifest = _stage("phantom", timings, lambda: _phantom(args, out / "cohort"))
    extraction = _stage("extract", timings, lambda: _extract(args, manifest, out / "features"))
    result, rows, parameters = _stage("train", timings, lambda: _train(args, manifest, extraction, out / "study"))
    _stage("evaluate", timings, lambda: _evaluate(result, extraction.features, manifest, out / "evaluation"))
    report = _stage("report", timings, lambda: _report(out))
    timings["total"] = round(sum(timings.values()), 1)
    (out / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    print(f"demo finished in {timings['total']:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in timings.items() if k != 'total')})")
    print(f"report: {report.resolve()}")
    print_warnings(extraction.warnings, extraction.warnings_path)
    if not extraction.ok:
        print(f"{len(extraction.failures)} exams failed, see {extraction.failures_path}", file=sys.stderr)
        return 1
    return 0


def _stage(name: str, timings: dict, action):
    print(f"== {name}", flush=True)
    start = time.perf_counter()
    value = action()
    timings[name] = round(time.perf_counter() - start, 1)
    return value


def _phantom(args: argparse.Namespace, folder: Path) -> Path:
    from ..phantom import PhantomProtocol, make_cohort

    manifest = folder / "manifest.csv"
    stamp = folder / "demo_parameters.json"
    wanted = {"patients": args.patients, "seed": args.seed, "small": bool(args.small)}
    if manifest.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        print(f"synthetic cohort already in {folder}")
        return manifest
    protocol = PhantomProtocol.small() if args.small else PhantomProtocol()
    path = make_cohort(args.patients, args.seed, folder, protocol, jobs=args.jobs, progress=progress_from_args(args))
    stamp.write_text(json.dumps(wanted) + "\n")
    return path


def _extract(args: argparse.Namespace, manifest: Path, folder: Path):
    from ..cohort import run_extraction

    return run_extraction(manifest, folder, args.analysis_config, jobs=args.jobs, progress=progress_from_args(args))


def _train(args: argparse.Namespace, manifest: Path, extraction, folder: Path):
    from .train import command_line, run_study_from_files, write_study_warnings

    overrides = {"data_description": DESCRIPTION,
                 "validation": {"workers": max(1, args.jobs), "n_boot_optimism": args.bootstrap,
                                "n_boot_performance": args.bootstrap}}
    result, rows, _, parameters = run_study_from_files(extraction.features_path, manifest, overrides, args.seed,
                                                       progress_from_args(args), command=command_line())
    result.write(folder)
    write_study_warnings(result, folder)
    return result, rows, parameters


def _evaluate(result, features, manifest: Path, folder: Path) -> None:
    from .. import io
    from ..cohort.evaluation import evaluate_model

    frame = io.read_manifest(manifest).frame
    evaluation = evaluate_model(result.models["combined"], features, frame, split="validation",
                                split_date=result.config.split_date, timepoint=result.config.timepoint)
    evaluation.write(folder)
    summary = evaluation.summary()
    if evaluation.performance is None:
        print(f"warning: combined model on the temporal validation cohort: {evaluation.note}", file=sys.stderr)
        return
    print(f"combined model on the temporal validation cohort: AUC {summary['auc']:.3f} "
          f"({summary['auc_low']:.3f}-{summary['auc_high']:.3f}), {summary['exams']} exams")


def _report(out: Path) -> Path:
    """report.html rendered from the study folder (nothing recomputed)."""
    from ..report import render_study

    return render_study(out / "study", out / "report")
