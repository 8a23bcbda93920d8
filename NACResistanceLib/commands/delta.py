"""``nacresistance delta``: baseline (RS1), follow-up (RS2) and delta (Delta RS) models compared by AUC."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import add_parallel_options, existing_file, progress_from_args

HELP = "Delta radiomics: train on baseline, follow-up and delta features; compare AUCs with DeLong tests."

PAGE = "delta.html"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", type=existing_file,
                        help="cohort manifest CSV with two time points per patient (e.g. baseline and cycle2)")
    parser.add_argument("--out", "-o", type=Path, required=True,
                        help="output folder: delta.html, delta_auc.csv, delta_delong.csv, one study folder per set")
    parser.add_argument("--features", type=existing_file,
                        help="feature table of `nacresistance extract` (default: extract now into OUT/extraction)")
    parser.add_argument("--config", type=existing_file, help="analysis parameter file for the extraction (YAML)")
    parser.add_argument("--study-config", type=existing_file, help="study parameter file (YAML; default: shipped)")
    parser.add_argument("--baseline", default="baseline", help="baseline time point label")
    parser.add_argument("--followup", default="cycle2", help="follow-up time point label")
    parser.add_argument("--sets", default="baseline,followup,delta",
                        help="comma-separated feature sets: baseline, followup, delta, baseline+delta, baseline+followup")
    parser.add_argument("--model", choices=("radiomics", "combined"), default="radiomics",
                        help="model compared across the sets: the Rad-score model or the combined model")
    parser.add_argument("--icc-filter", type=existing_file, metavar="CSV",
                        help="icc_filter.csv of `nacresistance reproducibility`: leave out the features it removed")
    parser.add_argument("--seed", type=int, default=0, help="root seed of LASSO folds, CV and bootstrap")
    add_parallel_options(parser)


def _features(args: argparse.Namespace):
    import pandas as pd

    from ..config import load_analysis_config
    from ..config.records import features_parameters

    if args.features is not None:
        return pd.read_csv(args.features, index_col=[0, 1]), 0, features_parameters(args.features)
    from ..cohort import run_extraction

    result = run_extraction(args.manifest, args.out / "extraction", args.config, jobs=args.jobs,
                            scheduler=args.scheduler, progress=progress_from_args(args))
    if not result.ok:
        print(f"{len(result.failures)} exams failed, see {result.failures_path}", file=sys.stderr)
    return result.features, len(result.failures), load_analysis_config(args.config)


def _check_options(args: argparse.Namespace, frame) -> None:
    """--sets names and the two time points against the manifest, before the extraction."""
    from ..delta import FEATURE_SET_NAMES
    from ..errors import ConfigError

    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in sets if s not in FEATURE_SET_NAMES]
    if unknown or not sets:
        raise ConfigError(f"--sets {args.sets!r}: unknown feature set(s) {unknown}; choose from "
                          f"{', '.join(FEATURE_SET_NAMES)}")
    present = sorted(set(frame["timepoint"]))
    for option, label in (("--baseline", args.baseline), ("--followup", args.followup)):
        if label not in present:
            raise ConfigError(f"{option} {label!r}: no exam of manifest {args.manifest} has this time point "
                              f"(column timepoint holds {', '.join(present)})")
    if args.baseline == args.followup:
        raise ConfigError(f"--baseline and --followup are both {args.baseline!r}; give two different time points")


def run(args: argparse.Namespace) -> int:
    from .. import io
    from ..delta import run_delta_study
    from ..report.analyses import delta_section_from, standalone_page
    from ..robustness import read_decision

    manifest = io.read_manifest(args.manifest)  # options, manifest and filter checked before any extraction
    _check_options(args, manifest.frame)
    decision = read_decision(args.icc_filter) if args.icc_filter is not None else None
    features, n_failed, analysis = _features(args)
    study = run_delta_study(features, manifest.frame, sets=[s.strip() for s in args.sets.split(",") if s.strip()],
                            baseline=args.baseline, followup=args.followup, study_config=args.study_config,
                            model=args.model, icc_decision=decision, analysis=analysis, seed=args.seed, progress=progress_from_args(args))
    study.write(args.out)
    page = Path(args.out) / PAGE
    page.write_text(standalone_page("Delta radiomics", [delta_section_from(args.out)]), encoding="utf-8")
    print(f"delta radiomics: {page}")
    for row in study.comparison.aucs.itertuples():
        print(f"  {row.label}: AUC {row.auc:.3f} ({row.ci_low:.3f}-{row.ci_high:.3f})")
    return 1 if n_failed else 0
