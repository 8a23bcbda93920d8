"""``nacresistance export-dicom``: per exam a DICOM SEG of the ROIs and a TID 1500 measurement report (SR)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import existing_file, quiet_known_notices

HELP = ("Write per exam a DICOM SEG (tumour and reference ROIs on the ROI phase's frame of reference) and a "
        "TID 1500 measurement report with every feature (IBSI codes, UCUM units) and, with --model, the "
        "model's probability; NIfTI exams get a minimal source MR series to reference. Needs Python 3.10+ "
        "(highdicom).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", type=existing_file, help="cohort manifest CSV the features were extracted from")
    parser.add_argument("features", type=existing_file, help="feature table from `nacresistance extract`")
    parser.add_argument("--out", "-o", type=Path, required=True, help="output folder (<patient>_<timepoint>/ per exam)")
    parser.add_argument("--model", type=existing_file, help="model JSON file: its probability goes into the SR")
    parser.add_argument("--patient", action="append", help="export only this patient (repeatable)")


def run(args: argparse.Namespace) -> int:
    from ..dicom_out import require_highdicom

    require_highdicom()
    from ..dicom_out.cohort import export_from_files

    quiet_known_notices()
    result = export_from_files(args.manifest, args.features, args.out, model_path=args.model, patients=args.patient)
    for (patient, timepoint), exported in result.exams.items():
        print(f"{patient} {timepoint}: {exported.seg_path}, {exported.sr_path} ({exported.n_measurements} "
              f"measurements{', ' + str(len(exported.skipped)) + ' not finite, left out' if exported.skipped else ''})")
    for patient, timepoint, reason in result.failures:
        print(f"{patient} {timepoint}: not exported: {reason}", file=sys.stderr)
    return 1 if result.failures else 0
