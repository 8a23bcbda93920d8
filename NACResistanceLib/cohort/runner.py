"""Analyse every exam of a manifest: local processes or a Dask cluster, with cache, resume and failures.

The table is always assembled from the cache files in manifest order, so an uninterrupted run,
a resumed run and runs with any number of workers or a Dask cluster give the same bytes.
"""

from __future__ import annotations

import logging
import multiprocessing
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..config import load_analysis_config
from ..config.records import PARAMETERS_FILE, write_parameters_text
from ..errors import CancelledError, ConfigError, InputFileError
from ..threads import ignore_interrupt, stop_pool
from . import cache
from .worker import ExamOutcome, ExamTask, analyze_task

logger = logging.getLogger(__name__)

Progress = Callable[[str, float], bool]

FEATURES_FILE = "features.csv"
FAILURES_FILE = "failures.csv"
WARNINGS_FILE = "warnings.csv"
DICTIONARY_FILE = "feature_dictionary.csv"
CACHE_FOLDER = "cache"
FAILURE_COLUMNS = ["patient_id", "timepoint", "error_type", "message"]
WARNING_COLUMNS = ["patient_id", "timepoint", "stage", "message"]
INDEX = ["patient_id", "timepoint"]
DICTIONARY_COLUMNS = ["feature", "unit", "ibsi_code", "image", "description"]


@dataclass(frozen=True)
class ExtractionResult:
    """What :func:`run_extraction` produced."""

    features: pd.DataFrame
    """One row per finished exam, index ``(patient_id, timepoint)`` in manifest order."""
    failures: pd.DataFrame
    """Columns ``patient_id, timepoint, error_type, message``; empty when every exam finished."""
    dictionary: pd.DataFrame
    """Columns ``feature, unit, ibsi_code, image, description`` (see :mod:`feature_catalogue`)."""
    n_cached: int
    """Exams taken from the cache (finished by an earlier run)."""
    n_computed: int
    """Exams analysed by this run."""
    features_path: Path
    failures_path: Path
    warnings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WARNING_COLUMNS))
    """Columns ``patient_id, timepoint, stage, message``: values omitted or computed with caveats, per exam."""
    warnings_path: Path | None = None

    @property
    def ok(self) -> bool:
        """True when no exam failed."""
        return self.failures.empty


def run_extraction(manifest, out_dir, config=None, *, jobs: int = 1, scheduler: str | None = None,
                   progress: Progress | None = None, skip_invalid: bool = False) -> ExtractionResult:
    """Analyse every exam of ``manifest`` with :func:`pipeline.analyze_exam` and write the tables.

    Parameters
    ----------
    manifest : str, Path or io.Manifest
        The cohort manifest (``manifest.csv``; see docs/manifest.md).
    out_dir : str or Path
        Output folder: ``features.csv``, ``failures.csv``, ``feature_dictionary.csv``,
        ``analysis_parameters.json`` (the parameters used, for ``train``) and ``cache/``.
    config : config.AnalysisConfig, dict, str, Path or None
        Analysis parameters (None = the shipped defaults); their content is part of every cache key.
    jobs : int
        Local worker processes (spawned; 1 = analyse in this process). Ignored with ``scheduler``.
    scheduler : str or None
        Address of a running Dask scheduler (``tcp://host:8786``); its workers must see the input
        files and have this library installed.
    progress : callable or None
        ``progress(message, fraction) -> bool`` after each exam; returning True cancels the run
        (finished exams stay cached) with :class:`errors.CancelledError`.
    skip_invalid : bool
        Analyse the valid rows of a manifest that has invalid ones, and list the invalid rows in
        ``failures.csv`` (error type ``ManifestError``) instead of refusing the whole manifest.

    Returns
    -------
    ExtractionResult
        Features of every finished exam (cached or computed now), the failures and the counts.
    """
    if scheduler is None and int(jobs) < 1:
        raise ConfigError(f"jobs must be at least 1, got {jobs} (option --jobs)")
    manifest_path, frame, rows, skipped = _read_manifest(manifest, skip_invalid)
    config = load_analysis_config(config)
    parameters = config.to_dict()
    out = Path(out_dir)
    cache_dir = out / CACHE_FOLDER
    cache_dir.mkdir(parents=True, exist_ok=True)
    removed = cache.remove_leftovers(cache_dir)
    if removed:
        logger.info("removed %s unfinished temporary files of an interrupted run", removed)
    cache.write_atomic(out / PARAMETERS_FILE, write_parameters_text(config))
    tasks = _tasks(manifest_path, frame, parameters, rows)
    pending = [t for t in tasks if not _entry_path(cache_dir, t).exists()]
    n_cached = len(tasks) - len(pending)
    logger.info("%s exams: %s finished earlier (cached), %s to analyse", len(tasks), n_cached, len(pending))
    failures = skipped + _execute(pending, cache_dir, jobs, scheduler, progress, n_cached, len(tasks))
    return _write_tables(out, cache_dir, tasks, failures, n_cached, len(pending) - len(failures))


