"""Bootstrap: rms validate tolerance on hsb2, worker-count invariance, failures, Table 6 resampling."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from NACResistanceLib.config import default_study_config
from NACResistanceLib.errors import CancelledError
from NACResistanceLib.models.validation import PipelineTask, bootstrap_optimism, performance
from NACResistanceLib.stats.bootstrap import ReplicateFailure, bootstrap_performance, run_replicates
from NACResistanceLib.stats.logit import fit_logit_newton, sigmoid
from NACResistanceLib.stats.roc import StatisticsInputError


class FixedLogitTask:
    """rms ``validate(lrm(honcomp ~ female + read + science), B)``: refit the fixed model per replicate."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __call__(self, b, rng):
        rows = rng.integers(0, self.y.size, self.y.size)
        beta = fit_logit_newton(self.X[rows], self.y[rows]).params
        return {"lrm": {"training": performance(self.y[rows], sigmoid(self.X[rows] @ beta)),
                        "test": performance(self.y, sigmoid(self.X @ beta))}}


def test_harrell_optimism_matches_rms_validate_on_hsb2(request):
    frame = pd.read_csv(request.config.rootpath / "Testing" / "Data" / "stats" / "hsb2.csv")
    X = np.column_stack([np.ones(len(frame)), frame[["female", "read", "science"]].to_numpy(float)])
    y = frame["honcomp"].to_numpy(float)
    apparent = {"lrm": performance(y, sigmoid(X @ fit_logit_newton(X, y).params))}
    result = bootstrap_optimism(FixedLogitTask(X, y), apparent, n_boot=1000, seed=20240101)
    table = result.table.loc["lrm"]
    # rms 6.5 validate(B=1000): corrected C 0.8480, slope 0.95008, Brier 0.13780 (apparent 0.13041).
    assert table.loc["auc", "apparent"] == pytest.approx(0.8568219740726479, abs=1e-12)
    assert table.loc["auc", "corrected"] == pytest.approx(0.848, abs=0.006)
    assert table.loc["calibration_slope", "corrected"] == pytest.approx(0.950, abs=0.02)
    assert table.loc["brier", "apparent"] == pytest.approx(0.130411339497, abs=1e-9)
    assert table.loc["brier", "corrected"] == pytest.approx(0.1378, abs=0.003)
    assert table.loc["calibration_slope", "apparent"] == pytest.approx(1.0, abs=1e-9)
    assert (table["n_replicates"] == 1000).all() and result.failures == ()


def _pipeline_task(rng, n=80, p=25):
    latent = rng.normal(size=n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-1.5 * latent))).astype(float)
    X = rng.normal(size=(n, p))
    X[:, 0] = latent + 0.3 * rng.normal(size=n)
    design = pd.DataFrame(X, columns=[f"f{j}" for j in range(p)]).assign(er_positive=rng.integers(0, 2, n) * 1.0)
    return PipelineTask(design, y, tuple(f"f{j}" for j in range(p)),
                        replace(default_study_config().models, clinical_candidates=("er_positive",), clinical_screen_alpha=None),
                        replace(default_study_config().selection, n_lambda=20, n_folds=5))


@pytest.mark.slow
def test_one_and_two_workers_give_identical_replicates(rng):
    task = _pipeline_task(rng)
    one = run_replicates(task, 4, seed=11, workers=1)
    two = run_replicates(task, 4, seed=11, workers=2)
    def flat(results):
        return pd.DataFrame([(b, model, part, metric, value) for b, r in enumerate(results)
                             for model, parts in r.items() for part, metrics in parts.items()
                             for metric, value in metrics.items()])

    assert len(flat(one)) == 4 * 3 * 2 * 4
    pd.testing.assert_frame_equal(flat(one), flat(two))


def test_replicates_are_reproducible_and_use_spawned_seeds():
    def draw(b, rng):
        return float(rng.uniform())

    first = run_replicates(draw, 5, seed=3)
    assert first == run_replicates(draw, 5, seed=3)
    children = np.random.SeedSequence(3).spawn(5)
    assert first == [float(np.random.default_rng(c).uniform()) for c in children]


def test_failures_are_recorded_and_progress_can_cancel():
    def task(b, rng):
        if b == 1:
            raise StatisticsInputError("bootstrap sample has a single outcome class")
        return b

    results = run_replicates(task, 3, seed=0)
    assert results[0] == 0 and results[2] == 2
    assert isinstance(results[1], ReplicateFailure) and "single outcome class" in results[1].reason
    with pytest.raises(CancelledError, match="after 2 of 3"):
        run_replicates(task, 3, seed=0, progress=lambda message, fraction: fraction > 0.5)


def test_bootstrap_performance_table6(rng):
    y = np.r_[np.ones(30), np.zeros(70)]
    perfect = np.r_[np.full(30, 0.9), np.full(70, 0.1)]
    table = bootstrap_performance(y, perfect, 0.5, n_boot=200, seed=1)
    assert table.loc["auc", "mean"] == 1.0 and table.loc["auc", "sd"] == 0.0
    assert table.loc["sensitivity", "ci_low"] == 1.0 and table.loc["specificity", "mean"] == 1.0
    score = y + rng.normal(size=100)
    noisy = bootstrap_performance(y, score, 0.5, n_boot=400, seed=2)
    again = bootstrap_performance(y, score, 0.5, n_boot=400, seed=2)
    pd.testing.assert_frame_equal(noisy, again)
    from NACResistanceLib.stats import roc_auc_ci
    auc = roc_auc_ci(y, score)
    assert noisy.loc["auc", "mean"] == pytest.approx(auc.auc, abs=0.02)
    # The bootstrap SD estimates the same sampling error as DeLong's standard error.
    assert noisy.loc["auc", "sd"] == pytest.approx(np.sqrt(auc.variance), rel=0.25)
