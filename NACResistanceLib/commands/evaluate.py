"""``nacresistance evaluate``: a model file on a cohort (all exams, or one side of the temporal split)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._common import existing_file, iso_date

HELP = ("Evaluate a model file on a cohort's feature table and manifest (or on the training/validation side "
        "of the temporal split): predictions, AUC with DeLong CI, sensitivity/specificity at the model's "
        "threshold, Hosmer-Lemeshow, calibration and decision curves.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=existing_file, help="model JSON file")
    parser.add_argument("features", type=existing_file, help="feature table from `nacresistance extract`")
    parser.add_argument("manifest", type=existing_file, help="manifest with the clinical data and outcome columns")
    parser.add_argument("--out", "-o", type=Path, required=True, help="output folder")
    parser.add_argument("--split", choices=("all", "training", "validation"), default="all",
                        help="exams to evaluate: all, or those before (training) / from (validation) the split date")
    parser.add_argument("--split-date", type=iso_date, help="YYYY-MM-DD (default: the split date stored in the model file)")
    parser.add_argument("--timepoint", default="baseline", help="time point of the exams to evaluate")


def run(args: argparse.Namespace) -> int:
    from .. import io, models
    from ..cohort import read_feature_table
    from ..cohort.evaluation import evaluate_model
    from ..config.records import check_features_for_model

    model = models.load(args.model)
    check_features_for_model(model.analysis_config, args.features, model_label=str(args.model))
    features = read_feature_table(args.features)
    evaluation = evaluate_model(model, features, io.read_manifest(args.manifest).frame, split=args.split,
                                split_date=args.split_date, timepoint=args.timepoint)
    evaluation.write(args.out)
    summary = evaluation.summary()
    print(json.dumps(summary, indent=2))
    print(f"evaluation tables: {args.out}")
    if evaluation.performance is None:
        print(f"warning: {evaluation.note}", file=sys.stderr)
    return 0