def _read_manifest(manifest, skip_invalid: bool = False) -> tuple[Path, pd.DataFrame, list[int], list[ExamOutcome]]:
    """The manifest's path and frame, the file row of each frame row, and its skipped invalid rows as failures."""
    from .. import io

    if isinstance(manifest, (str, Path)):
        path = Path(manifest)
        manifest = io.read_manifest(path, skip_invalid=skip_invalid)
    else:
        path = Path(manifest.path)
    path = path.resolve()
    skipped = [ExamOutcome(ExamTask(str(path), s.row, s.patient_id, s.timepoint, "", {}), None, "ManifestError",
                           "; ".join(s.problems)) for s in getattr(manifest, "skipped", ())]
    rows = [manifest.file_row(i) if hasattr(manifest, "file_row") else i for i in range(len(manifest.frame))]
    return path, manifest.frame, rows, skipped


def _tasks(manifest_path: Path, frame: pd.DataFrame, parameters: dict, rows: Sequence[int]) -> list[ExamTask]:
    tasks = []
    for row_number, (_, row) in zip(rows, frame.iterrows()):
        record = row.to_dict()
        key = cache.exam_key(record, manifest_path.parent, parameters)
        tasks.append(ExamTask(str(manifest_path), row_number, str(record["patient_id"]),
                              str(record.get("timepoint", "baseline")), key, parameters))
    return tasks


def _entry_path(cache_dir: Path, task: ExamTask) -> Path:
    return cache_dir / cache.entry_name(task.patient_id, task.timepoint, task.key)


def _execute(pending: Sequence[ExamTask], cache_dir: Path, jobs: int, scheduler: str | None,
             progress: Progress | None, n_done: int, n_total: int) -> list[ExamOutcome]:
    """Run the pending tasks, store each success in the cache as it arrives, return the failures."""
    failures: list[ExamOutcome] = []
    if progress is not None and progress(f"{len(pending)} exams to analyse", n_done / max(n_total, 1)):
        raise CancelledError("extraction cancelled before it started")
    outcomes = _outcomes(pending, jobs, scheduler)
    try:
        for outcome in outcomes:
            n_done += 1
            _record(outcome, cache_dir, failures)
            message = _message(outcome, n_done, n_total)
            if progress is not None and progress(message, n_done / max(n_total, 1)):
                raise CancelledError(f"extraction cancelled after {n_done} of {n_total} exams; "
                                     "finished exams are cached and a re-run resumes")
    finally:
        close = getattr(outcomes, "close", None)
        if close is not None:
            close()
    return failures


