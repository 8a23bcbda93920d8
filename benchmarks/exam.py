"""Benchmark: scoring one exam (``pipeline.score_exam``), cold and warm, on one core and on two.

The exam is the seed-protocol phantom exam of patient 0 (7 DCE phases of 256 x 112 x 32 voxels, DWI
b = 0/800/1000, 880 features) scored with the bundled demo model. Each mode runs in a fresh child process:

- ``pyradiomics_extractor``: one core (``threads.limit(1)``), pyradiomics' own ``RadiomicsFeatureExtractor``
  (its GLCM MCC and marginals, per-class binning and diagnostics: ``features.extract`` before issue 15);
- ``one_core``: one core, our extractor (fast exact GLCM, one discretisation per image type);
- ``two_cores``: ``threads.limit(2)``: the 9 image types on 2 threads (what Slicer's Apply does on 2 cores).

In each child: the import of the library (``import_s``), the first exam (``cold_s``: pyradiomics' import,
its extractor's schema validation, the GLCM start-up check), then ``--warm`` more exams of the same
patient (``warm_s``: their median), with the time of each pipeline stage (from the progress messages)
and the CPU time. The features of every mode are compared with ``one_core``. On a shared machine the CPU time
of a one-thread mode is the figure that does not move with the load; the wall time does.

``--demo-exams K`` also analyses the exams of patients 0..K-1 (seed 0, the demo's cohort) as a cohort
worker does (``analyze_exam`` under ``threads.limit(1)``), with pyradiomics' extractor and with ours, and scales
the demo's extraction step (282 s measured before issue 15) by the ratio of their times.

Prints a table, the load average, the ratios; writes ``benchmarks/results/exam.json``.
Usage: ``python benchmarks/exam.py [--warm 3] [--demo-exams 4]`` (about 2 minutes on idle cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "exam.json"
MODEL = Path(__file__).resolve().parents[1] / "NACResistance" / "Resources" / "demo_model.json"
DEMO_EXTRACT_S_BEFORE = 282.0
"""The demo's extraction step before issue 15 (240 exams, 2 processes; README, docs/cli.md)."""
MODES = {"pyradiomics_extractor": (1, False), "one_core": (1, True), "two_cores": (2, True)}
"""Mode -> (threads, our extractor)."""


def use_pyradiomics_extractor() -> None:
    """Make ``features.extract`` run pyradiomics' own ``RadiomicsFeatureExtractor`` (what it was before issue 15)."""
    from types import SimpleNamespace

    from radiomics.featureextractor import RadiomicsFeatureExtractor

    from NACResistanceLib import features, threads

    def make(parameters, source):
        extractor = RadiomicsFeatureExtractor(parameters)

        def run(image, mask, label, workers=1):
            with threads.limit(1):
                return extractor.execute(image, mask, label=label)
        return SimpleNamespace(run=run, fast_glcm=False)

    features._make_extractor = make


def timed_score(pipeline, exam, model) -> tuple[float, float, dict[str, float], dict[str, float]]:
    """Wall s, CPU s, seconds per stage, features of one ``score_exam``."""
    marks: list[tuple[float, str]] = []
    start, cpu = time.perf_counter(), time.process_time()
    score = pipeline.score_exam(exam, model, progress=lambda message, fraction: marks.append(
        (time.perf_counter(), message)) and False)
    end = time.perf_counter()
    stages: dict[str, float] = {}
    previous, label = start, "start"
    for moment, message in [*marks, (end, "end")]:
        stages[label] = stages.get(label, 0.0) + moment - previous
        previous, label = moment, message
    stages = {stage_name(name): seconds for name, seconds in stages.items()}
    return end - start, time.process_time() - cpu, stages, dict(score.analysis.features)


def stage_name(message: str) -> str:
    """Progress message that starts a stage -> stage name ("done" starts the prediction)."""
    return {"start": "setup", "done": "prediction", "radiomics": "radiomics: preparation"}.get(message, message)


