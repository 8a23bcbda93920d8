"""Diffusion quantification against closed-form truth, DIPY's own fits and DIPY's bundled real DWI."""

from __future__ import annotations

import numpy as np
import pytest
from dipy.core.gradients import gradient_table
from dipy.data import get_fnames, get_sphere
from dipy.io.gradients import read_bvals_bvecs
from dipy.reconst import dki, msdki
from dipy.sims.voxel import multi_tensor_dki
from scipy.optimize import curve_fit

from NACResistanceLib.diffusion import (
    fit_adc,
    fit_dki,
    fit_mean_kurtosis,
    fit_roi_mean_kurtosis,
    map_statistics,
    relative_value,
)
from NACResistanceLib.errors import AcquisitionError

DI, DE = 0.99e-3, 2.26e-3
"""Intra- and extra-compartment diffusivities of DIPY's test_msdki, mm²/s."""


def two_compartment_truth(f, di=DI, de=DE):
    """MD = f·Di + (1−f)·De and MK = 3f(1−f)((Di−De)/MD)² (isotropic compartments)."""
    md = f * di + (1 - f) * de
    return md, 3 * f * (1 - f) * ((di - de) / md) ** 2


def kurtosis_signal(bvals, md, mk, s0=1000.0):
    """Signal of the kurtosis representation, S0·exp(−b·MD + b²·MD²·MK/6); bvals (n_b,), md/mk (n_vox,)."""
    md, mk = np.atleast_1d(md)[:, None], np.atleast_1d(mk)[:, None]
    return s0 * np.exp(-bvals * md + bvals**2 * md**2 * mk / 6)


def multi_shell_table(shells=(1000.0, 2000.0), n_dirs=30):
    """b=0 plus ``n_dirs`` directions (of DIPY's repulsion sphere) on each shell."""
    dirs = get_sphere(name="repulsion100").vertices[:n_dirs]
    bvals = np.concatenate([[0.0]] + [np.full(n_dirs, b) for b in shells])
    bvecs = np.concatenate([[[0.0, 0.0, 0.0]]] + [dirs] * len(shells))
    return bvals, bvecs


def rician(signal, sigma, rng):
    return np.hypot(signal + rng.normal(0, sigma, signal.shape), rng.normal(0, sigma, signal.shape))


# ---------------------------------------------------------------- mean-signal kurtosis, closed form
def test_mean_kurtosis_recovers_two_compartment_truth_noise_free():
    f = np.linspace(0.1, 0.9, 9)
    md, mk = two_compartment_truth(f)
    bvals = np.array([0.0, 500.0, 1000.0, 1500.0, 2000.0])
    result = fit_mean_kurtosis(kurtosis_signal(bvals, md, mk), bvals)
    np.testing.assert_allclose(result.md, md, rtol=1e-6)
    np.testing.assert_allclose(result.mk, mk, atol=1e-6)
    assert result.quality.all()


def test_mean_kurtosis_on_dipy_multi_compartment_signal_noise_free():
    """DIPY's simulator (two isotropic tensors, 30 directions x 2 shells) against the closed form."""
    bvals, bvecs = multi_shell_table()
    gtab = gradient_table(bvals, bvecs=bvecs)
    mevals = np.array([[DI] * 3, [DE] * 3])
    signals, truth = [], []
    for f in (0.2, 0.5, 0.8):
        signal, _, _ = multi_tensor_dki(gtab, mevals, S0=100, fractions=[f * 100, (1 - f) * 100], snr=None)
        signals.append(signal)
        truth.append(two_compartment_truth(f))
    result = fit_mean_kurtosis(np.array(signals), bvals)
    np.testing.assert_allclose(result.md, [t[0] for t in truth], rtol=1e-6)
    np.testing.assert_allclose(result.mk, [t[1] for t in truth], atol=1e-6)


