"""Delta radiomics on synthetic patients whose feature changes are known exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from NACResistanceLib.delta import compare_aucs, delta_features, feature_sets
from NACResistanceLib.errors import ManifestError


def _long(rows: dict[tuple[str, str], dict[str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["patient_id", "timepoint"])
    return frame


# P1 shrinks from 8000 to 5000 mm³ (-37.5%), its ADC rises 0.9e-3 -> 1.2e-3 mm²/s (+33.3...%), a feature
# with a negative baseline goes -2 -> -1 (+50%), one with a zero baseline 0 -> 3 (relative undefined).
FEATURES = _long({
    ("P1", "baseline"): {"tumor_volume_mm3": 8000.0, "adc_mean": 0.9e-3, "skewness": -2.0, "zeroed": 0.0,
                         "site": "A"},
    ("P1", "cycle2"): {"tumor_volume_mm3": 5000.0, "adc_mean": 1.2e-3, "skewness": -1.0, "zeroed": 3.0,
                       "site": "A"},
    ("P2", "baseline"): {"tumor_volume_mm3": 1000.0, "adc_mean": 1.0e-3, "skewness": 0.5, "zeroed": 2.0,
                         "site": "B"},
    ("P2", "cycle2"): {"tumor_volume_mm3": 1100.0, "adc_mean": 1.0e-3, "skewness": 1.0, "zeroed": 1.0,
                       "site": "B"},
    ("P3", "baseline"): {"tumor_volume_mm3": 500.0, "adc_mean": 1.1e-3, "skewness": 0.0, "zeroed": 1.0,
                         "site": "B"},
})


def test_absolute_and_relative_changes_are_exact():
    result = delta_features(FEATURES)
    p1, p2 = result.frame.loc["P1"], result.frame.loc["P2"]
    assert p1["delta_tumor_volume_mm3"] == -3000.0
    assert p1["reldelta_tumor_volume_mm3"] == -0.375
    assert p1["delta_adc_mean"] == pytest.approx(0.3e-3, rel=1e-12)
    assert p1["reldelta_adc_mean"] == pytest.approx(1 / 3, rel=1e-12)
    assert p1["reldelta_skewness"] == 0.5            # -2 -> -1: divided by |baseline|, sign of the change kept
    assert np.isnan(p1["reldelta_zeroed"]) and p1["delta_zeroed"] == 3.0
    assert (p2["delta_tumor_volume_mm3"], p2["reldelta_tumor_volume_mm3"]) == (100.0, pytest.approx(0.1))
    assert p2["reldelta_adc_mean"] == 0.0
    assert "delta_site" not in result.frame.columns


def test_patients_without_both_time_points_are_listed_not_hidden():
    result = delta_features(FEATURES)
    assert list(result.frame.index) == ["P1", "P2"] and result.patients_without_both == ("P3",)
    assert result.undefined_relative["zeroed"] == 1 and result.undefined_relative["tumor_volume_mm3"] == 0
    assert any("P3" in w for w in result.warnings) and any("zeroed" in w for w in result.warnings)


def test_feature_sets_share_patients_and_name_columns():
    sets = feature_sets(FEATURES, ["baseline", "followup", "delta", "baseline+delta", "baseline+followup"])
    for frame in sets.frames.values():
        assert list(frame.index) == ["P1", "P2"] and frame.index.name == "patient_id"
    assert sets.frames["baseline"].loc["P1", "tumor_volume_mm3"] == 8000.0
    assert sets.frames["followup"].loc["P1", "tumor_volume_mm3"] == 5000.0
    assert sets.frames["baseline+followup"].loc["P2", "cycle2_skewness"] == 1.0
    assert sets.frames["baseline+delta"].loc["P1", "delta_skewness"] == 1.0
    assert "reldelta_zeroed" not in sets.frames["delta"].columns
    assert sets.dropped_columns["delta"] == ("reldelta_zeroed",)
    assert sets.frames["delta"].shape[1] == 2 * 4 - 1


def test_bad_tables_raise():
    with pytest.raises(ManifestError, match=r"\(patient_id, timepoint\)"):
        delta_features(FEATURES.reset_index())
    with pytest.raises(ManifestError, match="cycle4"):
        delta_features(FEATURES, followup="cycle4")
    with pytest.raises(ManifestError, match="unknown feature set"):
        feature_sets(FEATURES, ["rs3"])


def test_compare_aucs_matches_exact_auc_and_delong_symmetry():
    y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    perfect = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 0.15, 0.6])
    partial = np.array([0.1, 0.5, 0.3, 0.2, 0.8, 0.9, 0.15, 0.6])  # case 0.2 ranks below controls 0.3, 0.5
    result = compare_aucs(y, {"baseline": partial, "followup": perfect})
    aucs = result.aucs.set_index("model")["auc"]
    # Mann-Whitney count: 16 case-control pairs; the case scored 0.2 loses to 0.3 and 0.5 -> 14/16.
    assert aucs["baseline"] == 14 / 16 and aucs["followup"] == 1.0
    test = result.tests.iloc[0]
    assert (test["model_a"], test["model_b"]) == ("followup", "baseline")
    assert test["difference"] == pytest.approx(2 / 16)
    assert 0 < test["p_value"] < 1 and test["ci_low"] < test["difference"] < test["ci_high"]
