"""Residual Cancer Burden (Symmans 2007), shrinkage and the resistance rule."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from NACResistanceLib.config import default_study_config
from NACResistanceLib.errors import ClinicalDataError
from NACResistanceLib.labels import (
    ResistanceRule,
    label_cohort,
    rcb_class,
    rcb_index,
    resistance_label,
    shrinkage,
)

CLASSES = ["RCB-0", "RCB-I", "RCB-II", "RCB-III"]


@pytest.fixture(scope="module")
def cases(request):
    path = request.config.rootpath / "Testing" / "Data" / "stats" / "expected_values.json"
    return json.loads(path.read_text())["rcb_formula_derived"]["cases"]


def test_rcb_index_and_class_match_the_symmans_formula_table(cases):
    for case in cases:
        index = rcb_index(case["d1"], case["d2"], case["ca"], case["cis"], case["ln"], case["dmet"])
        assert index == pytest.approx(case["rcb"], abs=5e-7)
        assert rcb_class(index) == CLASSES[case["class"]]


def test_rcb_closed_form_terms():
    # Breast term only: 1.4 (f_inv d_prim)^0.17 with f_inv = 0.9 * 0.3 and d_prim = sqrt(20 * 15).
    assert rcb_index(20, 15, 30, 10, 0, 0) == pytest.approx(1.4 * (0.27 * np.sqrt(300)) ** 0.17, rel=1e-14)
    # Nodes only (ypT0 ypN+): [4 (1 - 0.75) 2]^0.17 = 2^0.17, RCB-I; the seed's formula would give 0.
    assert rcb_index(0, 0, 0, 0, 1, 2) == pytest.approx(2**0.17, rel=1e-14)
    # Residual DCIS only with ypN0 is RCB-0.
    assert rcb_class(rcb_index(25, 10, 40, 100, 0, 0)) == "RCB-0"


def test_class_boundaries_are_inclusive_upper_limits():
    assert rcb_class(0.0) == "RCB-0"
    assert rcb_class(1e-9) == "RCB-I"
    assert rcb_class(1.36) == "RCB-I"
    assert rcb_class(np.nextafter(1.36, 2)) == "RCB-II"
    assert rcb_class(3.28) == "RCB-II"
    assert rcb_class(np.nextafter(3.28, 4)) == "RCB-III"
    with pytest.raises(ClinicalDataError):
        rcb_class(-0.1)


@pytest.mark.parametrize("args, field", [
    ((20, 15, 130, 10, 2, 5), "rcb_cellularity_pct"),
    ((20, 15, 30, -1, 2, 5), "rcb_in_situ_pct"),
    ((-3, 15, 30, 10, 2, 5), "rcb_d1_mm"),
    ((20, 15, 30, 10, 2.5, 5), "rcb_positive_nodes"),
    ((20, float("nan"), 30, 10, 2, 5), "rcb_d2_mm"),
])
def test_out_of_range_inputs_name_patient_and_field(args, field):
    with pytest.raises(ClinicalDataError, match=rf"patient P7.*{field}"):
        rcb_index(*args, patient="P7")


def test_resistance_rule_reports_which_criterion_fired():
    assert resistance_label("RCB-II", 0.5).criterion == "rcb"
    assert resistance_label("RCB-I", 0.1).criterion == "shrinkage"
    both = resistance_label("RCB-III", 0.0)
    assert both.resistant and both.criterion == "rcb+shrinkage"
    assert resistance_label("RCB-0", 0.3).criterion == "none"  # 30% is not < 30%
    rcb_only = replace(default_study_config().resistance, shrinkage_below=None)
    assert not resistance_label("RCB-I", 0.0, rcb_only).resistant
    strict = ResistanceRule(min_rcb_class="RCB-III", shrinkage_below=None)
    assert not resistance_label("RCB-II", None, strict).resistant
    with pytest.raises(ClinicalDataError, match="at least one criterion"):
        ResistanceRule(None, None)
    with pytest.raises(ClinicalDataError, match="shrinkage"):
        resistance_label("RCB-0", None)


def test_shrinkage():
    assert shrinkage(40, 10) == pytest.approx(0.75)
    assert shrinkage(20, 30) == pytest.approx(-0.5)
    with pytest.raises(ClinicalDataError, match="tumor_size_mm"):
        shrinkage(0, 10)


def test_label_cohort_from_manifest_columns():
    frame = pd.DataFrame({
        "patient_id": ["A", "B", "C"],
        "rcb_d1_mm": [20, 0, 10], "rcb_d2_mm": [15, 0, 10], "rcb_cellularity_pct": [30, 0, 5],
        "rcb_in_situ_pct": [10, 0, 50], "rcb_positive_nodes": [2, 0, 0], "rcb_largest_metastasis_mm": [5, 0, 0],
        "tumor_size_mm": [30, 30, 30], "mri_longest_diameter_post_mm": [10, 25, 10],
    })
    labels = label_cohort(frame)
    assert labels["rcb_class"].tolist() == ["RCB-II", "RCB-0", "RCB-I"]
    assert labels["resistant"].tolist() == [1, 1, 0]
    assert labels["criterion"].tolist() == ["rcb", "shrinkage", "none"]
    broken = frame.assign(rcb_cellularity_pct=[30, 0, np.nan])
    with pytest.raises(ClinicalDataError, match=r"patient C.*rcb_cellularity_pct"):
        label_cohort(broken)