def test_mean_kurtosis_noisy_voxels_within_bounds(rng):
    """Research-note setting: Di=0.5e-3, De=1.7e-3, f=0.5 (MK 0.893), b = 0/1000/2000/3000 with 3 volumes
    per non-zero b, Rician SNR 30 at b=0, 4000 voxels: |bias| < 0.02 and sd < 0.08 (note: 0.896 ± 0.059)."""
    md, mk = two_compartment_truth(0.5, 0.5e-3, 1.7e-3)
    bvals = np.array([0.0] + [1000.0] * 3 + [2000.0] * 3 + [3000.0] * 3)
    noisy = rician(np.repeat(kurtosis_signal(bvals, md, mk, s0=100.0), 4000, axis=0), 100 / 30, rng)
    result = fit_mean_kurtosis(noisy, bvals)
    assert abs(np.mean(result.mk) - mk) < 0.02
    assert np.std(result.mk) < 0.08
    assert abs(np.mean(result.md) / md - 1) < 0.02


def test_roi_level_kurtosis_usable_where_voxelwise_is_noise(rng):
    """b = 0/800/1000 (3 volumes per non-zero b), SNR 30, MK 0.893: voxel MK is noise (quality all False);
    the fit of the 900-voxel ROI-averaged signal (effective SNR ~900) is within 0.25 of the truth."""
    md, mk = two_compartment_truth(0.5, 0.5e-3, 1.7e-3)
    bvals = np.array([0.0] + [800.0] * 3 + [1000.0] * 3)
    noisy = rician(np.repeat(kurtosis_signal(bvals, md, mk, s0=100.0), 900, axis=0), 100 / 30, rng)
    voxelwise = fit_mean_kurtosis(noisy, bvals)
    assert not voxelwise.quality.any()
    assert np.std(voxelwise.mk) > 1.0  # per-voxel values are unusable at b <= 1000
    roi = fit_roi_mean_kurtosis(noisy, bvals, np.ones(len(noisy), bool))
    assert roi.n_voxels == 900 and roi.n_excluded == 0 and roi.source == "roi_averaged_signal"
    assert abs(roi.mk - mk) < 0.25
    assert abs(roi.md / md - 1) < 0.05


def test_mean_kurtosis_equals_dipy_msdki_on_crossing_fibres(rng):
    """Anisotropic two-fibre voxels from DIPY's simulator with noise: our vectorised fit = DIPY's loop."""
    bvals, bvecs = multi_shell_table((1000.0, 2000.0, 3000.0), 30)
    gtab = gradient_table(bvals, bvecs=bvecs)
    mevals = np.array([[0.00099, 0, 0], [0.00226, 0.00087, 0.00087]])
    signals = [multi_tensor_dki(gtab, mevals, S0=100, angles=[(90, 0), (a, 40)], fractions=[49, 51], snr=None)[0]
               for a in (0, 30, 60, 90)]
    data = rician(np.repeat(np.array(signals), 25, axis=0), 2.0, rng)
    ours = fit_mean_kurtosis(data, bvals)
    theirs = msdki.MeanDiffusionKurtosisModel(gtab).fit(data)
    np.testing.assert_allclose(ours.md, theirs.msd, rtol=1e-9)
    np.testing.assert_allclose(ours.mk, theirs.msk, rtol=1e-8, atol=1e-10)


def test_mean_kurtosis_refuses_two_bvalues():
    with pytest.raises(AcquisitionError, match="at least 3 distinct b-values"):
        fit_mean_kurtosis(np.ones((2, 2)), [0, 1000])


def test_zero_signal_voxels_are_excluded_and_counted():
    bvals = np.array([0.0, 500.0, 1000.0, 2000.0])
    signal = np.repeat(kurtosis_signal(bvals, *two_compartment_truth(0.5)), 3, axis=0)
    signal[1, 3] = 0.0
    result = fit_mean_kurtosis(signal, bvals)
    assert result.n_excluded == 1 and np.isnan(result.mk[1]) and np.isfinite(result.mk[[0, 2]]).all()
    assert not result.quality[1]


# ---------------------------------------------------------------- kurtosis tensor
def test_dki_spherical_tensor_gives_closed_form():
    """Two isotropic compartments: MK = Ka = Kr = the closed form, MD = f·Di + (1−f)·De."""
    bvals, bvecs = multi_shell_table()
    gtab = gradient_table(bvals, bvecs=bvecs)
    f = 0.4
    signal, _, _ = multi_tensor_dki(gtab, np.array([[DI] * 3, [DE] * 3]), S0=100,
                                    fractions=[f * 100, (1 - f) * 100], snr=None)
    md, mk = two_compartment_truth(f)
    result = fit_dki(signal[None], bvals, bvecs)
    for value in (result.mk, result.ak, result.rk):
        np.testing.assert_allclose(value, [mk], atol=1e-6)
    np.testing.assert_allclose(result.md, [md], rtol=1e-6)


