"""Batch use of the NACResistance Slicer module, without the GUI.

Run with Slicer's own Python and application context (the scene exists, no window is shown):

    Slicer --no-main-window --additional-module-paths NACResistance \\
        --python-script examples/slicer_batch.py --example --out out/example
    Slicer --no-main-window --additional-module-paths NACResistance \\
        --python-script examples/slicer_batch.py --manifest cohort/manifest.csv --out out/cohort
    Slicer --no-main-window --additional-module-paths NACResistance \\
        --python-script examples/slicer_batch.py --manifest cohort/manifest.csv --row 0 --out out/one

``--example`` builds one synthetic exam as scene nodes (as the panel's "Load synthetic example"
button does), scores it through the Logic and saves the values table as Slicer writes it (``values.tsv``, 6
significant digits, with column units and descriptions in ``values.schema.tsv``), the same values at
full precision (``features.csv``) and ``contributions.csv``. ``--manifest`` alone
scores every exam of the cohort with the library call behind ``nacresistance predict`` and writes
the same files as the command line (``extraction/``, ``predictions.csv``, ``contributions.csv``).
With ``--row`` it scores one exam of the manifest (``features.csv``, ``contributions.csv``). The
model is ``--model`` or the demo model (trained on synthetic data). Missing Python packages are
installed first. Only MRML and the module's Logic are used (no window, no Qt), so the same script
runs in CI on the ``slicer-core`` wheel (Testing/test_slicer_mrml.py). Research use only.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import slicer


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="slicer_batch.py", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--example", action="store_true", help="score one synthetic exam built in the scene")
    source.add_argument("--manifest", type=Path, help="cohort manifest CSV (docs/manifest.md)")
    parser.add_argument("--row", type=int, help="with --manifest: score only this exam (0-based row)")
    parser.add_argument("--model", type=Path, help="model file (default: the demo model)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    return parser.parse_args(argv)


def score_example(logic, out: Path) -> None:
    """One synthetic exam through the scene: nodes -> Logic -> values table saved as TSV."""
    parameters = logic.getParameterNode()
    logic.loadSyntheticExample(parameters)
    score = logic.scoreParameterNode(parameters)
    print(logic.predictionText(score.prediction))
    save_table(parameters.outputTable, out / "values.tsv")
    score.analysis.to_frame().to_csv(out / "features.csv")
    score.prediction.contributions.to_csv(out / "contributions.csv", index=False)


def save_table(table_node, path: Path) -> None:
    """Write a table node with its own storage node (TSV plus a ``.schema.tsv`` of units and descriptions)."""
    storage = table_node.CreateDefaultStorageNode()
    storage.SetFileName(str(path))
    if not storage.WriteData(table_node):
        raise OSError(f"cannot write the table {table_node.GetName()!r} to {path}")


def score_manifest_row(logic, manifest: Path, row: int, model: Path | None, out: Path) -> None:
    """One exam of a manifest read from its files and scored with the model."""
    score = logic.scoreManifestRow(str(manifest), row, modelPath=model)
    print(logic.predictionText(score.prediction))
    score.analysis.to_frame().to_csv(out / "features.csv")
    score.prediction.contributions.to_csv(out / "contributions.csv", index=False)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_arguments(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    import NACResistance  # the scripted module; its folder is on sys.path once Slicer has loaded it

    logic = NACResistance.NACResistanceLogic()
    logic.ensureRequirements()
    if args.example:
        score_example(logic, args.out)
        return 0
    if args.row is not None:
        score_manifest_row(logic, args.manifest, args.row, args.model, args.out)
        return 0
    result = logic.runCohort(str(args.manifest), str(args.out), modelPath=args.model, jobs=1)
    print(f"{len(result.predictions)} exams scored: {result.predictions_path}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    try:
        status = main(sys.argv[1:])
    except Exception:
        logging.exception("NACResistance batch run failed")
        status = 1
    slicer.util.exit(status)
