"""Caller-supplied leading funnel steps: first rows of the funnel, applied in every refit; the ICC filter
decision as the delta study's first funnel step. References: the counts follow from the decision and
the feature sets built here (closed form)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from test_study import synthetic_cohort

from NACResistanceLib.delta import run_delta_study
from NACResistanceLib.robustness import IccFilterDecision
from NACResistanceLib.selection import LeadingStep
from NACResistanceLib.study import run_study

FAST = {"validation": {"n_boot_optimism": 2, "n_boot_performance": 20, "cv_folds": 3, "workers": 1},
        "selection": {"n_lambda": 20}}
UNREPRODUCIBLE = ("f005", "f006")


class RecordingRule:
    """Keep rule dropping ``f007`` and recording the number of patients of each training set it sees."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, X: pd.DataFrame, y) -> list[str]:
        self.sizes.append(len(X))
        return [c for c in X.columns if c != "f007"]


def test_leading_steps_come_first_and_are_refitted_in_every_fold_and_replicate():
    manifest, features, _ = synthetic_cohort(np.random.default_rng(7), n=80, p=12)
    rule = RecordingRule()
    result = run_study(features, manifest, FAST, seed=1, leading_steps=[LeadingStep("custom", rule)])
    first = result.funnel.iloc[0]
    assert (first["step"], first["n_in"], first["n_removed"], first["n_out"]) == ("custom", 12, 1, 11)
    assert result.funnel.iloc[1]["step"] == "near_zero_variance" and result.funnel.iloc[1]["n_in"] == 11
    n_train = int((result.cohort["cohort"] == "training").sum())
    folds = sorted(rule.sizes[1:4])  # the study fit, then the 3 CV folds (n - n/3 each), then 2 replicates
    assert rule.sizes[0] == n_train and sum(n_train - s for s in folds) == n_train
    assert rule.sizes[4:] == [n_train, n_train]


def _decision(features: list[str]) -> IccFilterDecision:
    kept = [f not in UNREPRODUCIBLE for f in features]
    table = pd.DataFrame({"source": "readers", "feature": features, "feature_class": "test",
                          "icc": np.where(kept, 0.9, 0.5),
                          "ci_low": np.nan, "ci_high": np.nan, "kept": kept,
                          "reason": np.where(kept, "", "ICC below 0.75")})
    return IccFilterDecision(table=table, threshold=0.75, icc_type="ICC(2,1)", statistic="point")


def test_delta_study_funnel_starts_with_the_icc_filter():
    manifest, baseline, _ = synthetic_cohort(np.random.default_rng(11), n=80, p=12)
    followup = baseline * 0.8 + 0.1 * np.random.default_rng(12).normal(size=baseline.shape) + 5.0
    features = pd.concat({"baseline": baseline, "cycle2": followup}, names=["timepoint"]).swaplevel().sort_index()
    fast = {**FAST, "validation": {**FAST["validation"], "n_boot_optimism": 0}}
    study = run_delta_study(features, manifest, sets=("baseline", "delta"), study_config=fast,
                            icc_decision=_decision(list(baseline.columns)))
    # baseline set: 12 features, 2 unreproducible; delta set: delta_ and reldelta_ columns, 2 x 2 unreproducible.
    expected = {"baseline": UNREPRODUCIBLE, "delta": tuple(f"{p}{f}" for p in ("delta_", "reldelta_")
                                                           for f in UNREPRODUCIBLE)}
    for name, removed in expected.items():
        columns = study.sets.frames[name].columns
        funnel = study.studies[name].funnel
        first = funnel.iloc[0]
        assert first["step"] == "icc_filter"
        assert (first["n_in"], first["n_removed"]) == (len(columns), len(removed))
        assert first["n_out"] == len(columns) - len(removed) == funnel.iloc[1]["n_in"]
        assert not set(removed) & set(study.studies[name].rad_score["feature"])
