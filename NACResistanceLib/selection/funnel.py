"""The selection funnel: optional leading filters, near-zero variance, correlation, screening, LASSO."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np
import pandas as pd

from ..stats.roc import StatisticsInputError
from .filters import correlation_prune, near_zero_variance, univariate_screen
from .lasso import lasso_cv

KeepRule = Union[Sequence[str], Callable[[pd.DataFrame, np.ndarray], Sequence[str]]]


@dataclass(frozen=True)
class LeadingStep:
    """A filter supplied by the caller that runs before the built-in steps.

    ``keep`` is either the names of the features to keep (e.g. features with ICC >= 0.75 from
    ``robustness``, decided on separate reproducibility data and therefore fixed), or a function
    ``keep(X, y) -> names`` refitted on every (bootstrap) training set.
    """

    name: str
    keep: KeepRule


@dataclass(frozen=True)
class FunnelStep:
    """One row of the funnel."""

    name: str
    n_in: int
    n_removed: int
    n_out: int
    removed: tuple[str, ...]


@dataclass(frozen=True)
class SelectionSettings:
    """Settings of the built-in steps (defaults: NACResistanceLib/params/study.yaml)."""

    nzv_freq_ratio: float
    nzv_unique_pct: float
    """%."""
    correlation_threshold: float
    screen_alpha: float | None
    """Univariate logistic Wald p threshold; None skips the screening step."""
    lasso_choice: str
    n_folds: int
    n_lambda: int


class SelectionFunnel:
    """Estimator running the funnel; ``fit`` records each step in ``steps_``.

    When no feature survives the filters, ``lasso_`` is None and the Rad-score is the constant
    intercept-only log-odds (recorded in ``steps_``; a bootstrap replicate can legitimately end so).

    Parameters
    ----------
    settings : SelectionSettings
    leading_steps : sequence of LeadingStep
        Run first, in order, and recorded like the built-in steps.
    random_state : int
        Seed of the LASSO fold assignment.
    """

    def __init__(self, settings: SelectionSettings | None = None,
                 leading_steps: Sequence[LeadingStep] = (), random_state: int = 0):
        self.settings = settings
        self.leading_steps = leading_steps
        self.random_state = random_state

    def _steps(self) -> list[tuple[str, Callable[[pd.DataFrame, np.ndarray], Sequence[str]]]]:
        s = self.settings or _default_settings()
        steps = [(step.name, _as_rule(step)) for step in self.leading_steps]
        steps.append(("near_zero_variance", lambda X, y: near_zero_variance(X, s.nzv_freq_ratio, s.nzv_unique_pct)))
        steps.append(("correlation", lambda X, y: correlation_prune(X, y, s.correlation_threshold)))
        if s.screen_alpha is not None:
            steps.append(("univariate_screen", lambda X, y: univariate_screen(X, y, s.screen_alpha)))
        return steps

    def fit(self, X: pd.DataFrame, y) -> SelectionFunnel:
        """Run every step on ``X`` (n, p) DataFrame and 0/1 ``y`` (n,)."""
        s = self.settings or _default_settings()
        y = np.asarray(y, dtype=float)
        current = X
        records = []
        for name, rule in self._steps():
            kept = list(rule(current, y))
            records.append(_record(name, current.columns, kept))
            current = current[kept]
        if current.shape[1] == 0:  # nothing left: an empty Rad-score (the intercept-only log-odds)
            self.lasso_ = None
            self.coef_ = pd.Series(dtype=float)
            self.intercept_ = float(np.log(y.mean() / (1 - y.mean())))
        else:
            self.lasso_ = lasso_cv(current, y, n_folds=s.n_folds, random_state=self.random_state,
                                   choice=s.lasso_choice, n_lambda=s.n_lambda)
            self.coef_ = self.lasso_.coef_[list(self.lasso_.selected)]
            self.intercept_ = self.lasso_.intercept_
        self.selected_ = tuple(self.coef_.index)
        records.append(_record("lasso", current.columns, list(self.selected_)))
        self.steps_ = tuple(records)
        return self

    def rad_score(self, X: pd.DataFrame) -> pd.Series:
        """Rad-score = LASSO intercept + Σ coefficient × feature (log-odds scale), per row of ``X``."""
        missing = [name for name in self.selected_ if name not in X]
        if missing:
            raise StatisticsInputError(f"features {missing} needed by the Rad-score are missing")
        values = X[list(self.selected_)].to_numpy(dtype=float) @ self.coef_.to_numpy()
        return pd.Series(self.intercept_ + values, index=X.index, name="rad_score")

    def to_frame(self) -> pd.DataFrame:
        """The funnel as a table: ``step``, ``n_in``, ``n_removed``, ``n_out``."""
        return pd.DataFrame([(s.name, s.n_in, s.n_removed, s.n_out) for s in self.steps_],
                            columns=["step", "n_in", "n_removed", "n_out"])


def _as_rule(step: LeadingStep) -> Callable[[pd.DataFrame, np.ndarray], Sequence[str]]:
    if callable(step.keep):
        return step.keep
    allowed = set(step.keep)
    return lambda X, y: [name for name in X.columns if name in allowed]


def _record(name: str, before, kept: list[str]) -> FunnelStep:
    kept_set = set(kept)
    before = list(before)  # iterating a pandas Index element by element is slow
    removed = tuple(c for c in before if c not in kept_set)
    return FunnelStep(name, len(before), len(removed), len(before) - len(removed), removed)


def _default_settings() -> SelectionSettings:
    from ..config.study import default_study_config

    return default_study_config().selection
