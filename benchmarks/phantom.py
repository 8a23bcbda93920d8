"""Benchmark: writing the default 240-patient synthetic cohort (seed protocol) with 2 workers.

Targets (issue 3): under 3 minutes on 2 cores and under 1.5 GB of disk. The wall time depends on
what else runs on the machine, so the CPU time of all processes (this one and its workers) is
measured too: CPU time / 2 is the wall time on two otherwise idle cores. Also measured side by side
in the same run: a 12-patient cohort with 1 worker and with 2 workers (the parallel speed-up), and
that the 2-worker files of those 12 patients are byte-identical to the 1-worker files. Prints the
figures and writes ``benchmarks/results/phantom.json``.

Run: ``nice .venv/bin/python benchmarks/phantom.py [--patients 240] [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "phantom.json"


def timed_cohort(n_patients: int, out: Path, jobs: int) -> tuple[float, float]:
    """Wall time and CPU time (this process and its finished workers) of writing a cohort, s."""
    from NACResistanceLib.phantom import make_cohort

    cpu_start = cpu_seconds()
    start = time.perf_counter()
    make_cohort(n_patients, 0, out, jobs=jobs)
    return time.perf_counter() - start, cpu_seconds() - cpu_start


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=240)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nacresistance-phantom-bench-") as tmp:
        root = Path(tmp)
        small_1, _ = timed_cohort(12, root / "twelve_1", jobs=1)
        small_2, _ = timed_cohort(12, root / "twelve_2", jobs=2)
        identical = folder_digest(root / "twelve_1") == folder_digest(root / "twelve_2")
        load_before = os.getloadavg()[0]
        full, cpu = timed_cohort(args.patients, root / "full", jobs=args.jobs)
        disk = folder_bytes(root / "full")
        truth = json.loads((root / "full" / "truth" / "truth.json").read_text())
    result = {
        "patients": args.patients, "jobs": args.jobs, "wall_s": round(full, 1),
        "disk_bytes": disk, "disk_gb": round(disk / 1e9, 3),
        "cpu_s": round(cpu, 1), "cpu_per_patient_s": round(cpu / args.patients, 3),
        "wall_on_idle_cores_s": round(cpu / args.jobs, 1),
        "meets_3_minutes": full < 180.0, "meets_3_minutes_on_idle_cores": cpu / args.jobs < 180.0,
        "meets_1_5_gb": disk < 1.5e9,
        "twelve_patients_1_job_s": round(small_1, 1), "twelve_patients_2_jobs_s": round(small_2, 1),
        "speed_up_1_to_2_jobs": round(small_1 / small_2, 2), "files_identical_1_vs_2_jobs": identical,
        "resistance_rate": truth["resistance_rate"], "bayes_optimal_auc": round(truth["bayes_optimal_auc"], 4),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_1min_before": load_before, "load_1min_after": os.getloadavg()[0]},
    }
    print(f"{args.patients} patients, {args.jobs} jobs: {result['wall_s']} s wall (load {load_before:.1f}), "
          f"{result['cpu_s']} s CPU = {result['wall_on_idle_cores_s']} s on {args.jobs} idle cores, "
          f"{result['disk_gb']} GB (targets < 180 s, < 1.5 GB)")
    print(f"12 patients: 1 job {result['twelve_patients_1_job_s']} s, 2 jobs {result['twelve_patients_2_jobs_s']} s, "
          f"speed-up {result['speed_up_1_to_2_jobs']}, identical files: {identical}")
    print(f"resistance rate {result['resistance_rate']:.3f}, Bayes-optimal AUC {result['bayes_optimal_auc']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
