"""``nacresistance manifest``: a manifest from a folder tree of DICOM exports (one row per study)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = ("Walk a folder tree of DICOM exports and write a manifest with one row per study (patient, exam "
        "date) and its DCE, DWI, ADC and SEG series assigned, clinical columns left empty to fill, plus "
        "series.csv listing every series seen and why it was or was not assigned.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("export_root", type=Path, metavar="EXPORT_ROOT", help="folder tree of DICOM files")
    parser.add_argument("--out", type=Path, required=True, metavar="CSV", help="manifest CSV to write")
    parser.add_argument("--rules", type=Path, metavar="YAML",
                        help="SeriesDescription patterns per role (dce, dwi, adc, segmentation, exclude, "
                             "tumor_segment, reference_segment) replacing the defaults of docs/manifest.md")
    parser.add_argument("--series-out", type=Path, metavar="CSV",
                        help="table of every series seen (default: series.csv next to --out)")


def run(args: argparse.Namespace) -> int:
    import logging

    from ..errors import InputFileError
    from ..io.dicom_manifest import manifest_from_exports, read_rules
    from ..io.manifest import CLINICAL_COLUMNS, write_manifest

    if not args.export_root.is_dir():
        raise InputFileError(f"EXPORT_ROOT {args.export_root} is not a folder")
    found = manifest_from_exports(args.export_root, args.out.parent, read_rules(args.rules))
    frame = found.manifest.copy()
    for name in CLINICAL_COLUMNS:
        if name not in frame.columns:
            frame[name] = ""
    write_manifest(frame, args.out)
    series_out = args.series_out or args.out.parent / "series.csv"
    series_out.parent.mkdir(parents=True, exist_ok=True)
    found.series.to_csv(series_out, index=False, lineterminator="\n")
    assigned = (found.series["assigned"] != "").sum() if len(found.series) else 0
    logging.getLogger(__name__).info("%d exam(s) in %s; %d of %d series assigned (see %s)", len(frame), args.out,
                                     assigned, len(found.series), series_out)
    print(f"wrote {args.out} ({len(frame)} exams) and {series_out} ({len(found.series)} series, {assigned} assigned)")
    return 0
