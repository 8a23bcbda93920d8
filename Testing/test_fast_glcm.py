"""The fast exact GLCM MCC against pyradiomics' own method, parallel image types, thread settings.

Reference: pyradiomics' ``RadiomicsGLCM.getMCCFeatureValue`` (the installed version) on the same matrices,
and pyradiomics' own ``RadiomicsFeatureExtractor`` on the same image, mask and parameters.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import SimpleITK as sitk
from threadpoolctl import threadpool_info

from NACResistanceLib import fast_glcm, features, threads

N_ANGLES = 13


def normalised(counts: np.ndarray, symmetric: bool = True) -> np.ndarray:
    """(Ng, Ng, Na) counts -> pyradiomics' (1, Ng, Ng, Na) normalised GLCM (symmetrised like pyradiomics)."""
    counts = counts[None].astype(float)
    if symmetric:
        counts = counts + np.transpose(counts, (0, 2, 1, 3))
    return counts / counts.sum(axis=(1, 2), keepdims=True)


def random_counts(rng, n_grey: int, density: float = 1.0) -> np.ndarray:
    counts = rng.poisson(4.0, size=(n_grey, n_grey, N_ANGLES)).astype(float)
    counts *= rng.random(counts.shape) < density
    counts[0, 0, :] += 1  # never an all-zero matrix
    return counts


def banded_counts(n_grey: int) -> np.ndarray:
    """Neighbours one or two grey levels apart, as in a smooth ramp: a tridiagonal-like GLCM."""
    levels = np.arange(n_grey)
    band = np.exp(-((levels[:, None] - levels[None, :]) ** 2) / 2.0)
    return np.repeat((100 * band).round()[..., None], N_ANGLES, axis=2)


def block_counts(n_grey: int) -> np.ndarray:
    """Two grey-level populations that never touch: block-diagonal GLCM, eigenvalue 1 twice, MCC = 1."""
    counts = np.zeros((n_grey, n_grey, N_ANGLES))
    half = n_grey // 2
    counts[:half, :half] = 3.0
    counts[half:, half:] = 5.0
    return counts


def assert_close_to_pyradiomics(p_glcm: np.ndarray) -> None:
    """Within 1e-6 relative (the issue's limit). pyradiomics' general eigensolver is itself off by up to
    ~1e-8 on non-symmetric GLCMs (see test_mcc_is_exact_on_two_grey_levels); symmetric ones agree to ~1e-12."""
    with threads.limit(1):  # pyradiomics' eigvals on a multithreaded LAPACK spins on a shared machine
        ours, theirs = fast_glcm.maximal_correlation_coefficient(p_glcm), fast_glcm.pyradiomics_mcc(p_glcm)
    assert ours.shape == theirs.shape == (1,)
    assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-10)


def exact_two_level_mcc(p_glcm: np.ndarray) -> float:
    """Closed form for 2 grey levels in exact rational arithmetic: Q is row-stochastic, so its eigenvalues are
    1 and trace(Q) - 1 (when both levels have neighbours along the angle); MCC is the mean of their roots."""
    roots = []
    for angle in range(p_glcm.shape[3]):
        p = [[Fraction(float(p_glcm[0, i, j, angle])) for j in range(2)] for i in range(2)]
        px, py = [p[i][0] + p[i][1] for i in range(2)], [p[0][j] + p[1][j] for j in range(2)]
        trace = sum(p[i][k] * p[i][k] / (px[i] * py[k]) for i in range(2) for k in range(2))
        roots.append(math.sqrt(trace - 1))
    return float(np.mean(roots))


@pytest.mark.parametrize("symmetric", [True, False])
def test_mcc_is_exact_on_two_grey_levels(symmetric):
    rng = np.random.default_rng(2)
    for _ in range(20):
        counts = rng.integers(1, 50, size=(2, 2, N_ANGLES))
        p = normalised(counts, symmetric=symmetric)
        assert fast_glcm.maximal_correlation_coefficient(p)[0] == pytest.approx(exact_two_level_mcc(p), rel=1e-13)


