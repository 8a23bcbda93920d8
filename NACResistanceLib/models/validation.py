"""Internal validation of the whole modelling pipeline: Harrell's bootstrap optimism and K-fold CV.

Both refit EVERYTHING on each training sample (selection funnel with its filters, univariate
screening, LASSO with its own CV, stepwise selection, thresholds), as ``rms::validate`` requires
(harrelfe/rms ``R/predab.resample.s``): optimism = mean over replicates of (index on the bootstrap
sample - index on the original sample); corrected = apparent - optimism.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import CancelledError
from ..selection import LeadingStep, SelectionSettings, make_foldid
from ..stats.bootstrap import Progress, ReplicateFailure, run_replicates
from ..stats.calibration import logit
from ..stats.logit import fit_logit_newton, sigmoid
from ..stats.roc import StatisticsInputError, delong_placements
from .building import MODEL_NAMES, FittedModels, ModelSettings, fit_models

METRICS = ("auc", "calibration_intercept", "calibration_slope", "brier")


def performance(y: np.ndarray, prob: np.ndarray) -> dict[str, float]:
    """AUC, calibration intercept and slope (``y ~ a + b logit p``), Brier score."""
    auc = delong_placements(prob[y == 1], prob[y == 0])[0]
    lp = logit(prob)
    if np.ptp(lp) > 0:
        a, b = fit_logit_newton(np.column_stack([np.ones_like(lp), lp]), y).params
    else:
        a, b = np.nan, np.nan
    return {"auc": auc, "calibration_intercept": float(a), "calibration_slope": float(b),
            "brier": float(np.mean((prob - y) ** 2))}


@dataclass(frozen=True)
class PipelineTask:
    """One bootstrap replicate of the whole pipeline (picklable, so it runs in worker processes)."""

    design: pd.DataFrame
    y: np.ndarray
    feature_names: tuple[str, ...]
    settings: ModelSettings
    selection: SelectionSettings
    leading_steps: tuple[LeadingStep, ...] = ()

    def fit(self, rows: np.ndarray, random_state: int) -> FittedModels:
        design = self.design.iloc[rows].reset_index(drop=True)
        y = self.y[rows]
        if y.min() == y.max():
            raise StatisticsInputError("bootstrap sample has a single outcome class")
        return fit_models(design, y, self.feature_names, settings=self.settings, selection=self.selection,
                          leading_steps=self.leading_steps, random_state=random_state)

    def __call__(self, b: int, rng: np.random.Generator) -> dict:
        rows = rng.integers(0, self.y.size, self.y.size)
        fitted = self.fit(rows, int(rng.integers(2**31 - 1)))
        boot = self.design.iloc[rows].reset_index(drop=True)
        out = {}
        for name, model in fitted.as_dict().items():
            out[name] = {"training": performance(self.y[rows], sigmoid(model.linear_predictor(boot))),
                         "test": performance(self.y, sigmoid(model.linear_predictor(self.design)))}
        return out


@dataclass(frozen=True)
class OptimismResult:
    """Harrell's optimism-corrected performance of the three models."""

    table: pd.DataFrame
    """Rows (model, metric); columns ``apparent``, ``optimism``, ``corrected``, ``n_replicates``."""
    replicates: pd.DataFrame
    """Long table: ``replicate``, ``model``, ``metric``, ``training``, ``test``."""
    failures: tuple[ReplicateFailure, ...]
    """Replicates that failed (excluded from the means), with the reason."""


def bootstrap_optimism(task, apparent: dict[str, dict[str, float]], *, n_boot: int = 1000,
                       seed: int = 0, workers: int = 1, progress: Progress | None = None) -> OptimismResult:
    """Harrell's bootstrap validation.

    Parameters
    ----------
    task : callable ``task(b, rng) -> {model: {"training": metrics, "test": metrics}}``
        Usually a :class:`PipelineTask`: draws a bootstrap sample, refits, and scores the refitted
        models on the sample ("training") and on the original data ("test").
    apparent : model -> metric -> value of the final models on the original data.
    n_boot : number of replicates B (rms default 40; the seed and our default 1000).
    seed : root of the ``SeedSequence`` whose ``spawn`` children seed the replicates.
    workers : processes; 1 and N give identical numbers.
    """
    results = run_replicates(task, n_boot, seed, workers=workers, progress=progress, label="bootstrap optimism")
    failures = tuple(r for r in results if isinstance(r, ReplicateFailure))
    rows = [(b, model, metric, r[model]["training"][metric], r[model]["test"][metric])
            for b, r in enumerate(results) if not isinstance(r, ReplicateFailure)
            for model in apparent for metric in apparent[model]]
    long = pd.DataFrame(rows, columns=["replicate", "model", "metric", "training", "test"])
    grouped = long.assign(diff=long["training"] - long["test"]).groupby(["model", "metric"], sort=False)
    table = pd.DataFrame({"optimism": grouped["diff"].mean(), "n_replicates": grouped["diff"].count()})
    table.insert(0, "apparent", [apparent[m][k] for m, k in table.index])
    table.insert(2, "corrected", table["apparent"] - table["optimism"])
    return OptimismResult(table, long, failures)


@dataclass(frozen=True)
class CrossValidationResult:
    """K-fold cross-validation of the whole pipeline on the training cohort."""

    predictions: pd.DataFrame
    """Out-of-fold probabilities: index like the design; columns ``fold`` and one per model."""
    table: pd.DataFrame
    """Rows per model: ``pooled_auc`` (AUC of the pooled out-of-fold probabilities), ``fold_auc_mean``,
    ``fold_auc_sd`` (folds with both classes)."""


def cross_validate(task: PipelineTask, *, n_folds: int = 10, seed: int = 0,
                   progress: Progress | None = None) -> CrossValidationResult:
    """Refit the pipeline on K-1 folds (stratified, seeded) and predict the held-out fold."""
    foldid = make_foldid(task.y, n_folds, seed)
    predictions = pd.DataFrame({"fold": foldid}, index=task.design.index)
    for k in range(n_folds):
        fitted = task.fit(np.flatnonzero(foldid != k), seed + k)
        held = task.design.iloc[np.flatnonzero(foldid == k)]
        for name, model in fitted.as_dict().items():
            predictions.loc[held.index, name] = sigmoid(model.linear_predictor(held))
        if progress is not None and progress(f"cross-validation fold {k + 1}/{n_folds}", (k + 1) / n_folds):
            raise CancelledError("cross-validation cancelled")
    return CrossValidationResult(predictions, _cv_table(predictions, task.y, foldid, n_folds))


def _cv_table(predictions: pd.DataFrame, y: np.ndarray, foldid: np.ndarray, n_folds: int) -> pd.DataFrame:
    rows = {}
    for name in MODEL_NAMES:
        p = predictions[name].to_numpy()
        folds = [delong_placements(p[(foldid == k) & (y == 1)], p[(foldid == k) & (y == 0)])[0]
                 for k in range(n_folds) if 0 < y[foldid == k].sum() < (foldid == k).sum()]
        rows[name] = {"pooled_auc": delong_placements(p[y == 1], p[y == 0])[0],
                      "fold_auc_mean": float(np.mean(folds)), "fold_auc_sd": float(np.std(folds, ddof=1))}
    return pd.DataFrame(rows).T


def apparent_performance(fitted: FittedModels, design: pd.DataFrame, y: np.ndarray) -> dict[str, dict[str, float]]:
    """Model -> metric -> value of the fitted models on the data they were fitted on."""
    return {name: performance(y, sigmoid(model.linear_predictor(design)))
            for name, model in fitted.as_dict().items()}