def test_dki_matches_dipy_on_noisy_crossing_fibres(rng):
    bvals, bvecs = multi_shell_table()
    gtab = gradient_table(bvals, bvecs=bvecs)
    mevals = np.array([[0.00099, 0, 0], [0.00226, 0.00087, 0.00087]])
    signal, _, _ = multi_tensor_dki(gtab, mevals, S0=100, angles=[(90, 0), (90, 0)], fractions=[49, 51], snr=None)
    data = rician(np.repeat(signal[None], 20, axis=0), 2.0, rng).reshape(4, 5, -1)
    mask = np.ones((4, 5), bool)
    mask[0, 0] = False
    ours = fit_dki(data, bvals, bvecs, mask=mask)
    theirs = dki.DiffusionKurtosisModel(gtab, fit_method="WLS").fit(data[mask])
    np.testing.assert_allclose(ours.mk[mask], theirs.mk(), rtol=1e-10)
    np.testing.assert_allclose(ours.ak[mask], theirs.ak(), rtol=1e-10)
    np.testing.assert_allclose(ours.rk[mask], theirs.rk(), rtol=1e-10)
    np.testing.assert_allclose(ours.md[mask], theirs.md, rtol=1e-10)
    assert np.isnan(ours.mk[0, 0])


def test_dki_refuses_three_direction_acquisition():
    """b = 0/800/1000 with 3 orthogonal directions: DIPY would return MK 0.54 for a truth of 0.89; we refuse."""
    bvals = np.array([0, 800, 800, 800, 1000, 1000, 1000], float)
    bvecs = np.vstack([[0, 0, 0], np.eye(3), np.eye(3)])
    with pytest.raises(AcquisitionError, match=r"3 non-collinear gradient directions \(needs >= 15\)"):
        fit_dki(np.ones((2, 7)), bvals, bvecs)


def test_dki_refuses_single_shell_and_trace():
    bvals, bvecs = multi_shell_table((1000.0,), 30)
    with pytest.raises(AcquisitionError, match=r"1 non-zero b-value shell"):
        fit_dki(np.ones((1, bvals.size)), bvals, bvecs)
    with pytest.raises(AcquisitionError, match="trace-weighted"):
        fit_dki(np.ones((1, 3)), [0, 800, 1000], None)


# ---------------------------------------------------------------- DIPY's bundled real DWI
@pytest.fixture(scope="module")
def small_101d():
    import nibabel as nib

    image, bval_file, bvec_file = get_fnames(name="small_101D")
    bvals, bvecs = read_bvals_bvecs(str(bval_file), str(bvec_file))
    return np.asarray(nib.load(image).dataobj, dtype=np.float64), np.round(bvals, -2), bvecs


def test_small_101d_mean_kurtosis_equals_dipy(small_101d):
    data, bvals, bvecs = small_101d
    gtab = gradient_table(bvals, bvecs=bvecs)
    theirs = msdki.MeanDiffusionKurtosisModel(gtab).fit(data)
    ours = fit_mean_kurtosis(data, bvals)
    assert ours.n_excluded == 0  # zero volumes exist, but no shell mean is zero
    np.testing.assert_allclose(ours.md, theirs.msd, rtol=1e-8)
    np.testing.assert_allclose(ours.mk, theirs.msk, rtol=1e-7)
    assert 0.75 < np.median(ours.mk) < 1.15 and 6e-4 < np.median(ours.md) < 1.1e-3


