"""analyze_exam on one phantom exam: recovered ADC, kurtosis and SER against the phantom's truth."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import SimpleITK as sitk

from NACResistanceLib import pipeline
from NACResistanceLib.dce import KineticsModel
from NACResistanceLib.phantom import PhantomProtocol, make_exam
from NACResistanceLib.phantom.tissues import TUMOR


@pytest.fixture(scope="module")
def phantom():
    """Small protocol with b = 0/800/1000/1500/2000 (Rician SNR 40) and noise-free DCE."""
    protocol = PhantomProtocol.small(dce_noise_sd=0.0).with_extra_bvalues()
    return protocol, make_exam(0, 0, protocol)


def analysis_with_tissue_mask(synthetic, tissues: sitk.Image) -> pipeline.ExamAnalysis:
    """The tumour mask = the phantom's true tumour tissue on one grid (no outline or transfer error)."""
    exam = dataclasses.replace(synthetic.exam, tumor_mask=sitk.Cast(tissues == TUMOR, sitk.sitkUInt8))
    return pipeline.analyze_exam(exam, {"radiomics": False})


def test_diffusion_values_match_phantom_truth(phantom):
    _, synthetic = phantom
    truth = synthetic.truth
    f = analysis_with_tissue_mask(synthetic, synthetic.tissues_dwi).features
    # truth: fits of the noise-free tumour-mean signal; ours: noisy voxels (ADC mean of voxel WLS fits)
    assert f["adc_mean"] == pytest.approx(truth["tumor_roi_adc_mm2_s"], rel=0.03)
    assert f["dki_md_roi"] == pytest.approx(truth["tumor_roi_d_mm2_s"], rel=0.03)
    assert f["dki_mk_roi"] == pytest.approx(truth["tumor_roi_kurtosis"], rel=0.05)
    assert f["dki_rMD"] == pytest.approx(truth["true_rmd"], rel=0.05)


def test_curve_ser_and_pe_match_phantom_truth(phantom):
    """Noise-free DCE (int16 images): the tumour curve equals the phantom's noise-free tumour curve to the
    rounding (0.5); the voxel-mean SER equals the SER of that curve within 1 %; the mean of the voxel peak
    enhancements is at least the curve's peak enhancement (a mean of maxima) and within 10 % of it."""
    protocol, synthetic = phantom
    truth = synthetic.truth
    analysis = analysis_with_tissue_mask(synthetic, synthetic.tissues_dce)
    curve = np.array([truth[f"tumor_tic_{k}"] for k in range(len(protocol.dce_times_s))])
    np.testing.assert_allclose(analysis.curves["tumor"], curve, atol=0.5)
    expected = KineticsModel(protocol.dce_times_s, late_time_s=None).fit(curve[None])
    assert analysis.features["dce_ser_mean"] == pytest.approx(expected.ser[0], rel=0.01)
    assert expected.peak_enhancement[0] <= analysis.features["dce_pe_mean"] <= 1.10 * expected.peak_enhancement[0]


def test_tensor_kurtosis_matches_phantom_truth_noise_free():
    """Tensor protocol (b = 1000/2000, 15 directions each), noise-free: MK, Ka, Kr within 3 % of the phantom's
    closed-form tensor values (the phantom's voxel kurtosis varies around the tissue value the truth uses)."""
    synthetic = make_exam(0, 0, PhantomProtocol.small(dwi_snr=1e6).with_tensor())
    exam = dataclasses.replace(synthetic.exam, tumor_mask=sitk.Cast(synthetic.tissues_dwi == TUMOR, sitk.sitkUInt8))
    f = pipeline.analyze_exam(exam, {"radiomics": False, "diffusion": {"tensor_kurtosis": "required"}}).features
    for name in ("mk", "ak", "rk"):
        assert f[f"dki_tensor_{name}_mean"] == pytest.approx(synthetic.truth[f"tumor_tensor_{name}"], rel=0.03)
