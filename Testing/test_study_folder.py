"""The study folder is the result: written completely, read back equal, and the report rendered from it.

References: the in-memory StudyResult (every table read back equals it), closed-form λ-1se on a small
curve, and the report of ``train`` against the report of ``report STUDY_FOLDER`` (byte-identical apart
from the timestamp).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from test_study import SMALL, synthetic_cohort

from NACResistanceLib import study_numbers
from NACResistanceLib.config import load_analysis_config
from NACResistanceLib.report import render_study, sections
from NACResistanceLib.study import StudyResult, run_study
from NACResistanceLib.study_folder import complete_study, read_study


def _text(column: pd.Series) -> list[str]:
    """Cells as text, missing = "" (a CSV cannot tell an empty string from a missing value)."""
    return [str(v) for v in column.astype(object).where(column.notna(), "")]


@pytest.fixture(scope="module")
def completed():
    manifest, features, _ = synthetic_cohort(np.random.default_rng(11))
    analysis = load_analysis_config()
    result = run_study(features, manifest, SMALL, analysis=analysis, seed=5)
    return complete_study(result, analysis_config=analysis.to_dict(), command="nacresistance train test")


def test_every_table_reads_back_equal(completed, tmp_path):
    completed.write(tmp_path)
    back = read_study(tmp_path)
    for name in StudyResult.TABLES:
        written, read = getattr(completed, name), getattr(back, name)
        assert read.shape == written.shape, name
        for column in written.columns:
            a, b = written[column], read[column]
            if all(pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x) for x in (a, b)):
                np.testing.assert_array_equal(a.to_numpy(float), b.to_numpy(float), err_msg=f"{name}.{column}")
            else:
                assert _text(a) == _text(b), f"{name}.{column}"
    assert back.config == completed.config and back.seed == completed.seed
    assert back.provenance == completed.provenance and back.warnings == completed.warnings
    for name, model in completed.models.items():
        assert [t.coefficient for t in back.models[name].terms] == [t.coefficient for t in model.terms]
    assert back.chosen_lambda == completed.chosen_lambda


def test_lambda_1se_is_the_largest_lambda_within_one_sd_of_the_minimum():
    curve = pd.DataFrame({"lambda": [1.0, 0.5, 0.25, 0.125], "cv_mean": [1.30, 1.10, 1.00, 1.05],
                          "cv_sd": [0.1, 0.1, 0.12, 0.1]})
    lambdas = study_numbers.lasso_lambdas(curve, "1se").set_index("choice")["lambda"]
    assert lambdas.to_dict() == {"min": 0.25, "1se": 0.5, "chosen": 0.5}  # 1.10 <= 1.00 + 0.12 < 1.30


def test_study_holds_the_figure_numbers(completed):
    n_boot = SMALL["validation"]["n_boot_performance"]
    part = completed.predictions[completed.predictions["cohort"] == "training"]
    from NACResistanceLib.stats.roc_band import roc_band

    expected = roc_band(part["resistant"], part["combined_probability"], n_boot=n_boot, seed=completed.seed)
    band = completed.roc_bands.query("cohort == 'training' and model == 'combined'").reset_index(drop=True)
    pd.testing.assert_frame_equal(band[expected.columns], expected)
    assert set(completed.PAPER_ITEMS) == {f"Table {i}" for i in range(1, 7)} | {f"Figure {i}" for i in (1, 2, 3)}
    assert completed.baseline_characteristics is completed.table1
    assert completed.paper_item("Figure 1")["roc_bands"] is completed.roc_bands


def test_report_from_the_folder_equals_the_train_report_apart_from_the_timestamp(completed, tmp_path):
    completed.write(tmp_path / "study")
    first = render_study(tmp_path / "study").read_text(encoding="utf-8")
    second = render_study(tmp_path / "study", tmp_path / "again").read_text(encoding="utf-8")
    stamp = re.compile(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert len(stamp.findall(first)) == 1
    assert stamp.sub("", first) == stamp.sub("", second)
    assert "Age (years)" in first and "BMI (kg/m²)" in first and ">age_years<" not in first
    assert '<section id="checklists">' in first


def test_report_command_on_a_study_folder_equals_the_report_train_wrote(completed, tmp_path):
    from NACResistanceLib.cli import main as cli_main

    folder = completed.write(tmp_path / "study")
    train_page = render_study(folder).read_text(encoding="utf-8")  # what `train` writes after the folder
    assert cli_main(["report", str(folder), "--out", str(tmp_path / "report")]) == 0
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    stamp = re.compile(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert stamp.sub("", page) == stamp.sub("", train_page)


def test_report_on_a_folder_that_is_not_a_study_names_the_file(tmp_path):
    from NACResistanceLib.errors import InputFileError

    with pytest.raises(InputFileError, match="study.json"):
        render_study(tmp_path)


def test_table_labels_are_readable_with_units():
    assert sections.variable_label("age_years") == "Age (years)"
    assert sections.variable_label("bmi_kg_m2") == "BMI (kg/m²)"
    assert sections.variable_label("original_firstorder_Mean") == "original_firstorder_Mean"


def test_checklists_have_every_item_and_mark_open_items(completed):
    clear, tripod = completed.checklist_clear, completed.checklist_tripod_ai
    assert clear["item"].tolist() == [str(i) for i in range(1, 59)]  # CLEAR has 58 items
    assert tripod["item"].iloc[0] == "1" and tripod["item"].iloc[-1] == "27c"
    assert set(clear["status"]) == {"answered", "open"}
    assert (clear.loc[clear["status"] == "open", "answer"] == "").all()
    ethics = clear.set_index("item").loc["8"]
    assert ethics["status"] == "open"  # only the authors know the ethics approval
    cohorts = clear.set_index("item").loc["11", "answer"]
    n_train = int((completed.cohort["cohort"] == "training").sum())
    assert f"training: {n_train} patients" in cohorts
