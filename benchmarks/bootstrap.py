"""Benchmark: Harrell bootstrap of the WHOLE pipeline, 1000 replicates, 240 patients x 851 features.

Synthetic numbers (seeded): 851 correlated "radiomics" features (blocks sharing latent factors, 120
near-zero-variance columns, a few informative ones), 13 clinical variables, resistance ~24%, exams
spread over 2021-2024 so the temporal split leaves 160 training patients like the seed.

Times, side by side in one run:
- ours: ``models.validation.bootstrap_optimism`` (filters, screening, glmnet-style LASSO CV,
  Forward-LR stepwise, for the three models) with B = 1000 on 2 worker processes;
- a straightforward scikit-learn/statsmodels implementation of the same steps (per-feature statsmodels
  Logit screening, ``LogisticRegressionCV`` L1/liblinear on the same λ grid with 10 folds and log-loss,
  statsmodels score tests and refits for Forward-LR), on a few replicates on 1 process, scaled to 1000
  replicates and divided by 2 workers (stated in the output).
Writes benchmarks/results/bootstrap.json. Run: ``nice .venv/bin/python benchmarks/bootstrap.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from NACResistanceLib.config import default_study_config
from NACResistanceLib.models import ModelSettings
from NACResistanceLib.models.validation import PipelineTask, bootstrap_optimism, performance
from NACResistanceLib.selection import SelectionSettings, lambda_grid
from NACResistanceLib.selection.filters import correlation_prune, near_zero_variance
from NACResistanceLib.stats.bootstrap import CHUNKS_PER_WORKER
from NACResistanceLib.stats.logit import sigmoid

RESULTS = Path(__file__).parent / "results" / "bootstrap.json"
CLINICAL = ("age_years", "postmenopausal", "bmi_kg_m2", "side_right", "tumor_size_mm", "t_stage", "node_positive",
            "grade_3", "er_positive", "pr_positive", "her2_positive", "ki67_ge_20", "dose_intensity_pct")


def synthetic_training(seed: int = 2026, n: int = 160, p: int = 851) -> tuple[pd.DataFrame, np.ndarray, tuple]:
    """(design, y, feature names) of a seed-like training cohort."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, 60))
    loadings = rng.normal(size=(60, p)) * (rng.uniform(size=(60, p)) < 0.08)
    X = factors @ loadings + rng.normal(size=(n, p))
    X[:, :120] = np.round(rng.exponential(0.04, size=(n, 120)), 1)
    clinical = pd.DataFrame({
        "age_years": rng.normal(52, 9, n), "postmenopausal": rng.integers(0, 2, n), "bmi_kg_m2": rng.normal(23.5, 3, n),
        "side_right": rng.integers(0, 2, n), "tumor_size_mm": rng.uniform(15, 50, n),
        "t_stage": rng.integers(1, 4, n), "node_positive": rng.integers(0, 2, n), "grade_3": rng.integers(0, 2, n),
        "er_positive": rng.integers(0, 2, n), "pr_positive": rng.integers(0, 2, n),
        "her2_positive": rng.integers(0, 2, n), "ki67_ge_20": rng.integers(0, 2, n),
        "dose_intensity_pct": rng.normal(93, 9, n)}).astype(float)
    lp = (-2.2 + 0.9 * clinical["er_positive"] + 0.75 * clinical["ki67_ge_20"]
          - 0.06 * (clinical["dose_intensity_pct"] - 93) + 1.1 * factors[:, 0] - 0.8 * factors[:, 1])
    y = (rng.uniform(size=n) < sigmoid(lp.to_numpy())).astype(float)
    names = tuple(f"original_feature_{j:03d}" for j in range(p))
    return pd.concat([clinical, pd.DataFrame(X, columns=list(names))], axis=1), y, names


