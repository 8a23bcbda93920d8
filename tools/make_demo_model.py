"""Train the combined model on a synthetic cohort and write NACResistance/Resources/demo_model.json.

The demo model lets the Slicer module and ``nacresistance predict`` run out of the box. It is
trained on phantom data only (NACResistanceLib.phantom): its training block says so, and it must
never be applied to real patients (research use only).

Usage (from the repository root)::

    nice .venv/bin/python tools/make_demo_model.py                       # phantom + extraction + study
    nice .venv/bin/python tools/make_demo_model.py --from-demo demo-output   # reuse `make demo` output

Without ``--from-demo`` it generates ``--patients`` synthetic patients with the seed study's
protocol in ``--work`` (default ``build/demo-model``), extracts them with the shipped analysis
parameters, runs the study (``--bootstrap`` replicates) and saves the combined model.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "NACResistance" / "Resources" / "demo_model.json"
DESCRIPTION = ("synthetic phantom cohort (NACResistanceLib.phantom, {patients} patients, seed {seed}); "
               "demonstration model, research use only, never for real patients")


def parse(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-demo", type=Path, help="a `nacresistance demo` output folder to train from")
    parser.add_argument("--patients", type=int, default=240)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap replicates of the study")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "demo-model")
    parser.add_argument("--out", type=Path, default=TARGET)
    return parser.parse_args(argv)


def inputs(args: argparse.Namespace) -> tuple[Path, Path]:
    """(manifest, features) from a demo folder, or freshly generated and extracted."""
    if args.from_demo:
        return args.from_demo / "cohort" / "manifest.csv", args.from_demo / "features" / "features.csv"
    from NACResistanceLib.cohort import run_extraction
    from NACResistanceLib.phantom import PhantomProtocol, make_cohort

    manifest = make_cohort(args.patients, args.seed, args.work / "cohort", PhantomProtocol(), jobs=args.jobs)
    result = run_extraction(manifest, args.work / "features", None, jobs=args.jobs)
    return manifest, result.features_path


def main(argv=None) -> int:
    from NACResistanceLib import io, models
    from NACResistanceLib.commands.train import run_study_from_files

    args = parse(argv)
    manifest, features = inputs(args)
    patients = len(io.read_manifest(manifest).frame)
    description = DESCRIPTION.format(patients=patients, seed=args.seed)
    overrides = {"data_description": description,
                 "validation": {"n_boot_optimism": args.bootstrap, "n_boot_performance": args.bootstrap,
                                "workers": args.jobs}}
    result, _, _, _ = run_study_from_files(features, manifest, overrides, args.seed, None)
    combined = result.models["combined"]
    training = dict(combined.training, synthetic=True, research_use_only=True,
                    validation_auc=_validation_auc(result))
    models.save(dataclasses.replace(combined, training=training), args.out)
    print(f"wrote {args.out}: terms {[t.name for t in combined.terms]}, threshold {combined.threshold:.3f}")
    return 0


def _validation_auc(result) -> float | None:
    table = result.table5.set_index(["cohort", "model"])
    key = ("validation", "combined")
    return float(table.loc[key, "auc"]) if key in table.index else None


if __name__ == "__main__":
    sys.exit(main())
