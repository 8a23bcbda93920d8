"""The phantom's signal models against independent references.

* Extended Tofts with the Parker AIF: the convolution integral by adaptive quadrature
  (scipy.integrate.quad) of its definition.
* Spoiled gradient echo: its limits (full relaxation: S = M0·sin α; the Ernst angle arccos(E1)
  maximises the signal).
* Kurtosis model: the noise-free images equal S0·exp(−bD + b²D²K/6) with the truth's D and K, and
  the two-compartment closed form MK = 3f(1−f)((Di−De)/MD)² of DIPY's tests is reproduced by the
  ROI fit at low b.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk
from scipy.integrate import quad

from NACResistanceLib.phantom import PhantomProtocol, make_exam
from NACResistanceLib.phantom.dce import parker_aif, spgr_signal, tofts_concentration
from NACResistanceLib.phantom.dwi import (
    add_rician_noise,
    kurtosis_signal,
    tensor_kurtosis_metrics,
    tensor_signal,
)
from NACResistanceLib.phantom.patient import stream
from NACResistanceLib.phantom.tissues import DWI_SIGNAL_SCALE, FIBROGLANDULAR, TISSUES, TUMOR
from NACResistanceLib.phantom.truth import roi_kurtosis_fit
from NACResistanceLib.phantom.tumor import sample_tumor_fields

TIMES = np.arange(7) * 51.3
ARRIVAL = 30.0


def quad_tofts(ktrans_per_min: float, ve: float, vp: float, t: float) -> float:
    """Extended Tofts at one time t (s) by adaptive quadrature of its defining integral."""
    def cp(s: float) -> float:
        return float(parker_aif(np.array([s]), ARRIVAL)[0])

    if t <= ARRIVAL:
        return vp * cp(t)
    kep = ktrans_per_min / ve / 60.0
    integral = quad(lambda s: cp(s) * math.exp(-kep * (t - s)), ARRIVAL, t, limit=400,
                    points=[ARRIVAL + 10.2, ARRIVAL + 21.9])[0]
    return vp * cp(t) + ktrans_per_min / 60.0 * integral


@pytest.mark.parametrize("params", [(0.25, 0.35, 0.04), (0.03, 0.30, 0.01), (0.6, 0.2, 0.08)])
def test_tofts_concentration_equals_quadrature(params):
    computed = tofts_concentration(*params, TIMES, ARRIVAL)[0]
    reference = np.array([quad_tofts(*params, t) for t in TIMES])
    np.testing.assert_allclose(computed, reference, rtol=1e-3, atol=1e-5)


def test_parker_aif_is_zero_before_arrival_and_peaks_in_first_pass():
    t = np.arange(0.0, 120.0, 0.1)
    cp = parker_aif(t, ARRIVAL)
    assert np.all(cp[t < ARRIVAL] == 0.0)
    # Parker 2006: first-pass blood peak ~6 mM about 10 s (0.17 min) after arrival
    assert t[np.argmax(cp)] == pytest.approx(ARRIVAL + 10.2, abs=0.5)
    assert cp.max() * (1.0 - 0.42) == pytest.approx(6.0, rel=0.1)


def test_spgr_limits():
    # TR >> T1: full relaxation, S = scale * M0 * sin(alpha)
    full = spgr_signal(np.array(0.0), 100.0, 1.0, tr_ms=1e5, flip_angle_deg=30.0)
    assert full / spgr_signal(np.array(0.0), 100.0, 1.0, tr_ms=1e5, flip_angle_deg=90.0) == pytest.approx(0.5)
    # the Ernst angle arccos(exp(-TR/T1)) maximises the signal
    ernst = math.degrees(math.acos(math.exp(-4.5 / 1445.0)))
    angles = np.array([ernst - 1.0, ernst, ernst + 1.0])
    signals = [float(spgr_signal(np.array(0.0), 1445.0, 1.0, 4.5, a)) for a in angles]
    assert signals[1] > signals[0] and signals[1] > signals[2]


@pytest.fixture(scope="module")
def noise_free():
    protocol = PhantomProtocol.small(dce_noise_sd=0.0, dwi_snr=math.inf, scanner_adc=False)
    return make_exam(3, seed=11, protocol=protocol)


def test_fibroglandular_voxel_dce_curve_equals_analytic_tofts(noise_free):
    tissues = sitk.GetArrayFromImage(noise_free.tissues_dce)
    voxel = tuple(np.argwhere(tissues == FIBROGLANDULAR)[0])
    curve = np.array([sitk.GetArrayFromImage(p)[voxel] for p in noise_free.exam.dce.phases], dtype=float)
    fgt = TISSUES[FIBROGLANDULAR]
    concentration = np.array([quad_tofts(noise_free.truth["bpe_ktrans_per_min"], fgt.ve, fgt.vp, t) for t in TIMES])
    expected = spgr_signal(concentration, fgt.t1_ms, fgt.m0, 4.5, 12.0)
    np.testing.assert_allclose(curve, expected, atol=0.5 + 1e-3 * expected.max())  # int16 rounding


def test_tumor_voxel_dce_curve_equals_analytic_tofts(noise_free):
    tissues = sitk.GetArrayFromImage(noise_free.tissues_dce)
    voxels = np.argwhere(tissues == TUMOR)
    z, y, x = (int(v) for v in voxels[len(voxels) // 2])
    point = np.array([noise_free.tissues_dce.TransformIndexToPhysicalPoint((x, y, z))])
    fields = sample_tumor_fields(stream(11, 3, "fields"))
    params = {name: float(v[0]) for name, v in fields.parameters(noise_free.patient.biology, point).items()}
    curve = np.array([sitk.GetArrayFromImage(p)[z, y, x] for p in noise_free.exam.dce.phases], dtype=float)
    concentration = np.array([quad_tofts(params["ktrans_per_min"], params["ve"], params["vp"], t) for t in TIMES])
    expected = spgr_signal(concentration, TISSUES[TUMOR].t1_ms, TISSUES[TUMOR].m0, 4.5, 12.0)
    assert curve[1] > 2 * curve[0]  # an enhancing voxel
    np.testing.assert_allclose(curve, expected, atol=0.5 + 1e-3 * expected.max())


def test_fibroglandular_voxel_dwi_equals_kurtosis_model(noise_free):
    tissues = sitk.GetArrayFromImage(noise_free.tissues_dwi)
    voxel = tuple(np.argwhere(tissues == FIBROGLANDULAR)[0])
    signal = np.array([sitk.GetArrayFromImage(v)[voxel] for v in noise_free.exam.dwi.volumes], dtype=float)
    b = np.array(noise_free.exam.dwi.bvals)
    d, k = noise_free.truth["reference_d_mm2_s"], noise_free.truth["reference_kurtosis"]
    expected = DWI_SIGNAL_SCALE * TISSUES[FIBROGLANDULAR].s0_dwi * np.exp(-b * d + b**2 * d**2 * k / 6.0)
    np.testing.assert_allclose(signal, expected, atol=0.5)


def test_tumor_voxels_invert_to_the_true_mean_diffusion_parameters(noise_free):
    tissues = sitk.GetArrayFromImage(noise_free.tissues_dwi)
    signal = noise_free.exam.dwi.signal_array()[tissues == TUMOR]
    b = np.array(noise_free.exam.dwi.bvals)
    fits = np.array([roi_kurtosis_fit(s, b) for s in signal])
    # three b-values determine D and K exactly up to int16 rounding of S (~0.3% of S at b=1000)
    assert fits[:, 0].mean() == pytest.approx(noise_free.truth["tumor_voxel_mean_d_mm2_s"], rel=0.01)
    assert fits[:, 1].mean() == pytest.approx(noise_free.truth["tumor_voxel_mean_kurtosis"], rel=0.05)


def test_roi_kurtosis_fit_reproduces_two_compartment_closed_form():
    # DIPY test_msdki oracle: MD = f Di + (1-f) De, MK = 3 f (1-f) ((Di - De)/MD)^2 (small-b limit)
    f, di, de = 0.5, 0.5e-3, 1.7e-3
    b = np.array([0.0, 50.0, 100.0, 150.0])
    signal = f * np.exp(-b * di) + (1 - f) * np.exp(-b * de)
    md = f * di + (1 - f) * de
    d, k = roi_kurtosis_fit(signal, b)
    assert d == pytest.approx(md, rel=2e-3)
    assert k == pytest.approx(3 * f * (1 - f) * ((di - de) / md) ** 2, rel=0.03)


def test_tensor_signal_averages_to_trace_model_for_isotropic_tissue():
    b = np.full(30, 1000.0)
    rng = np.random.default_rng(0)
    g = rng.normal(size=(30, 3))
    g /= np.linalg.norm(g, axis=1)[:, None]
    tensor = tensor_signal([1.0], [1.1e-3], [0.9], [0.0], [[1.0, 0.0, 0.0]], b, g)
    np.testing.assert_allclose(tensor[0], kurtosis_signal([1.0], [1.1e-3], [0.9], [1000.0])[0, 0], rtol=1e-12)


def test_tensor_kurtosis_metrics_closed_forms():
    metrics = tensor_kurtosis_metrics(0.9, 0.0)
    assert metrics == pytest.approx({"mk": 0.9, "ak": 0.9, "rk": 0.9})
    anisotropic = tensor_kurtosis_metrics(0.9, 0.1)
    assert anisotropic["ak"] == pytest.approx(0.9 / 1.2**2)
    assert anisotropic["rk"] == pytest.approx(0.9 / 0.9**2)
    assert anisotropic["ak"] < anisotropic["mk"] < anisotropic["rk"]


def test_tumor_dwi_parameters_are_literature_malignant_values():
    # Wu et al. 2014: malignant MK 0.88, MD 1.20e-3 mm2/s; the tumour row must stay near them
    assert TISSUES[TUMOR].kurtosis == pytest.approx(0.88, abs=0.05)
    assert TISSUES[TUMOR].d_mm2_s == pytest.approx(1.20e-3, rel=0.1)


@pytest.mark.parametrize("snr", [0.0, 1.0, 3.0])
def test_rician_noise_has_the_closed_form_mean(snr):
    # E|S + sigma(n1 + i n2)| = sigma sqrt(pi/2) e^(-x/2) [(1 + x) I0(x/2) + x I1(x/2)], x = S²/(2 sigma²)
    from scipy.special import i0e, i1e

    sigma = 4.0
    signal = np.full(400_000, snr * sigma, dtype=np.float32)
    noisy = add_rician_noise(signal, sigma, np.random.default_rng(3))
    x = snr**2 / 2.0
    expected = sigma * math.sqrt(math.pi / 2.0) * ((1 + x) * i0e(x / 2) + x * i1e(x / 2))
    assert noisy.mean() == pytest.approx(expected, rel=3e-3)
    assert noisy.dtype == np.float32


def test_protocol_refuses_what_it_cannot_acquire():
    from NACResistanceLib.errors import ConfigError

    with pytest.raises(ConfigError, match="15 directions"):
        PhantomProtocol(tensor_shells=(1000.0, 2000.0), tensor_directions=6)
    with pytest.raises(ConfigError, match=r"shells \(1000.0,\)"):
        PhantomProtocol(tensor_shells=(1000.0,))
    with pytest.raises(ConfigError, match="dwi_snr"):
        PhantomProtocol(dwi_snr=0.0)
    with pytest.raises(ConfigError, match="timepoint 'cycle9'"):
        make_exam(0, 0, PhantomProtocol.small(), "cycle9")


def test_seed_protocol_geometry_and_timing():
    protocol = PhantomProtocol()
    assert protocol.dce_times_s == (0.0, 51.3, 102.6, 153.9, 205.2, 256.5, 307.8)
    assert protocol.dce_grid.spacing == (1.25, 1.25, 4.4) and protocol.dce_grid.size == (256, 112, 32)
    assert protocol.dwi_grid.spacing == (2.0, 2.0, 4.0) and protocol.dwi_grid.origin != protocol.dce_grid.origin
    assert protocol.with_extra_bvalues().bvalues == (0.0, 800.0, 1000.0, 1500.0, 2000.0)
