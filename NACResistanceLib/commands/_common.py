"""Options and adapters shared by the ``nacresistance`` subcommands (argument parsing only, no science)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from ..cohort.progress import LogProgress, TerminalProgress, for_stream


def default_jobs() -> int:
    """Worker processes by default: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def add_parallel_options(parser: argparse.ArgumentParser) -> None:
    """``--jobs``, ``--scheduler`` and ``--progress`` for commands that analyse many exams."""
    parser.add_argument("--jobs", "-j", type=int, default=default_jobs(), metavar="N",
                        help="local worker processes (1 = analyse in this process)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (overrides --jobs)")
    parser.add_argument("--progress", choices=("auto", "bar", "log", "none"), default="auto",
                        help="progress display: a bar with ETA on a terminal (auto), log lines, or nothing")


def progress_from_args(args: argparse.Namespace):
    """The progress callback chosen by ``--progress`` (``auto``: bar on a terminal, log lines otherwise)."""
    choice = getattr(args, "progress", "auto")
    return {"auto": for_stream, "bar": lambda: TerminalProgress(sys.stderr),
            "log": LogProgress, "none": lambda: None}[choice]()


def existing_file(text: str) -> Path:
    """argparse type: a path that must be an existing file."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"file not found: {path}")
    return path


class _DropMessage(logging.Filter):
    def __init__(self, fragment: str):
        super().__init__()
        self.fragment = fragment

    def filter(self, record: logging.LogRecord) -> bool:
        return self.fragment not in record.getMessage()


def quiet_known_notices() -> None:
    """Drop per-exam notes of pyradiomics and pykwalify that say nothing is wrong.

    pyradiomics logs "GLCM is symmetrical, therefore Sum Average = 2 * Joint Average" as a WARNING
    for every image whose GLCM features are computed (9 times per exam with wavelets), and
    pykwalify logs "validation.valid" at INFO each time a parameter file is validated. Every other
    message is kept.
    """
    logging.getLogger("radiomics.glcm").addFilter(_DropMessage("GLCM is symmetrical"))
    logging.getLogger("pykwalify").setLevel(logging.WARNING)
