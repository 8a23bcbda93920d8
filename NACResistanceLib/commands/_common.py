"""Options and adapters shared by the ``nacresistance`` subcommands (argument parsing only, no science)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
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
    parser.add_argument("--jobs", "-j", type=positive_int, default=default_jobs(), metavar="N",
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


def check_output_folder(folder: Path, option: str = "--out") -> Path:
    """Prove that ``folder`` can be created and written before any work starts (creates nothing).

    A temporary file is created and removed in the folder, or in its deepest existing parent when
    the folder does not exist yet.

    Raises
    ------
    errors.OutputError
        Naming the folder, the option and the reason (a path under a regular file, no permission,
        a virtual file system such as /proc).
    """
    from ..errors import OutputError

    folder = Path(folder)
    existing = next(p for p in [folder, *folder.absolute().parents] if p.exists())
    if not existing.is_dir():
        where = "is a file" if existing == folder else f"is under {existing}, which is a file"
        raise OutputError(f"output folder {folder} {where}, not a folder; choose another {option}")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".nacresistance-write-test-"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise OutputError(f"output folder {folder} cannot be written ({reason} in {existing}); "
                          f"choose another {option}") from None
    return folder


def check_scheduler(address: str, timeout_s: float = 5.0) -> None:
    """Connect to a Dask scheduler's TCP address once (``timeout_s``, s) before any exam is read.

    Raises
    ------
    errors.ConfigError
        If the address is malformed or nothing answers there.
    """
    import socket
    from urllib.parse import urlsplit

    from ..errors import ConfigError

    if "://" not in address:
        address = "tcp://" + address
    parts = urlsplit(address)
    if parts.scheme not in ("tcp", "tls"):
        return  # inproc://, ucx://: left to Dask
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise ConfigError(f"--scheduler {address}: expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786")
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise ConfigError(f"--scheduler {address}: no Dask scheduler answers there ({reason}, waited up to "
                          f"{timeout_s:g} s); start one (`dask scheduler`) or check the address") from None


FILE_OUTPUTS: dict[str, tuple[str, ...]] = {"manifest": ("out", "series_out")}
"""Per command, the options that name an output *file* (every other ``--out`` is a folder)."""


def check_output_file(path: Path, option: str) -> Path:
    """Prove that the file ``path`` can be written (its folder writable; not an existing folder); creates nothing."""
    from ..errors import OutputError

    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder; give a file name (e.g. {path / 'manifest.csv'})")
    check_output_folder(path.parent if str(path.parent) else Path("."), option)
    return path


def check_before_work(args: argparse.Namespace) -> None:
    """Checks every command shares, run before its work: output locations writable, Dask scheduler reachable."""
    if getattr(args, "scheduler", None):
        check_scheduler(args.scheduler)
    command = getattr(args, "command", "")
    files = FILE_OUTPUTS.get(command, ())
    for name in files:
        if getattr(args, name, None) is not None:
            check_output_file(Path(getattr(args, name)), "--" + name.replace("_", "-"))
    out = getattr(args, "out", None)
    if out is not None and command != "config" and "out" not in files:
        check_output_folder(Path(out))


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def iso_date(text: str) -> str:
    """argparse type: a calendar date YYYY-MM-DD (returned unchanged)."""
    import datetime

    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None
    return text


def print_warnings(warnings, path: Path | None, *, shown: int = 3) -> None:
    """On stderr: how many per-exam warnings a run produced, the ``shown`` most frequent kinds and where all are.

    Warnings of one kind (same stage, same text apart from its numbers) are one line: how many exams had it
    and the first of them, so a cohort where every exam lacks the same series reads as one line, not hundreds.
    """
    if warnings is None or len(warnings) == 0:
        return
    exams = warnings[["patient_id", "timepoint"]].drop_duplicates().shape[0]
    print(f"{len(warnings)} warnings for {exams} exams (values omitted or computed with caveats), see {path}:",
          file=sys.stderr)
    kinds = warnings.assign(kind=warnings["message"].astype(str).str.replace(r"\d+(?:\.\d+)?", "#", regex=True))
    groups = kinds.groupby(["stage", "kind"], sort=False)
    counts = groups.size().sort_values(ascending=False, kind="stable")
    for stage, kind in counts.index[:shown]:
        first = groups.get_group((stage, kind)).iloc[0]
        n_exams = groups.get_group((stage, kind))[["patient_id", "timepoint"]].drop_duplicates().shape[0]
        who = f"{first.patient_id} {first.timepoint}" if n_exams == 1 else \
            f"{n_exams} exams, first {first.patient_id} {first.timepoint}"
        print(f"  {who} [{stage}]: {first.message}", file=sys.stderr)
    if len(counts) > shown:
        rest = int(counts.iloc[shown:].sum())
        print(f"  ... {len(counts) - shown} more kinds ({rest} warnings) in {path}", file=sys.stderr)
