"""Benchmark: cohort extraction with 1 and 2 local processes, a 2-worker Dask cluster and 2 job-array shards.

Builds a synthetic cohort (phantom, the seed study's protocol) and analyses it with the shipped
analysis parameters through the command line, each mode in its own fresh process tree and from an
empty cache, side by side in one run:

- ``jobs_1``: ``extract --jobs 1`` (in the command's process);
- ``jobs_2``: ``extract --jobs 2`` (two spawned worker processes);
- ``dask_2_workers``: ``extract --cluster local.yaml`` with ``scheduler: local, workers: 2`` (a
  ``distributed.LocalCluster`` of two single-threaded worker processes, scheduler and nannies);
- ``shards_2_merged``: ``extract --shard 1/2`` and ``--shard 2/2`` started at once into one output
  folder, then ``nacresistance merge``.

Wall time includes starting Python, the workers and the cluster. CPU time is that of the whole
process tree (``RUSAGE_CHILDREN``), so ``cpu_per_exam_s`` compares what each mode costs, and
``cores_used`` = CPU / wall shows how much of the machine it got (other jobs share it: the load
average is recorded before each mode). The four ``features.csv`` must be identical.

``allocator`` (``--allocator-exams``, default 8 per variant) measures inside 2 spawned worker processes,
per exam with ``getrusage``, what Dask's ``MALLOC_TRIM_THRESHOLD_=65536`` costs: CPU, system time and
minor page faults per exam with the variable unset (a plain process), set as a Dask nanny sets it, and
set but with the worker's allocator tuning (``cohort/allocator.py``) applied. Results go to
``benchmarks/results/cohort.json``.

Run: ``nice .venv/bin/python benchmarks/cohort.py [--patients 100]`` (about 8 minutes on 2 idle cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cohort.json"
ROOT = Path(__file__).resolve().parents[1]


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "NACResistanceLib.cli", *args]


def _run_all(commands: list[list[str]]) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    processes = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for c in commands]
    for command, process in zip(commands, processes):
        _, error = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{error.decode()[-3000:]}")


def modes(manifest: Path, root: Path) -> dict[str, list[list[list[str]]]]:
    """Mode -> steps; each step is a list of commands started at once."""
    common = ["--progress", "none"]
    cluster = root / "local_cluster.yaml"
    cluster.write_text("scheduler: local\nworkers: 2\nmemory: 4GB\n")
    shards = root / "shards_2_merged"
    return {
        "jobs_1": [[_command("extract", str(manifest), "--out", str(root / "jobs_1"), "--jobs", "1", *common)]],
        "jobs_2": [[_command("extract", str(manifest), "--out", str(root / "jobs_2"), "--jobs", "2", *common)]],
        "dask_2_workers": [[_command("extract", str(manifest), "--out", str(root / "dask_2_workers"), "--cluster",
                                     str(cluster), *common)]],
        "shards_2_merged": [
            [_command("extract", str(manifest), "--out", str(shards), "--jobs", "1", "--shard", f"{k}/2", *common)
             for k in (1, 2)],
            [_command("merge", str(shards / "cache"), "--out", str(shards))],
        ],
    }


def _task_usage(task, tuned: bool) -> dict:
    """CPU s, system s and minor page faults of one exam in this worker process (tuned: as a cohort worker)."""
    from NACResistanceLib import threads
    from NACResistanceLib.cohort import allocator, worker

    if tuned:
        allocator.tune_worker_allocator()
    before = resource.getrusage(resource.RUSAGE_SELF)
    with threads.limit(1):
        worker._analyze(task)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
            "system_s": after.ru_stime - before.ru_stime, "minor_faults": after.ru_minflt - before.ru_minflt}


def allocator_variants(manifest: Path, n_exams: int) -> dict:
    """Per-exam cost with glibc's defaults, with Dask's MALLOC_TRIM_THRESHOLD_, and with it and the tuning."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from NACResistanceLib import io
    from NACResistanceLib.cohort.plan import plan_extraction
    from NACResistanceLib.cohort.runner import _task
    from NACResistanceLib.config import load_analysis_config

    loaded = io.read_manifest(manifest)
    parameters = load_analysis_config(None).to_dict()
    plan = plan_extraction(loaded.path, loaded.frame, manifest.parent / "no-cache", parameters)
    tasks = [_task(plan, exam, parameters) for exam in plan.exams[:n_exams]]
    results = {}
    for name, trim, tuned in (("glibc_defaults", None, False), ("dask_trim_threshold", "65536", False),
                              ("dask_trim_threshold_tuned", "65536", True)):
        saved = os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
        if trim is not None:
            os.environ["MALLOC_TRIM_THRESHOLD_"] = trim
        try:
            with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
                list(pool.map(_task_usage, tasks[:2], [tuned] * 2))  # imports and first-exam warm-up
                usage = list(pool.map(_task_usage, tasks, [tuned] * len(tasks)))
        finally:
            os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
            if saved is not None:
                os.environ["MALLOC_TRIM_THRESHOLD_"] = saved
        results[name] = {key: round(sum(u[key] for u in usage) / len(usage), 4 if key != "minor_faults" else None)
                         for key in usage[0]}
        print(name, json.dumps(results[name]), flush=True)
    return results