@pytest.mark.parametrize("n_grey", [2, 3, 7, 20, 64])
def test_mcc_equals_pyradiomics_on_random_matrices(n_grey):
    rng = np.random.default_rng(n_grey)
    assert_close_to_pyradiomics(normalised(random_counts(rng, n_grey)))
    assert_close_to_pyradiomics(normalised(random_counts(rng, n_grey, density=0.05)))  # sparse, many empty rows
    assert_close_to_pyradiomics(normalised(random_counts(rng, n_grey), symmetric=False))  # symmetricalGLCM: false


@pytest.mark.slow
@pytest.mark.parametrize("n_grey", [150, 400])
def test_mcc_equals_pyradiomics_on_many_grey_levels(n_grey):
    """Two angles only: pyradiomics' loop over grey levels costs Ng^3 per angle."""
    rng = np.random.default_rng(n_grey)
    assert_close_to_pyradiomics(normalised(random_counts(rng, n_grey, density=0.3)[..., :2]))
    assert_close_to_pyradiomics(normalised(banded_counts(n_grey)[..., :2]))


@pytest.mark.parametrize("n_grey", [2, 10, 60])
def test_mcc_equals_pyradiomics_on_structured_matrices(n_grey):
    assert_close_to_pyradiomics(normalised(banded_counts(n_grey)))
    block = normalised(block_counts(n_grey))
    assert_close_to_pyradiomics(block)
    assert fast_glcm.maximal_correlation_coefficient(block)[0] == pytest.approx(1.0, abs=1e-12)


def test_mcc_with_grey_levels_empty_along_some_angles():
    """A grey level without neighbours along an angle: a zero row of Q in pyradiomics, zero here too."""
    rng = np.random.default_rng(3)
    counts = random_counts(rng, 30)
    counts[4, :, :5] = 0.0
    counts[:, 4, :5] = 0.0
    counts[7:12, :, 8] = 0.0
    assert_close_to_pyradiomics(normalised(counts))


def test_mcc_with_one_grey_level_along_an_angle_and_overall():
    counts = random_counts(np.random.default_rng(4), 5)
    counts[..., 0] = 0.0
    counts[2, 2, 0] = 10.0  # angle 0 sees one grey level only: Q has one eigenvalue 1, the rest 0 -> MCC 0
    assert_close_to_pyradiomics(normalised(counts))
    one_level = normalised(counts[..., :1])
    assert fast_glcm.maximal_correlation_coefficient(one_level)[0] == fast_glcm.pyradiomics_mcc(one_level)[0] == 0.0
    flat = normalised(np.full((1, 1, N_ANGLES), 7.0))  # a flat region: pyradiomics' convention is MCC = 1
    assert fast_glcm.maximal_correlation_coefficient(flat).tolist() == fast_glcm.pyradiomics_mcc(flat).tolist() == [1.0]


def test_mcc_of_independent_neighbours_is_zero():
    """P = p p^T (neighbours independent of each other): Q has rank one, the exact MCC is 0. Both methods
    return rounding noise, sqrt(~1e-16) ~ 1e-8; there is nothing to compare but its size."""
    p = np.random.default_rng(6).random(9)
    outer = normalised(np.repeat(np.outer(p, p)[..., None], N_ANGLES, axis=2), symmetric=False)
    assert 0.0 <= fast_glcm.maximal_correlation_coefficient(outer)[0] < 1e-7
    assert abs(fast_glcm.pyradiomics_mcc(outer)[0]) < 1e-7


def test_empty_angle_is_left_out_like_pyradiomics_marks_it():
    """pyradiomics marks an empty angle with NaN; its mean skips it (all empty: NaN)."""
    p = normalised(random_counts(np.random.default_rng(5), 12))
    p[..., 3] = np.nan
    expected = fast_glcm.maximal_correlation_coefficient(np.delete(p, 3, axis=3))
    assert fast_glcm.maximal_correlation_coefficient(p) == pytest.approx(expected, rel=1e-14)
    assert np.isnan(fast_glcm.maximal_correlation_coefficient(np.full_like(p, np.nan))).all()


