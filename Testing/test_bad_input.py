"""Bad input through the command line: each case gives its documented exit code, one line naming what to fix, no
traceback, and leaves the output folder in the stated state (issue 12: silently wrong, unclear, and the 31 that
already worked).

References: the exit codes and files documented in docs/cli.md; file sizes computed from the image headers; the
umask rule of POSIX ``open`` (0666 & ~umask).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from light_cohort import LIGHT_PARAMS

from NACResistanceLib import labels
from NACResistanceLib.cli import COMMANDS, INTERRUPTED_MESSAGE, build_parser
from NACResistanceLib.cli import main as cli_main
from NACResistanceLib.errors import ClinicalDataError, InputFileError, ManifestError
from NACResistanceLib.io import read_image, read_manifest, read_mask
from NACResistanceLib.io.manifest import write_manifest
from NACResistanceLib.phantom import PhantomProtocol, make_cohort

DEMO_MODEL = Path(__file__).parent.parent / "NACResistance" / "Resources" / "demo_model.json"


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    """Three small synthetic exams (phantom small protocol); returns manifest.csv."""
    return make_cohort(3, 21, tmp_path_factory.mktemp("cohort"), PhantomProtocol.small())


@pytest.fixture(scope="module")
def light(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("light") / "light.yaml"
    path.write_text(f"radiomics_params: {LIGHT_PARAMS}\n")
    return path


@pytest.fixture(scope="module")
def features(cohort, light, tmp_path_factory) -> Path:
    """``extract`` of the cohort in this process; returns the features folder."""
    out = tmp_path_factory.mktemp("features")
    assert cli_main(["extract", str(cohort), "--out", str(out), "--config", str(light), "--jobs", "1",
                     "--progress", "none"]) == 0
    return out


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the command line in this process; no traceback may reach stderr."""
    code = cli_main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    return code, captured.out, captured.err


def edited_manifest(cohort: Path, folder: Path, rows: int | None = None, **cells) -> Path:
    """A copy of the cohort manifest in ``folder`` (paths made absolute), first ``rows`` rows, cells of row 0 replaced."""
    frame = pd.read_csv(cohort, dtype=str, keep_default_na=False)
    for column in ("dce_phases", "dwi", "adc", "segmentation"):
        frame[column] = [";".join(str(cohort.parent / p) for p in cell.split(";")) if cell else cell
                         for cell in frame[column]]
    if rows is not None:
        frame = frame.head(rows).copy()
    for column, value in cells.items():
        frame.loc[0, column] = value
    folder.mkdir(parents=True, exist_ok=True)
    return write_manifest(frame, folder / "manifest.csv")


def last_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("nacresistance ")]
    assert lines, err
    return lines[-1]


# ----------------------------------------------------------------- silently wrong or lost (the eight cases)
@pytest.mark.parametrize("suffix,compress", [(".nii.gz", True), (".nii", False), (".mha", False), (".mha", True),
                                             (".nrrd", False), (".nrrd", True)])
def test_every_reader_refuses_a_truncated_file(tmp_path, suffix, compress):
    image = sitk.GetImageFromArray(np.arange(24 * 20 * 16, dtype=np.int16).reshape(16, 20, 24) % 251)
    whole = tmp_path / f"whole{suffix}"
    sitk.WriteImage(image, str(whole), compress)
    assert np.array_equal(sitk.GetArrayFromImage(read_image(whole)), sitk.GetArrayFromImage(image))
    data = whole.read_bytes()
    for kept in (len(data) // 6, len(data) - 7):
        cut = tmp_path / f"cut{suffix}"
        cut.write_bytes(data[:kept])
        with pytest.raises(InputFileError, match="incomplete") as caught:
            read_image(cut)
        assert str(cut) in str(caught.value) and "copy or export it again" in str(caught.value)


def test_truncated_nii_gz_fails_its_exam_by_name_and_the_others_finish(cohort, light, tmp_path, capsys):
    phase = sitk.ReadImage(str(cohort.parent / "exams" / "SYN0001" / "baseline" / "dce_01.nrrd"))
    whole = tmp_path / "dce_01.nii.gz"
    sitk.WriteImage(phase, str(whole), True)
    cut = tmp_path / "cut" / "dce_01.nii.gz"
    cut.parent.mkdir()
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 6])
    first = [str(cohort.parent / p) for p in pd.read_csv(cohort, dtype=str).loc[0, "dce_phases"].split(";")]
    first[1] = str(cut)
    manifest = edited_manifest(cohort, tmp_path / "m", rows=2, dce_phases=";".join(first))
    out = tmp_path / "out"
    code, _, err = run(capsys, "extract", manifest, "--out", out, "--config", light, "--jobs", "1", "--progress", "none")
    assert code == 1 and "1 exams failed" in err, err
    failures = pd.read_csv(out / "failures.csv")
    assert failures["patient_id"].tolist() == ["SYN0001"]
    assert str(cut) in failures.loc[0, "message"] and "incomplete" in failures.loc[0, "message"]
    assert ";" not in failures.loc[0, "message"].split("incomplete")[0]  # the one file, not the 7 phases
    assert pd.read_csv(out / "features.csv")["patient_id"].tolist() == ["SYN0002"]


def test_a_model_is_refused_on_features_of_other_parameters(cohort, features, tmp_path, capsys):
    # The demo model was trained with the shipped pyradiomics parameters; the features used the light file.
    code, _, err = run(capsys, "predict", DEMO_MODEL, cohort, "--features", features / "features.csv",
                       "--out", tmp_path / "p")
    assert code == 2 and "other analysis parameters" in err and "radiomics" in last_error_line(err)
    assert not (tmp_path / "p").exists()
    code, _, err = run(capsys, "evaluate", DEMO_MODEL, features / "features.csv", cohort, "--out", tmp_path / "e")
    assert code == 2 and "other analysis parameters" in err
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize("command", ["extract", "train", "evaluate", "predict", "phantom", "reproducibility", "delta",
                                     "report", "demo"])
