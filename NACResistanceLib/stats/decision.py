"""Decision curve analysis (Vickers & Elkin 2006) with dcurves' conventions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .roc import StatisticsInputError


def net_benefit(y_true, prob, thresholds, *, harm: float = 0.0, prevalence: float | None = None,
                label: str = "model") -> pd.DataFrame:
    """Net benefit of a model, treat-all and treat-none over threshold probabilities.

    ``NB = TP/n - FP/n · pt/(1-pt) - harm``; a patient is test-positive when ``prob >= pt``
    (as R/Python dcurves) and ``prob > 0``: a risk of exactly 0 is never treated, which is what
    R dcurves' benchmark table reports at pt = 0 for the 0/1 ``famhistory`` risk. Treat-all: ``π - (1-π)·pt/(1-pt)``; treat-none: 0.

    Parameters
    ----------
    y_true : (n,) 0/1 outcomes.
    prob : (n,) predicted risks in [0, 1].
    thresholds : (t,) threshold probabilities in [0, 1).
    harm : float
        Harm of the test, subtracted from the model's net benefit (not from treat-all).
    prevalence : float, optional
        For case-control data: the population prevalence π; then
        TP/n = P(positive | case)·π and FP/n = P(positive | control)·(1-π).
    label : str
        Name used in the ``strategy`` column for the model.

    Returns
    -------
    DataFrame
        Long table: ``strategy`` ("treat_all", "treat_none", ``label``), ``threshold``,
        ``tp_rate``, ``fp_rate``, ``net_benefit``.
    """
    y = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(prob, dtype=float).ravel()
    pt = np.asarray(thresholds, dtype=float).ravel()
    if y.shape != p.shape or not np.all(np.isin(y, (0.0, 1.0))):
        raise StatisticsInputError("y_true must be 0/1 with one value per probability")
    if np.any((pt < 0) | (pt >= 1)):
        raise StatisticsInputError("thresholds must lie in [0, 1)")
    odds = pt / (1 - pt)
    pi = y.mean() if prevalence is None else float(prevalence)
    positive = (p[None, :] >= pt[:, None]) & (p[None, :] > 0)
    if prevalence is None:
        tp = (positive & (y == 1)).sum(axis=1) / y.size
        fp = (positive & (y == 0)).sum(axis=1) / y.size
    else:
        tp = positive[:, y == 1].mean(axis=1) * pi
        fp = positive[:, y == 0].mean(axis=1) * (1 - pi)
    frames = [
        _frame("treat_all", pt, np.full_like(pt, pi), np.full_like(pt, 1 - pi), pi - (1 - pi) * odds),
        _frame("treat_none", pt, np.zeros_like(pt), np.zeros_like(pt), np.zeros_like(pt)),
        _frame(label, pt, tp, fp, tp - fp * odds - harm),
    ]
    return pd.concat(frames, ignore_index=True)


def _frame(strategy: str, pt, tp, fp, nb) -> pd.DataFrame:
    return pd.DataFrame({"strategy": strategy, "threshold": pt, "tp_rate": tp, "fp_rate": fp,
                         "net_benefit": nb})
