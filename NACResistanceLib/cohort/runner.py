"""Analyse every exam of a manifest: local processes or a Dask cluster, with cache, resume and failures.

The table is always assembled from the cache files in manifest order, so an uninterrupted run,
a resumed run and runs with any number of workers or a Dask cluster give the same bytes.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import AnalysisConfig, load_analysis_config
from ..config.records import PARAMETERS_FILE, write_parameters_text
from ..errors import CancelledError, ConfigError, InputFileError
from ..threads import ignore_interrupt, stop_pool
from . import cache
from .merge import failure_frame, write_table
from .plan import CACHED, COMPUTE, INVALID, Plan, PlannedExam, plan_extraction
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
    manifest_path, frame, rows, skipped = read_manifest_rows(manifest, skip_invalid)
    out = Path(out_dir)
    config, cache_dir = prepare_output(out, config)
    plan = plan_extraction(manifest_path, frame, cache_dir, config.to_dict(), rows=rows, skipped=skipped)
    failures = run_plan(plan, cache_dir, config.to_dict(), jobs=jobs, scheduler=scheduler, progress=progress)
    counts = plan.counts()
    exams = [e for e in plan.exams if e.key]
    return _write_tables(out, cache_dir, exams, failures, config.to_dict(), counts[CACHED],
                         counts[COMPUTE] - (len(failures) - counts[INVALID]))


def read_manifest_rows(manifest, skip_invalid: bool = False) -> tuple[Path, pd.DataFrame, list[int], tuple]:
    """The manifest's absolute path, its frame (validated once, here), the file row of each frame row, and
    the invalid rows left out with ``skip_invalid`` (``Manifest.skipped``)."""
    from .. import io

    if isinstance(manifest, (str, Path)):
        manifest = io.read_manifest(Path(manifest), skip_invalid=skip_invalid)
    rows = [manifest.file_row(i) if hasattr(manifest, "file_row") else i for i in range(len(manifest.frame))]
    return Path(manifest.path).resolve(), manifest.frame, rows, tuple(getattr(manifest, "skipped", ()))


def prepare_output(out: Path, config) -> tuple[AnalysisConfig, Path]:
    """Load the parameters, create ``out/cache``, remove dead writers' leftovers, write the parameters record."""
    config = load_analysis_config(config)
    cache_dir = out / CACHE_FOLDER
    cache_dir.mkdir(parents=True, exist_ok=True)
    removed = cache.remove_leftovers(cache_dir)
    if removed:
        logger.info("removed %s unfinished temporary files of an interrupted run", removed)
    cache.write_atomic(out / PARAMETERS_FILE, write_parameters_text(config))
    return config, cache_dir


def run_plan(plan: Plan, cache_dir: Path, parameters: dict, *, jobs: int = 1, scheduler: str | None = None,
             progress: Progress | None = None) -> list[ExamOutcome]:
    """Analyse the exams ``plan`` marks to compute, caching each success; returns the failures in manifest order.

    The exams the plan marks invalid (inputs unreadable while planning, or invalid manifest rows left out)
    are failures too, with the planner's message.
    """
    n_total, pending = len(plan.exams), plan.with_status(COMPUTE)
    logger.info("%s", plan.summary())
    invalid = [ExamOutcome(_task(plan, e, parameters), None, e.error_type, e.reason)
               for e in plan.with_status(INVALID)]
    tasks = [_task(plan, e, parameters) for e in pending]
    failures = [*invalid, *_execute(tasks, cache_dir, jobs, scheduler, progress, n_total - len(tasks),
                                               n_total)]
    return sorted(failures, key=lambda outcome: outcome.task.row)


