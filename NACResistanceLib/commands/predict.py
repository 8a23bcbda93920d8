"""``nacresistance predict``: a model on one exam or every exam of a manifest -> probabilities and their terms."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ._common import (
    add_parallel_options,
    existing_file,
    print_warnings,
    progress_from_args,
    quiet_known_notices,
)

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
    from ..cohort.runner import WARNING_COLUMNS, WARNINGS_FILE, write_table

    quiet_known_notices()
    model = models.load(args.model)
    if args.features:
        from ..config.records import check_features_for_model

        check_features_for_model(model.analysis_config, args.features, model_label=str(args.model))
    manifest = io.read_manifest(args.manifest)
    _check_clinical_inputs(model, manifest, args)
    if args.patient:
        predictions, contributions, warnings = _one_exam(model, manifest, args.patient, args.timepoint)
        failed = False
        args.out.mkdir(parents=True, exist_ok=True)
        write_table(predictions, args.out / "predictions.csv")
        write_table(contributions, args.out / "contributions.csv")
    else:
        predictions, failed, warnings = _cohort(model, manifest, args)
    warnings = pd.DataFrame(columns=WARNING_COLUMNS) if warnings is None else warnings
    write_table(warnings, args.out / WARNINGS_FILE)
    _print(predictions, model)
    print_warnings(warnings, args.out / WARNINGS_FILE)
    print(f"predictions: {args.out / 'predictions.csv'}; terms: {args.out / 'contributions.csv'}")
    return 1 if failed else 0


def _check_clinical_inputs(model, manifest, args: argparse.Namespace) -> None:
    """Before any image is read: the manifest columns the model's clinical terms need hold values.

    A column empty for every exam considered (or for ``--patient``'s exam) stops the command; a column
    empty for some exams only lets the others be predicted (the rest are listed in prediction_failures.csv).
    """
    from ..clinical import VARIABLE_SOURCES
    from ..errors import ManifestError

    frame = manifest.frame
    if args.patient:
        frame = frame.iloc[[manifest.row_position((args.patient, args.timepoint))]]
    columns = [n for n in model.required_inputs if n in set(VARIABLE_SOURCES.values())]
    empty = [c for c in columns if c not in frame or (frame[c].isna() | (frame[c].astype(str).str.strip() == "")).all()]
    if empty:
        whom = f"patient {args.patient}, timepoint {args.timepoint}" if args.patient else f"all {len(frame)} exams"
        raise ManifestError(f"model {model.name!r} needs the manifest column(s) {', '.join(empty)}, which are empty "
                            f"for {whom} of {args.manifest}; fill them (see docs/manifest.md)")


def _one_exam(model, manifest, patient: str, timepoint: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from .. import io, pipeline
    from ..cohort.predict import CONTRIBUTION_COLUMNS, PREDICTION_COLUMNS
    from ..cohort.runner import warning_table

    score = pipeline.score_exam(io.load_exam(manifest, (patient, timepoint)), model)
    p = score.prediction
    predictions = pd.DataFrame([[patient, timepoint, p.probability, p.threshold, p.predicted_class,
                                 p.linear_predictor]], columns=PREDICTION_COLUMNS)
    terms = p.contributions.assign(patient_id=patient, timepoint=timepoint)[CONTRIBUTION_COLUMNS]
    warnings = warning_table([{"patient_id": patient, "timepoint": timepoint, "warnings": score.analysis.warnings,
                               "warning_stages": score.analysis.warning_stages}])
    return predictions, terms, warnings


def _cohort(model, manifest, args: argparse.Namespace) -> tuple[pd.DataFrame, bool, pd.DataFrame | None]:
    from ..cohort import read_feature_table
    from ..cohort.predict import predict_cohort

    features = read_feature_table(args.features) if args.features else None
    result = predict_cohort(model, manifest, args.out, features=features, jobs=args.jobs,
                            scheduler=args.scheduler, progress=progress_from_args(args))
    if result.extraction is not None and not result.extraction.ok:
        print(f"{len(result.extraction.failures)} exams failed and have no prediction, "
              f"see {result.extraction.failures_path}", file=sys.stderr)
    if not result.failures.empty:
        from ..cohort.predict import PREDICTION_FAILURES_FILE

        print(f"{len(result.failures)} exams could not be predicted, see {args.out / PREDICTION_FAILURES_FILE}; "
              f"first: {result.failures.iloc[0]['patient_id']}: {result.failures.iloc[0]['message']}", file=sys.stderr)
    warnings = None if result.extraction is None else result.extraction.warnings
    return result.predictions, not result.ok, warnings


def _print(predictions: pd.DataFrame, model) -> None:
    print(f"model {model.name!r}, threshold {model.threshold:.3f} (research use only)")
    for row in predictions.head(20).itertuples(index=False):
        print(f"  {row.patient_id} {row.timepoint}: P(resistant) = {row.probability:.3f} -> {row.predicted_class}")
    if len(predictions) > 20:
        print(f"  ... {len(predictions) - 20} more")
