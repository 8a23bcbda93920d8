"""Manifest validation: every problem named by row (header = row 1), column and value."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import SimpleITK as sitk

from NACResistanceLib import io
from NACResistanceLib.errors import ManifestError


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    image = sitk.Image(4, 4, 2, sitk.sitkInt16)
    for name in ("pre.nrrd", "post.nrrd", "b0.nrrd", "b800.nrrd", "seg.nrrd"):
        sitk.WriteImage(image, str(tmp_path / name))
    return tmp_path


def _row(**changes) -> dict[str, object]:
    row = {"patient_id": "P1", "exam_date": "2022-03-04", "dce_phases": "pre.nrrd;post.nrrd",
           "dce_times_s": "0;60", "segmentation": "seg.nrrd", "dwi": "b0.nrrd;b800.nrrd", "dwi_bvals": "0;800",
           "er": "positive", "ki67_pct": "25", "grade": "3", "rcb_positive_nodes": "2"}
    row.update(changes)
    return row


def _write(folder: Path, rows: list[dict]) -> Path:
    path = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_valid_manifest_reads_with_defaults_and_types(folder):
    manifest = io.read_manifest(_write(folder, [_row(), _row(patient_id="P2", er="Negative", ki67_pct="")]))
    frame = manifest.frame
    assert list(frame["timepoint"]) == ["baseline", "baseline"]
    assert list(frame["dce_roi_phase"]) == [1, 1]
    assert list(frame["er"]) == ["positive", "negative"]  # codes normalised to the documented spelling
    assert frame["ki67_pct"].iloc[0] == 25.0 and pd.isna(frame["ki67_pct"].iloc[1])
    assert list(frame["reference_segment"]) == ["2", "2"] and manifest.directory == folder.resolve()


@pytest.mark.parametrize(("column", "value", "message"), [
    ("exam_date", "2022-13-01", "is not a date"),
    ("patient_id", "P 1", "letters, digits"),
    ("er", "pos", "is not one of positive, negative"),
    ("ki67_pct", "120", "is outside [0, 100]"),
    ("rcb_positive_nodes", "1.5", "is not a whole number"),
    ("dce_phases", "pre.nrrd;missing.nrrd", "do not exist: missing.nrrd"),
    ("dce_times_s", "0;abc", "list of numbers"),
    ("adc_unit", "um", "is not one of mm2/s, um2/s"),
    ("tumor_segment", "0", "is neither a label value"),
])
def test_invalid_cell_is_named_by_row_column_and_value(folder, column, value, message):
    path = _write(folder, [_row(), _row(**{"patient_id": "P2", column: value})])
    with pytest.raises(ManifestError) as caught:
        io.read_manifest(path)
    text = str(caught.value)
    assert f"row 3, column '{column}': value {value!r}" in text and message in text
    assert "row 2," not in text


def test_every_problem_is_listed_at_once(folder):
    path = _write(folder, [_row(er="x"), _row(patient_id="P2", grade="5", exam_date="")])
    with pytest.raises(ManifestError, match="3 invalid cell") as caught:
        io.read_manifest(path)
    assert "row 3, column 'exam_date': empty, but required" in str(caught.value)


@pytest.mark.parametrize(("changes", "message"), [
    ({"dce_times_s": "0;60;120"}, "column 'dce_times_s': 3 times for 2 files in 'dce_phases'"),
    ({"dce_times_s": "60;0"}, "does not increase strictly"),
    ({"dce_roi_phase": "2"}, "column 'dce_roi_phase': value '2' is not a phase index (0..1)"),
    ({"dwi_bvals": ""}, "column 'dwi_bvals': empty, but required with 'dwi'"),
    ({"dwi_bvals": "0;800;1000"}, "3 b-values for 2 files in 'dwi'"),
])
def test_cross_column_problems(folder, changes, message):
    with pytest.raises(ManifestError) as caught:
        io.read_manifest(_write(folder, [_row(**changes)]))
    assert "row 2" in str(caught.value) and message in str(caught.value)


def test_missing_misspelt_and_duplicate(folder):
    rows = [_row(), _row()]
    for row in rows:
        row.pop("segmentation")
        row["ki_67_pct"] = row.pop("ki67_pct")
    with pytest.raises(ManifestError) as caught:
        io.read_manifest(_write(folder, rows))
    assert "required column 'segmentation' is missing" in str(caught.value)
    assert "column 'ki_67_pct' is not documented; did you mean 'ki67_pct'?" in str(caught.value)
    with pytest.raises(ManifestError, match=re.escape("row 3, columns 'patient_id'/'timepoint'")):
        io.read_manifest(_write(folder, [_row(), _row()]))


def test_write_then_read_round_trip(folder):
    frame = io.read_manifest(_write(folder, [_row(extra_site="A")])).frame
    path = io.write_manifest(frame, folder / "again.csv")
    again = io.read_manifest(path).frame
    pd.testing.assert_frame_equal(again, frame)
    assert path.read_text().splitlines()[0].startswith("patient_id,timepoint,exam_date,dce_phases")


def test_load_exam_names_the_row_when_a_reader_fails(folder):
    manifest = io.read_manifest(_write(folder, [_row(tumor_segment="tumor")]))
    with pytest.raises(Exception) as caught:
        io.load_exam(manifest, ("P1", "baseline"))
    notes = " ".join(getattr(caught.value, "__notes__", []))
    assert "row 2, patient P1, timepoint baseline" in notes
    with pytest.raises(ManifestError, match="no exam for patient 'P9'"):
        io.load_exam(manifest, ("P9", "baseline"))


def test_semicolon_separated_file_gets_a_hint_and_bom_is_ignored(folder):
    path = folder / "manifest.csv"
    path.write_text("patient_id;exam_date\nP1;2022-01-01\n")
    with pytest.raises(ManifestError, match="looks ';'-separated"):
        io.read_manifest(path)
    frame = pd.DataFrame([_row()])
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    assert list(io.read_manifest(path).frame["patient_id"]) == ["P1"]