def test_coefficients_equal_pyradiomics_own(lesion):
    """Every GLCM coefficient (pxAddy and pxSuby from the grouped sum, the rest pyradiomics' code) and every
    GLCM feature of the fast class equal pyradiomics' RadiomicsGLCM on the same image."""
    from radiomics.glcm import RadiomicsGLCM

    image, mask = lesion
    settings = {"binWidth": 0.05, "label": 1}
    with features.pyradiomics_context():
        theirs, ours = RadiomicsGLCM(image, mask, **settings), fast_glcm.fast_glcm_class()(image, mask, **settings)
        assert ours.coefficients.keys() == theirs.coefficients.keys()
        assert ours.coefficients["Ng"] > 40
        for name, value in theirs.coefficients.items():
            np.testing.assert_allclose(ours.coefficients[name], value, rtol=1e-13, atol=1e-17, err_msg=name)
        theirs_values, ours_values = theirs.execute(), ours.execute()
    assert ours_values.keys() == theirs_values.keys() and len(ours_values) == 24
    for name, value in theirs_values.items():  # MCC: 1e-11 here (pyradiomics' eps and general eigensolver)
        assert float(ours_values[name]) == pytest.approx(float(value), rel=1e-13 if name != "MCC" else 1e-9), name


def test_marginals_equal_a_direct_sum_over_grey_level_pairs():
    """p_{x+y}(k) and p_{x-y}(k) against the definition, on grey values with gaps and two voxels (Nv = 2)."""
    rng = np.random.default_rng(8)
    levels = np.array([1.0, 2.0, 5.0, 6.0, 9.0])
    p = rng.random((2, 5, 5, 4))
    add, sub = fast_glcm.sum_and_difference_marginals(p, levels, 9)
    assert add.shape == (2, 17, 4) and sub.shape == (2, 9, 4)
    for k in range(2, 19):
        expected = sum(p[:, a, b, :] for a in range(5) for b in range(5) if levels[a] + levels[b] == k)
        np.testing.assert_allclose(add[:, k - 2, :], expected if np.ndim(expected) else 0.0, rtol=1e-14)
    for k in range(9):
        expected = sum(p[:, a, b, :] for a in range(5) for b in range(5) if abs(levels[a] - levels[b]) == k)
        np.testing.assert_allclose(sub[:, k, :], expected if np.ndim(expected) else 0.0, rtol=1e-14)


def test_installed_pyradiomics_agrees_and_the_extractor_uses_the_fast_class():
    from radiomics.glcm import RadiomicsGLCM

    assert fast_glcm.agrees_with_pyradiomics()
    fast = fast_glcm.fast_glcm_class()
    assert issubclass(fast, RadiomicsGLCM) and fast is not RadiomicsGLCM
    assert fast.getMCCFeatureValue is not RadiomicsGLCM.getMCCFeatureValue
    assert fast.getFeatureNames() == RadiomicsGLCM.getFeatureNames()  # same 24 features, same names


def test_a_pyradiomics_with_another_mcc_falls_back_to_its_own_method(monkeypatch, caplog):
    from radiomics.glcm import RadiomicsGLCM

    monkeypatch.setattr(fast_glcm, "pyradiomics_mcc", lambda p: fast_glcm.maximal_correlation_coefficient(p) + 0.01)
    fast_glcm.agrees_with_pyradiomics.cache_clear()
    try:
        assert fast_glcm.fast_glcm_class() is RadiomicsGLCM
        assert "computes the GLCM MCC or marginals differently" in caplog.text
    finally:
        monkeypatch.undo()
        fast_glcm.agrees_with_pyradiomics.cache_clear()
    assert fast_glcm.fast_glcm_class() is not RadiomicsGLCM


@pytest.fixture(scope="module")
def lesion():
    """A 16 x 16 x 12 textured image with an irregular 1 cm ROI: about 60 grey levels at binWidth 0.05."""
    rng = np.random.default_rng(7)
    z, y, x = np.mgrid[:12, :16, :16]
    values = np.sin(x / 2.0) + np.cos(y / 3.0) * z / 6.0 + rng.normal(0, 0.3, (12, 16, 16))
    image = sitk.GetImageFromArray(values)
    roi = ((x - 8) ** 2 + (y - 8) ** 2 + 2 * (z - 6) ** 2 < 30 + 8 * rng.random((12, 16, 16))).astype(np.uint8)
    return image, sitk.GetImageFromArray(roi)


