"""ROC analysis as R pROC does it: AUC with DeLong CI, paired and unpaired tests, Youden threshold.

Convention (pROC ``direction = "<"``): a higher score means "more likely a case", a case is
test-positive when ``score >= threshold``, tied case-control pairs count 0.5. Scores are never
flipped automatically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from ..errors import NACResistanceError


class StatisticsInputError(NACResistanceError, ValueError):
    """Inputs to a statistic are unusable (one class only, length mismatch, NaN)."""


def split_cases(y_true, score) -> tuple[np.ndarray, np.ndarray]:
    """Return (case scores, control scores) after checking ``y_true`` is 0/1 with both classes."""
    y = np.asarray(y_true, dtype=float).ravel()
    s = np.asarray(score, dtype=float).ravel()
    if y.shape != s.shape:
        raise StatisticsInputError(f"y_true has {y.size} values but score has {s.size}")
    if not np.all(np.isin(y, (0.0, 1.0))) or not np.all(np.isfinite(s)):
        raise StatisticsInputError("y_true must be 0/1 and scores finite (no NaN)")
    if y.min() == y.max():
        raise StatisticsInputError("ROC analysis needs both cases (1) and controls (0)")
    return s[y == 1], s[y == 0]


def delong_placements(cases: np.ndarray, controls: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong placement values from midranks.

    Returns
    -------
    auc : float
    v10 : (m,) array
        For each case, the fraction of controls it outranks (ties 0.5).
    v01 : (n,) array
        For each control, the fraction of cases that outrank it (ties 0.5).
    """
    m, n = cases.size, controls.size
    ranks_all = sps.rankdata(np.concatenate([cases, controls]))
    v10 = (ranks_all[:m] - sps.rankdata(cases)) / n
    v01 = 1.0 - (ranks_all[m:] - sps.rankdata(controls)) / m
    return float(v10.mean()), v10, v01


@dataclass(frozen=True)
class AucResult:
    """AUC with its DeLong confidence interval (pROC ``ci.auc(method="delong")``)."""

    auc: float
    low: float
    """Lower confidence limit, clipped to [0, 1]."""
    high: float
    """Upper confidence limit, clipped to [0, 1]."""
    variance: float
    """DeLong variance var(V10)/m + var(V01)/n (sample variances, ddof 1)."""
    level: float
    n_cases: int
    n_controls: int


def roc_auc_ci(y_true, score, level: float = 0.95) -> AucResult:
    """AUC and DeLong CI: ``qnorm(c(a/2, 1-a/2), auc, sqrt(var))`` clipped to [0, 1], as pROC.

    Parameters
    ----------
    y_true : (n,) array of 0/1
    score : (n,) array; higher = more likely a case.
    level : float
        Confidence level.
    """
    cases, controls = split_cases(y_true, score)
    auc, v10, v01 = delong_placements(cases, controls)
    var = np.var(v10, ddof=1) / cases.size + np.var(v01, ddof=1) / controls.size
    half = sps.norm.ppf(0.5 + level / 2) * np.sqrt(var)
    return AucResult(auc, max(0.0, auc - half), min(1.0, auc + half), float(var), level,
                     cases.size, controls.size)


@dataclass(frozen=True)
class DelongTest:
    """DeLong's test for two correlated ROC curves (pROC ``roc.test(paired=TRUE)``)."""

    auc_a: float
    auc_b: float
    z: float
    """(AUC_a - AUC_b) / sd; positive when ``a`` has the larger AUC."""
    p_value: float
    difference_low: float
    """Lower limit of the CI of AUC_a - AUC_b (two-sided, at ``level``)."""
    difference_high: float
    alternative: str
    level: float

    @property
    def difference(self) -> float:
        return self.auc_a - self.auc_b


def _p_from_z(z: float, alternative: str) -> float:
    table = {"two-sided": lambda: 2 * sps.norm.sf(abs(z)), "greater": lambda: sps.norm.sf(z),
             "less": lambda: sps.norm.cdf(z)}
    if alternative not in table:
        raise StatisticsInputError(f"alternative {alternative!r} is not one of {sorted(table)}")
    return float(table[alternative]())


