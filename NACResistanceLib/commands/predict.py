"""``nacresistance predict``: a model on one exam or every exam of a manifest -> probabilities and their terms."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ._common import add_parallel_options, existing_file, progress_from_args, quiet_known_notices

HELP = ("Predict resistance with a model file for one exam (--patient) or every exam of a manifest; "
        "writes predictions.csv and contributions.csv (the terms behind each probability).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=existing_file, help="model JSON file (from train, or the demo model)")
    parser.add_argument("manifest", type=existing_file, help="cohort manifest CSV with the exams and clinical data")
    parser.add_argument("--out", "-o", type=Path, required=True, help="output folder")
    parser.add_argument("--patient", help="predict only this patient's exam (analysed directly, not cached)")
    parser.add_argument("--timepoint", default="baseline", help="time point of --patient's exam")
    parser.add_argument("--features", type=existing_file,
                        help="use this feature table (from extract, with the model's analysis parameters) "
                             "instead of analysing the images")
    add_parallel_options(parser)


def run(args: argparse.Namespace) -> int:
    from .. import io, models
    from ..cohort.runner import write_table

    quiet_known_notices()
    model = models.load(args.model)
    if args.features:
        from ..config.records import check_features_for_model

        check_features_for_model(model.analysis_config, args.features, model_label=str(args.model))
    manifest = io.read_manifest(args.manifest)
    if args.patient:
        (predictions, contributions), failed = _one_exam(model, manifest, args.patient, args.timepoint), False
    else:
        predictions, contributions, failed = _cohort(model, manifest, args)
    args.out.mkdir(parents=True, exist_ok=True)
    write_table(predictions, args.out / "predictions.csv")
    write_table(contributions, args.out / "contributions.csv")
    _print(predictions, model)
    print(f"predictions: {args.out / 'predictions.csv'}; terms: {args.out / 'contributions.csv'}")
    return 1 if failed else 0


def _one_exam(model, manifest, patient: str, timepoint: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    from .. import io, pipeline
    from ..cohort.predict import CONTRIBUTION_COLUMNS, PREDICTION_COLUMNS

    score = pipeline.score_exam(io.load_exam(manifest, (patient, timepoint)), model)
    p = score.prediction
    predictions = pd.DataFrame([[patient, timepoint, p.probability, p.threshold, p.predicted_class,
                                 p.linear_predictor]], columns=PREDICTION_COLUMNS)
    terms = p.contributions.assign(patient_id=patient, timepoint=timepoint)[CONTRIBUTION_COLUMNS]
    return predictions, terms


def _cohort(model, manifest, args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    from ..cohort import read_feature_table, run_extraction
    from ..cohort.predict import model_rows, predict_rows

    failed = False
    if args.features:
        features = read_feature_table(args.features)
    else:
        result = run_extraction(manifest, args.out / "extraction", model.analysis_config, jobs=args.jobs,
                                scheduler=args.scheduler, progress=progress_from_args(args))
        features, failed = result.features, not result.ok
        if failed:
            print(f"{len(result.failures)} exams failed and have no prediction, see {result.failures_path}",
                  file=sys.stderr)
    predictions, contributions = predict_rows(model, model_rows(features, manifest.frame))
    return predictions, contributions, failed


def _print(predictions: pd.DataFrame, model) -> None:
    print(f"model {model.name!r}, threshold {model.threshold:.3f} (research use only)")
    for row in predictions.head(20).itertuples(index=False):
        print(f"  {row.patient_id} {row.timepoint}: P(resistant) = {row.probability:.3f} -> {row.predicted_class}")
    if len(predictions) > 20:
        print(f"  ... {len(predictions) - 20} more")