@pytest.mark.filterwarnings("ignore:the load_module:DeprecationWarning")  # pykwalify, in pyradiomics' extractor
def test_extract_equals_pyradiomics_extractor_on_every_feature(lesion):
    """Every one of the 851 features against pyradiomics' own extractor: within 1e-9 relative."""
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    image, mask = lesion
    params = features.load_radiomics_parameters(features.SEED_PARAMS).parameters
    ours = features.extract(image, mask)
    with features.pyradiomics_context(), threads.limit(1):
        theirs = RadiomicsFeatureExtractor(params).execute(image, mask, label=1)
    theirs = {k: float(v) for k, v in theirs.items() if not k.startswith("diagnostics_")}
    assert list(ours) == list(theirs) and len(ours) == 851
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    assert ours.provenance["glcm_class"].startswith("pyradiomics, fast exact MCC")


def test_parallel_image_types_give_identical_features(lesion):
    image, mask = lesion
    serial = features.extract(image, mask, workers=1)
    parallel = features.extract(image, mask, workers=3)
    assert list(parallel) == list(serial)
    assert np.array_equal(np.array(list(parallel.values())), np.array(list(serial.values())), equal_nan=True)


def blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info()]


def test_thread_limits_are_set_inside_and_restored_after():
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(3)
    before_blas = blas_threads()
    try:
        assert threads.budget() == threads.usable_cores()
        with threads.limit(1) as n:
            assert n == 1 and threads.budget() == 1
            assert sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() == 1
            assert set(blas_threads()) == {1}
            with threads.limit(2):
                assert threads.budget() == 2 and sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() == 2
            assert threads.budget() == 1 and sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() == 1
        assert sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() == 3
        assert blas_threads() == before_blas and threads.budget() == threads.usable_cores()
        with pytest.raises(RuntimeError), threads.limit(1):
            raise RuntimeError("restored on error too")
        assert sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() == 3 and blas_threads() == before_blas
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads.usable_cores())


def test_extract_restores_the_callers_thread_settings(lesion):
    image, mask = lesion
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(3)
    before_blas = blas_threads()
    try:
        features.extract(image, mask, workers=2)
        assert sitk.ProcessObject.GetGlobalDefaultNumberOfThreads() == 3 and blas_threads() == before_blas
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads.usable_cores())


def test_extractor_is_built_once_per_parameter_content(lesion):
    image, mask = lesion
    params = {"imageType": {"Original": {}}, "featureClass": {"glcm": ["MCC"]}, "setting": {"binWidth": 0.05}}
    features.extract(image, mask, params)
    key = features.params_hash(params)
    built = features._EXTRACTORS[key]
    features.extract(image, mask, dict(params))
    assert features._EXTRACTORS[key] is built


def test_one_discretisation_per_image_type_equals_each_classes_own(lesion, monkeypatch):
    """The binned image shared by an image type's classes equals what each pyradiomics class bins itself,
    and pyradiomics' binImage runs once per image type (9 with the seed parameters), not once per class."""
    from radiomics import getFeatureClasses, imageoperations

    from NACResistanceLib import radiomics_extractor

    image, mask = lesion
    settings = {"binWidth": 0.05, "label": 1, "voxelArrayShift": 3}
    shared = radiomics_extractor.Discretised(image, mask, settings)
    assert not shared.binned.flags.writeable
    with features.pyradiomics_context():
        for name in ("firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm"):
            own = getFeatureClasses()[name](image, mask, **settings)
            binned = own.discretizedImageArray if name == "firstorder" else own.imageArray
            np.testing.assert_array_equal(binned, shared.binned, err_msg=name)
            np.testing.assert_array_equal(own.coefficients["grayLevels"], shared.grey_levels, err_msg=name)
            assert own.coefficients["Ng"] == shared.n_bins, name
    calls = []
    original = imageoperations.binImage
    monkeypatch.setattr(imageoperations, "binImage", lambda *a, **k: calls.append(1) or original(*a, **k))
    features.extract(image, mask)
    assert len(calls) == 9