def _record(outcome: ExamOutcome, cache_dir: Path, failures: list[ExamOutcome]) -> None:
    for record in outcome.log_records:  # a worker's warnings, through this process's logging setup
        if logging.getLogger(record.name).isEnabledFor(record.levelno):
            logging.getLogger(record.name).handle(record)
    if outcome.payload is None:
        failures.append(outcome)
        logger.warning("%s %s failed: %s", outcome.task.patient_id, outcome.task.timepoint, outcome.message)
    else:
        outcome.payload["seconds"] = round(outcome.seconds, 3)
        cache.write_entry(_entry_path(cache_dir, outcome.task), outcome.payload)


def _message(outcome: ExamOutcome, n_done: int, n_total: int) -> str:
    status = "failed" if outcome.payload is None else f"done in {outcome.seconds:.1f} s"
    return f"{outcome.task.patient_id} {outcome.task.timepoint} {status} ({n_done}/{n_total})"


def _outcomes(pending: Sequence[ExamTask], jobs: int, scheduler: str | None) -> Iterable[ExamOutcome]:
    if not pending:
        return iter(())
    if scheduler is not None:
        return _dask_outcomes(pending, scheduler)
    if int(jobs) == 1:
        return (analyze_task(task) for task in pending)
    return _process_outcomes(pending, int(jobs))


def _process_outcomes(pending: Sequence[ExamTask], jobs: int) -> Iterable[ExamOutcome]:
    """Spawned processes (never fork: safe with threads, Dask and GUI toolkits in the parent)."""
    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=context,
                                   initializer=ignore_interrupt)
    futures = {executor.submit(analyze_task, task): task for task in pending}
    try:
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool as error:
                yield ExamOutcome(futures[future], None, "WorkerCrashed",
                                  f"the worker process died ({error}); out of memory? re-run to retry")
    except KeyboardInterrupt:  # Ctrl-C: stop the workers now; finished exams are already cached
        stop_pool(executor)
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _dask_outcomes(pending: Sequence[ExamTask], scheduler: str) -> Iterable[ExamOutcome]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    with Client(scheduler, set_as_default=False) as client:
        keys = [f"nacresistance-exam-{t.patient_id}-{t.timepoint}-{t.key[:16]}" for t in pending]
        futures = client.map(analyze_task, pending, key=keys, pure=False)
        tasks = dict(zip(keys, pending))
        try:
            for future in dask_completed(futures, loop=client.loop):
                try:
                    yield future.result()
                except Exception as error:  # a worker lost: record it, keep the cohort going
                    yield ExamOutcome(tasks[future.key], None, type(error).__name__, f"Dask task failed: {error}")
        finally:
            client.cancel(futures)


def _write_tables(out: Path, cache_dir: Path, tasks: Sequence[ExamTask], failures: Sequence[ExamOutcome],
                  n_cached: int, n_computed: int) -> ExtractionResult:
    entries = [cache.read_entry(p) for p in (_entry_path(cache_dir, t) for t in tasks) if p.exists()]
    features = _feature_frame(entries)
    failure_frame = pd.DataFrame(
        [[f.task.patient_id, f.task.timepoint, f.error_type, f.message] for f in failures], columns=FAILURE_COLUMNS
    )
    dictionary = _dictionary(entries, dict(tasks[0].parameters) if tasks else None)
    warning_frame = warning_table(entries)
    write_table(features, out / FEATURES_FILE, index=True)
    write_table(failure_frame, out / FAILURES_FILE)
    write_table(warning_frame, out / WARNINGS_FILE)
    write_table(dictionary, out / DICTIONARY_FILE)
    logger.info("%s exams in %s, %s failed (%s)", len(features), out / FEATURES_FILE, len(failures),
                out / FAILURES_FILE)
    return ExtractionResult(features, failure_frame, dictionary, n_cached, n_computed,
                            out / FEATURES_FILE, out / FAILURES_FILE, warning_frame, out / WARNINGS_FILE)


def warning_table(entries: Sequence[dict]) -> pd.DataFrame:
    """One row per warning of each finished exam: ``patient_id, timepoint, stage, message``."""
    rows = [[e["patient_id"], e["timepoint"], warning_stage(w), w] for e in entries for w in e.get("warnings", [])]
    return pd.DataFrame(rows, columns=WARNING_COLUMNS)


