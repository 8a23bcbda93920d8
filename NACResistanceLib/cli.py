"""The ``nacresistance`` command line: a thin front door over the library (no science here).

Each subcommand lives in ``NACResistanceLib/commands/<name>.py`` and provides ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int`` (the exit code). Heavy imports happen inside
``run`` so that ``--help`` stays fast.

Exit codes (docs/cli.md): 0 done; 1 some exams failed (the rest finished, see failures.csv);
2 bad input or usage (one line on stderr naming the file, patient, field and fix); 3 an unexpected
error (one line on stderr plus the path of a log file holding the traceback); 130 interrupted
(Ctrl-C; finished exams are cached and a re-run resumes).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from . import RESEARCH_USE_ONLY, __version__
from .errors import NACResistanceError, describe

EXIT_OK, EXIT_EXAMS_FAILED, EXIT_BAD_INPUT, EXIT_UNEXPECTED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
INTERRUPTED_MESSAGE = "interrupted; finished exams are cached; rerun to resume"

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
    "manifest": "manifest",
    "export-dicom": "export_dicom",
    "merge": "merge",
}
"""Subcommand name -> module under ``NACResistanceLib.commands``, in the order ``--help`` lists them."""


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Adds "(default: X)" to an option's help only where X says something (not None, not a switch's bool)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("%(default)" in text or action.default in (None, argparse.SUPPRESS) or isinstance(action.default, bool)
                or action.required or not action.option_strings):
            return text
        return text + " (default: %(default)s)"


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
            formatter_class=DefaultsHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 done, 1 some exams failed, 2 bad input or usage,
    3 unexpected error, 130 interrupted). Never lets a traceback reach the terminal."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse already printed the usage line and what is wrong
        return int(stop.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        from .commands._common import check_before_work

        check_before_work(args)
        return int(args.run(args))
    except NACResistanceError as error:
        print(f"nacresistance {args.command}: {describe(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:  # the environment (permissions, full disk, a file removed meanwhile), not a bug
        where = f" {error.filename}" if error.filename else ""
        print(f"nacresistance {args.command}: {type(error).__name__}:{where}: {error.strerror or error}; check the "
              "file's permissions and the free disk space", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"nacresistance {args.command}: {INTERRUPTED_MESSAGE}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug: one line here, the traceback in a log file
        log = _write_traceback(args.command, argv)
        print(f"nacresistance {args.command}: unexpected {type(error).__name__}: {_first_line(error)}; "
              f"traceback in {log} (please report it with this file)", file=sys.stderr)
        return EXIT_UNEXPECTED


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else "(no message)"


def _write_traceback(command: str, argv: Sequence[str] | None) -> Path:
    """Write the current exception's traceback and the command line to a log file; returns its path."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(os.environ.get("NACRESISTANCE_LOG_DIR") or tempfile.gettempdir())
    path = folder / f"nacresistance-{command}-{stamp}-{os.getpid()}.log"
    arguments = list(sys.argv[1:] if argv is None else argv)
    text = (f"nacresistance {__version__}, Python {sys.version.split()[0]}\n"
            f"command line: nacresistance {' '.join(arguments)}\n\n{traceback.format_exc()}")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError:
        path = Path(tempfile.mkstemp(prefix="nacresistance-", suffix=".log")[1])
        path.write_text(text, encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())
