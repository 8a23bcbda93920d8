"""Values measured back from the phantom's noisy images match its truth within stated tolerances.

Small protocol (2.5 × 2.5 × 6 mm DCE, 4 × 4 × 6 mm DWI), default noise (DCE sigma 4, DWI SNR 40).
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from NACResistanceLib.phantom import PhantomProtocol, make_exam, make_patient
from NACResistanceLib.phantom.dce import spgr_signal
from NACResistanceLib.phantom.tissues import FIBROGLANDULAR, TISSUES, TUMOR
from NACResistanceLib.phantom.truth import roi_adc, roi_kurtosis_fit

PROTOCOL = PhantomProtocol.small(second_reader=True)


@pytest.fixture(scope="module")
def exams():
    return [make_exam(index, seed=5, protocol=PROTOCOL) for index in range(4)]


def _array(image: sitk.Image) -> np.ndarray:
    return sitk.GetArrayFromImage(image).astype(np.float64)


def test_tumor_time_intensity_curve_within_noise(exams):
    # ROI mean of n voxels: tolerance 4 standard errors, 4·sigma/sqrt(n)
    for synthetic in exams:
        tumor = _array(synthetic.tissues_dce) == TUMOR
        measured = np.array([_array(phase)[tumor].mean() for phase in synthetic.exam.dce.phases])
        truth = np.array([synthetic.truth[f"tumor_tic_{k}"] for k in range(7)])
        np.testing.assert_allclose(measured, truth, atol=4.0 * PROTOCOL.dce_noise_sd / np.sqrt(tumor.sum()))


def test_fibroglandular_precontrast_signal_is_the_spgr_value(exams):
    fgt = TISSUES[FIBROGLANDULAR]
    expected = spgr_signal(np.array(0.0), fgt.t1_ms, fgt.m0, PROTOCOL.tr_ms, PROTOCOL.flip_angle_deg)
    for synthetic in exams:
        mask = _array(synthetic.tissues_dce) == FIBROGLANDULAR
        assert _array(synthetic.exam.dce.phases[0])[mask].mean() == pytest.approx(float(expected), rel=0.005)


def _roi_fit(synthetic):
    tumor = _array(synthetic.tissues_dwi) == TUMOR
    b = np.array(synthetic.exam.dwi.bvals)
    mean_signal = np.array([_array(v)[tumor].mean() for v in synthetic.exam.dwi.volumes])
    return roi_kurtosis_fit(mean_signal, b), roi_adc(mean_signal, b), int(tumor.sum())


def test_roi_diffusion_fit_recovers_true_d_and_adc(exams):
    # Monte Carlo of the 3-b-value fit at SNR 40: sd(D)/D = 0.345/sqrt(n); tolerance 4 sd
    for synthetic in exams:
        (d, _), adc, n = _roi_fit(synthetic)
        assert d == pytest.approx(synthetic.truth["tumor_roi_d_mm2_s"], rel=4 * 0.345 / np.sqrt(n))
        assert adc == pytest.approx(synthetic.truth["tumor_roi_adc_mm2_s"], rel=4 * 0.2 / np.sqrt(n))


def test_roi_kurtosis_recovered_at_high_snr():
    # sd(K)/K = 1.2/sqrt(n) at SNR 40, ten times less at SNR 400; tolerance 4 sd
    for index in range(3):
        synthetic = make_exam(index, seed=5, protocol=PhantomProtocol.small(dwi_snr=400.0))
        (d, k), _, n = _roi_fit(synthetic)
        assert k == pytest.approx(synthetic.truth["tumor_roi_kurtosis"], rel=4 * 0.12 / np.sqrt(n))
        assert d == pytest.approx(synthetic.truth["tumor_roi_d_mm2_s"], rel=4 * 0.0345 / np.sqrt(n))


def test_scanner_adc_map_matches_true_adc(exams):
    for synthetic in exams:
        tumor = _array(synthetic.tissues_dwi) == TUMOR
        adc = _array(synthetic.exam.adc)[tumor].mean()  # Exam carries mm²/s
        assert adc == pytest.approx(synthetic.truth["tumor_roi_adc_mm2_s"], rel=0.05)


def test_masks_volume_and_longest_diameter(exams):
    for synthetic in exams:
        mask = synthetic.exam.tumor_mask
        voxel_mm3 = float(np.prod(mask.GetSpacing()))
        assert _array(mask).sum() * voxel_mm3 == synthetic.truth["tumor_volume_mm3"]
        assert synthetic.truth["tumor_longest_diameter_mm"] == pytest.approx(
            synthetic.patient.clinical["tumor_size_mm"], abs=0.05)
        assert _array(synthetic.exam.reference_mask).sum() > 0
        assert not np.any(_array(mask) * _array(synthetic.exam.reference_mask))


def test_second_reader_disagrees_realistically(exams):
    dice = [synthetic.truth["reader_dice"] for synthetic in exams]
    assert all(0.65 < d < 0.98 for d in dice), dice
    assert 0.78 < np.mean(dice) < 0.95


def test_resistant_tumours_are_more_heterogeneous_and_lower_adc():
    patients = [make_patient(i, 7) for i in range(400)]
    resistant = np.array([p.resistant for p in patients])
    sd = np.array([p.biology.field_sd for p in patients])
    assert sd[resistant].mean() > sd[~resistant].mean()


@pytest.mark.slow
def test_followup_shrinks_responders_and_keeps_non_responders():
    # default grid: small tumours on the small grid are too few voxels for a volume ratio
    patients = [make_patient(i, 5) for i in range(40)]
    responder = max(patients, key=lambda p: p.outcome["true_shrinkage"])
    stable = min(patients, key=lambda p: abs(p.outcome["true_shrinkage"]))
    for patient in (responder, stable):
        base = make_exam(patient.index, 5, PhantomProtocol(), "baseline").truth
        after = make_exam(patient.index, 5, PhantomProtocol(), "cycle2").truth
        shrink = patient.outcome["true_shrinkage"]
        diameter_ratio = after["tumor_longest_diameter_mm"] / base["tumor_longest_diameter_mm"]
        assert diameter_ratio == pytest.approx(1.0 - 0.5 * shrink, rel=1e-9)
        assert after["exam_date"] > base["exam_date"]
        volume_ratio = after["tumor_volume_mm3"] / base["tumor_volume_mm3"]
        if patient is stable:
            assert volume_ratio == pytest.approx((1.0 - 0.5 * shrink) ** 3, rel=0.15)
        else:
            assert volume_ratio < 0.6
            assert after["tumor_roi_adc_mm2_s"] > base["tumor_roi_adc_mm2_s"] * 1.1
            assert after["tumor_ktrans_per_min"] < base["tumor_ktrans_per_min"] * 0.7