@pytest.mark.parametrize("where", ["under_a_file", "proc"])
def test_an_unwritable_out_is_refused_before_any_work(cohort, features, tmp_path, capsys, command, where):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    out = blocker / "out" if where == "under_a_file" else Path("/proc/nacresistance-out")
    arguments = {
        "extract": ["extract", cohort],
        "train": ["train", features / "features.csv", cohort],
        "evaluate": ["evaluate", DEMO_MODEL, features / "features.csv", cohort],
        "predict": ["predict", DEMO_MODEL, cohort],
        "phantom": ["phantom", "--patients", "2"],
        "reproducibility": ["reproducibility", cohort],
        "delta": ["delta", cohort],
        "report": ["report", features / "features.csv", cohort],
        "demo": ["demo", "--patients", "2"],
    }[command]
    started = time.perf_counter()
    code, out_text, err = run(capsys, *arguments, "--out", out)
    assert code == 2 and out_text == ""
    line = last_error_line(err)
    assert "OutputError" in line and str(out) in line and "choose another --out" in line
    assert time.perf_counter() - started < 10  # refused up front, not after the work
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_an_intensity_image_given_as_segmentation_is_refused(cohort, light, tmp_path, capsys):
    dce = cohort.parent / "exams" / "SYN0001" / "baseline" / "dce_01.nrrd"
    with pytest.raises(InputFileError, match="looks like an intensity image") as caught:
        read_mask(dce, 1)
    distinct = np.count_nonzero(np.unique(sitk.GetArrayFromImage(sitk.ReadImage(str(dce)))))
    assert f"holds {distinct} distinct values" in str(caught.value)
    manifest = edited_manifest(cohort, tmp_path / "m", rows=1, segmentation=str(dce), tumor_segment="1",
                               reference_segment="2")
    code, _, err = run(capsys, "extract", manifest, "--out", tmp_path / "out", "--config", light, "--jobs", "1",
                       "--progress", "none")
    assert code == 1
    failure = pd.read_csv(tmp_path / "out" / "failures.csv").iloc[0]
    assert failure["patient_id"] == "SYN0001" and str(dce) in failure["message"]


def test_a_segment_covering_most_of_the_field_of_view_is_refused(tmp_path):
    labels_image = np.zeros((10, 10, 10), np.uint8)
    labels_image[:, :, :6] = 1  # 60 % of the field of view
    labels_image[0, 0, 9] = 2
    path = tmp_path / "labels.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(labels_image), str(path))
    with pytest.raises(InputFileError, match="covers 60% of the field of view"):
        read_mask(path, 1)
    assert int(sitk.GetArrayFromImage(read_mask(path, 2)).sum()) == 1



def test_a_breast_segment_may_cover_most_of_the_field_of_view(tmp_path):
    """A breast segment legitimately fills most of a breast MRI's field of view; an other-lesion segment cannot."""
    from NACResistanceLib.io.manifest import _extra_segments

    labels_image = np.zeros((10, 10, 10), np.uint8)
    labels_image[:, :, :7] = 1  # the breast: 70 % of the field of view
    labels_image[5, 5, 8] = 2
    path = tmp_path / "labels.nrrd"
    sitk.WriteImage(sitk.GetImageFromArray(labels_image), str(path))
    masks = _extra_segments(path, pd.Series({"breast_segment": "1", "other_lesion_segment": "2"}))
    assert int(sitk.GetArrayFromImage(masks["breast_mask"]).sum()) == 700
    assert int(sitk.GetArrayFromImage(masks["other_lesion_mask"]).sum()) == 1
    with pytest.raises(InputFileError, match="covers 70% of the field of view"):
        _extra_segments(path, pd.Series({"other_lesion_segment": "1"}))


@pytest.mark.parametrize("argv_tail,named", [
    (["--split-date", "2023-13-45"], "--split-date: expected a date YYYY-MM-DD, got '2023-13-45'"),
    (["--split", "middle"], "--split: invalid choice: 'middle'"),
])
def test_evaluate_options_are_checked_before_anything(features, cohort, tmp_path, capsys, argv_tail, named):
    code, _, err = run(capsys, "evaluate", DEMO_MODEL, features / "features.csv", cohort, "--out", tmp_path / "e",
                       *argv_tail)
    assert code == 2 and named in err and not (tmp_path / "e").exists()


@pytest.mark.parametrize("option,value", [("--bootstrap", "0"), ("--bootstrap", "-3"), ("--workers", "0")])
def test_train_refuses_a_count_below_one_up_front(features, cohort, tmp_path, capsys, option, value):
    code, _, err = run(capsys, "train", features / "features.csv", cohort, "--out", tmp_path / "s", option, value)
    assert code == 2 and f"argument {option}: must be at least 1, got {value}" in err
    assert not (tmp_path / "s").exists()


def test_a_manifest_given_as_the_feature_table_is_named(features, cohort, tmp_path, capsys):
    folder = tmp_path / "wrong"
    folder.mkdir()
    shutil.copy(cohort, folder / "features.csv")
    shutil.copy(features / "analysis_parameters.json", folder)
    code, _, err = run(capsys, "train", folder / "features.csv", cohort, "--out", tmp_path / "s")
    line = last_error_line(err)
    assert code == 2 and "it looks like a manifest" in line and "column 'exam_date' of patient SYN0001" in line
    assert not (tmp_path / "s").exists()
    code, _, err = run(capsys, "train", cohort, cohort, "--out", tmp_path / "s")  # no parameters beside it
    assert code == 2 and "analysis_parameters.json" in last_error_line(err)


