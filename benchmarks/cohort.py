"""Benchmark: cohort extraction throughput with 1 and 2 local workers and through Dask.

Builds a synthetic cohort (phantom, the seed study's protocol), then analyses it three times side by
side with the shipped analysis parameters: ``jobs=1`` (in process), ``jobs=2`` (spawned worker
processes) and a ``distributed.LocalCluster`` with 2 single-threaded worker processes on loopback.
Each run starts from an empty cache and its wall time includes starting the workers. Prints exams
per minute, the speed-up from 1 to 2 workers (target >= 1.8 on 2 cores) and checks that the three
feature tables are identical; writes ``benchmarks/results/cohort.json``.

Run: ``nice .venv/bin/python benchmarks/cohort.py [--patients 20]`` (about 5 minutes on 2 idle cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cohort.json"


def timed_extraction(manifest: Path, out: Path, **options) -> tuple[float, bytes]:
    from NACResistanceLib.cohort import run_extraction

    start = time.perf_counter()
    result = run_extraction(manifest, out, None, **options)
    seconds = time.perf_counter() - start
    if not result.ok:
        raise SystemExit(f"benchmark exams failed:\n{result.failures.to_string()}")
    return seconds, result.features_path.read_bytes()


def dask_extraction(manifest: Path, out: Path, workers: int) -> tuple[float, bytes]:
    from distributed import LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        seconds, table = timed_extraction(manifest, out, scheduler=cluster.scheduler_address)
    return time.perf_counter() - start, table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    from NACResistanceLib.phantom import PhantomProtocol, make_cohort

    with tempfile.TemporaryDirectory(prefix="nacresistance-bench-") as tmp:
        root = Path(tmp)
        manifest = make_cohort(args.patients, args.seed, root / "cohort", PhantomProtocol(), jobs=2)
        t1, table1 = timed_extraction(manifest, root / "jobs1", jobs=1)
        t2, table2 = timed_extraction(manifest, root / "jobs2", jobs=2)
        td, tabled = dask_extraction(manifest, root / "dask", workers=2)
    n = args.patients
    result = {
        "benchmark": "cohort extraction (phantom, seed protocol, shipped 851-feature analysis), wall time "
                     "including worker start-up",
        "exams": n,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "seconds": {"jobs_1": round(t1, 2), "jobs_2": round(t2, 2), "dask_2_workers": round(td, 2)},
        "exams_per_minute": {"jobs_1": round(60 * n / t1, 2), "jobs_2": round(60 * n / t2, 2),
                             "dask_2_workers": round(60 * n / td, 2)},
        "speedup_1_to_2_workers": round(t1 / t2, 3),
        "speedup_1_to_dask_2_workers": round(t1 / td, 3),
        "parallel_efficiency_2_workers": round(t1 / t2 / 2, 3),
        "target_speedup": 1.8,
        "identical_tables": table1 == table2 == tabled,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["identical_tables"] else 1


if __name__ == "__main__":
    sys.exit(main())
