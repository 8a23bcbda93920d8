"""DCE kinetics on analytic extended-Tofts curves (Parker 2006 AIF) with known timing."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import SimpleITK as sitk

from NACResistanceLib.dce import (
    KineticsModel,
    extended_tofts,
    functional_tumor_volume,
    parker_aif,
    time_intensity_curves,
)
from NACResistanceLib.errors import AcquisitionError
from NACResistanceLib.io import DceSeries

TIMES = np.array([0.0, 75.0, 150.0, 225.0, 300.0, 375.0, 450.0])
"""Phase times, s: pre-contrast then every 75 s; early = 150 s, late = 450 s (I-SPY ~2.5 / 7.5 min)."""
RELAXIVITY_GAIN = 2.0
"""Linear signal model S = S0·(1 + 2/mM·Ct), so E(t) = 200·Ct(t) % exactly."""
TISSUES = {  # (Ktrans 1/min, kep 1/min, vp) -> expected BI-RADS curve type
    "washout": ((1.0, 2.0, 0.05), 3),
    "plateau": ((0.4, 0.25, 0.02), 2),
    "persistent": ((0.15, 0.05, 0.01), 1),
    "non_enhancing": ((0.02, 0.05, 0.0), 0),
}


def tissue_concentrations():
    return np.array([extended_tofts(TIMES, ktrans_per_min=k, kep_per_min=kep, vp=vp, onset_s=30.0)
                     for (k, kep, vp), _ in TISSUES.values()])


def test_parker_aif_reproduces_published_peak():
    """Parker 2006 blood curve peaks at ~6 mM near 10 s (first-pass Gaussian A1/(σ1·√2π) ≈ 5.73 + tail)."""
    t = np.arange(0.0, 60.0, 0.01)
    blood = parker_aif(t, hematocrit=0.0)
    assert 9.5 < t[np.argmax(blood)] < 10.8
    assert 5.9 < blood.max() < 6.3


def test_kinetics_on_tofts_curves_give_documented_values():
    conc = tissue_concentrations()
    s0 = 250.0
    fit = KineticsModel(TIMES, early_time_s=150, late_time_s=450).fit(s0 * (1 + RELAXIVITY_GAIN * conc))
    early, late = 2, 6
    expected_e = 100 * RELAXIVITY_GAIN * conc
    peak = 1 + np.argmax(conc[:, 1:], axis=1)
    np.testing.assert_allclose(fit.initial_enhancement, expected_e[:, early], rtol=1e-12)
    np.testing.assert_allclose(fit.peak_enhancement, expected_e.max(axis=1), rtol=1e-12)
    np.testing.assert_allclose(fit.time_to_peak, TIMES[peak])
    np.testing.assert_allclose(fit.wash_in, expected_e.max(axis=1) / TIMES[peak], rtol=1e-12)
    np.testing.assert_allclose(fit.ser, conc[:, early] / conc[:, late], rtol=1e-12)
    expected_change = 100 * RELAXIVITY_GAIN * (conc[:, late] - conc[:, early]) / (1 + RELAXIVITY_GAIN * conc[:, early])
    np.testing.assert_allclose(fit.curve_change, expected_change, rtol=1e-12)
    assert fit.curve_type.tolist() == [code for _, code in TISSUES.values()]
    assert fit.ser[0] > 1.1 and fit.ser[2] < 0.9  # Hylton's SER bands agree with the curve types
    drop = (expected_e[0, peak[0]] - expected_e[0, -1]) / (TIMES[-1] - TIMES[peak[0]])
    np.testing.assert_allclose(fit.washout[[0, 2]], [drop, 0.0], rtol=1e-12)  # persistent peaks last -> 0
    assert fit.curve_composition() == {"non_enhancing": 0.25, "persistent": 0.25, "plateau": 0.25, "washout": 0.25}


def test_excluded_voxels_and_undefined_ser():
    signal = np.array([[0.0, 10.0, 20.0], [100.0, 150.0, 90.0], [100.0, 200.0, 180.0]])
    fit = KineticsModel([0, 120, 400]).fit(signal)
    assert fit.n_excluded == 1 and np.isnan(fit.peak_enhancement[0]) and fit.curve_type[0] == -1
    assert np.isnan(fit.ser[1])  # late signal below pre-contrast: SER undefined, not a number
    assert fit.ser[2] == pytest.approx(100 / 80)


def test_zero_baseline_voxels_are_nan_and_counted_without_warnings():
    signal = np.array([[0.0, 10.0, 20.0], [-5.0, 10.0, 20.0], [np.nan, 1.0, 2.0], [100.0, 200.0, 180.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fit = KineticsModel([0, 120, 400]).fit(signal)
        maps = [fit.initial_enhancement, fit.peak_enhancement, fit.time_to_peak, fit.wash_in, fit.washout,
                fit.ser, fit.curve_change]
        assert (fit.n_excluded, fit.n_nonpositive_baseline) == (3, 2)
        assert all(np.isnan(m[:3]).all() and np.isfinite(m[3]) for m in maps)
        assert fit.curve_type.tolist() == [-1, -1, -1, 2]  # E = 100 % >= 70 %; change −10 % within ±10 %: plateau
        assert fit.wash_in[3] == pytest.approx(100.0 / 120.0)  # E_peak 100 % at 120 s

        empty = KineticsModel([0, 120, 400]).fit(signal[:2])
        assert all(np.isnan(v) for v in empty.curve_composition().values())
        ftv = functional_tumor_volume(empty, voxel_volume_mm3=1.0)
        assert (ftv.n_voxels, ftv.volume_mm3) == (0, 0.0) and np.isnan(ftv.fraction)


def test_timing_checks():
    with pytest.raises(AcquisitionError, match=">= 2 post-contrast phases"):
        KineticsModel([0, 120])
    with pytest.raises(AcquisitionError, match="is not before late phase"):
        KineticsModel([0, 120, 240], early_time_s=240, late_time_s=120)
    model = KineticsModel([0, 60, 600, 900], early_time_s=150, late_time_s=450)
    assert model.early == 1 and model.late == 2
    assert any("early phase 1 at 60 s" in w for w in model.warnings)


def test_functional_tumor_volume_counts_thresholded_voxels():
    s0 = np.array([100.0, 100.0, 100.0, 5.0, 100.0])
    early = np.array([171.0, 169.0, 300.0, 50.0, 170.0])  # E = 71, 69, 200, 900 (background), 70 %
    signal = np.stack([s0, early, early], axis=-1)
    fit = KineticsModel([0, 150, 450]).fit(signal)
    ftv = functional_tumor_volume(fit, voxel_volume_mm3=2.5, pe_threshold_pct=70, background_pct=10)
    assert (ftv.n_voxels, ftv.volume_mm3, ftv.fraction) == (3, 7.5, 0.6)


def test_time_intensity_curves_are_roi_means():
    phases = []
    for value in (100.0, 180.0, 160.0):
        array = np.full((4, 5, 6), 50.0)
        array[1:3, 1:3, 1:3] = value
        phases.append(sitk.GetImageFromArray(array))
    dce = DceSeries(phases=tuple(phases), times_s=(0.0, 90.0, 400.0))
    tumor = np.zeros((4, 5, 6), bool)
    tumor[1:3, 1:3, 1:3] = True
    reference = np.zeros_like(tumor)
    reference[3, 4, :] = True
    curves = time_intensity_curves(dce, tumor, reference)
    assert curves.columns.tolist() == ["time_s", "tumor", "reference"]
    assert curves["tumor"].tolist() == [100.0, 180.0, 160.0] and curves["reference"].tolist() == [50.0] * 3


def test_phantom_dce_uses_the_library_tofts_model():
    """One implementation: the phantom's extended-Tofts curves are the library's, bit for bit; both equal
    adaptive quadrature of the defining integral (Testing/test_phantom_signals.py)."""
    from NACResistanceLib.phantom.dce import tofts_concentration

    times = np.array([0.0, 51.3, 102.6, 153.9, 205.2, 256.5, 307.8, 450.0])
    for ktrans, ve, vp in ((0.3, 0.4, 0.04), (1.2, 0.25, 0.08), (0.05, 0.5, 0.0)):
        theirs = tofts_concentration(ktrans, ve, vp, times, 30.0)[0]
        ours = extended_tofts(times, ktrans_per_min=ktrans, kep_per_min=ktrans / ve, vp=vp, onset_s=30.0)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