def test_an_unreachable_scheduler_is_refused_within_seconds(cohort, tmp_path, capsys):
    started = time.perf_counter()
    code, _, err = run(capsys, "extract", cohort, "--out", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and time.perf_counter() - started < 10
    assert "--scheduler tcp://127.0.0.1:1: no Dask scheduler answers there" in last_error_line(err)
    assert not (tmp_path / "out").exists()
    code, _, err = run(capsys, "extract", cohort, "--out", tmp_path / "out", "--scheduler", "tcp://host-without-port")
    assert code == 2 and "expected tcp://HOST:PORT" in err


# ---------------------------------------------------------------------------------------- rules for all commands
def test_an_unexpected_error_prints_one_line_and_the_log_file(cohort, tmp_path, capsys, monkeypatch):
    from NACResistanceLib.commands import extract

    def broken(args):
        raise ZeroDivisionError("division by zero in a bug")

    monkeypatch.setattr(extract, "run", broken)
    monkeypatch.setenv("NACRESISTANCE_LOG_DIR", str(tmp_path))
    code, _, err = run(capsys, "extract", cohort, "--out", tmp_path / "out")
    assert code == 3
    assert err.count("\n") == 1 and "unexpected ZeroDivisionError: division by zero in a bug" in err
    log = Path(err.split("traceback in ")[1].split(" (")[0])
    assert log.parent == tmp_path and "Traceback" in log.read_text() and "def broken" not in err


def test_usage_errors_exit_2_and_help_exits_0(capsys):
    assert run(capsys, "extract")[0] == 2
    assert run(capsys, "no-such-command")[0] == 2
    assert run(capsys)[0] == 2
    for name in COMMANDS:
        assert run(capsys, name, "--help")[0] == 0


def test_help_shows_only_defaults_that_say_something():
    parser = build_parser()
    actions = parser._subparsers._group_actions[0].choices  # noqa: SLF001 - argparse keeps the sub-parsers here
    for name, sub in actions.items():
        text = " ".join(sub.format_help().split())
        assert "(default: None)" not in text and "(default: True)" not in text and "(default: False)" not in text, name
    assert "(default: 0.75)" in " ".join(actions["reproducibility"].format_help().split())


def test_ctrl_c_exits_130_with_one_line_and_a_rerun_resumes(tmp_path, light):
    manifest = make_cohort(6, 22, tmp_path / "c", PhantomProtocol.small())
    out = tmp_path / "out"
    command = [sys.executable, "-m", "NACResistanceLib.cli", "extract", str(manifest), "--out", str(out), "--config",
               str(light), "--jobs", "2", "--progress", "none"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent.parent)] + sys.path))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 240
    while not list((out / "cache").glob("SYN*.json")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("the extraction finished before the interrupt arrived")
    assert process.returncode == 130 and "Traceback" not in err
    assert f"nacresistance extract: {INTERRUPTED_MESSAGE}" in err
    cached = {p.name for p in (out / "cache").glob("SYN*.json")}
    assert 1 <= len(cached) <= 6 and not list((out / "cache").glob(".tmp-*"))
    assert not (out / "features.csv").exists()  # nothing half-written; the table comes with the finished run
    rerun = subprocess.run(command, capture_output=True, text=True, env=env, timeout=240)
    assert rerun.returncode == 0 and f"{len(cached)} from cache" in rerun.stdout


# ------------------------------------------------------------------------------------------ per-exam warnings
def test_extract_writes_warnings_csv_and_shows_the_count(features, cohort, light, tmp_path, capsys):
    code, _, err = run(capsys, "extract", cohort, "--out", features, "--config", light, "--jobs", "1",
                       "--progress", "none")
    assert code == 0
    warnings = pd.read_csv(features / "warnings.csv")
    assert list(warnings.columns) == ["patient_id", "timepoint", "stage", "message"]
    # Each phantom exam has a trace-weighted DWI: the kurtosis tensor cannot be computed (one warning per exam).
    tensor = warnings[warnings["message"].str.contains("the kurtosis tensor")]
    assert sorted(tensor["patient_id"]) == ["SYN0001", "SYN0002", "SYN0003"] and set(tensor["stage"]) == {"diffusion"}
    cached = [json.loads(p.read_text()) for p in sorted((features / "cache").glob("SYN*.json"))]
    assert len(warnings) == sum(len(entry["warnings"]) for entry in cached)  # every warning of every exam, once
    assert f"{len(warnings)} warnings for 3 exams" in err and "SYN0001 baseline [diffusion]" in err


def test_warnings_of_one_kind_are_one_line_on_stderr(capsys):
    """Same stage and text apart from numbers = one kind: counted over exams, most frequent first, first exam named."""
    from NACResistanceLib.commands._common import print_warnings

    tensor = "kurtosis tensor omitted: trace-weighted DWI"
    rows = [[f"P{i}", "baseline", "diffusion", tensor] for i in range(5)]
    rows += [["P1", "baseline", "diffusion", "2 of 90 tumour voxels have a negative ADC"],
             ["P3", "baseline", "diffusion", "1 of 120 tumour voxels have a negative ADC"],
             ["P2", "baseline", "dce", "early phase 75 s from its target"],
             ["P4", "baseline", "segmentation", "reference segment is empty"]]
    print_warnings(pd.DataFrame(rows, columns=["patient_id", "timepoint", "stage", "message"]), Path("w.csv"))
    assert capsys.readouterr().err.splitlines() == [
        "9 warnings for 5 exams (values omitted or computed with caveats), see w.csv:",
        f"  5 exams, first P0 baseline [diffusion]: {tensor}",
        "  2 exams, first P1 baseline [diffusion]: 2 of 90 tumour voxels have a negative ADC",
        "  P2 baseline [dce]: early phase 75 s from its target",
        "  ... 1 more kinds (1 warnings) in w.csv",
    ]


def test_intercept_only_models_are_said_on_stderr_and_in_warnings_csv(tmp_path, capsys):
    from types import SimpleNamespace

    from NACResistanceLib.commands.train import write_study_warnings

    result = SimpleNamespace(warnings=("bootstrap replicate 3 failed: one class",),
                             models={"clinical": SimpleNamespace(terms=()),
                                     "radiomics": SimpleNamespace(terms=(SimpleNamespace(name="adc_mean"),))})
    written = write_study_warnings(result, tmp_path)
    err = capsys.readouterr().err
    assert "warning: the clinical model is intercept-only" in err and "radiomics model is intercept" not in err
    table = pd.read_csv(tmp_path / "warnings.csv", keep_default_na=False)
    assert table["message"].tolist() == written["message"].tolist() and len(table) == 2
    assert table["message"][0] == "bootstrap replicate 3 failed: one class"
    assert table["stage"].tolist() == ["study", "study"] and table["patient_id"].tolist() == ["", ""]


def test_files_follow_the_umask(features):
    previous = os.umask(0o022)
    try:
        from NACResistanceLib.cohort.cache import write_atomic

        write_atomic(features / "mode_test.csv", "a\n")
        assert (features / "mode_test.csv").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        write_atomic(features / "mode_test.csv", "a\n")
        assert (features / "mode_test.csv").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(previous)
        (features / "mode_test.csv").unlink()
    expected = 0o666 & ~previous
    assert {p.name: p.stat().st_mode & 0o777 for p in features.glob("*.csv")} == {
        p.name: expected for p in features.glob("*.csv")}


# ------------------------------------------------------------------------------------------ unclear messages
def test_rcb_refuses_contradictory_nodal_inputs():
    with pytest.raises(ClinicalDataError, match="patient P9: rcb_positive_nodes = 0 but rcb_largest_metastasis_mm"):
        labels.rcb_index(10, 20, 50, 10, 0, 12, patient="P9")
    with pytest.raises(ClinicalDataError, match="rcb_positive_nodes = 3 but rcb_largest_metastasis_mm = 0"):
        labels.rcb_index(10, 20, 50, 10, 3, 0, patient="P9")
    assert labels.rcb_index(10, 20, 50, 10, 0, 0) == pytest.approx(1.4 * (0.45 * np.sqrt(200)) ** 0.17, rel=1e-14)


def test_manifest_problems_name_row_and_what_is_allowed(cohort, tmp_path):
    with pytest.raises(ManifestError, match="is a folder; give the manifest CSV file itself"):
        read_manifest(cohort.parent)
    text = cohort.read_text(encoding="utf-8").splitlines()
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(("\n".join(text[:2] + [text[2].replace("SYN0002", "SYNö002", 1)]) + "\n")
                      .encode("latin-1"))
    with pytest.raises(ManifestError, match=r"row 3: the text near .* is not UTF-8 .*save the file as UTF-8"):
        read_manifest(latin)
    named = edited_manifest(cohort, tmp_path / "u", rows=1, patient_id="Müller-李")
    with pytest.raises(ManifestError, match="holds 'ü', '李'; .*only letters, digits, '_', '-' and '.' of ASCII"):
        read_manifest(named)


# ----------------------------------------------------------------------------------- cases that already worked
def test_missing_inputs_and_malformed_models_stay_named(cohort, tmp_path, capsys):
    code, _, err = run(capsys, "extract", tmp_path / "nope.csv", "--out", tmp_path / "o")
    assert code == 2 and "file not found" in err
    broken = tmp_path / "model.json"
    broken.write_text('{"name": "combined"}')
    code, _, err = run(capsys, "predict", broken, cohort, "--out", tmp_path / "p")
    assert code == 2 and "ModelFileError" in err and str(broken) in err
    missing = edited_manifest(cohort, tmp_path / "m", rows=1, segmentation=str(tmp_path / "gone.seg.nrrd"))
    code, _, err = run(capsys, "extract", missing, "--out", tmp_path / "o")
    assert code == 2 and "column 'segmentation'" in err and "gone.seg.nrrd" in err
    unknown = edited_manifest(cohort, tmp_path / "m2", rows=1, tumor_segment="lesion7")
    code, _, err = run(capsys, "extract", unknown, "--out", tmp_path / "o2", "--jobs", "1", "--progress", "none")
    failures = pd.read_csv(tmp_path / "o2" / "failures.csv")
    assert code == 1 and "'lesion7'" in failures.loc[0, "message"] and "available segments" in failures.loc[0, "message"]


def test_gzip_helpers_agree_with_the_gzip_module(tmp_path):
    from NACResistanceLib.io.completeness import _gzip_length

    payload = bytes(range(256)) * 5000
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(payload))
    assert _gzip_length(path, 0, len(payload)) == len(payload)
    assert _gzip_length(path, 0, len(payload) + 1) == len(payload)  # ISIZE disagrees: counted


