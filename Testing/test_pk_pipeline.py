"""The pharmacokinetics stage of analyze_exam on phantom exams (truth: the phantom's extended-Tofts tumour),
its refusals, its configuration and the manifest's acquisition columns."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from NACResistanceLib import io
from NACResistanceLib.config import load_analysis_config
from NACResistanceLib.errors import AcquisitionError, ConfigError
from NACResistanceLib.phantom import PhantomProtocol, make_exam
from NACResistanceLib.phantom.tissues import TISSUES, TUMOR
from NACResistanceLib.pipeline import analyze_exam

FAST = PhantomProtocol.small(n_post_phases=60, dce_interval_s=5.0)
"""5 s temporal resolution for 300 s: supports the extended Tofts model."""
TRUE_T1 = TISSUES[TUMOR].t1_ms


def _pk(**options) -> dict:
    return {"radiomics": False, "pharmacokinetics": {"mode": "auto", "baseline_t1_ms": TRUE_T1, **options}}


def test_default_configuration_has_no_pharmacokinetics():
    assert load_analysis_config().pharmacokinetics.mode == "off"
    analysis = analyze_exam(make_exam(1, 3, PhantomProtocol.small()).exam, {"radiomics": False})
    assert not [name for name in analysis.features if name.startswith("pk_")]
    assert "pharmacokinetics" not in analysis.provenance


def test_extended_tofts_on_a_fast_protocol_recovers_the_phantom_tumour():
    """Tumour-mean fit against the phantom's voxel-mean truth; bolus arrival 30 s (search step 1 s)."""
    synthetic = make_exam(1, 3, FAST)
    analysis = analyze_exam(synthetic.exam, _pk(model="extended_tofts"))
    f, truth = analysis.features, synthetic.truth
    assert f["pk_roi_delay_s"] == pytest.approx(30.0, abs=2.0)
    assert f["pk_roi_ktrans"] == pytest.approx(truth["tumor_voxel_mean_ktrans_per_min"], rel=0.15)
    assert f["pk_roi_ve"] == pytest.approx(truth["tumor_voxel_mean_ve"], abs=0.05)
    assert f["pk_roi_vp"] == pytest.approx(truth["tumor_voxel_mean_vp"], abs=0.025)
    assert f["pk_roi_r_squared"] > 0.99
    assert f["pk_ktrans_mean"] == pytest.approx(truth["tumor_voxel_mean_ktrans_per_min"], rel=0.25)
    assert set(analysis.maps) >= {"pk_ktrans", "pk_ve", "pk_kep", "pk_vp", "pk_r_squared"}
    assert analysis.units["pk_roi_ktrans"] == "1/min"
    assert analysis.provenance["pharmacokinetics"]["tr_ms"] == FAST.tr_ms


def test_seed_protocol_fits_tofts_and_refuses_vp_with_the_reason():
    exam = make_exam(2, 3, PhantomProtocol.small()).exam
    tofts = analyze_exam(exam, _pk())
    assert {"pk_roi_ktrans", "pk_roi_ve", "pk_roi_kep", "pk_ktrans_mean"} <= set(tofts.features)
    assert "pk_roi_vp" not in tofts.features
    extended = analyze_exam(exam, _pk(model="extended_tofts"))
    assert not [name for name in extended.features if name.startswith("pk_")]
    assert any("pk_* pharmacokinetic values omitted" in w and "51.3 s apart" in w for w in extended.warnings)
    with pytest.raises(AcquisitionError, match="required by the analysis configuration.*10 s apart"):
        analyze_exam(exam, _pk(model="extended_tofts", mode="required"))


def test_missing_flip_angle_and_tr_are_named():
    exam = make_exam(2, 3, PhantomProtocol.small()).exam
    exam = dataclasses.replace(exam, dce=dataclasses.replace(exam.dce, tr_ms=None, flip_angle_deg=None))
    analysis = analyze_exam(exam, _pk())
    assert any("dce_flip_angle_deg" in w and "dce_tr_ms" in w for w in analysis.warnings)


def test_configuration_rejects_unknown_model():
    with pytest.raises(ConfigError, match="pharmacokinetics.model"):
        load_analysis_config({"pharmacokinetics": {"model": "two_compartment"}})


def test_manifest_acquisition_columns_reach_the_dce_series(tmp_path):
    image = sitk.Image(4, 4, 2, sitk.sitkInt16)
    labels = sitk.Image(4, 4, 2, sitk.sitkUInt8)
    labels[1, 1, 0] = 1
    labels[2, 2, 1] = 2
    for name in ("pre.nrrd", "post.nrrd"):
        sitk.WriteImage(image, str(tmp_path / name))
    sitk.WriteImage(labels, str(tmp_path / "seg.nrrd"))
    row = {"patient_id": "P1", "exam_date": "2022-03-04", "dce_phases": "pre.nrrd;post.nrrd", "dce_times_s": "0;60",
           "segmentation": "seg.nrrd", "dce_tr_ms": "4.5", "dce_flip_angle_deg": "12"}
    pd.DataFrame([row, {**row, "patient_id": "P2", "dce_tr_ms": "", "dce_flip_angle_deg": ""}]).to_csv(
        tmp_path / "manifest.csv", index=False)
    manifest = io.read_manifest(tmp_path / "manifest.csv")
    given = io.load_exam(manifest, ("P1", "baseline")).dce
    assert (given.tr_ms, given.flip_angle_deg) == (4.5, 12.0)
    empty = io.load_exam(manifest, ("P2", "baseline")).dce
    assert (empty.tr_ms, empty.flip_angle_deg) == (None, None)
    pd.DataFrame([{**row, "dce_flip_angle_deg": "200"}]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(Exception, match="dce_flip_angle_deg"):
        io.read_manifest(tmp_path / "bad.csv")
    assert np.isfinite(manifest.frame["dce_tr_ms"].iloc[0])
