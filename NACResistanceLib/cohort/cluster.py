"""Dask clusters on HPC schedulers from a small YAML file: ``extract --cluster cluster.yaml``.

The engine is dask-jobqueue (Slurm, PBS, SGE, LSF, HTCondor): this module only reads and checks the
file, maps it onto the dask-jobqueue cluster class, and asks for the workers. Every job runs
``cores`` single-threaded worker processes (each exam runs on one thread, see
:mod:`NACResistanceLib.threads`), so ``workers`` exams run side by side. ``scheduler: local`` starts
a ``distributed.LocalCluster`` with the same meaning (a workstation, and the end-to-end test).

Example (Slurm)::

    scheduler: slurm
    queue: normal            # partition
    account: radiomics       # optional
    cores: 8                 # per job: 8 worker processes of one thread
    memory: 32GB             # per job
    walltime: "04:00:00"
    workers: 64              # in all: 8 jobs
    job_extra: ["--constraint=skylake"]
    prologue: ["module load python/3.11", "source ~/nac/bin/activate"]
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError

SCHEDULERS = ("slurm", "pbs", "sge", "lsf", "htcondor", "local")
KEYS = ("scheduler", "queue", "account", "cores", "memory", "walltime", "workers", "job_extra", "prologue",
        "local_directory", "log_directory", "interface", "python", "disk")
"""Every key a cluster file may hold."""
WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}
"""Dask settings of the clusters this module starts (scheduler, nannies and workers). Dask's defaults
wake every process many times a second: the statistical profiler samples the running task's stack
every 10 ms (competing with the exam for the GIL), the event-loop tick monitor runs every 20 ms, the
memory monitor every 100 ms and the system monitor every 500 ms. Measured with a 2-worker
LocalCluster whose tasks sleep: 8 % of a core with the defaults, 1.5 % with these settings. That cost
grows with wall time, not with work, so on a shared machine it reached 0.15 s of CPU per exam
(``benchmarks/cohort.py``). None of it serves a batch extraction: no dashboard is shown, and a memory
limit enforced within 1 s instead of 0.1 s still stops a runaway exam."""
WORKER_ENVIRONMENT = tuple(
    f"export DASK_{key.upper().replace('.', '__').replace('-', '_')}={value}" for key, value in WORKER_CONFIG.items()
)
"""The same settings for the workers a job script starts (dask reads ``DASK_*`` variables as configuration)."""
_WALLTIME = re.compile(r"^(\d+):([0-5]\d)(?::([0-5]\d))?$")


@dataclass(frozen=True)
class ClusterSpec:
    """A checked cluster file (see the module docstring for the keys)."""

    scheduler: str
    cores: int = 1
    """Cores per job = single-threaded worker processes per job."""
    memory: str = "4GB"
    """Memory per job (``"32GB"``, ``"4GiB"``)."""
    workers: int = 1
    """Worker processes in all (jobs = workers / cores, rounded up)."""
    queue: str | None = None
    account: str | None = None
    walltime: str | None = None
    """``HH:MM:SS`` (``HH:MM`` accepted)."""
    job_extra: tuple[str, ...] | Mapping[str, str] = ()
    """Extra scheduler directive lines (``#SBATCH`` etc. added); a mapping of submit-file entries for HTCondor."""
    prologue: tuple[str, ...] = ()
    """Shell lines run before the workers start (modules, virtualenv)."""
    local_directory: str | None = None
    log_directory: str | None = None
    interface: str | None = None
    python: str | None = None
    disk: str | None = None
    """Disk per job (HTCondor, required there)."""
    source: str = field(default="", compare=False)
    """The file it was read from (for messages)."""


def load_cluster_spec(path) -> ClusterSpec:
    """Read and check a cluster YAML file; every problem raises :class:`ConfigError` naming file, key and fix."""
    import yaml

    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cluster file {path}: cannot be read as YAML ({error})") from error
    if not isinstance(document, Mapping):
        raise ConfigError(f"cluster file {path}: expected 'key: value' lines (scheduler, cores, memory, ...), "
                          f"got {type(document).__name__}")
    return cluster_spec(document, str(path))


def cluster_spec(values: Mapping[str, object], source: str = "cluster settings") -> ClusterSpec:
    """Check a mapping of cluster keys (as read from YAML) and return the :class:`ClusterSpec`."""
    where = f"cluster file {source}"
    for key in values:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"{where}: key '{key}' is not known; {hint}allowed keys: {', '.join(KEYS)}")
    scheduler = str(values.get("scheduler", "")).lower()
    if scheduler not in SCHEDULERS:
        raise ConfigError(f"{where}: key 'scheduler' is {values.get('scheduler')!r}; use one of {', '.join(SCHEDULERS)}")
    spec = {"scheduler": scheduler, "source": source}
    for key in ("cores", "workers"):
        if key in values:
            spec[key] = _positive_int(values[key], key, where)
    for key in ("queue", "account", "local_directory", "log_directory", "interface", "python"):
        if values.get(key) is not None:
            spec[key] = _text(values[key], key, where)
    for key in ("memory", "disk"):
        if values.get(key) is not None:
            spec[key] = _bytes(values[key], key, where)
    if values.get("walltime") is not None:
        text = str(values["walltime"]).strip()
        if not _WALLTIME.match(text):
            raise ConfigError(f"{where}: key 'walltime' is {values['walltime']!r}; write HH:MM:SS in quotes, "
                              "e.g. walltime: \"04:00:00\"")
        spec["walltime"] = text
    if "prologue" in values:
        spec["prologue"] = _lines(values["prologue"], "prologue", where)
    if "job_extra" in values:
        extra = values["job_extra"]
        if scheduler == "htcondor":
            if not isinstance(extra, Mapping):
                raise ConfigError(f"{where}: key 'job_extra' must be a mapping of submit-file entries for HTCondor, "
                                  "e.g. job_extra: {'+ProjectName': '\"radiomics\"'}")
            spec["job_extra"] = {str(k): str(v) for k, v in extra.items()}
        else:
            spec["job_extra"] = _lines(extra, "job_extra", where)
    if scheduler == "htcondor" and "disk" not in spec:
        raise ConfigError(f"{where}: HTCondor needs key 'disk' (disk per job, e.g. disk: 10GB)")
    if scheduler in ("htcondor", "local") and spec.get("queue"):
        raise ConfigError(f"{where}: key 'queue' has no meaning with scheduler '{scheduler}'; remove it")
    return ClusterSpec(**spec)


