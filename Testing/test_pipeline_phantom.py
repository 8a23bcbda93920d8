"""analyze_exam on one phantom exam: recovered ADC, kurtosis and SER against the phantom's truth."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import SimpleITK as sitk

from NACResistanceLib import pipeline
from NACResistanceLib.dce import KineticsModel
from NACResistanceLib.phantom import PhantomProtocol, make_exam
from NACResistanceLib.phantom.dce import spgr_signal, tofts_concentration
from NACResistanceLib.phantom.tissues import TISSUES, TUMOR


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


def test_ser_and_pe_match_phantom_truth(phantom):
    """Noise-free DCE: the tumour-mean SER / PE equal those of the mean-parameter Tofts+SPGR curve within 2 %
    (the tumour's parameters vary in space, so the two differ slightly)."""
    protocol, synthetic = phantom
    truth = synthetic.truth
    f = analysis_with_tissue_mask(synthetic, synthetic.tissues_dce).features
    times = np.asarray(protocol.dce_times_s)
    conc = tofts_concentration(truth["tumor_voxel_mean_ktrans_per_min"], truth["tumor_voxel_mean_ve"],
                               truth["tumor_voxel_mean_vp"], times, protocol.bolus_arrival_s)
    curve = spgr_signal(conc, TISSUES[TUMOR].t1_ms, TISSUES[TUMOR].m0, protocol.tr_ms, protocol.flip_angle_deg)
    expected = KineticsModel(times, late_time_s=None).fit(curve)
    assert f["dce_ser_mean"] == pytest.approx(expected.ser[0], rel=0.02)
    assert f["dce_pe_mean"] == pytest.approx(expected.peak_enhancement[0], rel=0.02)
