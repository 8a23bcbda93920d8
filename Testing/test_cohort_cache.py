"""The extraction cache key, atomic writes and the progress adapters (no images analysed here)."""

from __future__ import annotations

import hashlib
import io
import json
import os

import pytest

from NACResistanceLib.cohort import cache
from NACResistanceLib.cohort.progress import LogProgress, TerminalProgress, for_stream, format_duration


@pytest.fixture
def exam_files(tmp_path):
    """A manifest row naming two DCE files, a DICOM-like folder of DWI files and a segmentation."""
    (tmp_path / "dce0.nii.gz").write_bytes(b"pre-contrast")
    (tmp_path / "dce1.nii.gz").write_bytes(b"post-contrast")
    (tmp_path / "dwi").mkdir()
    (tmp_path / "dwi" / "b0.dcm").write_bytes(b"b0")
    (tmp_path / "dwi" / "b800.dcm").write_bytes(b"b800")
    (tmp_path / "seg.nrrd").write_bytes(b"labels")
    row = {"patient_id": "P001", "timepoint": "baseline", "dce_phases": "dce0.nii.gz;dce1.nii.gz",
           "dce_times_s": "0;51.3", "dwi": "dwi", "dwi_bvals": "0;800", "segmentation": "seg.nrrd",
           "age_years": 51}
    return tmp_path, row


def test_input_files_expand_lists_and_folders(exam_files):
    folder, row = exam_files
    names = [p.relative_to(folder).as_posix() for p in cache.input_files(row, folder)]
    assert names == ["dce0.nii.gz", "dce1.nii.gz", "dwi/b0.dcm", "dwi/b800.dcm", "seg.nrrd"]


def test_file_digest_is_blake2b_of_the_bytes(exam_files):
    folder, _ = exam_files
    expected = hashlib.blake2b(b"labels", digest_size=16).hexdigest()
    assert cache.file_digest(folder / "seg.nrrd") == expected


def test_key_ignores_modification_time_and_clinical_columns(exam_files):
    folder, row = exam_files
    key = cache.exam_key(row, folder, {"sigma_mm": 1.0})
    os.utime(folder / "seg.nrrd", (1, 1))
    assert cache.exam_key({**row, "age_years": 70}, folder, {"sigma_mm": 1.0}) == key


@pytest.mark.parametrize("change", ["content", "parameters", "imaging_column"])
def test_key_changes_with_content_parameters_and_imaging_columns(exam_files, change):
    folder, row = exam_files
    key = cache.exam_key(row, folder, {"sigma_mm": 1.0})
    parameters = {"sigma_mm": 1.0}
    if change == "content":
        (folder / "dwi" / "b800.dcm").write_bytes(b"b8OO")  # same size, same name
    elif change == "parameters":
        parameters = {"sigma_mm": 1.5}
    else:
        row = {**row, "dce_times_s": "0;60"}
    assert cache.exam_key(row, folder, parameters) != key


def test_entry_round_trips_floats_exactly_and_leaves_no_temporary_file(tmp_path):
    payload = {"features": {"a": 0.1 + 0.2, "b": float("nan"), "c": 1e-300}}
    path = tmp_path / cache.entry_name("P001", "baseline", "ab" * 32)
    cache.write_entry(path, payload)
    back = cache.read_entry(path)
    assert back["features"]["a"] == 0.1 + 0.2
    assert back["features"]["c"] == 1e-300
    assert back["features"]["b"] != back["features"]["b"]  # NaN survives
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_failed_write_keeps_the_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "entry.json"
    cache.write_entry(path, {"v": 1})
    with pytest.raises(TypeError):
        cache.write_atomic(path, object())  # type: ignore[arg-type]
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["entry.json"]


def test_leftovers_of_a_killed_run_are_removed(tmp_path):
    (tmp_path / ".tmp-abc.json").write_text("{")
    (tmp_path / "P001__baseline__0123.json").write_text("{}")
    assert cache.remove_leftovers(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["P001__baseline__0123.json"]


def test_duration_format():
    assert [format_duration(s) for s in (42, 187, 3720)] == ["42s", "3m07s", "1h02m"]


def test_terminal_progress_extrapolates_eta_from_its_first_report():
    times = iter([100.0, 160.0])
    stream = io.StringIO()
    bar = TerminalProgress(stream, clock=lambda: next(times))
    bar("40 exams to analyse", 0.2)  # 20% cached
    assert bar("P010 baseline done", 0.4) is False
    # 20% of the work in 60 s -> the remaining 60% take 180 s
    assert "ETA 3m00s" in stream.getvalue().split("\r")[-1]
    assert "[############" in stream.getvalue()


def test_progress_adapter_follows_the_stream(caplog):
    assert isinstance(for_stream(io.StringIO()), LogProgress)
    with caplog.at_level("INFO"):
        LogProgress()("P001 baseline done (1/4)", 0.25)
    assert "P001 baseline done (1/4) (25.0%)" in caplog.text


@pytest.mark.parametrize("column,value", [
    ("t2w", "t2.nii.gz"), ("breast_segment", "breast"), ("other_lesion_segment", "3"), ("aif_segment", "artery"),
    ("dce_tr_ms", "4.5"), ("dce_flip_angle_deg", "12"), ("series_dwi2", "t2.nii.gz"), ("dce_series", "7"),
])
def test_every_imaging_column_of_the_manifest_is_in_the_key(exam_files, column, value):
    """A column that changes the analysis changes the key (a stale cache would return other values)."""
    folder, row = exam_files
    (folder / "t2.nii.gz").write_bytes(b"T2")
    key = cache.exam_key(row, folder, {})
    changed = cache.exam_key({**row, column: value}, folder, {})
    assert changed != key
    if value == "t2.nii.gz":  # a named file: its content is in the key too
        (folder / "t2.nii.gz").write_bytes(b"T2 edited")
        assert cache.exam_key({**row, column: value}, folder, {}) != changed


def test_the_key_columns_are_the_manifest_readers_imaging_columns():
    from NACResistanceLib.io.manifest import IMAGING_COLUMNS

    assert set(cache.IMAGING_COLUMNS) == {"patient_id", "timepoint", *IMAGING_COLUMNS}
    assert {"t2w", "t1_map", "dce_phases", "segmentation", "dwi_bvecs"} <= set(cache.PATH_COLUMNS)
