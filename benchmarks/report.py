"""Benchmark: rendering the report from a study folder against training the study that wrote it.

Synthetic seed-like cohort (seeded): 240 patients, 851 correlated features, clinical and outcome columns,
exams 2021-2024 (temporal split at 2023-07-01). Times, side by side in one run:
- train: ``run_study`` + ``complete_study`` + ``write_study`` (what ``nacresistance train`` does before the report);
- report: ``report.render_study(folder)`` (what ``nacresistance report STUDY_FOLDER`` does: read, draw, write).
The ratio report / train is the figure of interest (target: under 10 %). ``--bootstrap`` sets both bootstrap
counts (default 200; the seed's 1000 makes train ~5x longer and the ratio smaller).
Writes benchmarks/results/report.json. Run: ``nice .venv/bin/python benchmarks/report.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from NACResistanceLib.config import load_analysis_config
from NACResistanceLib.report import render_study
from NACResistanceLib.study import run_study
from NACResistanceLib.study_folder import complete_study

RESULTS = Path(__file__).parent / "results" / "report.json"


def synthetic_cohort(seed: int = 2026, n: int = 240, p: int = 851) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(manifest rows, feature table) with resistance driven by ER, Ki-67 and two latent imaging factors."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, 40))
    loadings = rng.normal(size=(40, p)) * (rng.uniform(size=(40, p)) < 0.08)
    features = factors @ loadings + rng.normal(size=(n, p))
    er = rng.integers(0, 2, n)
    ki67 = rng.uniform(1, 60, n).round()
    lp = -1.6 + 0.9 * er + 0.02 * (ki67 - 30) + 1.1 * factors[:, 0] - 0.8 * factors[:, 1]
    resistant = rng.uniform(size=n) < 1 / (1 + np.exp(-lp))
    size = rng.uniform(15, 50, n)
    ids = [f"P{i:03d}" for i in range(n)]
    manifest = pd.DataFrame({
        "patient_id": ids, "timepoint": "baseline",
        "exam_date": pd.date_range("2021-01-04", "2024-12-20", periods=n).strftime("%Y-%m-%d"),
        "age_years": rng.normal(52, 9, n).round(), "menopause": rng.choice(["pre", "post"], n),
        "bmi_kg_m2": rng.normal(23.5, 3, n).round(1), "side": rng.choice(["left", "right"], n),
        "tumor_size_mm": size.round(1), "t_stage": rng.choice(["T1", "T2", "T3"], n),
        "n_stage": rng.choice(["N0", "N1", "N2"], n), "grade": rng.choice([1, 2, 3], n),
        "er": np.where(er == 1, "positive", "negative"), "pr": rng.choice(["positive", "negative"], n),
        "her2": rng.choice(["positive", "negative"], n), "ki67_pct": ki67,
        "subtype": rng.choice(["luminal_a", "luminal_b", "her2_enriched", "triple_negative"], n),
        "dose_intensity_pct": rng.normal(93, 8, n).clip(50, 110).round(1),
        "rcb_d1_mm": np.where(resistant, 30.0, 0.0), "rcb_d2_mm": np.where(resistant, 20.0, 0.0),
        "rcb_cellularity_pct": np.where(resistant, 50.0, 0.0), "rcb_in_situ_pct": 0.0,
        "rcb_positive_nodes": np.where(resistant, 3, 0), "rcb_largest_metastasis_mm": np.where(resistant, 8.0, 0.0),
        "mri_longest_diameter_post_mm": np.where(resistant, 0.9, 0.4) * size,
    })
    table = pd.DataFrame(features, columns=[f"original_glcm_F{j:03d}" for j in range(p)], index=pd.Index(ids,
                                                                                                       name="patient_id"))
    return manifest, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args()
    manifest, features = synthetic_cohort()
    analysis = load_analysis_config()
    overrides = {"validation": {"n_boot_optimism": args.bootstrap, "n_boot_performance": args.bootstrap}}
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        result = run_study(features, manifest, overrides, analysis=analysis, seed=0)
        complete_study(result, analysis_config=analysis.to_dict(), command="benchmarks/report.py").write(folder)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        render_study(folder)
        report_s = time.perf_counter() - start
    record = {"patients": len(manifest), "features": features.shape[1], "bootstrap": args.bootstrap,
              "train_s": round(train_s, 2), "report_s": round(report_s, 2),
              "report_pct_of_train": round(100 * report_s / train_s, 2), "load_average": os.getloadavg(),
              "cpus": os.cpu_count(), "python": platform.python_version()}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"train {train_s:.1f} s | report from the study folder {report_s:.2f} s | report = "
          f"{record['report_pct_of_train']:.1f} % of train (B = {args.bootstrap}, load {record['load_average'][0]:.1f})")


if __name__ == "__main__":
    main()