def run_child(mode: str, warm: int, out: Path) -> None:
    start = time.perf_counter()
    from NACResistanceLib import models, pipeline, threads

    import_s = time.perf_counter() - start
    from NACResistanceLib.phantom import PhantomProtocol, make_exam

    n_threads, fast = MODES[mode]
    if not fast:
        use_pyradiomics_extractor()
    exam, model = make_exam(0, 0, PhantomProtocol()).exam, models.load(MODEL)
    with threads.limit(n_threads):
        cold_s, cold_cpu_s, cold_stages, features = timed_score(pipeline, exam, model)
        runs = [timed_score(pipeline, exam, model) for _ in range(warm)]
    median = statistics.median(r[0] for r in runs)
    typical = min(runs, key=lambda r: abs(r[0] - median))
    out.write_text(json.dumps({
        "import_s": import_s, "cold_s": cold_s, "cold_cpu_s": cold_cpu_s, "cold_stages_s": cold_stages,
        "warm_s": median, "warm_all_s": [r[0] for r in runs], "warm_cpu_s": statistics.median(r[1] for r in runs),
        "warm_stages_s": typical[2], "features": features,
    }))


def run_demo_child(fast: bool, n_exams: int, out: Path) -> None:
    from NACResistanceLib import pipeline, threads
    from NACResistanceLib.config import load_analysis_config
    from NACResistanceLib.phantom import PhantomProtocol, make_exam

    if not fast:
        use_pyradiomics_extractor()
    exams = [make_exam(index, 0, PhantomProtocol()).exam for index in range(n_exams)]
    config = load_analysis_config(None)
    with threads.limit(1):
        pipeline.analyze_exam(exams[0], config)  # start-up, paid once per worker process
        start, cpu = time.perf_counter(), time.process_time()
        for exam in exams:
            pipeline.analyze_exam(exam, config)
        out.write_text(json.dumps({"seconds": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}))


def child(args: list[str], out: Path) -> dict:
    subprocess.run([sys.executable, __file__, *args, str(out)], check=True)
    return json.loads(out.read_text())


def max_relative_difference(values: dict, reference: dict) -> float:
    return max((abs(values[n] - reference[n]) / max(abs(reference[n]), 1e-12) for n in reference
                if reference[n] == reference[n]), default=0.0)


def summarise(runs: dict[str, dict], demo: dict[str, dict] | None, load: list[float]) -> dict:
    reference = runs["one_core"]["features"]
    summary: dict = {
        "exam": "phantom patient 0, seed 0, seed protocol; demo model", "n_features": len(reference),
        "load_average_1min_before_after": load,
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
                   f"{os.cpu_count()} cores",
    }
    for mode, run in runs.items():
        summary[mode] = {k: v for k, v in run.items() if k != "features"}
        summary[mode]["max_relative_difference_vs_one_core"] = max_relative_difference(run["features"], reference)
    summary["two_cores_identical_to_one_core"] = runs["two_cores"]["features"] == reference
    summary["warm_speedup_vs_pyradiomics_extractor"] = runs["pyradiomics_extractor"]["warm_s"] / runs["one_core"]["warm_s"]
    summary["warm_cpu_speedup_vs_pyradiomics_extractor"] = (runs["pyradiomics_extractor"]["warm_cpu_s"]
                                                      / runs["one_core"]["warm_cpu_s"])
    summary["warm_speedup_two_cores_vs_one"] = runs["one_core"]["warm_s"] / runs["two_cores"]["warm_s"]
    if demo is not None:
        ratio = demo["ours"]["seconds"] / demo["pyradiomics_extractor"]["seconds"]
        cpu_ratio = demo["ours"]["cpu_s"] / demo["pyradiomics_extractor"]["cpu_s"]
        summary["demo"] = {**demo, "time_ratio": ratio, "speedup": 1 / ratio, "cpu_speedup": 1 / cpu_ratio,
                           "extract_step_estimate_s": DEMO_EXTRACT_S_BEFORE * ratio,
                           "extract_step_estimate_from_cpu_s": DEMO_EXTRACT_S_BEFORE * cpu_ratio,
                           "extract_step_before_s": DEMO_EXTRACT_S_BEFORE}
    return summary


