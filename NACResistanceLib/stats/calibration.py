"""Calibration: Hosmer-Lemeshow (ResourceSelection grouping), logistic recalibration, curves, Brier."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.nonparametric.smoothers_lowess import lowess

from .logit import fit_logit_newton
from .roc import StatisticsInputError

EPS = 1e-12


def _check_prob(y_true, prob) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(prob, dtype=float).ravel()
    if y.shape != p.shape:
        raise StatisticsInputError(f"y_true has {y.size} values but prob has {p.size}")
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise StatisticsInputError("y_true must be 0/1")
    if not np.all((p >= 0) & (p <= 1)):
        raise StatisticsInputError("probabilities must lie in [0, 1] (no NaN)")
    return y, p


@dataclass(frozen=True)
class HosmerLemeshow:
    """Hosmer-Lemeshow goodness-of-fit test."""

    statistic: float
    """Sum over groups of (O1-E1)²/E1 + (O0-E0)²/E0."""
    df: int
    """Number of groups formed minus 2 (ResourceSelection's g - 2 when all g groups form)."""
    p_value: float
    table: pd.DataFrame
    """One row per group: ``group``, ``n``, ``observed`` (events), ``expected`` (sum of p)."""


def hosmer_lemeshow(y_true, prob, groups: int = 10) -> HosmerLemeshow:
    """Hosmer-Lemeshow test grouped as ``ResourceSelection::hoslem.test``.

    Breaks are ``unique(quantile(p, seq(0, 1, 1/g)))`` (type 7 = numpy default), bins are
    right-closed with the lowest value included, so tied probabilities stay in one group. The same
    df (groups - 2) is reported on training and validation cohorts; some authors use df = g on an
    external cohort.
    """
    y, p = _check_prob(y_true, prob)
    table = _group_table(y, p, groups)
    if len(table) < 3:
        raise StatisticsInputError("Hosmer-Lemeshow needs at least 3 distinct probability groups")
    n, obs1, exp1 = (table[c].to_numpy(dtype=float) for c in ("n", "observed", "expected"))
    chi2 = np.sum((obs1 - exp1) ** 2 / exp1 + ((n - obs1) - (n - exp1)) ** 2 / (n - exp1))
    df = len(table) - 2
    return HosmerLemeshow(float(chi2), int(df), float(sps.chi2.sf(chi2, df)), table)


def _group_table(y: np.ndarray, p: np.ndarray, groups: int) -> pd.DataFrame:
    """Quantile groups of ``p`` as ResourceSelection forms them: group, n, observed, expected."""
    breaks = np.unique(np.quantile(p, np.linspace(0, 1, groups + 1)))
    if breaks.size < 2:
        return pd.DataFrame({"group": [1], "n": [y.size], "observed": [y.sum()], "expected": [p.sum()]})
    group = np.clip(np.searchsorted(breaks, p, side="left"), 1, None) - 1
    n_groups = breaks.size - 1
    return pd.DataFrame({"group": np.arange(1, n_groups + 1),
                         "n": np.bincount(group, minlength=n_groups),
                         "observed": np.bincount(group, weights=y, minlength=n_groups),
                         "expected": np.bincount(group, weights=p, minlength=n_groups)})


@dataclass(frozen=True)
class CalibrationFit:
    """Logistic recalibration ``logit P(y=1) = intercept + slope * logit(p)`` (rms ``val.prob``)."""

    intercept: float
    slope: float
    """Calibration slope; < 1 means predictions too extreme (overfitting)."""


def logit(prob) -> np.ndarray:
    """log(p / (1 - p)) with p clipped to [1e-12, 1 - 1e-12]."""
    p = np.clip(np.asarray(prob, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def calibration_intercept_slope(y_true, prob) -> CalibrationFit:
    """Fit the joint recalibration model; perfectly calibrated in-sample predictions give (0, 1).

    Constant predictions (e.g. an intercept-only model) have no slope: both values are NaN.
    """
    y, p = _check_prob(y_true, prob)
    if np.ptp(logit(p)) == 0:
        return CalibrationFit(float("nan"), float("nan"))
    coef = fit_logit_newton(np.column_stack([np.ones_like(p), logit(p)]), y).params
    return CalibrationFit(float(coef[0]), float(coef[1]))


def brier_score(y_true, prob) -> float:
    """Mean of (p - y)²."""
    y, p = _check_prob(y_true, prob)
    return float(np.mean((p - y) ** 2))


@dataclass(frozen=True)
class SmoothCalibration:
    """Lowess calibration curve summaries as ``rms::val.prob`` prints them."""

    e_max: float
    e_90: float
    e_avg: float
    spiegelhalter_z: float
    spiegelhalter_p: float
    curve: pd.DataFrame
    """Columns ``predicted``, ``observed`` (lowess smooth), sorted by ``predicted``."""


def smooth_calibration(y_true, prob) -> SmoothCalibration:
    """Lowess(p, y, iter=0, f=2/3, delta=0.01·range) as R ``lowess``; E-statistics; Spiegelhalter z.

    Constant predictions have no smooth (a local line through one x value is not defined): the curve
    is empty and the E-statistics are NaN; Spiegelhalter's z is still computed.
    """
    y, p = _check_prob(y_true, prob)
    z = np.sum((y - p) * (1 - 2 * p)) / np.sqrt(np.sum((1 - 2 * p) ** 2 * p * (1 - p)))
    if np.ptp(p) == 0:
        return SmoothCalibration(float("nan"), float("nan"), float("nan"), float(z), float(2 * sps.norm.sf(abs(z))),
                                 pd.DataFrame({"predicted": [], "observed": []}, dtype=float))
    delta = 0.01 * (p.max() - p.min())
    smooth = lowess(y, p, frac=2 / 3, it=0, delta=delta, return_sorted=True)
    grid, fitted = _mean_over_ties(smooth[:, 0], smooth[:, 1])
    err = np.abs(p - np.interp(p, grid, fitted))
    curve = pd.DataFrame({"predicted": grid, "observed": fitted})
    return SmoothCalibration(float(err.max()), float(np.quantile(err, 0.9)), float(err.mean()),
                             float(z), float(2 * sps.norm.sf(abs(z))), curve)


def _mean_over_ties(x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, inverse = np.unique(x, return_inverse=True)
    return unique, np.bincount(inverse, weights=v) / np.bincount(inverse)


def binned_calibration(y_true, prob, bins: int = 10) -> pd.DataFrame:
    """Observed event rate against mean prediction in quantile groups (the Hosmer-Lemeshow groups).

    Returns
    -------
    DataFrame
        Columns ``group``, ``n``, ``predicted`` (mean p), ``observed`` (event fraction).
    """
    y, p = _check_prob(y_true, prob)
    table = _group_table(y, p, bins)
    return pd.DataFrame({"group": table["group"], "n": table["n"],
                         "predicted": table["expected"] / table["n"],
                         "observed": table["observed"] / table["n"]})
