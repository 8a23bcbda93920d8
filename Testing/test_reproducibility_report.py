"""Report sections: the numbers shown equal the ICC table's, and removed features are listed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from NACResistanceLib.delta import compare_aucs
from NACResistanceLib.errors import InputFileError
from NACResistanceLib.report.analyses import (
    delta_section,
    delta_section_from,
    icc_by_class,
    reproducibility_section,
    reproducibility_section_from,
    standalone_page,
)
from NACResistanceLib.robustness import icc
from NACResistanceLib.robustness.filter import combine_decisions, icc_filter

NAMES = [f"original_glcm_F{i}" for i in range(6)] + [f"original_shape_S{i}" for i in range(6)] + ["adc_mean"]


@pytest.fixture
def results(rng):
    truth = rng.normal(0, 1, size=(15, 1, len(NAMES)))
    noise_sd = np.linspace(0.1, 2.0, len(NAMES))  # later features less reproducible
    readers = icc(truth + rng.normal(size=(15, 2, len(NAMES))) * noise_sd, NAMES)
    perturbed = icc(truth + rng.normal(size=(15, 5, len(NAMES))) * noise_sd / 2, NAMES)
    return {"readers": readers, "perturbations": perturbed}


def test_class_table_matches_icc_table(results):
    decision = combine_decisions([icc_filter(r, 0.75, source=s) for s, r in results.items()])
    table = icc_by_class(decision)
    readers = results["readers"].table
    shape = readers[(readers["icc_type"] == "ICC(2,1)") & readers["feature"].str.contains("_shape_")]
    assert table.loc[("readers", "shape"), "icc_median"] == pytest.approx(shape["icc"].median())
    assert table.loc[("readers", "shape"), "kept"] == int((shape["icc"] >= 0.75).sum())
    assert table["features"].sum() == 2 * len(NAMES)


def test_section_lists_removed_features_and_writes_a_page(results):
    decision = combine_decisions([icc_filter(r, 0.75, source=s) for s, r in results.items()])
    section = reproducibility_section(results, decision)
    assert decision.removed and all(name in section.html for name in decision.removed)
    assert f"keeps {len(decision.kept)} and removes {len(decision.removed)}" in section.html
    assert set(section.tables) == {"icc_readers", "icc_perturbations", "icc_by_class", "icc_filter"}
    page = standalone_page("Reproducibility", [section])
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page


def test_delta_section_shows_auc_and_delong_tables():
    y = np.array([0, 1, 0, 1, 1, 0, 1, 0])
    comparison = compare_aucs(y, {"baseline": np.arange(8.0), "delta": y + np.linspace(0, 0.5, 8)})
    curves = pd.DataFrame({"model": ["baseline"] * 2 + ["delta"] * 3, "fpr": [0, 1, 0, 0, 1],
                           "tpr": [0, 1, 0, 1, 1], "label": ["RS1"] * 2 + ["Delta RS"] * 3})
    section = delta_section(comparison, curves, notes=["evaluated on the validation cohort"])
    assert section.html.count("data:image/png;base64,") == 1 and "evaluated on the validation cohort" in section.html
    # AUC(delta) = 1; AUC(index order) = 8/16: cases 1, 3, 4, 6 outrank 1 + 2 + 2 + 3 of the controls 0, 2, 5, 7
    assert comparison.aucs["auc"].tolist() == [0.5, 1.0]
    assert "0.500" in section.html and "1.000" in section.html
    assert list(section.tables) == ["delta_auc", "delta_delong"]
    assert isinstance(section.tables["delta_delong"], pd.DataFrame) and len(section.tables["delta_delong"]) == 1


def test_sections_from_a_folder_without_outputs_name_the_command(tmp_path):
    with pytest.raises(InputFileError, match="nacresistance reproducibility"):
        reproducibility_section_from(tmp_path)
    with pytest.raises(InputFileError, match="reproducibility.json"):
        reproducibility_section_from(tmp_path)
    with pytest.raises(InputFileError, match="delta.json"):
        delta_section_from(tmp_path)
