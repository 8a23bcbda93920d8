"""Forward stepwise logistic selection as SPSS "Forward: LR".

IBM SPSS Statistics, "Logistic Regression Variable Selection Methods": a variable enters on the
Rao score statistic (entry if p < ``p_enter``, default PIN 0.05, the smallest p first); after each
entry the variables in the model are checked for removal with the likelihood-ratio test (removed
if p > ``p_remove``, default POUT 0.10, the largest p first). Fits use a fast Newton-Raphson
(:func:`~NACResistanceLib.stats.logit.fit_logit_newton`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..stats.logit import NewtonFit, fit_logit_newton, score_test
from ..stats.roc import StatisticsInputError


@dataclass(frozen=True)
class StepwiseResult:
    """The selected terms and the history of the selection."""

    selected: tuple[str, ...]
    """Terms in the final model, in order of entry."""
    steps: pd.DataFrame
    """One row per action: ``step``, ``action`` ("enter"/"remove"), ``term``, ``statistic`` (score or
    LR χ², 1 df), ``p_value``."""


def _design(X: np.ndarray, columns: list[int]) -> np.ndarray:
    return np.column_stack([np.ones(X.shape[0]), X[:, columns]])


def _best_entry(X, y, model: list[int], fit: NewtonFit) -> tuple[int, float, float]:
    base = _design(X, model)
    best = (-1, -np.inf, 1.0)
    for j in range(X.shape[1]):
        if j not in model:
            stat = score_test(base, fit, X[:, [j]], y)
            if stat > best[1]:
                best = (j, stat, float(sps.chi2.sf(stat, 1)))
    return best


def _worst_removal(X, y, model: list[int], fit: NewtonFit) -> tuple[int, float, float]:
    worst = (-1, np.inf, 0.0)
    for j in model:
        reduced = fit_logit_newton(_design(X, [k for k in model if k != j]), y)
        stat = max(2 * (fit.loglik - reduced.loglik), 0.0)
        p = float(sps.chi2.sf(stat, 1))
        if p > worst[2]:
            worst = (j, stat, p)
    return worst


def forward_lr(X: pd.DataFrame, y, *, p_enter: float = 0.05, p_remove: float = 0.10) -> StepwiseResult:
    """SPSS "Forward: LR" selection among the columns of ``X`` (n, k) for 0/1 ``y`` (n,).

    Stops when no candidate enters, or when a model would repeat (a cycle).
    """
    values = X.to_numpy(dtype=float)
    y = np.asarray(y, dtype=float)
    if np.isnan(values).any():
        raise StatisticsInputError(f"stepwise candidates {list(X.columns[X.isna().any()])} have missing values")
    model: list[int] = []
    seen = {()}
    rows = []
    fit = fit_logit_newton(_design(values, model), y)
    while len(model) < values.shape[1]:
        j, stat, p = _best_entry(values, y, model, fit)
        if p >= p_enter:
            break
        model.append(j)
        rows.append(("enter", X.columns[j], stat, p))
        fit = fit_logit_newton(_design(values, model), y)
        while len(model) > 1:
            k, lr, p_lr = _worst_removal(values, y, model, fit)
            if p_lr <= p_remove:
                break
            model.remove(k)
            rows.append(("remove", X.columns[k], lr, p_lr))
            fit = fit_logit_newton(_design(values, model), y)
        if tuple(sorted(model)) in seen:
            break
        seen.add(tuple(sorted(model)))
    steps = pd.DataFrame(rows, columns=["action", "term", "statistic", "p_value"])
    steps.insert(0, "step", np.arange(1, len(rows) + 1))
    return StepwiseResult(tuple(X.columns[j] for j in model), steps)
