"""``nacresistance reproducibility``: ICC of every feature between readers and/or over segmentation perturbations."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import add_parallel_options, existing_file, progress_from_args

HELP = "Feature reproducibility: ICC between two readers' outlines and/or over segmentation perturbations."

PAGE = "reproducibility.html"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", type=existing_file,
                        help="cohort manifest CSV; exams with segmentation_reader2 give the inter-reader ICC")
    parser.add_argument("--out", "-o", type=Path, required=True,
                        help="output folder: reproducibility.html, icc_*.csv, icc_filter.csv, features_removed.txt")
    parser.add_argument("--config", type=existing_file, help="analysis parameter file (YAML; default: shipped)")
    parser.add_argument("--no-readers", dest="readers", action="store_false",
                        help="ignore the second reader's outline (perturbations only)")
    parser.add_argument("--perturb", action="store_true",
                        help="also perturb the reader-1 outline (erosion/dilation, radius ±, contour noise, shifts)")
    parser.add_argument("--radius-fraction", type=float, default=0.2, metavar="F",
                        help="with --perturb: shrink and grow by this fraction of the equivalent radius")
    parser.add_argument("--contour-noise", type=float, default=0.25, metavar="P",
                        help="with --perturb: flip probability of each boundary voxel")
    parser.add_argument("--timepoint", action="append", metavar="LABEL",
                        help="analyse exams at this time point (repeatable; default: baseline)")
    parser.add_argument("--icc-threshold", type=float, default=0.75, help="keep features with ICC >= this")
    parser.add_argument("--icc-type", choices=("ICC(2,1)", "ICC(3,1)"), default="ICC(2,1)",
                        help="absolute agreement ICC(2,1) or consistency ICC(3,1)")
    parser.add_argument("--icc-statistic", choices=("icc", "ci_low"), default="icc",
                        help="compare the ICC estimate or the lower bound of its 95%% CI with the threshold")
    parser.add_argument("--seed", type=int, default=0, help="seed of the contour randomisation")
    add_parallel_options(parser)


def _check_options(args: argparse.Namespace) -> None:
    """Option ranges and the time points against the manifest, before any exam is analysed."""
    from .. import io
    from ..errors import ConfigError

    if not 0.0 < args.radius_fraction < 1.0:
        raise ConfigError(f"--radius-fraction {args.radius_fraction}: must be between 0 and 1 (a fraction of the "
                          "equivalent radius, e.g. 0.2)")
    if not 0.0 < args.contour_noise <= 1.0:
        raise ConfigError(f"--contour-noise {args.contour_noise}: must be a probability in (0, 1], e.g. 0.25")
    if not -1.0 <= args.icc_threshold <= 1.0:
        raise ConfigError(f"--icc-threshold {args.icc_threshold}: must be in [-1, 1], e.g. 0.75")
    present = sorted(set(io.read_manifest(args.manifest).frame["timepoint"]))
    missing = [t for t in (args.timepoint or ["baseline"]) if t not in present]
    if missing:
        raise ConfigError(f"--timepoint {', '.join(missing)}: no exam of manifest {args.manifest} has this time point "
                          f"(column timepoint holds {', '.join(present)})")


def run(args: argparse.Namespace) -> int:
    from ..report.analyses import reproducibility_section_from, standalone_page
    from ..robustness import PerturbationConfig
    from ..robustness.cohort import run_reproducibility

    _check_options(args)
    perturbations = None
    if args.perturb:
        perturbations = PerturbationConfig(radius_fractions=(-args.radius_fraction, args.radius_fraction),
                                           contour_noise_probability=args.contour_noise)
    result = run_reproducibility(
        args.manifest, args.out, args.config, readers=args.readers, perturbations=perturbations,
        timepoints=tuple(args.timepoint or ("baseline",)), threshold=args.icc_threshold, icc_type=args.icc_type,
        statistic=args.icc_statistic, seed=args.seed, jobs=args.jobs, scheduler=args.scheduler,
        progress=progress_from_args(args))
    paths = result.write(args.out)
    section = reproducibility_section_from(args.out)
    page = Path(args.out) / PAGE
    page.write_text(standalone_page("Feature reproducibility", [section]), encoding="utf-8")
    print(f"reproducibility: {page}; filter decision {paths['icc_filter']} "
          f"({len(result.decision.kept)} kept, {len(result.decision.removed)} removed)")
    failures = len(result.variants.failures) + len(result.extraction_failures)
    if failures:
        print(f"{failures} exam variants failed, see {paths['failures']}", file=sys.stderr)
        return 1
    return 0