def test_an_empty_reference_segment_keeps_the_exam_and_leaves_the_relative_values_empty(cohort, light, tmp_path,
                                                                                      capsys):
    from NACResistanceLib.io.segmentation import segment_infos

    source = sitk.ReadImage(str(cohort.parent / "exams" / "SYN0001" / "baseline" / "segmentation.seg.nrrd"))
    reference = next(s for s in segment_infos(source) if s.name == "reference")
    values = sitk.GetArrayFromImage(source)
    values[values == reference.label_value] = 0
    emptied = sitk.GetImageFromArray(values)
    emptied.CopyInformation(source)
    for key in source.GetMetaDataKeys():
        emptied.SetMetaData(key, source.GetMetaData(key))
    segmentation = tmp_path / "empty_reference.seg.nrrd"
    sitk.WriteImage(emptied, str(segmentation), True)
    manifest = edited_manifest(cohort, tmp_path / "m", rows=2, segmentation=str(segmentation))
    out = tmp_path / "out"
    code, _, err = run(capsys, "extract", manifest, "--out", out, "--config", light, "--jobs", "1",
                       "--progress", "none")
    assert code == 0 and "SYN0001 baseline [segmentation]: reference segment of" in err
    table = pd.read_csv(out / "features.csv").set_index("patient_id")
    relative = [c for c in table.columns if c.startswith("dce_r") or c.startswith("adc_r")]
    assert relative and table.loc["SYN0001", relative].isna().all() and table.loc["SYN0002", relative].notna().all()
    absolute = ["tumor_volume_mm3", "dce_ie_mean", "adc_mean"]
    assert table.loc[["SYN0001", "SYN0002"], absolute].notna().all().all()
    warnings = pd.read_csv(out / "warnings.csv")
    assert str(segmentation) in warnings.loc[warnings["stage"] == "segmentation", "message"].iloc[0]


