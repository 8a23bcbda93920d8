"""Encoding of the manifest's clinical codes into model variables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from NACResistanceLib.clinical import MODEL_VARIABLES, VARIABLE_SOURCES, encode_clinical
from NACResistanceLib.errors import ClinicalDataError


def _frame(**overrides):
    row = {"patient_id": "P1", "age_years": 50, "menopause": "post", "bmi_kg_m2": 22.5, "side": "Right",
           "tumor_size_mm": 31, "t_stage": "T3", "n_stage": "N1", "grade": 3, "er": "positive",
           "pr": "negative", "her2": " positive ", "ki67_pct": 20, "subtype": "her2_enriched",
           "dose_intensity_pct": 95.0}
    return pd.DataFrame([{**row, **overrides}])


def test_codes_become_indicator_and_numeric_variables():
    encoded = encode_clinical(_frame()).iloc[0]
    assert list(encoded.index) == list(MODEL_VARIABLES)
    expected = {"age_years": 50, "postmenopausal": 1, "bmi_kg_m2": 22.5, "side_right": 1, "tumor_size_mm": 31,
                "t_stage": 3, "node_positive": 1, "grade_3": 1, "er_positive": 1, "pr_positive": 0,
                "her2_positive": 1, "ki67_ge_20": 1, "subtype_luminal_b": 0, "subtype_her2_enriched": 1,
                "subtype_triple_negative": 0, "dose_intensity_pct": 95.0}
    assert encoded.to_dict() == expected
    assert encode_clinical(_frame(ki67_pct=19.9))["ki67_ge_20"].iloc[0] == 0.0
    assert set(VARIABLE_SOURCES) == set(MODEL_VARIABLES)


def test_empty_cells_stay_missing():
    encoded = encode_clinical(_frame(er=np.nan, ki67_pct=np.nan, grade=""))
    assert np.isnan(encoded["er_positive"].iloc[0])
    assert np.isnan(encoded["ki67_ge_20"].iloc[0])
    assert np.isnan(encoded["grade_3"].iloc[0])


def test_unknown_code_names_patient_column_value_and_allowed_codes():
    with pytest.raises(ClinicalDataError, match=r"patient P1: column 'er' has unknown code 'pos'.*'negative', 'positive'"):
        encode_clinical(_frame(er="pos"))
    with pytest.raises(ClinicalDataError, match=r"'grade' has unknown code 4"):
        encode_clinical(_frame(grade=4))


def test_numbers_out_of_range_are_errors():
    with pytest.raises(ClinicalDataError, match=r"patient P1: column 'ki67_pct' value 120"):
        encode_clinical(_frame(ki67_pct=120))
    with pytest.raises(ClinicalDataError, match=r"'age_years' value 'old'"):
        encode_clinical(_frame(age_years="old"))


def test_absent_columns_are_skipped():
    encoded = encode_clinical(pd.DataFrame({"patient_id": ["P1"], "er": ["negative"]}))
    assert list(encoded.columns) == ["er_positive"]