def _task(plan: Plan, exam: PlannedExam, parameters: dict) -> ExamTask:
    return ExamTask(str(plan.manifest_path), exam.row, exam.patient_id, exam.timepoint, exam.key, parameters,
                    exam.record)


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
        for future in as_completed(list(futures)):
            task = futures.pop(future)  # drop the finished future and its result: memory stays flat
            try:
                yield future.result()
            except BrokenProcessPool as error:
                yield ExamOutcome(task, None, "WorkerCrashed",
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
        tasks = dict(zip(keys, pending))
        # Hold no list of futures: each is dropped once consumed, so its result leaves the cluster's
        # memory and the coordinator keeps only what it has not yet received.
        completed = dask_completed(client.map(analyze_task, pending, key=keys, pure=False), loop=client.loop)
        try:
            for future in completed:
                try:
                    yield future.result()
                except Exception as error:  # a worker lost: record it, keep the cohort going
                    yield ExamOutcome(tasks[future.key], None, type(error).__name__, f"Dask task failed: {error}")
                finally:
                    future.release()
        finally:
            client.cancel(list(completed.futures))


def _write_tables(out: Path, cache_dir: Path, exams: Sequence[PlannedExam], failures: Sequence[ExamOutcome],
                  analysis: dict, n_cached: int, n_computed: int) -> ExtractionResult:
    paths = [p for p in (_entry_path(cache_dir, e) for e in exams) if p.exists()]
    failure_rows = [[f.task.patient_id, f.task.timepoint, f.error_type, f.message] for f in failures]
    features, failure_table, dictionary, warning_frame = write_cohort_tables(out, paths, failure_rows, analysis)
    logger.info("%s exams in %s, %s failed (%s)", len(features), out / FEATURES_FILE, len(failures),
                out / FAILURES_FILE)
    return ExtractionResult(features, failure_table, dictionary, n_cached, n_computed,
                            out / FEATURES_FILE, out / FAILURES_FILE, warning_frame, out / WARNINGS_FILE)


def write_cohort_tables(out: Path, entry_paths: Sequence[Path], failure_rows: Sequence[Sequence[str]],
                        analysis: dict | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Write features, failures, warnings and the dictionary from cache entries (one run, a resume, a shard merge).

    The entries are read one at a time and only the table (features, names, warnings) is kept, so the
    coordinating process's memory does not grow with the per-exam provenance.
    """
    names: dict[str, tuple[str, str]] = {}
    rows: list[dict] = []
    index: list[tuple[str, str]] = []
    warnings: list[list[str]] = []
    for path in entry_paths:
        entry = cache.read_entry(path)
        for name in entry["features"]:
            if name not in names:
                names[name] = (entry["units"].get(name, ""), entry["descriptions"].get(name, ""))
        rows.append(entry["features"])
        index.append((entry["patient_id"], entry["timepoint"]))
        warnings += warning_rows(entry)
    columns = list(names)
    features = pd.DataFrame([[row.get(c, float("nan")) for c in columns] for row in rows],
                            index=pd.MultiIndex.from_tuples(index, names=INDEX), columns=columns, dtype="float64")
    dictionary = feature_dictionary(names, analysis)
    failure_table = failure_frame(failure_rows)
    warning_frame = pd.DataFrame(warnings, columns=WARNING_COLUMNS)
    write_table(features, out / FEATURES_FILE, index=True)
    write_table(failure_table, out / FAILURES_FILE)
    write_table(warning_frame, out / WARNINGS_FILE)
    write_table(dictionary, out / DICTIONARY_FILE)
    return features, failure_table, dictionary, warning_frame


def warning_table(entries: Sequence[dict]) -> pd.DataFrame:
    """One row per warning of each finished exam: ``patient_id, timepoint, stage, message``."""
    return pd.DataFrame([row for entry in entries for row in warning_rows(entry)], columns=WARNING_COLUMNS)


def warning_rows(entry: Mapping[str, Any]) -> list[list[str]]:
    """``[patient_id, timepoint, stage, message]`` of each warning of one exam (``warnings`` and the
    ``warning_stages`` the pipeline gave them, as in a cache entry or an :class:`ExamAnalysis`)."""
    messages, stages = list(entry.get("warnings", ())), list(entry.get("warning_stages", ()))
    if len(stages) != len(messages):
        raise ValueError(f"{len(messages)} warnings but {len(stages)} warning stages for patient "
                         f"{entry['patient_id']}, timepoint {entry['timepoint']}")
    return [[entry["patient_id"], entry["timepoint"], stage, message] for stage, message in zip(stages, messages)]


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


def feature_dictionary(names: dict[str, tuple[str, str]], analysis: dict | None = None) -> pd.DataFrame:
    """One row per feature column: unit, IBSI code, image and filter, description (``feature_catalogue``).

    ``names``: feature name -> (unit, description) as the analysis gave them; ``analysis``: the parameters.
    """
    from ..feature_catalogue import dictionary_rows

    described = dictionary_rows([(n, u, d) for n, (u, d) in names.items()], analysis)
    return pd.DataFrame([[d.feature, d.unit, d.ibsi_code, d.image, d.description] for d in described],
                        columns=DICTIONARY_COLUMNS)