def test_small_101d_tensor_kurtosis_equals_dipy(small_101d):
    data, bvals, bvecs = small_101d
    ours = fit_dki(data, bvals, bvecs)
    has_zero = (data <= 0).any(axis=-1)  # DIPY would clip these zeros to 1e-4 (ln = −9.2); we exclude them
    assert has_zero.sum() > 0 and ours.n_excluded == has_zero.sum() and np.isnan(ours.mk[has_zero]).all()
    theirs = dki.DiffusionKurtosisModel(gradient_table(bvals, bvecs=bvecs), fit_method="WLS").fit(data[~has_zero])
    # rtol 1e-5, not 1e-10: we renormalise the file's gradient vectors to unit length, DIPY uses them as read
    np.testing.assert_allclose(ours.mk[~has_zero], theirs.mk(), rtol=1e-5)
    np.testing.assert_allclose(ours.rk[~has_zero], theirs.rk(), rtol=1e-5)
    np.testing.assert_allclose(ours.ak[~has_zero], theirs.ak(), rtol=1e-5)
    np.testing.assert_allclose(ours.md[~has_zero], theirs.md, rtol=1e-5)
    assert 0.5 < np.nanmedian(ours.mk) < 1.0


# ---------------------------------------------------------------- ADC
@pytest.mark.parametrize("method", ["ols", "wls", "nls"])
def test_adc_noise_free_exact(method):
    bvals = np.array([0.0, 50.0, 400.0, 800.0, 800.0, 800.0])
    adc = np.array([0.5e-3, 1.1e-3, 2.5e-3])
    signal = 700.0 * np.exp(-adc[:, None] * bvals)
    result = fit_adc(signal.reshape(3, 1, -1), bvals, method=method)
    np.testing.assert_allclose(result.adc[:, 0], adc, rtol=1e-9)
    np.testing.assert_allclose(result.s0[:, 0], 700.0, rtol=1e-9)


def test_adc_nls_matches_scipy_curve_fit(rng):
    bvals = np.array([0.0, 200.0, 500.0, 800.0, 1000.0])
    signal = rician(np.repeat(500 * np.exp(-1.2e-3 * bvals)[None], 30, axis=0), 15.0, rng)
    ours = fit_adc(signal, bvals, method="nls")
    for voxel in range(len(signal)):
        (s0, d), _ = curve_fit(lambda b, s0, d: s0 * np.exp(-b * d), bvals, signal[voxel], p0=(500, 1e-3))
        np.testing.assert_allclose(ours.adc[voxel], d, rtol=1e-5)


def test_adc_noisy_wls_within_bounds(rng):
    """b = 0/800, SNR 50: mean ADC within 1% of 1.1e-3 mm²/s over 5000 voxels."""
    bvals = np.array([0.0, 800.0])
    signal = rician(np.repeat(100 * np.exp(-1.1e-3 * bvals)[None], 5000, axis=0), 2.0, rng)
    assert abs(np.mean(fit_adc(signal, bvals).adc) / 1.1e-3 - 1) < 0.01


def test_adc_excludes_noise_floor_voxels():
    bvals = np.array([0.0, 800.0])
    signal = np.array([[100.0, 41.0], [100.0, 3.0], [0.0, 0.0]])
    result = fit_adc(signal, bvals, min_signal=5.0)
    assert result.n_excluded == 2 and result.n_fitted == 1
    assert np.isnan(result.adc[1:]).all()
    np.testing.assert_allclose(result.adc[0], np.log(100 / 41) / 800)


def test_adc_refuses_single_bvalue():
    with pytest.raises(AcquisitionError, match="at least 2 distinct b-values"):
        fit_adc(np.ones((2, 2)), [800, 810])


# ---------------------------------------------------------------- statistics and relative values
def test_map_statistics_uses_percentiles_for_extremes():
    values = np.arange(101, dtype=float)
    stats = map_statistics(values, percentiles=(10, 90), robust_extreme_percentile=5)
    assert stats == {"mean": 50.0, "std": pytest.approx(np.std(values)), "median": 50.0,
                     "p10": 10.0, "p90": 90.0, "min_p5": 5.0, "max_p95": 95.0}


def test_relative_value_states_statistic():
    rel = relative_value(np.array([1.0, 2.0, 6.0]), np.array([4.0, 4.0]), "median")
    assert (rel.value, rel.tumor, rel.reference, rel.statistic) == (0.5, 2.0, 4.0, "median")
    assert relative_value(0.9, 0.6, "roi_averaged_signal").value == pytest.approx(1.5)
