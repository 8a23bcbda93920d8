"""The phantom's files: byte-identical for one seed, readable through the manifest, labels consistent."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from NACResistanceLib import cli, io, labels
from NACResistanceLib.phantom import PhantomProtocol, make_cohort, make_exam

pytestmark = pytest.mark.slow
PROTOCOL = PhantomProtocol.small(second_reader=True, followup=True)


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    return make_cohort(3, 21, tmp_path_factory.mktemp("one_job"), PROTOCOL, jobs=1)


def test_same_seed_gives_byte_identical_files_with_any_number_of_workers(cohort, tmp_path):
    again = make_cohort(3, 21, tmp_path, PROTOCOL, jobs=2)
    first, second = _digests(cohort.parent), _digests(again.parent)
    assert len(first) == 3 * 2 * 15 + 4  # 15 files per exam; manifest, label table, truth.csv, truth.json
    assert first == second


def test_manifest_exam_equals_the_in_memory_exam(cohort):
    manifest = io.read_manifest(cohort)
    assert list(manifest.frame["timepoint"]) == ["baseline", "cycle2"] * 3
    loaded = io.load_exam(manifest, ("SYN0002", "cycle2"))
    memory = make_exam(1, 21, PROTOCOL, "cycle2").exam
    for a, b in zip(loaded.dce.phases + loaded.dwi.volumes, memory.dce.phases + memory.dwi.volumes):
        np.testing.assert_array_equal(sitk.GetArrayFromImage(a), sitk.GetArrayFromImage(b))
        assert a.GetSpacing() == pytest.approx(b.GetSpacing()) and a.GetOrigin() == pytest.approx(b.GetOrigin())
    for name in ("tumor_mask", "reference_mask", "tumor_mask_reader2", "adc"):
        np.testing.assert_allclose(sitk.GetArrayFromImage(getattr(loaded, name)),
                                   sitk.GetArrayFromImage(getattr(memory, name)), rtol=1e-12)
    assert loaded.dce.times_s == memory.dce.times_s and loaded.dwi.bvals == memory.dwi.bvals
    assert loaded.exam_date == memory.exam_date and loaded.clinical["er"] == memory.clinical["er"]


def test_outcome_columns_give_the_true_label(cohort):
    manifest = io.read_manifest(cohort)
    truth = pd.read_csv(cohort.parent / "truth" / "truth.csv")
    derived = labels.label_cohort(manifest.frame)
    assert list(derived["resistant"].astype(bool)) == list(truth["resistant"].astype(bool))


def test_truth_json_summarises_the_cohort(cohort):
    summary = json.loads((cohort.parent / "truth" / "truth.json").read_text())
    truth = pd.read_csv(cohort.parent / "truth" / "truth.csv")
    baseline = truth[truth.timepoint == "baseline"]
    assert summary["n_patients"] == 3
    assert summary["mean_true_probability"] == pytest.approx(baseline["probability"].mean())
    assert 0.0 <= summary["bayes_optimal_auc"] <= 1.0


def test_slicer_segmentation_has_named_segments(cohort):
    path = cohort.parent / "exams" / "SYN0001" / "baseline" / "segmentation.seg.nrrd"
    tumor = sitk.GetArrayFromImage(io.read_mask(path, "tumor"))
    label_map = sitk.GetArrayFromImage(io.read_mask(path.with_name("segmentation.nii.gz"), 1))
    np.testing.assert_array_equal(tumor, label_map)
    assert sitk.GetArrayFromImage(io.read_mask(path, "reference")).sum() > 0


def test_tensor_protocol_bvecs_round_trip(tmp_path):
    protocol = PhantomProtocol.small(scanner_adc=False).with_tensor()
    manifest = io.read_manifest(make_cohort(1, 4, tmp_path, protocol))
    loaded = io.load_exam(manifest, 0)
    memory = make_exam(0, 4, protocol).exam
    assert len(loaded.dwi.bvals) == 1 + 2 * protocol.tensor_directions
    np.testing.assert_allclose(loaded.dwi.bvecs, memory.dwi.bvecs, atol=1e-6)
    np.testing.assert_array_equal(loaded.dwi.signal_array(), memory.dwi.signal_array())


def test_command_line_writes_a_cohort(tmp_path):
    code = cli.main(["phantom", "--patients", "2", "--seed", "3", "--out", str(tmp_path), "--small",
                     "--jobs", "1", "--progress", "none", "--extra-bvalues", "--no-adc"])
    assert code == 0
    frame = io.read_manifest(tmp_path / "manifest.csv").frame
    assert list(frame["dwi_bvals"]) == ["0;800;1000;1500;2000"] * 2
    assert (frame["adc"] == "").all()
