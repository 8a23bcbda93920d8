"""What one worker does with one exam: load it, analyse it, return a JSON-ready payload or the error.

Everything here is picklable and importable by name, so it runs unchanged in the parent process
(``jobs=1``), in spawned or forkserver worker processes, and on Dask workers. The worker writes
nothing: the parent stores the payload in the cache, so output folders need not be shared with
the workers (the *input* files must be readable by them).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .. import threads
from ..config import load_analysis_config
from ..errors import add_context, describe
from .allocator import tune_worker_allocator


@dataclass(frozen=True)
class ExamTask:
    """One exam to analyse: where to find it and with which parameters."""

    manifest_path: str
    """Path of ``manifest.csv``."""
    row: int
    """0-based data row of the exam in the manifest file (its line is ``row + 2``)."""
    patient_id: str
    timepoint: str
    key: str
    """Cache key (see :mod:`NACResistanceLib.cohort.cache`)."""
    parameters: Mapping[str, object]
    """``AnalysisConfig.to_dict()``."""
    record: Mapping[str, object] | None = None
    """The validated manifest row (``Manifest.frame`` as a dict): the worker reads this exam's images
    without re-reading the manifest. None only in tasks that are never analysed (cached exams, skipped rows)."""


@dataclass(frozen=True)
class ExamOutcome:
    """The result of one task: a payload on success, an error type and message on failure."""

    task: ExamTask
    payload: dict | None
    """Features, units, descriptions, warnings and provenance (JSON types only), or None on failure."""
    error_type: str = ""
    message: str = ""
    seconds: float = 0.0
    """Wall-clock time of the analysis, s."""
    log_records: tuple[logging.LogRecord, ...] = ()
    """WARNING and above logged during the analysis in a process without logging handlers (a worker),
    for the parent to re-emit through its own configuration; empty when the process has handlers."""


def analyze_task(task: ExamTask) -> ExamOutcome:
    """Load and analyse one exam; any ``Exception`` becomes a failure outcome naming the exam."""
    tune_worker_allocator()  # a Dask worker's allocator returns every image buffer to the OS (allocator.py)
    start = time.perf_counter()
    with collected_warnings() as records:
        try:
            with threads.limit(1):  # exams run side by side, one thread each (NACResistanceLib.threads)
                payload = _analyze(task)
        except Exception as error:  # one bad exam must never stop the cohort
            notes = getattr(error, "__notes__", None)
            if notes:  # the reader's note naming the patient is replaced by this one (said once)
                notes[:] = [note for note in notes if f"patient {task.patient_id}" not in note]
            add_context(error, f"patient {task.patient_id}, timepoint {task.timepoint}, manifest row {task.row + 2}")
            return ExamOutcome(task, None, type(error).__name__, describe(error), time.perf_counter() - start,
                               tuple(records))
    return ExamOutcome(task, payload, seconds=time.perf_counter() - start, log_records=tuple(records))


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args, record.exc_info, record.exc_text = record.getMessage(), None, None, None
        self.records.append(record)


@contextlib.contextmanager
def collected_warnings() -> Iterator[list[logging.LogRecord]]:
    """Collect WARNING+ records (picklable) when the root logger has no handlers, i.e. in a worker.

    Without this, warnings of spawned workers would reach Python's last-resort stderr handler and
    bypass the application's logging configuration; the parent re-emits them instead. In a process
    whose logging is configured (``jobs=1`` under the command line) nothing is collected.
    """
    root = logging.getLogger()
    if root.handlers:
        yield []
        return
    collector = _Collector()
    root.addHandler(collector)
    try:
        yield collector.records
    finally:
        root.removeHandler(collector)


@functools.lru_cache(maxsize=4)
def _config(parameters_json: str):
    """The analysis configuration of a task, checked once per worker process (tasks share parameters)."""
    return load_analysis_config(json.loads(parameters_json))


def _analyze(task: ExamTask) -> dict:
    from .. import io, pipeline

    exam = io.manifest.load_exam_row(task.manifest_path, task.record, task.row)  # validated by the parent
    analysis = pipeline.analyze_exam(exam, _config(json.dumps(task.parameters, sort_keys=True, default=str)))
    payload = {
        "patient_id": task.patient_id,
        "timepoint": task.timepoint,
        "key": task.key,
        "features": {name: float(value) for name, value in analysis.features.items()},
        "units": dict(analysis.units),
        "descriptions": dict(analysis.descriptions),
        "warnings": list(analysis.warnings),
        "warning_stages": list(analysis.warning_stages),
        "provenance": analysis.provenance,
    }
    return json.loads(json.dumps(payload, allow_nan=True, default=str))