def model_and_features_for(features: Path, tmp_path: Path, seed: int) -> tuple[Path, pd.DataFrame, Path]:
    """The demo model re-stamped with the parameters of ``features`` (so it is accepted), and a copy of the feature
    folder whose table gains random columns for the model inputs it lacks: ``(model path, table, folder)``."""
    model = json.loads(DEMO_MODEL.read_text())
    parameters = json.loads((features / "analysis_parameters.json").read_text())
    model["analysis_config"], model["analysis_sha256"] = parameters["analysis"], parameters["sha256"]
    model_path = tmp_path / "model.json"
    model_path.write_text(json.dumps(model))
    table = pd.read_csv(features / "features.csv")
    rng = np.random.default_rng(seed)
    for term in model["radscore"]["features"]:
        if term["name"] not in table.columns:
            table[term["name"]] = rng.normal(size=len(table))
    folder = tmp_path / "features"
    folder.mkdir()
    table.to_csv(folder / "features.csv", index=False)
    shutil.copy(features / "analysis_parameters.json", folder)
    return model_path, table, folder


def test_evaluate_on_one_outcome_class_writes_predictions_and_says_why(cohort, features, tmp_path, capsys):
    model_path, table, folder = model_and_features_for(features, tmp_path, seed=5)
    frame = pd.read_csv(cohort, dtype=str, keep_default_na=False)
    for column in ("rcb_d1_mm", "rcb_d2_mm", "rcb_cellularity_pct", "rcb_in_situ_pct", "rcb_largest_metastasis_mm",
                   "rcb_positive_nodes"):
        frame[column] = "0"
    frame["mri_longest_diameter_post_mm"] = "0"  # complete response: every patient sensitive
    one_class = edited_manifest(cohort, tmp_path / "m")
    write_manifest(frame.assign(**{c: pd.read_csv(one_class, dtype=str, keep_default_na=False)[c]
                                   for c in ("dce_phases", "dwi", "adc", "segmentation")}), one_class)
    out = tmp_path / "ev"
    code, _, err = run(capsys, "evaluate", model_path, folder / "features.csv", one_class, "--out", out)
    assert code == 0 and "warning: all 3 exams are sensitive (one outcome class)" in err
    predictions = pd.read_csv(out / "predictions.csv")
    assert len(predictions) == 3 and not predictions["resistant"].any()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["auc"] is None and metrics["brier"] == pytest.approx((predictions["probability"] ** 2).mean(),
                                                                         rel=1e-12)
    assert sorted(p.name for p in out.iterdir()) == ["contributions.csv", "metrics.json", "predictions.csv"]


def test_every_manifest_problem_at_once_and_skip_invalid_analyses_the_rest(cohort, light, tmp_path, capsys):
    frame = pd.read_csv(edited_manifest(cohort, tmp_path / "m"), dtype=str, keep_default_na=False)
    frame.loc[1, "t_stage"] = "T9"
    frame.loc[2, "segmentation"] = str(tmp_path / "gone.seg.nrrd")
    manifest = write_manifest(frame, tmp_path / "m" / "manifest.csv")
    out = tmp_path / "out"
    code, _, err = run(capsys, "extract", manifest, "--out", out, "--config", light, "--jobs", "1", "--progress", "none")
    assert code == 2 and "has 2 invalid cell(s)" in err
    assert "row 3, column 't_stage': value 'T9' is not one of T1, T2, T3, T4" in err
    assert "row 4, column 'segmentation'" in err and "--skip-invalid" in err
    assert not (out / "features.csv").exists()
    code, _, err = run(capsys, "extract", manifest, "--out", out, "--config", light, "--jobs", "1", "--progress", "none",
                       "--skip-invalid")
    assert code == 1 and "2 exams failed" in err
    failures = pd.read_csv(out / "failures.csv")
    assert failures[["patient_id", "error_type"]].values.tolist() == [["SYN0002", "ManifestError"],
                                                                      ["SYN0003", "ManifestError"]]
    assert failures.loc[0, "message"].startswith("row 3, column 't_stage'")
    assert pd.read_csv(out / "features.csv")["patient_id"].tolist() == ["SYN0001"]


def test_skip_invalid_works_with_dry_run_and_shards(cohort, light, tmp_path, capsys):
    """--dry-run lists invalid rows with their problems; two shards + merge equal one --skip-invalid run."""
    frame = pd.read_csv(edited_manifest(cohort, tmp_path / "m"), dtype=str, keep_default_na=False)
    frame.loc[1, "t_stage"] = "T9"
    frame.loc[2, "segmentation"] = str(tmp_path / "gone.seg.nrrd")
    manifest = write_manifest(frame, tmp_path / "m" / "manifest.csv")
    code, _, err = run(capsys, "extract", manifest, "--out", tmp_path / "plan", "--config", light, "--dry-run")
    assert code == 2 and "row 3, column 't_stage'" in err and err.count("--skip-invalid") == 1
    code, out, err = run(capsys, "extract", manifest, "--out", tmp_path / "plan", "--config", light, "--dry-run",
                         "--skip-invalid")
    table = pd.read_csv(StringIO(out), dtype=str, keep_default_na=False)
    assert code == 1 and table["row"].tolist() == ["2", "3", "4"] and "1 to compute, 2 invalid" in err
    assert table["status"].tolist() == ["compute", "invalid", "invalid"]
    assert table.loc[1, "reason"].startswith("row 3, column 't_stage': value 'T9'")
    assert table.loc[2, "reason"].startswith("row 4, column 'segmentation'")
    single, shared = tmp_path / "single", tmp_path / "shared"
    assert run(capsys, "extract", manifest, "--out", single, "--config", light, "--jobs", "1", "--progress", "none",
               "--skip-invalid")[0] == 1
    codes = [run(capsys, "extract", manifest, "--out", shared, "--config", light, "--jobs", "1", "--progress", "none",
                 "--shard", f"{k}/2", "--skip-invalid")[0] for k in (1, 2)]
    assert sorted(codes) == [0, 1] or codes == [1, 1]  # each invalid row fails in the shard it falls in
    assert run(capsys, "merge", shared / "cache", "--out", tmp_path / "merged")[0] == 1
    for name in ("features.csv", "failures.csv"):
        assert (tmp_path / "merged" / name).read_bytes() == (single / name).read_bytes(), name