class StraightforwardTask:
    """The same pipeline written the obvious way with scikit-learn and statsmodels (no fast paths)."""

    def __init__(self, design, y, names, settings: ModelSettings, selection: SelectionSettings):
        self.design, self.y, self.names, self.settings, self.selection = design, y, names, settings, selection

    def _lasso(self, X, y, rng):
        from sklearn.linear_model import LogisticRegressionCV
        from sklearn.model_selection import StratifiedKFold
        mean, sd = X.mean(axis=0), X.std(axis=0)
        Z = (X - mean) / sd
        lambdas = lambda_grid(X, y, self.selection.n_lambda)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LogisticRegressionCV(Cs=1 / (len(y) * lambdas), l1_ratios=(1.0,), solver="liblinear",
                                         intercept_scaling=100.0, scoring="neg_log_loss", max_iter=1000,
                                         cv=StratifiedKFold(10, shuffle=True, random_state=int(rng.integers(2**31))),
                                         use_legacy_attributes=False).fit(Z, y)
        coef = model.coef_.ravel() / sd
        return coef, float(model.intercept_[0] - coef @ mean)

    def _stepwise(self, frame, y):
        import statsmodels.api as sm
        from scipy import stats as sps
        model: list[str] = []
        seen: set[tuple[str, ...]] = {()}
        while True:
            base = sm.GLM(y, sm.add_constant(frame[model], has_constant="add"), family=sm.families.Binomial()).fit()
            best = None
            for name in (c for c in frame.columns if c not in model):
                stat = base.score_test(exog_extra=frame[[name]].to_numpy())[0]
                p = float(sps.chi2.sf(float(np.ravel(stat)[0]), 1))
                best = min(best or (p, name), (p, name))
            if best is None or best[0] >= self.settings.p_enter:
                return model
            model.append(best[1])
            full = sm.GLM(y, sm.add_constant(frame[model]), family=sm.families.Binomial()).fit()
            for name in list(model[:-1]):
                reduced = sm.GLM(y, sm.add_constant(frame[[m for m in model if m != name]], has_constant="add"),
                                 family=sm.families.Binomial()).fit()
                if sps.chi2.sf(2 * (full.llf - reduced.llf), 1) > self.settings.p_remove:
                    model.remove(name)
            if tuple(sorted(model)) in seen:  # a cycle, as in forward_lr
                return model
            seen.add(tuple(sorted(model)))

    def __call__(self, b, rng):
        import statsmodels.api as sm
        rows = rng.integers(0, self.y.size, self.y.size)
        design, y = self.design.iloc[rows].reset_index(drop=True), self.y[rows]
        feats = design[list(self.names)]
        kept = near_zero_variance(feats)
        kept = correlation_prune(feats[kept], y, self.selection.correlation_threshold)
        kept = [c for c in kept if sm.Logit(y, sm.add_constant(feats[c])).fit(disp=0).pvalues.iloc[1] < 0.05]
        coef, intercept = self._lasso(feats[kept].to_numpy(), y, rng)
        rad = intercept + feats[kept].to_numpy() @ coef
        pool = [c for c in self.settings.clinical_candidates
                if sm.Logit(y, sm.add_constant(design[c])).fit(disp=0).pvalues.iloc[1] < 0.05]
        frame = design[pool].assign(rad_score=rad)
        terms = self._stepwise(frame, y)
        fit = sm.Logit(y, sm.add_constant(frame[terms], has_constant="add")).fit(disp=0)
        full_rad = intercept + self.design[kept].to_numpy() @ coef
        original = self.design[pool].assign(rad_score=full_rad)
        p_test = fit.predict(sm.add_constant(original[terms], has_constant="add"))
        return {"combined": {"training": performance(y, fit.predict()), "test": performance(self.y, np.asarray(p_test))}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline-replicates", type=int, default=5)
    args = parser.parse_args()
    design, y, names = synthetic_training()
    defaults = default_study_config()
    settings, selection = replace(defaults.models, clinical_candidates=CLINICAL), defaults.selection
    task = PipelineTask(design, y, names, settings, selection)
    apparent = {m: {k: 0.0 for k in ("auc", "calibration_intercept", "calibration_slope", "brier")}
                for m in ("clinical", "radiomics", "combined")}
    load_before = _uptime()
    start, cpu_start = time.perf_counter(), os.times()
    ours = bootstrap_optimism(task, apparent, n_boot=args.replicates, seed=1, workers=args.workers)
    ours_s = time.perf_counter() - start
    cpu = os.times()
    ours_cpu = cpu.children_user + cpu.children_system - cpu_start.children_user - cpu_start.children_system
    load_after = _uptime()
    baseline = StraightforwardTask(design, y, names, settings, selection)
    start = time.perf_counter()
    for b, child in enumerate(np.random.SeedSequence(1).spawn(args.baseline_replicates)):
        baseline(b, np.random.default_rng(child))
    base_per_rep = (time.perf_counter() - start) / args.baseline_replicates
    base_scaled = base_per_rep * args.replicates / args.workers
    profile = _profile_one(task)
    result = {
        "what": "Harrell bootstrap optimism refitting the whole pipeline (NZV, correlation, univariate screening, "
                "glmnet-style LASSO 10-fold CV, Forward-LR stepwise; clinical, radiomics and combined models)",
        "data": f"synthetic, {len(y)} training patients (of 240) x {len(names)} features, seed 2026",
        "replicates": args.replicates, "workers": args.workers, "cpu_count": os.cpu_count(),
        "ours_seconds": round(ours_s, 1), "ours_seconds_per_replicate_per_worker": round(ours_s * args.workers / args.replicates, 3),
        "ours_worker_cpu_seconds_per_replicate": round(ours_cpu / args.replicates, 3),
        "ours_cpu_note": "CPU time of the worker processes (user + system, including their start-up and imports) "
                         "per replicate; wall time per replicate per worker above it is higher when other jobs "
                         "share the cores",
        "uptime_before": load_before, "uptime_after": load_after,
        "failed_replicates": len(ours.failures),
        "straightforward_seconds_per_replicate": round(base_per_rep, 2),
        "straightforward_measured_replicates": args.baseline_replicates,
        "straightforward_scaled_seconds": round(base_scaled, 1),
        "straightforward_note": f"measured on {args.baseline_replicates} replicates on 1 process, scaled x"
                                f"{args.replicates} / {args.workers} workers",
        "speedup": round(base_scaled / ours_s, 1), "target_seconds": 300, "meets_target": ours_s < 300,
        "time_share_one_replicate": profile,
        "chunks_per_worker": CHUNKS_PER_WORKER,
        "python": platform.python_version(), "machine": platform.machine(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


def _uptime() -> str:
    """``uptime`` output (the load averages tell how busy the shared cores were)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def _profile_one(task: PipelineTask) -> dict[str, float]:
    """Share of one replicate's time per stage (cProfile cumulative times)."""
    import cProfile
    import pstats

    from threadpoolctl import threadpool_limits

    profiler = cProfile.Profile()
    with threadpool_limits(limits=1, user_api="blas"):
        profiler.runcall(task, 0, np.random.default_rng(5))
    stats = pstats.Stats(profiler)
    total = max(stats.total_tt, 1e-9)
    wanted = {"lasso_cv": "lasso_cv", "correlation_prune": "correlation_prune", "near_zero_variance":
              "near_zero_variance", "univariate_screen": "univariate_screen", "forward_lr": "forward_lr",
              # inside lasso_cv: IRLS steps, of which the feature-sign search and its linear solves
              "_irls_step": "lasso_irls_steps", "lasso_quadratic": "lasso_feature_sign_search",
              "_solve_on_support": "lasso_support_solves"}
    shares = {}
    for (_, _, func), (_, _, _, cumulative, _) in stats.stats.items():
        if func in wanted:
            shares[wanted[func]] = round(shares.get(wanted[func], 0.0) + cumulative / total, 3)
    return shares


if __name__ == "__main__":
    raise SystemExit(main())