def warning_stage(message: str) -> str:
    """The analysis stage a warning comes from (dce, diffusion, radiomics, segmentation or exam), read from its words."""
    text = re.sub(r"\S*[/\\]\S*", " ", message).lower()  # file paths say nothing about the stage
    for stage, words in (("dce", ("dce", "enhancement", "contrast")), ("diffusion", ("adc", "dki", "dwi", "b-value",
                         "b=0", "diffusion", "kurtosis")), ("radiomics", ("pyradiomics", "radiomics")),
                         ("segmentation", ("segment", "mask", "reference"))):
        if any(word in text for word in words):
            return stage
    return "exam"


def write_table(frame: pd.DataFrame, path: Path, *, index: bool = False) -> Path:
    """Write ``frame`` as CSV atomically (full float precision, ``\\n`` line ends, NaN as empty cell)."""
    cache.write_atomic(Path(path), frame.to_csv(index=index, lineterminator="\n"))
    return Path(path)


def read_feature_table(path: Path) -> pd.DataFrame:
    """Read a feature table written by :func:`run_extraction`, bit-identical to the in-memory table.

    The cells are read as text and converted by Python's ``float`` (exact for the shortest-repr
    strings :func:`write_table` writes): pandas 2.x's default C parser may differ from the written
    value in the last unit of the last place, and pandas 3 deprecates ``float_precision``. Patient
    ids stay text, as in the manifest.
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    missing = [c for c in INDEX if c not in frame.columns]
    if missing:
        raise InputFileError(f"feature table {path} has no column {', '.join(missing)}; use the features.csv "
                             "written by `nacresistance extract`")
    frame = frame.set_index(INDEX)
    try:
        return frame.astype("float64")
    except ValueError:
        raise _not_numeric(path, frame) from None


def _not_numeric(path: Path, frame: pd.DataFrame) -> InputFileError:
    """The error naming the first text cell of a feature table (a manifest given as features, most often)."""
    for column in frame.columns:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() & frame[column].notna()
        if bad.any():
            patient, timepoint = bad[bad].index[0]
            looks = (" (it looks like a manifest: pass the features.csv written by `nacresistance extract`)"
                     if {"exam_date", "segmentation", "dce_phases"} & set(frame.columns) else "")
            return InputFileError(f"feature table {path}: column {column!r} of patient {patient}, timepoint "
                                  f"{timepoint} holds {frame.at[(patient, timepoint), column]!r}, not a number{looks}")
    return InputFileError(f"feature table {path} holds values that are not numbers")


def _feature_frame(entries: Sequence[dict]) -> pd.DataFrame:
    columns: dict[str, None] = {}
    for entry in entries:
        columns.update(dict.fromkeys(entry["features"]))
    rows = [[entry["features"].get(c, float("nan")) for c in columns] for entry in entries]
    index = pd.MultiIndex.from_tuples([(e["patient_id"], e["timepoint"]) for e in entries], names=INDEX)
    return pd.DataFrame(rows, index=index, columns=list(columns), dtype="float64")


def _dictionary(entries: Sequence[dict], analysis: dict | None = None) -> pd.DataFrame:
    """One row per feature column: unit, IBSI code, image and filter, description (``feature_catalogue``)."""
    from ..feature_catalogue import dictionary_rows

    rows: dict[str, tuple[str, str]] = {}
    for entry in entries:
        for name in entry["features"]:
            rows.setdefault(name, (entry["units"].get(name, ""), entry["descriptions"].get(name, "")))
    described = dictionary_rows([(n, u, d) for n, (u, d) in rows.items()], analysis)
    return pd.DataFrame([[d.feature, d.unit, d.ibsi_code, d.image, d.description] for d in described],
                        columns=DICTIONARY_COLUMNS)
