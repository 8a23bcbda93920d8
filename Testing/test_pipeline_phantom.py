"""analyze_exam on one phantom exam: recovered ADC, kurtosis and SER against the phantom's truth."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import SimpleITK as sitk

from NACResistanceLib import pipeline
from NACResistanceLib.dce import KineticsModel
from NACResistanceLib.phantom import PhantomProtocol, make_exam
from NACResistanceLib.phantom.dwi import add_rician_noise
from NACResistanceLib.phantom.tissues import DWI_SIGNAL_SCALE, TUMOR


@pytest.fixture(scope="module")
def phantom():
    """Small protocol with b = 0/800/1000/1500/2000 (Rician SNR 40) and noise-free DCE."""
    protocol = PhantomProtocol.small(dce_noise_sd=0.0).with_extra_bvalues()
    return protocol, make_exam(0, 0, protocol)


def analysis_with_tissue_mask(synthetic, tissues: sitk.Image) -> pipeline.ExamAnalysis:
    """The tumour mask = the phantom's true tumour tissue on one grid (no outline or transfer error)."""
    exam = dataclasses.replace(synthetic.exam, tumor_mask=sitk.Cast(tissues == TUMOR, sitk.sitkUInt8))
    return pipeline.analyze_exam(exam, {"radiomics": False})


# Diffusion ROI values against the phantom's truth (fits of the noise-free tumour-mean signal).
DIFFUSION_TRUTH = {"adc_mean": "tumor_roi_adc_mm2_s", "dki_md_roi": "tumor_roi_d_mm2_s",
                   "dki_mk_roi": "tumor_roi_kurtosis", "dki_rMD": "true_rmd"}
NOISE_FREE_TOLERANCE = {"adc_mean": 0.02, "dki_md_roi": 0.005, "dki_mk_roi": 0.01, "dki_rMD": 0.005}
"""Relative, without noise (SNR 1e6). Measured: +1.3 %, +0.15 %, +0.29 %, +0.16 %. adc_mean is the mean of
voxel fits, the truth a fit of the mean signal: the tumour's voxel heterogeneity makes them differ by ~1 %."""
NOISY_SD = {"adc_mean": 0.0079, "dki_md_roi": 0.0122, "dki_mk_roi": 0.0290, "dki_rMD": 0.0187}
"""Standard deviation of the relative error at SNR 40 for patient 0 (51 tumour voxels): 300 Rician noise
realisations of the same noise-free series as in test_diffusion_noise_spread_and_bias (mean errors +1.2 %,
-0.05 %, +0.8 %, -0.3 %, standard errors <= 0.17 %); that test re-derives it from 40 realisations."""
NOISY_BOUND_SDS = 4.0
"""A single noisy realisation must lie within the noise-free tolerance + 4 SD of the truth."""


def relative_errors(features, truth) -> dict[str, float]:
    return {name: features[name] / truth[key] - 1.0 for name, key in DIFFUSION_TRUTH.items()}


def test_diffusion_values_match_phantom_truth_noise_free():
    synthetic = make_exam(0, 0, PhantomProtocol.small(dce_noise_sd=0.0, dwi_snr=1e6).with_extra_bvalues())
    errors = relative_errors(analysis_with_tissue_mask(synthetic, synthetic.tissues_dwi).features, synthetic.truth)
    for name, error in errors.items():
        assert abs(error) <= NOISE_FREE_TOLERANCE[name], (name, error)


def test_diffusion_values_within_the_noise_bound_of_phantom_truth(phantom):
    _, synthetic = phantom
    errors = relative_errors(analysis_with_tissue_mask(synthetic, synthetic.tissues_dwi).features, synthetic.truth)
    for name, error in errors.items():
        assert abs(error) <= NOISE_FREE_TOLERANCE[name] + NOISY_BOUND_SDS * NOISY_SD[name], (name, error)


def test_diffusion_noise_spread_and_bias():
    """40 Rician realisations (SNR 40) of patient 0's noise-free DWI: the spread matches NOISY_SD (an SD
    from 40 draws has a relative standard error of 1/sqrt(78) = 11 %: ±30 % is ±2.7 SE) and the mean error
    is within the noise-free tolerance + 3 standard errors (the noise does not bias the ROI values)."""
    synthetic = make_exam(0, 0, PhantomProtocol.small(dce_noise_sd=0.0, dwi_snr=1e6).with_extra_bvalues())
    clean = [sitk.GetArrayFromImage(v).astype(np.float64) for v in synthetic.exam.dwi.volumes]
    rng = np.random.default_rng(2026)
    samples = []
    for _ in range(40):
        volumes = []
        for array, original in zip(clean, synthetic.exam.dwi.volumes):
            image = sitk.GetImageFromArray(np.round(add_rician_noise(array, DWI_SIGNAL_SCALE / 40.0, rng)).astype(np.int16))
            image.CopyInformation(original)
            volumes.append(image)
        dwi = dataclasses.replace(synthetic.exam.dwi, volumes=tuple(volumes))
        noisy = dataclasses.replace(synthetic, exam=dataclasses.replace(synthetic.exam, dwi=dwi, adc=None))
        samples.append(relative_errors(analysis_with_tissue_mask(noisy, synthetic.tissues_dwi).features, synthetic.truth))
    for name in DIFFUSION_TRUTH:
        errors = np.array([sample[name] for sample in samples])
        sd = errors.std(ddof=1)
        assert 0.7 * NOISY_SD[name] <= sd <= 1.3 * NOISY_SD[name], (name, sd)
        assert abs(errors.mean()) <= NOISE_FREE_TOLERANCE[name] + 3 * sd / np.sqrt(errors.size), (name, errors.mean())


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
