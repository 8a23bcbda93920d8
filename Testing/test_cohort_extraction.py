"""Cohort extraction on a small synthetic cohort: reference values, parallel equivalence, resume, failures.

The reference of every check is the uninterrupted in-process run (``jobs=1``), itself checked
exam by exam against a direct call of ``pipeline.analyze_exam``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from light_cohort import LIGHT_COHORT_PATIENTS, LIGHT_PARAMS, light_config, light_yaml

from NACResistanceLib import io, pipeline, threads
from NACResistanceLib.cli import main as cli_main
from NACResistanceLib.cohort import read_feature_table, run_extraction
from NACResistanceLib.cohort.runner import write_table
from NACResistanceLib.config import load_analysis_config


def test_cohort_rows_equal_direct_pipeline_calls(light_cohort, light_reference):
    manifest = io.read_manifest(light_cohort)
    config = load_analysis_config(light_config())
    assert light_reference.ok and light_reference.n_computed == LIGHT_COHORT_PATIENTS and light_reference.n_cached == 0
    assert list(light_reference.features.index.get_level_values("patient_id")) == list(manifest.frame["patient_id"])
    for row in (0, LIGHT_COHORT_PATIENTS - 1):
        with threads.limit(1):  # the runner's thread context: BLAS/SimpleITK reductions follow the thread count
            direct = pipeline.analyze_exam(io.load_exam(manifest, row), config).features
        cached = light_reference.features.iloc[row]
        assert list(cached.index) == list(direct)
        assert cached.to_numpy().tolist() == pytest.approx(list(direct.values()), rel=0, abs=0, nan_ok=True)
    written = read_feature_table(light_reference.features_path)
    pd.testing.assert_frame_equal(written, light_reference.features, check_exact=True)
    dictionary = pd.read_csv(light_reference.features_path.parent / "feature_dictionary.csv")
    assert dictionary.loc[dictionary["feature"] == "tumor_volume_mm3", "unit"].item() == "mm³"


def test_rerun_takes_every_exam_from_the_cache(light_cohort, light_reference, tmp_path):
    out = tmp_path / "rerun"
    shutil.copytree(light_reference.features_path.parent, out)
    before = _cache_state(out)
    again = run_extraction(light_cohort, out, light_config(), jobs=1)
    assert (again.n_cached, again.n_computed) == (LIGHT_COHORT_PATIENTS, 0)
    assert _cache_state(out) == before
    assert again.features_path.read_bytes() == light_reference.features_path.read_bytes()


@pytest.mark.slow
def test_editing_a_referenced_parameter_file_recomputes_and_touching_it_does_not(light_cohort, light_reference, tmp_path):
    out = tmp_path / "rerun"
    shutil.copytree(light_reference.features_path.parent, out)
    params = tmp_path / "my_params.yaml"
    params.write_text(LIGHT_PARAMS.read_text(encoding="utf-8"), encoding="utf-8")
    analysis = tmp_path / "analysis.yaml"
    analysis.write_text("radiomics_params: my_params.yaml\n", encoding="utf-8")
    os.utime(params, (1_000_000_000, 1_000_000_000))  # touched: same content, other time stamp and path
    again = run_extraction(light_cohort, out, analysis, jobs=1)
    assert (again.n_cached, again.n_computed) == (LIGHT_COHORT_PATIENTS, 0)
    params.write_text(LIGHT_PARAMS.read_text(encoding="utf-8").replace("binWidth: 0.25", "binWidth: 0.5"),
                      encoding="utf-8")
    edited = run_extraction(light_cohort, out, analysis, jobs=1)
    assert (edited.n_cached, edited.n_computed) == (0, LIGHT_COHORT_PATIENTS)
    contrast = "original_glcm_Contrast"
    assert not np.allclose(edited.features[contrast], light_reference.features[contrast])
    assert edited.features["adc_mean"].tolist() == light_reference.features["adc_mean"].tolist()
    record = json.loads((out / "analysis_parameters.json").read_text())
    assert record["analysis"]["radiomics_params"]["content"]["setting"]["binWidth"] == 0.5


@pytest.mark.slow
def test_two_worker_processes_give_the_same_table(light_cohort, light_reference, tmp_path):
    result = run_extraction(light_cohort, tmp_path, light_config(), jobs=2)
    assert result.n_computed == LIGHT_COHORT_PATIENTS
    assert result.features_path.read_bytes() == light_reference.features_path.read_bytes()


@pytest.mark.slow
def test_dask_cluster_on_loopback_gives_the_same_table(light_cohort, light_reference, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                      host="127.0.0.1", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        result = run_extraction(light_cohort, tmp_path, light_config(), scheduler=cluster.scheduler_address)
    assert result.n_computed == LIGHT_COHORT_PATIENTS
    assert result.features_path.read_bytes() == light_reference.features_path.read_bytes()


@pytest.mark.slow
def test_sigkill_then_restart_gives_the_uninterrupted_table_without_recomputing(light_cohort, light_reference, tmp_path):
    out, config = tmp_path / "killed", tmp_path / "light.yaml"
    config.write_text(f"radiomics_params: {LIGHT_PARAMS}\n")
    command = [sys.executable, "-m", "NACResistanceLib.cli", "extract", str(light_cohort), "--out", str(out),
               "--config", str(config), "--jobs", "2", "--progress", "log"]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _kill_after_first_finished_exam(process, out / "cache")
    finished = _cache_state(out)
    assert 1 <= len(finished) < LIGHT_COHORT_PATIENTS, "the run must be killed part-way"
    (out / "cache" / ".tmp-interrupted.json").write_text('{"features": {')  # a write cut short
    resumed = run_extraction(light_cohort, out, light_config(), jobs=1)
    assert (resumed.n_cached, resumed.n_computed) == (len(finished), LIGHT_COHORT_PATIENTS - len(finished))
    after = _cache_state(out)
    assert {name: after[name] for name in finished} == finished  # same inode and mtime: not rewritten
    assert resumed.features_path.read_bytes() == light_reference.features_path.read_bytes()
    assert not list((out / "cache").glob(".tmp-*"))


def test_a_bad_exam_is_listed_and_the_rest_completes(light_cohort, light_reference, tmp_path, capsys):
    broken = tmp_path / "cohort"
    shutil.copytree(light_cohort.parent, broken)
    manifest = io.read_manifest(broken / "manifest.csv")
    segmentation = manifest.resolve(manifest.frame.loc[1, "segmentation"])
    segmentation.write_bytes(b"not an image")
    code = cli_main(["extract", str(broken / "manifest.csv"), "--out", str(tmp_path / "out"), "--jobs", "1",
                     "--config", str(light_yaml(tmp_path)), "--progress", "none"])
    assert code == 1
    assert "1 exams failed" in capsys.readouterr().err
    failures = pd.read_csv(tmp_path / "out" / "failures.csv")
    assert failures[["patient_id", "timepoint"]].values.tolist() == [[manifest.frame.loc[1, "patient_id"], "baseline"]]
    assert segmentation.name in failures.loc[0, "message"] and "manifest row 3" in failures.loc[0, "message"]
    assert failures.loc[0, "error_type"] == "InputFileError"
    table = read_feature_table(tmp_path / "out" / "features.csv")
    expected = light_reference.features.drop(index=light_reference.features.index[1])
    pd.testing.assert_frame_equal(table, expected, check_exact=True)


def _cache_state(out: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "cache").glob("*.json")
            if not p.name.startswith(".tmp-")}


def _kill_after_first_finished_exam(process: subprocess.Popen, cache_dir: Path, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if any(not p.name.startswith(".tmp-") for p in cache_dir.glob("*.json")):
                break
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the command and its worker processes
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, f"extraction ended before the kill (exit {process.returncode})"


def test_feature_tables_read_back_bit_identical(tmp_path):
    # 239.80312627655172 came back as ...175 through pandas 2.x's default CSV float parser
    values = [239.80312627655172, 1.0000000000000002e-3, 5e-324, float("nan"), float("inf"), -0.0]
    index = pd.MultiIndex.from_tuples([("007", "baseline")], names=["patient_id", "timepoint"])
    frame = pd.DataFrame([values], index=index, columns=[f"f{i}" for i in range(len(values))])
    path = write_table(frame, tmp_path / "features.csv", index=True)
    pd.testing.assert_frame_equal(read_feature_table(path), frame, check_exact=True)
    assert read_feature_table(path).index[0] == ("007", "baseline")  # ids stay text, as in the manifest
