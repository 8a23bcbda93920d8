"""``nacresistance phantom``: write a synthetic breast-MRI cohort with known ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "write a synthetic breast-MRI cohort (images, segmentations, manifest.csv, truth) with known ground truth"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ._common import default_jobs

    parser.add_argument("--patients", type=int, default=240, metavar="N", help="number of patients")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed = identical files)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument("--small", action="store_true", help="coarse test protocol: tiny files, fast")
    parser.add_argument("--jobs", "-j", type=int, default=default_jobs(), metavar="J", help="worker processes")
    parser.add_argument("--second-reader", action="store_true", help="add a second reader's tumour outline")
    parser.add_argument("--followup", action="store_true", help="add the exam after two cycles (timepoint cycle2)")
    parser.add_argument("--tensor", action="store_true",
                        help="research DWI protocol: b = 0 plus 1000 and 2000 s/mm² shells, >= 15 directions each")
    parser.add_argument("--extra-bvalues", action="store_true", help="add b = 1500 and 2000 s/mm² to the trace DWI")
    parser.add_argument("--no-adc", action="store_true", help="do not write the scanner-style ADC map")
    parser.add_argument("--progress", choices=("auto", "bar", "log", "none"), default="auto",
                        help="progress display: a bar on a terminal (auto), log lines, or nothing")


def protocol_from_args(args: argparse.Namespace):
    """The :class:`~NACResistanceLib.phantom.PhantomProtocol` the options describe."""
    from dataclasses import replace

    from ..phantom import PhantomProtocol

    protocol = PhantomProtocol.small() if args.small else PhantomProtocol()
    protocol = replace(protocol, second_reader=args.second_reader, followup=args.followup,
                       scanner_adc=not args.no_adc)
    if args.extra_bvalues:
        protocol = protocol.with_extra_bvalues()
    return protocol.with_tensor() if args.tensor else protocol


def run(args: argparse.Namespace) -> int:
    import logging

    from ..errors import ConfigError
    from ..phantom import make_cohort
    from ._common import progress_from_args

    if args.patients < 1 or args.jobs < 1:
        raise ConfigError(f"--patients and --jobs must be >= 1, got {args.patients} and {args.jobs}")
    manifest = make_cohort(args.patients, args.seed, args.out, protocol_from_args(args), jobs=args.jobs,
                           progress=progress_from_args(args))
    logging.getLogger(__name__).info("wrote %s patients: manifest %s, truth %s", args.patients, manifest,
                                     Path(args.out) / "truth")
    print(manifest)
    return 0