def measure(name: str, steps: list[list[list[str]]], n: int) -> dict:
    load = os.getloadavg()[0]
    cpu_before, start = _children_cpu_s(), time.perf_counter()
    for commands in steps:
        _run_all(commands)
    wall, cpu = time.perf_counter() - start, _children_cpu_s() - cpu_before
    return {"mode": name, "wall_s": round(wall, 2), "exams_per_minute": round(60 * n / wall, 2),
            "cpu_s": round(cpu, 2), "cpu_per_exam_s": round(cpu / n, 3), "cores_used": round(cpu / wall, 2),
            "load_average_1min_before": round(load, 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--allocator-exams", type=int, default=8, help="exams per allocator variant (0: skip)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from NACResistanceLib.phantom import PhantomProtocol, make_cohort

    records, tables = {}, {}
    with tempfile.TemporaryDirectory(prefix="nacresistance-bench-") as tmp:
        root = Path(tmp)
        manifest = make_cohort(args.patients, args.seed, root / "cohort", PhantomProtocol(), jobs=2)
        for name, steps in modes(manifest, root).items():
            records[name] = measure(name, steps, args.patients)
            tables[name] = (root / name / "features.csv").read_bytes()
            print(json.dumps(records[name]), flush=True)
        allocator = allocator_variants(manifest, args.allocator_exams) if args.allocator_exams > 0 else {}
    one, two, dask, shards = (records[m] for m in ("jobs_1", "jobs_2", "dask_2_workers", "shards_2_merged"))
    result = {
        "benchmark": "cohort extraction through the command line (phantom, seed protocol, shipped 851-feature "
                     "analysis), each mode a fresh process tree from an empty cache, in one run",
        "exams": args.patients,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "modes": records,
        "ratios": {
            "speedup_jobs_2_over_jobs_1": round(one["wall_s"] / two["wall_s"], 3),
            "dask_wall_over_jobs_2": round(dask["wall_s"] / two["wall_s"], 3),
            "dask_cpu_per_exam_over_jobs_2": round(dask["cpu_per_exam_s"] / two["cpu_per_exam_s"], 3),
            "shards_wall_over_jobs_2": round(shards["wall_s"] / two["wall_s"], 3),
            "shards_cpu_per_exam_over_jobs_2": round(shards["cpu_per_exam_s"] / two["cpu_per_exam_s"], 3),
        },
        "target": "Dask and shards within 10 % of --jobs 2 in wall time and CPU per exam (ratios <= 1.10)",
        "identical_tables": len(set(tables.values())) == 1,
        "allocator_per_exam": allocator,
        "load_average_1min_after": round(os.getloadavg()[0], 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{'mode':<18}{'wall s':>9}{'exams/min':>11}{'CPU s/exam':>12}{'cores':>7}{'load':>6}")
    for r in records.values():
        print(f"{r['mode']:<18}{r['wall_s']:>9}{r['exams_per_minute']:>11}{r['cpu_per_exam_s']:>12}"
              f"{r['cores_used']:>7}{r['load_average_1min_before']:>6}")
    print(json.dumps(result["ratios"], indent=2), f"\nidentical tables: {result['identical_tables']}")
    return 0 if result["identical_tables"] else 1


if __name__ == "__main__":
    sys.exit(main())
