"""Multivariable logistic regression results as SPSS / R print them (the seed's Table 4).

statsmodels ``Logit`` (Newton, converged tightly) does the fitting; this module lays out β, SE,
Wald χ² = (β/SE)² with 1 df, its p-value, OR = exp(β) and the Wald 95% CI exp(β ± z·SE).

A term that is constant in the sample or a linear combination of the terms before it cannot be
estimated: as R's ``glm`` ("not defined because of singularities") it is left out of the fit and its
row shows NaN with the reason in ``note``. Separation is not hidden either: statsmodels' warnings
(perfect separation, no convergence) are kept in ``LogisticResult.warnings`` and ``converged`` is False.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from ..stats.logit import aliased_columns
from ..stats.roc import StatisticsInputError

TABLE_COLUMNS = ["term", "beta", "se", "wald_chi2", "df", "p_value", "odds_ratio", "or_ci_low", "or_ci_high",
                 "note"]


@dataclass(frozen=True)
class LogisticResult:
    """A fitted logistic model and its summary numbers."""

    table: pd.DataFrame
    """One row per term (``(intercept)`` first): columns of :data:`TABLE_COLUMNS`; OR columns are
    NaN for the intercept; an aliased term has NaN estimates, df 0 and its reason in ``note``
    (empty otherwise)."""
    minus2_log_likelihood: float
    lr_chi2: float
    """Likelihood-ratio χ² against the intercept-only model."""
    lr_df: int
    """Number of estimated terms (aliased terms excluded)."""
    lr_p_value: float
    nagelkerke_r2: float
    n: int
    n_events: int
    converged: bool
    warnings: tuple[str, ...] = ()
    """Caveats of the fit: aliased terms left out, statsmodels' separation / convergence warnings."""

    @property
    def params(self) -> pd.Series:
        """Coefficients by term."""
        return self.table.set_index("term")["beta"]


def fit_logistic(X: pd.DataFrame, y, *, level: float = 0.95) -> LogisticResult:
    """Fit ``logit P(y=1) = b0 + X b`` and tabulate it.

    Parameters
    ----------
    X : (n, k) DataFrame of predictors (no intercept column; it is added), k may be 0.
    y : (n,) 0/1 outcomes.
    level : float
        Level of the Wald confidence interval of the odds ratios.
    """
    y = np.asarray(y, dtype=float)
    if not np.all(np.isin(y, (0.0, 1.0))) or y.min() == y.max():
        raise StatisticsInputError("logistic regression needs a 0/1 outcome with both classes")
    if X.isna().any().any():
        raise StatisticsInputError(f"predictors {list(X.columns[X.isna().any()])} have missing values")
    design = pd.concat([pd.Series(1.0, index=X.index, name="(intercept)"), X.astype(float)], axis=1)
    notes = {design.columns[j]: _alias_reason(design.iloc[:, j]) for j in aliased_columns(design.to_numpy())}
    estimable = design.drop(columns=list(notes))
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("always", PerfectSeparationWarning)
        fit = sm.Logit(y, estimable).fit(method="newton", maxiter=200, tol=1e-12, disp=0)
        caught = sorted({str(r.message).splitlines()[0] for r in records
                         if issubclass(r.category, (ConvergenceWarning, PerfectSeparationWarning))})
    aliased = [f"term {term!r} not estimable, left out of the fit: {why}" for term, why in notes.items()]
    return _result(fit, design, notes, y, level, tuple(caught), tuple(aliased))


def _alias_reason(column: pd.Series) -> str:
    if np.ptp(column.to_numpy()) == 0:
        return f"constant ({column.iloc[0]:.6g}) in this sample, aliased with the intercept"
    return "a linear combination of the terms before it (aliased)"


def _result(fit, design: pd.DataFrame, notes: dict, y: np.ndarray, level: float, caught: tuple[str, ...],
            aliased: tuple[str, ...]) -> LogisticResult:
    beta = fit.params.reindex(design.columns).to_numpy()
    se = fit.bse.reindex(design.columns).to_numpy()
    z = sps.norm.ppf(0.5 + level / 2)
    is_term = np.arange(beta.size) > 0
    with np.errstate(over="ignore"):  # separation: exp of a diverging β is inf, shown as such
        table = pd.DataFrame({
            "term": list(design.columns), "beta": beta, "se": se, "wald_chi2": (beta / se) ** 2,
            "df": [0 if t in notes else 1 for t in design.columns], "p_value": sps.chi2.sf((beta / se) ** 2, 1),
            "odds_ratio": np.where(is_term, np.exp(beta), np.nan),
            "or_ci_low": np.where(is_term, np.exp(beta - z * se), np.nan),
            "or_ci_high": np.where(is_term, np.exp(beta + z * se), np.nan),
            "note": [notes.get(t, "") for t in design.columns],
        })
    n = y.size
    ll, ll0 = float(fit.llf), float(fit.llnull)
    cox_snell = 1 - np.exp(2 * (ll0 - ll) / n)
    nagelkerke = cox_snell / (1 - np.exp(2 * ll0 / n))
    lr = 2 * (ll - ll0)
    df = design.shape[1] - 1 - len(notes)
    converged = bool(fit.mle_retvals.get("converged", True)) and not caught
    return LogisticResult(table, -2 * ll, lr, df, float(sps.chi2.sf(lr, df)) if df else 1.0, float(nagelkerke),
                          n, int(y.sum()), converged, aliased + caught)
