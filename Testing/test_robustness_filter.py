"""The ICC filter keeps exactly the features at or above the threshold, and says why it removed the others."""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from NACResistanceLib.config import default_study_config
from NACResistanceLib.errors import ConfigError, InputFileError
from NACResistanceLib.robustness.filter import (
    combine_decisions,
    feature_class,
    funnel_step,
    icc_filter,
    read_decision,
    write_decision,
)
from NACResistanceLib.robustness.icc import ICC_ABSOLUTE, ICC_CONSISTENCY, IccResult
from NACResistanceLib.selection.funnel import SelectionFunnel


def _result(rows: list[tuple[str, float, float, float]]) -> IccResult:
    """ICC table with the given (feature, icc(2,1), ci_low(2,1), icc(3,1)) rows."""
    records = []
    for name, absolute, low, consistency in rows:
        records.append({"feature": name, "icc_type": ICC_ABSOLUTE, "icc": absolute, "ci_low": low, "ci_high": 1.0})
        records.append({"feature": name, "icc_type": ICC_CONSISTENCY, "icc": consistency, "ci_low": low,
                        "ci_high": 1.0})
    return IccResult(table=pd.DataFrame(records), confidence=0.95)


RESULT = _result([
    ("original_shape_Sphericity", 0.95, 0.80, 0.96),
    ("original_glcm_Contrast", 0.75, 0.55, 0.90),   # exactly at the threshold: kept
    ("wavelet-LLH_glszm_ZoneEntropy", 0.60, 0.30, 0.80),
    ("adc_mean", float("nan"), float("nan"), float("nan")),
])


def test_threshold_on_estimate_and_on_lower_bound():
    decision = icc_filter(RESULT, 0.75)
    assert decision.kept == ("original_shape_Sphericity", "original_glcm_Contrast")
    assert decision.removed == ("wavelet-LLH_glszm_ZoneEntropy", "adc_mean")
    reasons = decision.table.set_index("feature")["reason"]
    assert reasons["adc_mean"] == "ICC undefined" and reasons["wavelet-LLH_glszm_ZoneEntropy"].startswith("ICC(2,1)")
    assert icc_filter(RESULT, 0.75, statistic="ci_low").kept == ("original_shape_Sphericity",)
    assert icc_filter(RESULT, 0.75, icc_type=ICC_CONSISTENCY).removed == ("adc_mean",)


def test_funnel_step_drops_removed_columns_first_and_is_recorded(rng):
    names = ["ki67_pct", "original_glcm_Contrast", "adc_mean", "wavelet-LLH_glszm_ZoneEntropy",
             "original_shape_Sphericity"]
    y = np.tile([0, 1], 20)
    X = pd.DataFrame(rng.normal(size=(40, 5)) + y[:, None] * np.array([1.5, 1.0, 1.0, 1.0, 0.0]), columns=names)
    step = funnel_step(icc_filter(RESULT, 0.75))
    assert step.keep(X, y) == ["ki67_pct", "original_glcm_Contrast", "original_shape_Sphericity"]
    funnel = SelectionFunnel(replace(default_study_config().selection, screen_alpha=None, n_folds=5), leading_steps=[step]).fit(X, y)
    first = funnel.steps_[0]
    assert (first.name, first.n_in, first.n_removed) == ("icc_filter", 5, 2)
    assert first.removed == ("adc_mean", "wavelet-LLH_glszm_ZoneEntropy")
    assert pickle.loads(pickle.dumps(step.keep)) == step.keep  # usable by process workers


@pytest.mark.parametrize(("name", "expected"), [
    ("original_shape_Sphericity", "shape"), ("wavelet-LLH_glcm_Idm", "glcm"), ("log-sigma-1-0-mm-3D_gldm_DN", "gldm"),
    ("adc_mean", "adc"), ("dki_rMK", "dki"), ("dce_ser_mean", "dce"), ("tumor_volume_mm3", "tumor"),
])
def test_feature_class(name, expected):
    assert feature_class(name) == expected


def test_bad_settings_raise():
    with pytest.raises(ConfigError, match="icc_type"):
        icc_filter(RESULT, icc_type="ICC(1,1)")
    with pytest.raises(ConfigError, match="threshold"):
        icc_filter(RESULT, 1.5)
    with pytest.raises(ConfigError, match="statistic"):
        icc_filter(RESULT, statistic="ci_high")


def test_combined_decision_removes_a_feature_any_source_removes():
    readers = icc_filter(RESULT, 0.75, source="readers")
    perturbed = icc_filter(_result([("original_shape_Sphericity", 0.5, 0.2, 0.6),
                                    ("original_glcm_Contrast", 0.9, 0.8, 0.9)]), 0.75, source="perturbations")
    combined = combine_decisions([readers, perturbed])
    assert combined.kept == ("original_glcm_Contrast",)
    assert combined.removed == ("wavelet-LLH_glszm_ZoneEntropy", "adc_mean", "original_shape_Sphericity")
    with pytest.raises(ConfigError, match="different settings"):
        combine_decisions([readers, icc_filter(RESULT, 0.9)])


def test_decision_round_trips_through_csv(tmp_path):
    decision = combine_decisions([icc_filter(RESULT, 0.8, statistic="ci_low", source="readers")])
    path = write_decision(decision, tmp_path / "icc_filter.csv")
    again = read_decision(path)
    assert (again.threshold, again.icc_type, again.statistic) == (0.8, "ICC(2,1)", "ci_low")
    assert again.kept == decision.kept and again.removed == decision.removed
    pd.testing.assert_frame_equal(again.table, decision.table, check_dtype=False)
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputFileError, match="not an ICC filter decision"):
        read_decision(tmp_path / "other.csv")