def report(summary: dict) -> str:
    lines = [f"score_exam, {summary['exam']}, {summary['n_features']} features; load average "
             f"{summary['load_average_1min_before_after'][0]:.1f} before, "
             f"{summary['load_average_1min_before_after'][1]:.1f} after ({summary['machine']})",
             f"{'mode':<21} {'import s':>8} {'cold s':>7} {'warm s':>7} {'warm CPU s':>10}  max rel diff"]
    for mode in MODES:
        r = summary[mode]
        lines.append(f"{mode:<21} {r['import_s']:8.2f} {r['cold_s']:7.2f} {r['warm_s']:7.2f} {r['warm_cpu_s']:10.2f}"
                     f"  {r['max_relative_difference_vs_one_core']:.1e}")
    lines.append(f"warm: {summary['warm_speedup_vs_pyradiomics_extractor']:.1f}x faster (wall; "
                 f"{summary['warm_cpu_speedup_vs_pyradiomics_extractor']:.1f}x in CPU time) than with pyradiomics' extractor; "
                 f"2 cores {summary['warm_speedup_two_cores_vs_one']:.2f}x faster than 1 (identical features: "
                 f"{summary['two_cores_identical_to_one_core']}); target warm <= 1.5 s on one core")
    for mode in ("one_core", "two_cores"):
        stages = summary[mode]["warm_stages_s"]
        total = sum(stages.values())
        lines.append(f"{mode} warm stages: " + ", ".join(f"{name} {100 * s / total:.0f}%" for name, s in stages.items()))
    cold, warm = summary["one_core"]["cold_stages_s"], summary["one_core"]["warm_stages_s"]
    lines.append(f"cold start, one core: import {summary['one_core']['import_s']:.2f} s, first exam "
                 f"{summary['one_core']['cold_s']:.2f} s, of which pyradiomics start-up "
                 f"{cold['radiomics DCE ROI phase'] - warm['radiomics DCE ROI phase']:.2f} s")
    if "demo" in summary:
        d = summary["demo"]
        lines.append(f"demo extraction estimate: {d['n_exams']} exams as a worker analyses them: pyradiomics "
                     f"{d['pyradiomics_extractor']['seconds']:.1f} s, ours {d['ours']['seconds']:.1f} s -> "
                     f"{d['speedup']:.1f}x (CPU {d['pyradiomics_extractor']['cpu_s']:.1f} s -> {d['ours']['cpu_s']:.1f} s: "
                     f"{d['cpu_speedup']:.1f}x); extract step {d['extract_step_before_s']:.0f} s -> "
                     f"~{d['extract_step_estimate_s']:.0f} s (~{d['extract_step_estimate_from_cpu_s']:.0f} s from CPU "
                     "time; target >= 3x)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=3, help="warm exams per mode (median reported)")
    parser.add_argument("--demo-exams", type=int, default=0, help="exams for the demo extraction estimate")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "WARM"), help=argparse.SUPPRESS)
    parser.add_argument("--demo-child", nargs=2, metavar=("FAST", "N"), help=argparse.SUPPRESS)
    parser.add_argument("out", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child[0], int(args.child[1]), Path(args.out))
        return 0
    if args.demo_child:
        run_demo_child(args.demo_child[0] == "1", int(args.demo_child[1]), Path(args.out))
        return 0
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        runs = {mode: child(["--child", mode, str(args.warm)], Path(tmp) / f"{mode}.json") for mode in MODES}
        demo = None
        if args.demo_exams:
            demo = {name: child(["--demo-child", fast, str(args.demo_exams)], Path(tmp) / f"demo_{name}.json")
                    for name, fast in (("pyradiomics_extractor", "0"), ("ours", "1"))}
            demo["n_exams"] = args.demo_exams
    load.append(os.getloadavg()[0])
    summary = summarise(runs, demo, load)
    print(report(summary))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"written {RESULTS}")
    ok = summary["two_cores_identical_to_one_core"] and summary["pyradiomics_extractor"]["max_relative_difference_vs_one_core"] <= 1e-6
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