def delong_test(y_true, score_a, score_b, *, alternative: str = "two-sided", level: float = 0.95) -> DelongTest:
    """Paired DeLong test of two scores on the same patients.

    ``alternative="greater"`` tests AUC_a > AUC_b. Two identical scores give z = 0 and p = 1.
    """
    cases_a, controls_a = split_cases(y_true, score_a)
    cases_b, controls_b = split_cases(y_true, score_b)
    auc_a, v10_a, v01_a = delong_placements(cases_a, controls_a)
    auc_b, v10_b, v01_b = delong_placements(cases_b, controls_b)
    s10 = np.cov(np.vstack([v10_a, v10_b]))
    s01 = np.cov(np.vstack([v01_a, v01_b]))
    cov = s10 / cases_a.size + s01 / controls_a.size
    var_diff = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    diff = auc_a - auc_b
    if var_diff <= 0:
        z = 0.0 if diff == 0 else float(np.sign(diff) * np.inf)
    else:
        z = diff / np.sqrt(var_diff)
    half = sps.norm.ppf(0.5 + level / 2) * np.sqrt(max(var_diff, 0.0))
    p = 1.0 if (z == 0 and alternative == "two-sided") else _p_from_z(z, alternative)
    return DelongTest(auc_a, auc_b, float(z), p, diff - half, diff + half, alternative, level)


@dataclass(frozen=True)
class UnpairedAucTest:
    """Unpaired comparison of two AUCs from different patients (pROC ``roc.test(paired=FALSE)``)."""

    auc_a: float
    auc_b: float
    statistic: float
    """D = (AUC_a - AUC_b) / sqrt(V_a + V_b), DeLong variances."""
    df: float
    """Welch-type degrees of freedom."""
    p_value: float


def unpaired_auc_test(y_a, score_a, y_b, score_b) -> UnpairedAucTest:
    """Compare AUCs of two independent cohorts (e.g. temporal validation vs training), two-sided t test."""
    a = roc_auc_ci(y_a, score_a)
    b = roc_auc_ci(y_b, score_b)
    if a.variance + b.variance == 0:  # both curves without sampling variance (e.g. AUC = 1 in both): no test
        return UnpairedAucTest(a.auc, b.auc, float("nan"), float("nan"), float("nan"))
    d = (a.auc - b.auc) / np.sqrt(a.variance + b.variance)
    n_a, n_b = a.n_cases + a.n_controls, b.n_cases + b.n_controls
    df = (a.variance + b.variance) ** 2 / (a.variance**2 / (n_a - 1) + b.variance**2 / (n_b - 1))
    return UnpairedAucTest(a.auc, b.auc, float(d), float(df), float(2 * sps.t.sf(abs(d), df)))


def roc_curve_frame(y_true, score) -> pd.DataFrame:
    """ROC curve as pROC builds it: thresholds -inf, midpoints of distinct scores, +inf.

    Returns
    -------
    DataFrame
        Columns ``threshold``, ``sensitivity``, ``specificity`` (positive when score >= threshold),
        ordered by increasing threshold.
    """
    cases, controls = split_cases(y_true, score)
    values = np.unique(np.concatenate([cases, controls]))
    thresholds = np.concatenate([[-np.inf], (values[:-1] + values[1:]) / 2, [np.inf]])
    sens = (cases[None, :] >= thresholds[:, None]).mean(axis=1)
    spec = (controls[None, :] < thresholds[:, None]).mean(axis=1)
    return pd.DataFrame({"threshold": thresholds, "sensitivity": sens, "specificity": spec})


def youden_threshold(y_true, score) -> float:
    """Threshold maximising sensitivity + specificity - 1 (pROC ``coords(best.method="youden")``).

    Ties between thresholds are broken towards the lowest threshold.
    """
    curve = roc_curve_frame(y_true, score)
    j = (curve["sensitivity"] + curve["specificity"]).to_numpy()
    return float(curve["threshold"].iloc[int(np.argmax(j))])


@dataclass(frozen=True)
class Proportion:
    """A proportion with its confidence interval."""

    estimate: float
    low: float
    high: float
    successes: int
    total: int
    method: str


@dataclass(frozen=True)
class ClassificationSummary:
    """Sensitivity and specificity at a fixed threshold, with binomial CIs."""

    threshold: float
    sensitivity: Proportion
    specificity: Proportion


def sensitivity_specificity(y_true, score, threshold: float, *, method: str = "wilson",
                            level: float = 0.95) -> ClassificationSummary:
    """Sensitivity and specificity when ``score >= threshold`` is positive.

    ``method`` is passed to ``statsmodels.stats.proportion.proportion_confint``: "wilson" (default,
    Wilson score interval) or "beta" (Clopper-Pearson exact).
    """
    cases, controls = split_cases(y_true, score)
    tp, tn = int((cases >= threshold).sum()), int((controls < threshold).sum())

    def proportion(k: int, n: int) -> Proportion:
        low, high = proportion_confint(k, n, alpha=1 - level, method=method)
        return Proportion(k / n, float(low), float(high), k, n, method)

    return ClassificationSummary(threshold, proportion(tp, cases.size), proportion(tn, controls.size))
