"""Not-estimable terms: closed-form 2x2-table logistic fits with a constant / collinear column added,
complete separation, and the three-model builder when no radiomics feature survives the funnel.

Reference: for one binary predictor x and cells a = #(x=0, y=0), b = #(x=0, y=1), c = #(x=1, y=0),
d = #(x=1, y=1), the logistic MLE is b0 = log(b/a), b1 = log(d/c) - log(b/a), SE(b1) = sqrt(1/a+1/b+1/c+1/d)
(Agresti, Categorical Data Analysis, 3rd ed., sec. 5.1/5.3). Aliased terms are NA as in R's glm.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from NACResistanceLib.config import default_study_config
from NACResistanceLib.models import fit_logistic, fit_models
from NACResistanceLib.stats.logit import aliased_columns

# 2x2 table: a=4 (x=0,y=0), b=2 (x=0,y=1), c=1 (x=1,y=0), d=3 (x=1,y=1)
X_BINARY = np.array([0.0] * 6 + [1.0] * 4)
Y_BINARY = np.array([0, 0, 0, 0, 1, 1, 0, 1, 1, 1], dtype=float)
B0, B1 = np.log(2 / 4), np.log(3 / 1) - np.log(2 / 4)
SE1 = np.sqrt(1 / 4 + 1 / 2 + 1 / 1 + 1 / 3)


def test_aliased_columns_follow_column_order():
    x = np.arange(6.0)
    X = np.column_stack([np.ones(6), x, 2 * x + 1, np.full(6, 3.5), x ** 2, np.zeros(6)])
    assert aliased_columns(X) == [2, 3, 5]
    assert aliased_columns(X[:, [0, 2, 1]]) == [2]  # the later of two collinear columns is the aliased one


@pytest.mark.parametrize("extra, reason", [
    (np.full(10, 7.0), "constant (7) in this sample, aliased with the intercept"),
    (3 * X_BINARY - 2, "a linear combination of the terms before it (aliased)"),
])
def test_aliased_term_is_nan_with_its_reason_and_the_rest_is_the_closed_form_fit(extra, reason):
    result = fit_logistic(pd.DataFrame({"x": X_BINARY, "z": extra}), Y_BINARY)
    table = result.table.set_index("term")
    assert table.loc["(intercept)", "beta"] == pytest.approx(B0, rel=1e-8)
    assert table.loc["x", "beta"] == pytest.approx(B1, rel=1e-8)
    assert table.loc["x", "se"] == pytest.approx(SE1, rel=1e-6)
    assert table.loc["z", ["beta", "se", "p_value", "odds_ratio", "or_ci_low"]].isna().all()
    assert (table.loc["z", "note"], table.loc["z", "df"], table.loc["x", "note"]) == (reason, 0, "")
    assert result.lr_df == 1 and result.converged
    assert result.warnings == (f"term 'z' not estimable, left out of the fit: {reason}",)


def test_complete_separation_is_reported_not_hidden():
    # y = 1 exactly when x > 3.5: the MLE of the slope is +infinity (no finite maximum).
    result = fit_logistic(pd.DataFrame({"x": np.arange(1.0, 7.0)}), [0, 0, 0, 1, 1, 1])
    assert not result.converged
    assert any("separation" in w.lower() for w in result.warnings)


def test_radiomics_model_without_surviving_feature_is_intercept_only_with_a_note():
    n = 12
    y = np.array([0, 1] * 6, dtype=float)
    design = pd.DataFrame({"age_years": np.linspace(40, 62, n), "f_constant": 1.0, "f_also": 2.0})
    fitted = fit_models(design, y, ["f_constant", "f_also"], settings=replace(default_study_config().models, clinical_candidates=("age_years",)),
                        selection=default_study_config().selection, training={"data": "closed-form example"})
    assert fitted.funnel.selected_ == ()
    radiomics = fitted.radiomics
    assert radiomics.terms == () and radiomics.intercept == pytest.approx(0.0, abs=1e-10)  # logit(6/12)
    assert fitted.requested_terms["radiomics"] == ("rad_score",)
    assert len(fitted.notes) == 1 and "radiomics model: term 'rad_score' left out" in fitted.notes[0]
    assert "no feature survived the selection funnel" in fitted.notes[0]
    assert radiomics.training["notes"] == list(fitted.notes)