def _positive_int(value: object, key: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: key '{key}' is {value!r}; it must be a whole number >= 1")
    return int(value)


def _text(value: object, key: str, where: str) -> str:
    if not isinstance(value, (str, int)) or str(value).strip() == "":
        raise ConfigError(f"{where}: key '{key}' is {value!r}; it must be a non-empty text")
    return str(value).strip()


def _bytes(value: object, key: str, where: str) -> str:
    from dask.utils import parse_bytes

    text = str(value).strip()
    try:
        if isinstance(value, bool) or parse_bytes(text) <= 0:
            raise ValueError(text)
    except ValueError:
        raise ConfigError(f"{where}: key '{key}' is {value!r}; write an amount with its unit, e.g. 32GB or 4GiB") from None
    return text


def _lines(value: object, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: key '{key}' must be a list of lines, e.g. {key}: [\"...\", \"...\"]")
    return tuple(value)


def jobqueue_kwargs(spec: ClusterSpec) -> dict:
    """Keyword arguments of the dask-jobqueue cluster class for ``spec`` (one thread per worker process)."""
    kwargs: dict = {
        "cores": spec.cores, "processes": spec.cores, "memory": spec.memory,
        "job_script_prologue": [*WORKER_ENVIRONMENT, *spec.prologue],
        "scheduler_options": {"dashboard_address": None},
    }
    for key in ("local_directory", "log_directory", "interface", "python"):
        if getattr(spec, key) is not None:
            kwargs[key] = getattr(spec, key)
    if spec.scheduler == "htcondor":
        kwargs["disk"] = spec.disk
        kwargs["job_extra_directives"] = dict(spec.job_extra)
        return kwargs
    kwargs["job_extra_directives"] = list(spec.job_extra)
    if spec.queue is not None:
        kwargs["queue"] = spec.queue
    if spec.account is not None:
        kwargs["account" if spec.scheduler in ("slurm", "pbs") else "project"] = spec.account
    if spec.walltime is not None:
        # LSF's -W takes [hours:]minutes
        kwargs["walltime"] = ":".join(spec.walltime.split(":")[:2]) if spec.scheduler == "lsf" else spec.walltime
    return kwargs


def make_cluster(spec: ClusterSpec):
    """The (not yet scaled) Dask cluster object for ``spec``: a dask-jobqueue cluster or a LocalCluster."""
    if spec.scheduler == "local":  # this machine: ``memory`` shared by the ``workers``
        from dask.utils import parse_bytes
        from distributed import LocalCluster

        return LocalCluster(n_workers=0, threads_per_worker=1, processes=True, dashboard_address=None,
                            memory_limit=parse_bytes(spec.memory) // spec.workers,
                            local_directory=spec.local_directory)
    import dask_jobqueue

    _ensure_event_loop()
    classes = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster,
               "sge": dask_jobqueue.SGECluster, "lsf": dask_jobqueue.LSFCluster,
               "htcondor": dask_jobqueue.HTCondorCluster}
    return classes[spec.scheduler](**jobqueue_kwargs(spec))


@contextlib.contextmanager
def open_cluster(path_or_spec) -> Iterator[str]:
    """Start the cluster a file describes, ask for its workers, yield the scheduler address, close it on exit."""
    import dask
    import distributed  # noqa: F401 - its defaults enter dask's config now: imported inside set(), they would
    # be removed again when set() restores the configuration, and any later cluster in the process would fail

    spec = path_or_spec if isinstance(path_or_spec, ClusterSpec) else load_cluster_spec(path_or_spec)
    with dask.config.set(WORKER_CONFIG):  # local workers are started (by scale) with this configuration
        cluster = make_cluster(spec)
        try:
            cluster.scale(spec.workers)
            yield cluster.scheduler_address
        finally:
            cluster.close()


def _ensure_event_loop() -> None:
    """Python 3.9's ``asyncio.Lock()`` (made by dask-jobqueue's job objects) needs a current event loop, which the
    main thread lacks once anything has called ``set_event_loop(None)``; Python >= 3.10 needs none."""
    if sys.version_info >= (3, 10):
        return
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())
