"""``nacresistance train``: features + manifest -> the three models (JSON) and every study table (CSV)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ._common import existing_file, positive_int, progress_from_args

HELP = ("Run the seed study on a feature table and its manifest: labels, temporal split, selection, "
        "clinical/radiomics/combined models (models/*.json), Tables 1-6 and every curve (CSV), the CLEAR and "
        "TRIPOD+AI checklists, and report.html rendered from that study folder.")


def add_study_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by ``train`` and ``report``."""
    parser.add_argument("features", type=existing_file, help="feature table from `nacresistance extract`")
    parser.add_argument("manifest", type=existing_file, help="the cohort manifest (clinical data and outcome)")
    parser.add_argument("--out", "-o", type=Path, required=True, help="output folder")
    parser.add_argument("--study-config", type=existing_file,
                        help="study parameter file (YAML; default NACResistanceLib/params/study.yaml)")
    parser.add_argument("--seed", type=int, default=0, help="root seed of LASSO folds, CV and bootstrap")
    parser.add_argument("--bootstrap", type=positive_int, metavar="B",
                        help="bootstrap replicates (optimism and Table 6); default from the study file (1000)")
    parser.add_argument("--workers", type=positive_int, default=1, help="processes for the bootstrap")
    parser.add_argument("--description", help="what the training data are (stored in each model file)")
    parser.add_argument("--progress", choices=("auto", "bar", "log", "none"), default="auto",
                        help="progress display")
    parser.add_argument("--truth", type=str, default="auto",
                        help="folder with a synthetic cohort's truth.json/truth.csv for the ground-truth tables; "
                             "'auto' looks beside the manifest, 'none' leaves them out")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_study_arguments(parser)
    parser.add_argument("--no-report", action="store_true", help="write the study folder only (no report.html)")


def study_overrides(args: argparse.Namespace) -> dict:
    """Study-file overrides from the command-line options (applied on top of ``--study-config``)."""
    from ..study import load_study_config

    overrides = load_study_config(args.study_config).to_dict()
    validation = dict(overrides["validation"], workers=args.workers)
    if args.bootstrap is not None:
        validation.update(n_boot_optimism=args.bootstrap, n_boot_performance=args.bootstrap)
    overrides["validation"] = validation
    if args.description:
        overrides["data_description"] = args.description
    return overrides


def run_study_from_files(features_path: Path, manifest_path: Path, overrides: dict, seed: int, progress, *,
                         truth: str | Path | None = "auto", command: str | None = None):
    """Read the inputs, run the study and complete it (failures, truth, provenance, checklists).

    Returns
    -------
    result : StudyResult
        Completed (:func:`study_folder.complete_study`): ready to be written as the study folder.
    rows : DataFrame
        Model rows (features + manifest columns) of the study's time point, indexed by patient_id.
    manifest : io.Manifest
    parameters : dict
        The extraction's analysis parameters (``analysis_parameters.json`` beside the table, as content).
    """
    import pandas as pd

    from .. import io, study
    from ..cohort import read_feature_table
    from ..cohort.predict import model_rows
    from ..cohort.runner import FAILURES_FILE
    from ..config.records import features_parameters
    from ..phantom.recovery import find_truth
    from ..study_folder import complete_study

    analysis = features_parameters(features_path)
    manifest = io.read_manifest(manifest_path)
    features = read_feature_table(features_path)
    result = study.run_study(features, manifest.frame, overrides, analysis=analysis, seed=seed, progress=progress)
    rows = model_rows(features, manifest.frame).xs(result.config.timepoint, level="timepoint")
    failures_path = Path(features_path).parent / FAILURES_FILE
    failures = pd.read_csv(failures_path, dtype={"patient_id": str}) if failures_path.is_file() else None
    truth_dir = find_truth(manifest.path) if truth == "auto" else None if truth in (None, "none") else truth
    result = complete_study(result, analysis_config=analysis.to_dict(), command=command, truth_dir=truth_dir,
                            failures=failures)
    return result, rows, manifest, analysis.to_dict()


def command_line() -> str:
    """The command line of this process, as recorded in the provenance."""
    import shlex
    import sys

    return shlex.join(["nacresistance", *sys.argv[1:]])


def run(args: argparse.Namespace) -> int:
    from ..report import render_study

    result, _, _, _ = run_study_from_files(args.features, args.manifest, study_overrides(args), args.seed,
                                           progress_from_args(args), truth=args.truth, command=command_line())
    result.write(args.out)
    write_study_warnings(result, args.out)
    for name, model in result.models.items():
        print(f"{name} model: {args.out / 'models' / (name + '.json')} (terms: "
              f"{', '.join(t.name for t in model.terms) or 'intercept only'})")
    print(f"study folder: {args.out} (tables *.csv, summary.json, study.json, checklists)")
    if not args.no_report:
        print(f"report: {render_study(args.out)}")
    return 0


def study_warnings(result) -> pd.DataFrame:
    """The study's warnings (and one per intercept-only model) as rows ``patient_id, timepoint, stage, message``."""
    from ..cohort.runner import WARNING_COLUMNS

    messages = list(result.warnings) + [
        f"the {name} model is intercept-only: the selection kept no feature, so it predicts the same probability "
        "for every patient (AUC 0.5); check the cohort size, the outcome balance and the feature table"
        for name, model in result.models.items() if not model.terms]
    return pd.DataFrame([["", "", "study", m] for m in messages], columns=WARNING_COLUMNS)


def write_study_warnings(result, out: Path) -> pd.DataFrame:
    """Write ``warnings.csv`` of a study into ``out`` and show the count and the first ones on stderr."""
    from ..cohort.runner import WARNINGS_FILE, write_table

    warnings = study_warnings(result)
    write_table(warnings, out / WARNINGS_FILE)
    intercept_only = [m for m in warnings["message"] if "intercept-only" in m]
    for message in intercept_only:
        print(f"warning: {message}", file=sys.stderr)
    if len(warnings) > len(intercept_only):
        print(f"{len(warnings) - len(intercept_only)} study warnings, see {out / WARNINGS_FILE}", file=sys.stderr)
    return warnings
