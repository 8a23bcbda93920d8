"""The ``nacresistance`` command line: a thin front door over the library (no science here).

Each subcommand lives in ``NACResistanceLib/commands/<name>.py`` and provides ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int`` (the exit code). Heavy imports happen inside
``run`` so that ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from . import RESEARCH_USE_ONLY, __version__
from .errors import NACResistanceError, describe

COMMANDS: dict[str, str] = {
    "phantom": "phantom",
    "extract": "extract",
    "train": "train",
    "evaluate": "evaluate",
    "predict": "predict",
    "report": "report",
    "demo": "demo",
    "reproducibility": "reproducibility",
    "delta": "delta",
    "config": "config",
    "merge": "merge",
}
"""Subcommand name -> module under ``NACResistanceLib.commands``, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nacresistance",
        description="Predict resistance to neoadjuvant chemotherapy from breast MRI. " + RESEARCH_USE_ONLY,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"{__package__}.commands.{module_name}")
        sub = subparsers.add_parser(
            name, help=module.HELP, description=f"{module.HELP} {RESEARCH_USE_ONLY}",
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 success, 1 some exams failed, 2 error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args))
    except NACResistanceError as error:
        print(f"nacresistance {args.command}: {describe(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
