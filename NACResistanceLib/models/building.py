"""Fit the seed's three models on a training cohort: clinical, radiomics (Rad-score) and combined.

1. Selection funnel on the radiomics features -> LASSO -> Rad-score (log-odds units).
2. Clinical candidates with univariate logistic Wald p < ``clinical_screen_alpha`` form the pool
   (the seed: "variables significant in univariate analysis entered the multivariable analysis").
3. Clinical model: SPSS Forward-LR stepwise over the pool. Radiomics model: ``y ~ rad_score``.
   Combined model: Forward-LR stepwise over the pool plus ``rad_score``.
4. Each model's decision threshold is the Youden-optimal probability on the training cohort.

A term that is constant on the training cohort or a linear combination of the terms before it (e.g.
the Rad-score when no feature survives the funnel: it is then the constant intercept-only log-odds)
has no estimable coefficient; it is left out of that model (as R's ``glm`` leaves it ``NA``) and the
reason is recorded in ``FittedModels.notes`` and in the model's ``training["notes"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..selection import LeadingStep, SelectionFunnel, SelectionSettings
from ..selection.filters import univariate_wald_p
from ..stats.logit import aliased_columns, fit_logit_newton, sigmoid
from ..stats.roc import youden_threshold
from .stepwise import StepwiseResult, forward_lr
from .study_model import RAD_SCORE, RadScore, StudyModel, make_model

MODEL_NAMES = ("clinical", "radiomics", "combined")


@dataclass(frozen=True)
class ModelSettings:
    """How the three models are built (defaults: NACResistanceLib/params/study.yaml)."""

    clinical_candidates: tuple[str, ...]
    clinical_screen_alpha: float | None
    """Univariate Wald p threshold for clinical candidates; None puts every candidate in the pool."""
    p_enter: float
    p_remove: float


@dataclass(frozen=True)
class FittedModels:
    """The three models and how they were obtained."""

    clinical: StudyModel
    radiomics: StudyModel
    combined: StudyModel
    funnel: SelectionFunnel
    clinical_univariate: pd.DataFrame
    """``variable``, ``p_value`` (univariate Wald) of every clinical candidate, and ``in_pool``."""
    stepwise: dict = field(default_factory=dict)
    """Model name -> :class:`StepwiseResult` (clinical, combined)."""
    radscore: RadScore | None = None
    """The Rad-score of the funnel (also when a model leaves it out)."""
    requested_terms: dict = field(default_factory=dict)
    """Model name -> the terms chosen for it before aliased terms were left out."""
    notes: tuple[str, ...] = ()
    """Terms left out of a model because they cannot be estimated, with the reason."""

    def as_dict(self) -> dict[str, StudyModel]:
        return {name: getattr(self, name) for name in MODEL_NAMES}


def _fit_terms(design: pd.DataFrame, y: np.ndarray, terms: Sequence[str]) -> tuple[float, list[tuple[str, float]]]:
    X = np.column_stack([np.ones(len(y)), design[list(terms)].to_numpy(dtype=float)])
    params = fit_logit_newton(X, y).params
    return float(params[0]), list(zip(terms, params[1:].tolist()))


def _estimable(name: str, design: pd.DataFrame, terms: Sequence[str]) -> tuple[list[str], list[str]]:
    """``terms`` without the aliased ones (see the module docstring), and a note for each left out."""
    X = np.column_stack([np.ones(len(design)), design[list(terms)].to_numpy(dtype=float)])
    aliased = [terms[j - 1] for j in aliased_columns(X)]
    return [t for t in terms if t not in aliased], [_alias_note(name, design, t) for t in aliased]


def _alias_note(name: str, design: pd.DataFrame, term: str) -> str:
    constant = np.ptp(design[term].to_numpy(dtype=float)) == 0
    why = "constant" if constant else "a linear combination of the terms before it"
    if constant and term == RAD_SCORE:
        why += " (no feature survived the selection funnel: the Rad-score is the intercept-only log-odds)"
    return f"{name} model: term {term!r} left out, not estimable on the training cohort: {why}"


def _build(name, design, y, terms, radscore, training, analysis_config) -> tuple[StudyModel, list[str]]:
    terms, notes = _estimable(name, design, terms)
    intercept, coefs = _fit_terms(design, y, terms)
    eta = intercept + design[list(terms)].to_numpy(dtype=float) @ np.array([c for _, c in coefs]).reshape(-1)
    prob = sigmoid(eta)
    threshold = youden_threshold(y, prob) if np.ptp(prob) > 0 else 0.5  # constant model: no cut-off
    threshold = float(np.clip(threshold, 0.0, 1.0))
    training = {**training, "notes": notes} if notes else training
    model = make_model(name, intercept, coefs, radscore=radscore if RAD_SCORE in terms else None,
                       threshold=threshold, training=training, analysis_config=analysis_config)
    return model, notes


def clinical_pool(design: pd.DataFrame, y: np.ndarray, settings: ModelSettings) -> pd.DataFrame:
    """Univariate Wald p of each clinical candidate and whether it enters the stepwise pool."""
    candidates = list(settings.clinical_candidates)
    p = univariate_wald_p(design[candidates].to_numpy(dtype=float), y) if candidates else np.array([])
    alpha = settings.clinical_screen_alpha
    return pd.DataFrame({"variable": candidates, "p_value": p,
                         "in_pool": np.ones(len(candidates), bool) if alpha is None else p < alpha})


def fit_models(design: pd.DataFrame, y, feature_names: Sequence[str], *, settings: ModelSettings | None = None,
               selection: SelectionSettings | None = None, leading_steps: Sequence[LeadingStep] = (),
               random_state: int = 0, training: dict | None = None,
               analysis_config: dict | None = None) -> FittedModels:
    """Fit the three models.

    Parameters
    ----------
    design : DataFrame
        One row per training patient: encoded clinical variables (``clinical.encode_clinical``) and
        the radiomics feature columns ``feature_names``; no missing values in the columns used.
    y : (n,) 0/1 resistance labels.
    feature_names : the radiomics columns entering the selection funnel.
    random_state : seed of the LASSO fold assignment.
    training : dict recorded in each model's ``training`` block (must hold ``data``).
    """
    settings = settings or _default_settings()
    y = np.asarray(y, dtype=float)
    training = {"data": "unspecified", **(training or {}), "n_patients": int(y.size), "n_resistant": int(y.sum())}
    funnel = SelectionFunnel(selection, leading_steps, random_state).fit(design[list(feature_names)], y)
    rad = RadScore(funnel.intercept_, tuple(zip(funnel.selected_, funnel.coef_.tolist())),
                   funnel.lasso_.lambda_chosen if funnel.lasso_ is not None else None)
    full = design.assign(**{RAD_SCORE: rad.compute(design)})
    univariate = clinical_pool(design, y, settings)
    pool = list(univariate.loc[univariate["in_pool"], "variable"])
    steps = {name: forward_lr(full[candidates], y, p_enter=settings.p_enter, p_remove=settings.p_remove)
             if candidates else StepwiseResult((), pd.DataFrame())
             for name, candidates in (("clinical", pool), ("combined", [*pool, RAD_SCORE]))}
    requested = {"clinical": steps["clinical"].selected, "radiomics": (RAD_SCORE,),
                 "combined": steps["combined"].selected}
    built = {name: _build(name, full, y, list(terms), rad, training, analysis_config)
             for name, terms in requested.items()}
    return FittedModels(**{name: model for name, (model, _) in built.items()}, funnel=funnel,
                        clinical_univariate=univariate, stepwise=steps, radscore=rad,
                        requested_terms={name: tuple(terms) for name, terms in requested.items()},
                        notes=tuple(note for _, notes in built.values() for note in notes))


def _default_settings() -> ModelSettings:
    from ..config.study import default_study_config

    return default_study_config().models
