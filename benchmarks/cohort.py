"""Benchmark: cohort extraction throughput with 1 and 2 local workers and through Dask.

Builds a synthetic cohort (phantom, the seed study's protocol), then analyses it side by side with
the shipped analysis parameters: ``jobs=1`` (in process), ``jobs=2`` (spawned worker processes) and a
``distributed.LocalCluster`` with 2 single-threaded worker processes on loopback, ``--repeats``
rounds in interleaved order (the best round of each mode is reported, every round is kept). Each
run starts from an empty cache and its wall time includes starting the workers. Besides wall time
it records the CPU time of the process and its (joined) children and the load average, so that a
speed-up below 2 can be told apart from cores taken by other jobs: ``cpu_per_exam_s`` should be
the same in every mode, and ``cores_used`` = CPU time / wall time shows how much of the machine a
mode got. Checks that every feature table is identical; writes ``benchmarks/results/cohort.json``.

Run: ``nice .venv/bin/python benchmarks/cohort.py [--patients 20 --repeats 2]`` (about 6 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cohort.json"


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def extraction(manifest: Path, out: Path, **options) -> bytes:
    from NACResistanceLib.cohort import run_extraction

    result = run_extraction(manifest, out, None, **options)
    if not result.ok:
        raise SystemExit(f"benchmark exams failed:\n{result.failures.to_string()}")
    return result.features_path.read_bytes()


def dask_extraction(manifest: Path, out: Path) -> bytes:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        return extraction(manifest, out, scheduler=cluster.scheduler_address)


MODES = {"jobs_1": lambda m, o: extraction(m, o, jobs=1), "jobs_2": lambda m, o: extraction(m, o, jobs=2),
         "dask_2_workers": dask_extraction}


def measure(mode: str, manifest: Path, out: Path, n: int) -> tuple[dict, bytes]:
    load_before, cpu_before, start = os.getloadavg()[0], _cpu_seconds(), time.perf_counter()
    table = MODES[mode](manifest, out)
    wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_before
    return {"mode": mode, "wall_s": round(wall, 2), "exams_per_minute": round(60 * n / wall, 2),
            "cpu_s": round(cpu, 2), "cpu_per_exam_s": round(cpu / n, 3), "cores_used": round(cpu / wall, 2),
            "load_average_1min_before": round(load_before, 2)}, table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    logging.getLogger("radiomics.glcm").setLevel(logging.ERROR)  # per-image "GLCM is symmetrical" note
    from NACResistanceLib.phantom import PhantomProtocol, make_cohort

    rounds, tables = [], set()
    with tempfile.TemporaryDirectory(prefix="nacresistance-bench-") as tmp:
        root = Path(tmp)
        manifest = make_cohort(args.patients, args.seed, root / "cohort", PhantomProtocol(), jobs=2)
        for repeat in range(args.repeats):
            for mode in MODES:
                record, table = measure(mode, manifest, root / f"{mode}-{repeat}", args.patients)
                rounds.append(record)
                tables.add(table)
                print(json.dumps(record), flush=True)
    best = {mode: min((r for r in rounds if r["mode"] == mode), key=lambda r: r["wall_s"]) for mode in MODES}
    result = {
        "benchmark": "cohort extraction (phantom, seed protocol, shipped 851-feature analysis); wall time "
                     "includes worker start-up; best of the rounds per mode",
        "exams": args.patients, "repeats": args.repeats,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "best": best,
        "speedup_1_to_2_workers": round(best["jobs_1"]["wall_s"] / best["jobs_2"]["wall_s"], 3),
        "speedup_1_to_dask_2_workers": round(best["jobs_1"]["wall_s"] / best["dask_2_workers"]["wall_s"], 3),
        "parallel_efficiency_2_workers": round(best["jobs_1"]["wall_s"] / best["jobs_2"]["wall_s"] / 2, 3),
        "target_speedup": 1.8,
        "identical_tables": len(tables) == 1,
        "rounds": rounds,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}, indent=2))
    return 0 if result["identical_tables"] else 1


if __name__ == "__main__":
    sys.exit(main())