def test_a_wrong_bvec_table_names_the_file_and_both_shapes(tmp_path):
    from NACResistanceLib.errors import AcquisitionError
    from NACResistanceLib.io import read_dwi

    volumes = []
    for index, value in enumerate((100.0, 60.0, 55.0)):
        image = sitk.GetImageFromArray(np.full((3, 4, 5), value, np.float32))
        volumes.append(tmp_path / f"v{index}.nrrd")
        sitk.WriteImage(image, str(volumes[-1]))
    bvecs = tmp_path / "dwi.bvec"
    bvecs.write_text("0 1 0 0\n0 0 1 0\n0 0 0 1\n")  # 4 directions for 3 volumes
    with pytest.raises(AcquisitionError, match=r"bvec file .*dwi\.bvec holds 3 rows x 4 columns, but DWI .* has 3 "
                                               r"volumes: expected 3 rows x 3 columns"):
        read_dwi([str(v) for v in volumes], [0, 800, 800], bvecs=bvecs)
    bvecs.write_text("0 1 0\n0 0 1\n0 0 0\n")  # volume 3 has b = 800 and a zero vector
    with pytest.raises(AcquisitionError, match=r"gradient vectors of volumes \[2\]"):
        read_dwi([str(v) for v in volumes], [0, 800, 800], bvecs=bvecs)


def test_predict_names_the_patient_whose_input_is_missing_and_predicts_the_others(cohort, features, tmp_path,
                                                                                   capsys):
    model_path, table, folder = model_and_features_for(features, tmp_path, seed=6)
    table.loc[table["patient_id"] == "SYN0002", "dce_washout_mean"] = np.nan
    table.to_csv(folder / "features.csv", index=False)
    out = tmp_path / "p"
    code, _, err = run(capsys, "predict", model_path, cohort, "--features", folder / "features.csv", "--out", out)
    assert code == 1 and "1 exams could not be predicted" in err
    failures = pd.read_csv(out / "prediction_failures.csv")
    assert failures["patient_id"].tolist() == ["SYN0002"]
    assert "input 'dce_washout_mean' is empty for patient(s) SYN0002" in failures.loc[0, "message"]
    assert pd.read_csv(out / "predictions.csv")["patient_id"].tolist() == ["SYN0001", "SYN0003"]
    table.drop(columns=["dce_washout_mean"]).to_csv(folder / "features.csv", index=False)
    code, _, err = run(capsys, "predict", model_path, cohort, "--features", folder / "features.csv", "--out", out)
    assert code == 1 and "3 exams could not be predicted" in err
    assert "input 'dce_washout_mean' is missing for patient(s) SYN0001: the feature was not extracted" in err


@pytest.mark.parametrize("command,options,named", [
    ("delta", ["--sets", "baseline,later"], "--sets 'baseline,later': unknown feature set(s) ['later']"),
    ("delta", ["--followup", "cycle9"], "--followup 'cycle9': no exam of manifest"),
    ("reproducibility", ["--perturb", "--radius-fraction", "1.5"], "--radius-fraction 1.5: must be between 0 and 1"),
    ("reproducibility", ["--contour-noise", "0"], "--contour-noise 0.0: must be a probability in (0, 1]"),
    ("reproducibility", ["--icc-threshold", "2"], "--icc-threshold 2.0: must be in [-1, 1]"),
    ("reproducibility", ["--timepoint", "cycle2"], "--timepoint cycle2: no exam of manifest"),
])
def test_delta_and_reproducibility_options_are_checked_before_the_extraction(cohort, tmp_path, capsys, command,
                                                                             options, named):
    out = tmp_path / "out"
    started = time.perf_counter()
    code, _, err = run(capsys, command, cohort, "--out", out, *options)
    assert code == 2 and named in last_error_line(err) and time.perf_counter() - started < 10
    assert not out.exists()


@pytest.mark.parametrize("text,named", [
    ("dce:\n  early_time_s: -5\n", "analysis key dce.early_time_s = -5 is not allowed: expected a number > 0 s"),
    ("map_margin_mm: fast\n", "analysis key map_margin_mm = 'fast' is not allowed"),
    ("diffusion:\n  adc_method: fast\n", "diffusion.adc_method = 'fast' is not allowed: expected one of 'wls'"),
    ("preprocessing: missing_pre.yaml\n", "missing_pre.yaml, which does not exist"),
])
def test_a_bad_parameter_file_is_refused_once_up_front(cohort, tmp_path, capsys, text, named):
    config = tmp_path / "analysis.yaml"
    config.write_text(text)
    code, _, err = run(capsys, "extract", cohort, "--out", tmp_path / "out", "--config", config)
    assert code == 2 and named in last_error_line(err) and str(config.name) in last_error_line(err)
    assert not (tmp_path / "out" / "features.csv").exists() and not (tmp_path / "out" / "cache").exists()


def test_an_unreadable_image_is_named_once_without_itk_internals(cohort, light, tmp_path, capsys):
    junk = tmp_path / "adc.nrrd"
    junk.write_bytes(b"NRRD0004\ntype: short\ndimension: 3\nsizes: 4 4 4\nencoding: raw\n\n" + bytes(128))
    manifest = edited_manifest(cohort, tmp_path / "m", rows=1, adc=str(junk))
    code, _, err = run(capsys, "extract", manifest, "--out", tmp_path / "out", "--config", light, "--jobs", "1",
                       "--progress", "none")
    message = pd.read_csv(tmp_path / "out" / "failures.csv").loc[0, "message"]
    assert code == 1 and f"cannot read image file {junk}" in message
    assert message.count("patient SYN0001") == 1 and ".cxx" not in message and "itk::" not in message
    assert ".cxx" not in err and "\n/" not in err


