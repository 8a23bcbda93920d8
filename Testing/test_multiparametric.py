"""Multiparametric radiomics: a T2-weighted series on its own grid, the tumour ROI carried onto it, features named
``t2w_<pyradiomics name>``; the phantom plants the T2-weighted contrast (tumour T2) that the features recover."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import SimpleITK as sitk

from NACResistanceLib import io
from NACResistanceLib.config import load_analysis_config
from NACResistanceLib.errors import ConfigError
from NACResistanceLib.phantom import PhantomProtocol, make_exam
from NACResistanceLib.pipeline import analyze_exam

CONFIG = {"radiomics_params": str(Path(__file__).parent / "Data" / "cohort_radiomics_light.yaml"),
          "preprocessing": {"normalization": "none", "gaussian_sigma_mm": 0.0},
          "multiparametric": {"series": ["t2w"]}}
"""Signal units (no z-score, no smoothing) so the first-order mean can be compared with the phantom's truth."""


def test_t2w_features_recover_the_planted_tumour_t2_contrast():
    """Same patient and noise, tumour T2 85 vs 150 ms (TE 100 ms): the t2w first-order mean of the carried ROI
    rises by 80-105 % of the true change of the lesion's mean noise-free signal (the rest: partial volume of the
    ROI drawn on the 2.5 × 2.5 × 6 mm DCE grid, carried onto the 2 × 2 × 5 mm T2 grid, with fat around)."""
    results = {}
    for t2_ms in (85.0, 150.0):
        synthetic = make_exam(3, 3, PhantomProtocol.small(t2w=True, t2w_tumor_t2_ms=t2_ms))
        results[t2_ms] = (synthetic.truth["tumor_t2w_signal"], analyze_exam(synthetic.exam, CONFIG))
    truth_change = results[150.0][0] - results[85.0][0]
    feature_change = (results[150.0][1].features["t2w_original_firstorder_Mean"]
                      - results[85.0][1].features["t2w_original_firstorder_Mean"])
    assert truth_change > 150.0
    assert 0.8 * truth_change < feature_change < 1.05 * truth_change
    analysis = results[85.0][1]
    t2w_names = sorted(n[len("t2w_"):] for n in analysis.features if n.startswith("t2w_"))
    assert t2w_names == sorted(n for n in analysis.features if n.startswith("original_"))
    transfer = analysis.provenance["roi_on_t2w"]
    assert transfer["voxels"] > 0 and transfer["lost_voxels"] >= 0 and transfer["gained_voxels"] >= 0


def test_missing_series_is_named_and_default_has_none():
    assert load_analysis_config().multiparametric.series == ()
    exam = make_exam(1, 3, PhantomProtocol.small()).exam
    analysis = analyze_exam(exam, CONFIG)
    assert not [n for n in analysis.features if n.startswith("t2w_")]
    assert any("the exam has no t2w series (manifest column t2w)" in w for w in analysis.warnings)
    with pytest.raises(ConfigError, match="multiparametric.series"):
        load_analysis_config({"multiparametric": {"series": ["dce_x"]}})


def test_manifest_t2w_and_named_series_columns(tmp_path):
    image = sitk.Image(4, 4, 2, sitk.sitkInt16)
    labels = sitk.Image(4, 4, 2, sitk.sitkUInt8)
    labels[1, 1, 0] = 1
    labels[2, 2, 1] = 2
    t2 = sitk.Image(6, 6, 3, sitk.sitkInt16)
    t2.SetSpacing((0.5, 0.5, 0.7))
    for name, written in (("pre.nrrd", image), ("post.nrrd", image), ("t2.nrrd", t2), ("flair.nrrd", t2)):
        sitk.WriteImage(written, str(tmp_path / name))
    sitk.WriteImage(labels, str(tmp_path / "seg.nrrd"))
    row = {"patient_id": "P1", "exam_date": "2022-03-04", "dce_phases": "pre.nrrd;post.nrrd", "dce_times_s": "0;60",
           "segmentation": "seg.nrrd", "t2w": "t2.nrrd", "series_flair": "flair.nrrd"}
    pd.DataFrame([row]).to_csv(tmp_path / "manifest.csv", index=False)
    exam = io.load_exam(io.read_manifest(tmp_path / "manifest.csv"), ("P1", "baseline"))
    assert sorted(exam.extra_series) == ["flair", "t2w"]
    assert exam.extra_series["t2w"].GetSpacing() == (0.5, 0.5, 0.7)
    assert exam.source("t2w").endswith("t2.nrrd")


def test_phantom_cohort_files_carry_t2w_and_the_dce_acquisition(tmp_path):
    """Written and read back: the manifest's t2w, dce_tr_ms and dce_flip_angle_deg reach the exam unchanged."""
    from NACResistanceLib.phantom import make_cohort

    protocol = PhantomProtocol.small(t2w=True)
    manifest = io.read_manifest(make_cohort(1, 5, tmp_path, protocol))
    exam = io.load_exam(manifest, 0)
    assert (exam.dce.tr_ms, exam.dce.flip_angle_deg) == (protocol.tr_ms, protocol.flip_angle_deg)
    in_memory = make_exam(0, 5, protocol).exam.extra_series["t2w"]
    assert sitk.GetArrayFromImage(exam.extra_series["t2w"]).tolist() == sitk.GetArrayFromImage(in_memory).tolist()
    assert exam.extra_series["t2w"].GetSpacing() == in_memory.GetSpacing()
