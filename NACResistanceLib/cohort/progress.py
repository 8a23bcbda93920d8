"""Progress callbacks for the command line: a one-line bar with ETA on a terminal, log lines otherwise.

The library reports progress through ``progress(message, fraction) -> bool`` arguments; these
adapters are how the ``nacresistance`` commands display it. They never cancel (return False).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

logger = logging.getLogger(__name__)

BAR_WIDTH = 30


def format_duration(seconds: float) -> str:
    """``"1h02m"``, ``"3m07s"`` or ``"42s"`` for a duration in seconds."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class TerminalProgress:
    """Redraws ``[#####.....]  45%  ETA 3m12s  message`` on one line of a terminal stream.

    The ETA extrapolates the rate since the first report, whose fraction is the starting point
    (exams finished by an earlier run and taken from the cache do not inflate the rate).
    """

    def __init__(self, stream: TextIO | None = None, clock=time.monotonic):
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.started: float | None = None
        self.start_fraction = 0.0

    def __call__(self, message: str, fraction: float) -> bool:
        now = self.clock()
        if self.started is None:
            self.started, self.start_fraction = now, fraction
        filled = int(round(BAR_WIDTH * min(max(fraction, 0.0), 1.0)))
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        line = f"\r[{bar}] {100 * fraction:5.1f}%  ETA {self.eta(fraction, now)}  {message}"
        self.stream.write(line[:160].ljust(100))
        if fraction >= 1.0:
            self.stream.write("\n")
        self.stream.flush()
        return False

    def eta(self, fraction: float, now: float) -> str:
        """Remaining time extrapolated from the progress made since the first report."""
        done = fraction - self.start_fraction
        if self.started is None or done <= 0 or now <= self.started:
            return "--"
        return format_duration((now - self.started) * (1.0 - fraction) / done)


class LogProgress:
    """Writes ``message (45.0%)`` as an INFO log line per report (for files, pipes and CI logs)."""

    def __call__(self, message: str, fraction: float) -> bool:
        logger.info("%s (%.1f%%)", message, 100 * fraction)
        return False


def for_stream(stream: TextIO | None = None) -> TerminalProgress | LogProgress:
    """The bar when ``stream`` (default stderr) is a terminal, log lines otherwise."""
    stream = stream if stream is not None else sys.stderr
    return TerminalProgress(stream) if stream.isatty() else LogProgress()