def test_train_lists_every_missing_clinical_value_at_once():
    from NACResistanceLib.errors import ClinicalDataError as Clinical
    from NACResistanceLib.study import _check_training, load_study_config

    config = load_study_config(None)
    names = list(config.models.clinical_candidates)
    patients = pd.Index([f"P{i}" for i in range(12)], name="patient_id")
    design = pd.DataFrame(1.0, index=patients, columns=names)
    design.loc[["P1", "P2"], names[0]] = np.nan
    design.loc[patients[:12], names[1]] = np.nan
    labels = pd.DataFrame({"resistant": [True, False] * 6}, index=patients)
    with pytest.raises(Clinical) as caught:
        _check_training(design, labels, patients, config)
    message = str(caught.value)
    assert message.startswith("2 clinical problem(s) in the training cohort")
    assert f"patients P1, P2: clinical variable {names[0]!r} is empty;" in message
    assert "patients P0, P1, P2, P3, P4, P5, P6, P7, P8, P9 and 2 more: clinical variable " + repr(names[1]) in message


def test_dce_times_in_minutes_are_refused_by_the_manifest(cohort, tmp_path):
    minutes = edited_manifest(cohort, tmp_path / "m", rows=1, dce_times_s="0;0.855;1.71;2.565;3.42;4.275;5.13")
    with pytest.raises(ManifestError, match=r"row 2, column 'dce_times_s': .* spans only 5\.13 s over 7 phases: "
                                            r"are these minutes\? give seconds \(e\.g\. 0;51\.3;102\.6;\.\.\.\)"):
        read_manifest(minutes)


def test_an_os_error_during_the_work_names_the_file_without_a_traceback(cohort, tmp_path, capsys, monkeypatch):
    from NACResistanceLib.commands import extract

    def full_disk(args):
        raise OSError(28, "No space left on device", str(tmp_path / "out" / "features.csv"))

    monkeypatch.setattr(extract, "run", full_disk)
    code, _, err = run(capsys, "extract", cohort, "--out", tmp_path / "out")
    assert code == 2 and err.count("\n") == 1
    assert f"OSError: {tmp_path / 'out' / 'features.csv'}: No space left on device" in err


def test_negative_adc_voxels_are_counted_in_a_warning():
    from NACResistanceLib.config import load_analysis_config
    from NACResistanceLib.pipeline.diffusion_stage import _adc_statistics

    adc = np.full((4, 4, 4), 1.2e-3)
    adc[0, 0, :3] = -2e-4  # three noisy voxels
    tumor = np.zeros(adc.shape, bool)
    tumor[0] = True
    result = _adc_statistics(adc, tumor, None, load_analysis_config(None).diffusion, "WLS ADC")
    assert result.warnings == ("3 of 16 tumour voxels have a negative WLS ADC (fit noise in low-signal voxels); they "
                               "are kept in adc_* (mean, percentiles), which lowers the low percentiles",)
    assert result.features["adc_mean"].value == pytest.approx((13 * 1.2e-3 - 3 * 2e-4) / 16, rel=1e-12)


def test_a_dwi_without_b0_is_a_visible_warning(cohort, light, tmp_path, capsys):
    files = pd.read_csv(cohort, dtype=str).loc[0, "dwi"].split(";")
    manifest = edited_manifest(cohort, tmp_path / "m", rows=1, dwi=";".join(str(cohort.parent / f) for f in files[1:]),
                               dwi_bvals="800;1000")
    out = tmp_path / "out"
    code, _, err = run(capsys, "extract", manifest, "--out", out, "--config", light, "--jobs", "1", "--progress", "none")
    warnings = pd.read_csv(out / "warnings.csv")
    no_b0 = warnings[warnings["message"].str.contains("has no b <= 50 s/mm² volume")]
    assert code == 0 and len(no_b0) == 1 and no_b0["stage"].tolist() == ["diffusion"]
    assert "lowest b = 800 s/mm²" in no_b0["message"].iloc[0] and files[1].split("/")[-1] in no_b0["message"].iloc[0]
    assert f"{len(warnings)} warnings for 1 exams" in err


def test_each_warning_carries_the_stage_that_gave_it():
    """Stages come from the pipeline, not from the words of the message (a path full of "dce" stays segmentation)."""
    import dataclasses

    import SimpleITK as sitk

    from NACResistanceLib import pipeline
    from NACResistanceLib.phantom import PhantomProtocol, make_exam

    exam = make_exam(0, 11, PhantomProtocol.small()).exam
    empty = sitk.Image(exam.reference_mask)
    empty.CopyInformation(exam.reference_mask)
    exam = dataclasses.replace(exam, reference_mask=empty * 0,
                               sources={**exam.sources, "reference_mask": "/data/dce_dwi_study/seg.nrrd"})
    analysis = pipeline.analyze_exam(exam, {"radiomics": False})
    stages = dict(zip(analysis.warnings, analysis.warning_stages))
    assert len(analysis.warning_stages) == len(analysis.warnings)
    reference = [w for w in stages if w.startswith("reference segment of /data/dce_dwi_study/seg.nrrd is empty")]
    tensor = [w for w in stages if "the kurtosis tensor" in w]
    assert len(reference) == 1 and stages[reference[0]] == "segmentation"
    assert len(tensor) == 1 and stages[tensor[0]] == "diffusion"


def test_a_nan_voxel_is_located_and_counted_against_the_mask():
    from NACResistanceLib.errors import ImageError
    from NACResistanceLib.preprocessing import check_finite

    values = np.ones((6, 7, 8), np.float32)
    values[0, 1, 2] = np.nan  # background: z=0, y=1, x=2
    values[3, 3, 3] = np.inf  # inside the mask
    mask = np.zeros(values.shape, np.uint8)
    mask[2:5, 2:5, 2:5] = 1
    with pytest.raises(ImageError, match=r"image dce_01\.nrrd has 2 NaN or infinite voxels \(the first at voxel x, y, "
                                         r"z = 2, 1, 0, 1 of them inside mask seg\.nrrd\); replace them"):
        check_finite(sitk.GetImageFromArray(values), "dce_01.nrrd", mask=sitk.GetImageFromArray(mask),
                     mask_source="seg.nrrd")


def test_nan_inside_the_radiomics_crop_fails_the_exam_naming_file_count_and_first_voxel(cohort, light, tmp_path,
                                                                                        capsys):
    from NACResistanceLib.config import load_analysis_config
    from NACResistanceLib.io import load_exam
    from NACResistanceLib.pipeline.geometry import rois_on_grid
    from NACResistanceLib.preprocessing import crop_read_box

    exam = load_exam(read_manifest(cohort), 0)
    config = load_analysis_config(None)
    planted = [(15, 35, 1), (16, 35, 1)]  # (x, y, z): two slices below the ROIs, 7 columns from the tumour
    crop_index, crop_size = crop_read_box(exam.dce.roi_image, exam.tumor_mask, config.preprocessing)
    box = rois_on_grid(exam, exam.dce.roi_image, "DCE", config.map_margin_mm).box
    tumor = sitk.GetArrayViewFromImage(exam.tumor_mask)
    for voxel in planted:
        assert np.all(crop_index <= voxel) and np.all(np.less(voxel, crop_index + crop_size))  # read by radiomics
        assert not np.all((np.less_equal(box.index, voxel)) & np.less(voxel, np.add(box.index, box.size)))
        assert not tumor[voxel[::-1]]
    phases = [str(cohort.parent / p) for p in pd.read_csv(cohort, dtype=str).loc[0, "dce_phases"].split(";")]
    phase = sitk.Cast(sitk.ReadImage(phases[1]), sitk.sitkFloat32)  # the ROI phase (dce_roi_phase = 1)
    for voxel in planted:
        phase[voxel] = float("nan")
    phases[1] = str(tmp_path / "dce_01_nan.nrrd")
    sitk.WriteImage(phase, phases[1])
    manifest = edited_manifest(cohort, tmp_path / "m", rows=1, dce_phases=";".join(phases))
    out = tmp_path / "out"
    code, _, err = run(capsys, "extract", manifest, "--out", out, "--config", light, "--jobs", "1", "--progress", "none")
    message = pd.read_csv(out / "failures.csv").loc[0, "message"]
    assert code == 1 and "1 exams failed" in err
    assert (f"image {phases[1]} has 2 NaN or infinite voxels inside the radiomics crop (the first at voxel x, y, z = "
            "15, 35, 1, 0 of them inside mask ") in message
    assert "filters (Gaussian, wavelet, LoG) would carry them into the tumour's values" in message


def test_the_manifest_command_writes_a_file_and_checks_its_folder(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    exports = tmp_path / "dicom"
    exports.mkdir()
    code, _, err = run(capsys, "manifest", exports, "--out", blocker / "manifest.csv")
    assert code == 2 and f"output folder {blocker} is a file, not a folder; choose another --out" in err
    code, _, err = run(capsys, "manifest", exports, "--out", tmp_path)
    assert code == 2 and f"--out {tmp_path} is a folder; give a file name" in err
    existing = tmp_path / "manifest.csv"
    existing.write_text("old\n")  # an existing manifest file may be replaced: not refused as "a file"
    code, _, err = run(capsys, "manifest", exports, "--out", existing)
    assert "OutputError" not in err


def test_a_single_exam_prediction_says_why_an_input_is_missing(cohort, features, tmp_path, capsys):
    model = json.loads(DEMO_MODEL.read_text())
    parameters = json.loads((features / "analysis_parameters.json").read_text())  # light radiomics: a fast exam
    model["analysis_config"], model["analysis_sha256"] = parameters["analysis"], parameters["sha256"]
    model["radscore"]["features"] = [{"name": "dce_washout_mean", "coefficient": 1.0},
                                     {"name": "dki_rKa", "coefficient": 0.5}]
    model_path = tmp_path / "model.json"
    model_path.write_text(json.dumps(model))
    code, _, err = run(capsys, "predict", model_path, cohort, "--patient", "SYN0001", "--out", tmp_path / "p")
    line = last_error_line(err)
    assert code == 2 and "input 'dki_rKa' is missing" in line and "patient SYN0001, timepoint baseline" in line
    assert "the kurtosis tensor (MK, Ka, Kr) needs gradient directions" in line


@pytest.mark.parametrize("case,named", [
    ("empty", "mask seg.nrrd is empty (no nonzero voxel)"),
    ("too_small", "mask seg.nrrd has 2 ROI voxels, fewer than the minimum 10 (preprocessing key min_roi_voxels)"),
    ("disjoint", "occupy physical spaces that do not overlap"),
    ("outside", "ROI voxels of mask seg.nrrd lie outside image dce_01.nrrd"),
])
def test_mask_problems_that_already_worked_stay_named(case, named):
    from NACResistanceLib.errors import ImageError
    from NACResistanceLib.preprocessing import check_image_and_mask

    image = sitk.GetImageFromArray(np.ones((6, 6, 6), np.float32))
    values = np.zeros((6, 6, 6), np.uint8)
    if case == "too_small":
        values[2, 2, 2:4] = 1
    elif case in ("disjoint", "outside"):
        values[2:4, 2:4, 2:4] = 1
    mask = sitk.GetImageFromArray(values)
    if case == "disjoint":
        mask.SetOrigin((100.0, 0.0, 0.0))
    elif case == "outside":
        mask.SetOrigin((3.0, 0.0, 0.0))  # half of the ROI beyond the image's last column
    with pytest.raises(ImageError, match=re.escape(named)):
        check_image_and_mask(image, mask, image_source="dce_01.nrrd", mask_source="seg.nrrd", min_voxels=10
                             if case == "too_small" else 1)


def test_predict_checks_the_clinical_columns_the_model_needs_before_any_image(cohort, tmp_path, capsys):
    manifest = edited_manifest(cohort, tmp_path / "m")
    frame = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    frame["dose_intensity_pct"] = ""  # the demo model's combined terms include dose intensity
    write_manifest(frame, manifest)
    started = time.perf_counter()
    code, _, err = run(capsys, "predict", DEMO_MODEL, manifest, "--out", tmp_path / "p")
    assert code == 2 and time.perf_counter() - started < 10
    assert "needs the manifest column(s) dose_intensity_pct, which are empty for all 3 exams" in last_error_line(err)
    assert not (tmp_path / "p" / "extraction").exists()
