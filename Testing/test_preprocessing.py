"""Each preprocessing step against a known answer; every bad input against its message."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from NACResistanceLib.errors import ConfigError, ImageError
from NACResistanceLib.preprocessing import (
    check_image_and_mask,
    gaussian_denoise,
    isotropic_grid,
    load_preprocessing_config,
    n4_correct,
    nearest_mask_on_grid,
    preprocess,
    resample_mask_to,
    resample_to_grid,
    whole_image_statistics,
)

PLAIN = {"gaussian_sigma_mm": 0, "normalization": "none", "min_roi_voxels": 1}


def image_from(array: np.ndarray, spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0)) -> sitk.Image:
    """``array`` in (z, y, x) order; ``spacing`` and ``origin`` in (x, y, z), mm."""
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    return image


def cube_mask(shape, lo, hi, **geometry) -> sitk.Image:
    array = np.zeros(shape, np.uint8)
    array[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = 1
    return image_from(array, **geometry)


# --- configuration -------------------------------------------------------------------------------

def test_config_defaults_and_overrides(tmp_path):
    config = load_preprocessing_config()
    assert config.resample_spacing_mm == (1.0, 1.0, 1.0)
    assert (config.interpolator, config.normalization, config.gaussian_sigma_mm, config.n4) == (
        "bspline", "zscore", 1.0, False)
    path = tmp_path / "pre.yaml"
    path.write_text("resample_spacing_mm: 0.5\ninterpolator: linear\n")
    override = load_preprocessing_config(path)
    assert override.resample_spacing_mm == (0.5, 0.5, 0.5)
    assert override.interpolator == "linear"
    assert override.to_dict()["resample_spacing_mm"] == [0.5, 0.5, 0.5]


def test_config_rejects_unknown_keys_and_bad_values(tmp_path):
    path = tmp_path / "pre.yaml"
    path.write_text("gausian_sigma_mm: 1.0\n")
    with pytest.raises(ConfigError, match=r"unknown preprocessing key\(s\) \['gausian_sigma_mm'\] in .*pre\.yaml"):
        load_preprocessing_config(path)
    with pytest.raises(ConfigError, match=r"<dict>: preprocessing key interpolator = 'cubic' is not allowed: "
                                          r"expected one of 'bspline', 'linear'"):
        load_preprocessing_config({"interpolator": "cubic"})
    with pytest.raises(ConfigError, match=r"min_roi_voxels = 2\.5 is not allowed: expected a whole number >= 1"):
        load_preprocessing_config({"min_roi_voxels": 2.5})
    with pytest.raises(ConfigError, match=r"gaussian_sigma_mm = -1 is not allowed: expected a number >= 0 mm"):
        load_preprocessing_config({"gaussian_sigma_mm": -1})


# --- resampling ----------------------------------------------------------------------------------

def test_isotropic_grid_keeps_the_outer_corner():
    image = image_from(np.zeros((5, 12, 10), np.float32), spacing=(0.7, 0.7, 2.0), origin=(10.0, -5.0, 3.0))
    grid = isotropic_grid(image, (1.0, 1.0, 1.0))
    assert grid.size == (7, 9, 10)  # ceil(10*0.7), ceil(12*0.7 = 8.4), ceil(5*2)
    np.testing.assert_allclose(grid.origin, (10.15, -4.85, 2.5))  # origin + (1 - spacing) / 2


@pytest.mark.parametrize("interpolator", ["linear", "bspline"])
def test_resampling_reproduces_a_linear_ramp(interpolator):
    z, y, x = np.meshgrid(np.arange(40), np.arange(40), np.arange(40), indexing="ij")
    spacing = (0.7, 0.8, 2.0)
    ramp = 3.0 * x * spacing[0] - 2.0 * y * spacing[1] + 0.5 * z * spacing[2] + 7.0  # 3 X - 2 Y + 0.5 Z + 7 (mm)
    image = image_from(ramp, spacing=spacing)
    grid = isotropic_grid(image, (1.0, 1.0, 1.0))
    out = sitk.GetArrayFromImage(resample_to_grid(image, grid, interpolator))
    zz, yy, xx = np.meshgrid(*[grid.origin[a] + np.arange(grid.size[a]) for a in (2, 1, 0)], indexing="ij")
    expected = 3.0 * xx - 2.0 * yy + 0.5 * zz + 7.0
    # 12 input voxels away from the border, where the B-spline's mirror extension bends the ramp
    # (its recursive prefilter decays as 0.268**12 = 1.4e-7 per voxel of slope)
    interior = (slice(24, -24), slice(10, -10), slice(9, -9))
    np.testing.assert_allclose(out[interior], expected[interior], atol=1e-5)


def test_nearest_mask_on_a_sub_grid_equals_the_whole_grid_and_sitk(rng):
    spacing = (0.7, 0.7, 2.0)  # 1 mm centres fall exactly half-way between 0.7 mm voxels every 7 voxels
    mask = image_from((rng.random((10, 30, 30)) > 0.5).astype(np.uint8), spacing=spacing, origin=(3.0, -2.0, 1.0))
    grid = isotropic_grid(mask, (1.0, 1.0, 1.0))
    whole = sitk.GetArrayFromImage(nearest_mask_on_grid(mask, grid))
    part = nearest_mask_on_grid(mask, grid, np.array([4, 5, 6]), np.array([9, 8, 7]))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(part), whole[6:13, 5:13, 4:13])
    np.testing.assert_allclose(part.GetOrigin(), grid.sub_grid(np.array([4, 5, 6]), np.array([9, 8, 7])).origin)
    reference = sitk.GetArrayFromImage(resample_to_grid(mask, grid, "nearest", sitk.sitkUInt8))
    u = [((grid.origin[a] - mask.GetOrigin()[a]) + np.arange(grid.size[a])) / spacing[a] for a in range(3)]
    no_tie = [np.abs(v % 1 - 0.5) > 1e-6 for v in u]  # at exact ties sitk decides by float rounding
    keep = np.ix_(no_tie[2], no_tie[1], no_tie[0])
    np.testing.assert_array_equal(whole[keep], reference[keep])


def test_preprocess_resamples_image_and_mask_to_1mm():
    image = image_from(np.ones((20, 40, 40), np.float32), spacing=(0.7, 0.7, 1.5))
    mask = cube_mask((20, 40, 40), (8, 15, 15), (12, 25, 25), spacing=(0.7, 0.7, 1.5))
    result = preprocess(image, mask, load_preprocessing_config(PLAIN))
    assert result.image.GetSpacing() == (1.0, 1.0, 1.0)
    assert result.mask.GetSpacing() == (1.0, 1.0, 1.0)
    assert result.mask.GetPixelID() == sitk.sitkUInt8
    # ROI extent 10 x 0.7 = 7 mm in x, y and 4 x 1.5 = 6 mm in z -> 7 x 7 x 6 voxels of 1 mm
    assert int(sitk.GetArrayFromImage(result.mask).sum()) == 7 * 7 * 6
    assert [s["step"] for s in result.steps] == ["crop", "resample"]


# --- z-score -------------------------------------------------------------------------------------

def test_zscore_uses_every_voxel_of_the_whole_image(rng):
    array = rng.normal(300.0, 40.0, (16, 30, 30)).astype(np.float32)
    stats = whole_image_statistics(image_from(array))
    assert stats.n_voxels == array.size
    assert stats.mean == pytest.approx(array.astype(np.float64).mean(), rel=1e-12)
    assert stats.sd == pytest.approx(array.astype(np.float64).std(), rel=1e-12)
    mask = cube_mask(array.shape, (6, 12, 12), (10, 18, 18))
    config = load_preprocessing_config({**PLAIN, "normalization": "zscore", "resample_spacing_mm": None,
                                        "crop_margin_mm": 100.0})  # margin covers the whole image
    out = sitk.GetArrayFromImage(preprocess(image_from(array), mask, config).image)
    assert out.shape == array.shape
    assert out.mean() == pytest.approx(0.0, abs=1e-12)
    assert out.std() == pytest.approx(1.0, rel=1e-12)


def test_zscore_statistics_come_from_the_whole_image_not_the_crop(rng):
    array = rng.normal(100.0, 10.0, (20, 40, 40))
    array[:, :, 30:] += 500.0  # a bright region far from the ROI changes the whole-image statistics
    mask = cube_mask(array.shape, (8, 8, 8), (12, 12, 12))
    config = load_preprocessing_config({**PLAIN, "normalization": "zscore", "resample_spacing_mm": None})
    result = preprocess(image_from(array), mask, config)
    zscore_step = result.steps[-1]
    assert zscore_step["mean"] == pytest.approx(array.mean(), rel=1e-12)
    assert zscore_step["sd"] == pytest.approx(array.std(), rel=1e-12)
    assert sitk.GetArrayFromImage(result.image).shape != array.shape  # it was cropped


# --- Gaussian denoising --------------------------------------------------------------------------

def test_gaussian_impulse_response_matches_the_analytic_gaussian_in_mm():
    spacing = (0.5, 0.5, 1.0)  # anisotropic: sigma is 4 voxels in x, y and 2 voxels in z
    sigma = 2.0
    impulse = np.zeros((25, 49, 49))
    impulse[12, 24, 24] = 1.0
    out = sitk.GetArrayFromImage(gaussian_denoise(image_from(impulse, spacing=spacing), sigma))
    z, y, x = np.meshgrid((np.arange(25) - 12) * 1.0, (np.arange(49) - 24) * 0.5, (np.arange(49) - 24) * 0.5,
                          indexing="ij")
    r2 = x**2 + y**2 + z**2
    voxel_volume = 0.5 * 0.5 * 1.0
    analytic = voxel_volume * (2 * np.pi * sigma**2) ** -1.5 * np.exp(-r2 / (2 * sigma**2))
    near = r2 <= (2 * sigma) ** 2
    np.testing.assert_allclose(out[near], analytic[near], rtol=1e-3)
    assert out.sum() == pytest.approx(1.0, abs=1e-12)


# --- N4 ------------------------------------------------------------------------------------------

def test_n4_reduces_a_synthetic_multiplicative_bias_field():
    """A +/-35 % bias on a two-tissue phantom: the CV of the flat tissue drops at least 10-fold (measured 0.231 -> 0.004)."""
    shape = (32, 64, 64)
    z, y, x = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    body = x**2 + y**2 + z**2 < 0.9
    tissue = np.where(body, 100.0, 0.0) + np.where(body & (np.abs(x) < 0.3), 60.0, 0.0)
    bias = np.exp(0.35 * x + 0.25 * y)  # smooth, about +/- 35 %
    image = image_from((tissue * bias).astype(np.float32), spacing=(2.0, 2.0, 2.0))
    corrected = sitk.GetArrayFromImage(n4_correct(image, shrink_factor=2, iterations=[50, 50, 50, 50]))
    flat = body & (np.abs(x) > 0.4)  # the 100-valued tissue

    def cv(values):
        return values.std() / values.mean()

    before = cv((tissue * bias)[flat])
    after = cv(corrected[flat])
    assert before > 0.2
    assert after < before / 10, f"coefficient of variation {before:.3f} -> {after:.3f}"
    print(f"N4: coefficient of variation {before:.3f} -> {after:.3f}")


# --- mask alignment ------------------------------------------------------------------------------

def test_mask_transfer_counts_lost_and_gained_voxels():
    mask = cube_mask((6, 6, 6), (0, 0, 0), (3, 3, 3))  # 27 voxels of 1 mm, centres 0, 1, 2 mm per axis
    reference = image_from(np.zeros((3, 3, 3), np.uint8), spacing=(2.0, 2.0, 2.0), origin=(0.6, 0.6, 0.6))
    transfer = resample_mask_to(mask, reference)
    # target centres 0.6, 2.6 mm -> nearest source 1 (inside), 3 (outside): one target voxel
    assert transfer.target_voxels == 1
    # round trip: source centres 0 and 1 map to target voxel 0 (inside), 2 maps to voxel 1 (outside)
    assert (transfer.source_voxels, transfer.lost_voxels, transfer.gained_voxels) == (27, 27 - 8, 0)
    assert transfer.target_volume_mm3 == 8.0
    assert transfer.mask.GetSpacing() == (2.0, 2.0, 2.0)


def test_preprocess_aligns_a_mask_drawn_on_another_grid():
    image = image_from(np.ones((20, 20, 20), np.float32))
    mask = cube_mask((10, 10, 10), (3, 3, 3), (7, 7, 7), spacing=(2.0, 2.0, 2.0), origin=(0.5, 0.5, 0.5))
    result = preprocess(image, mask, load_preprocessing_config(PLAIN))
    align = result.steps[0]
    assert align["step"] == "align_mask"
    assert (align["source_voxels"], align["target_voxels"], align["lost_voxels"], align["gained_voxels"]) == (
        64, 512, 0, 0)


# --- bad inputs ----------------------------------------------------------------------------------

def check(image, mask, min_voxels=1):
    check_image_and_mask(image, mask, image_source="exam/t1_post.nrrd", mask_source="exam/tumor.seg.nrrd",
                         min_voxels=min_voxels)


def test_empty_mask_is_refused():
    with pytest.raises(ImageError, match=r"mask exam/tumor\.seg\.nrrd is empty"):
        check(image_from(np.ones((4, 4, 4), np.float32)), cube_mask((4, 4, 4), (0, 0, 0), (0, 0, 0)))


def test_too_few_roi_voxels_are_refused():
    with pytest.raises(ImageError, match=r"mask exam/tumor\.seg\.nrrd has 8 ROI voxels, fewer than the minimum 10 "
                                         r"\(preprocessing key min_roi_voxels\)"):
        check(image_from(np.ones((4, 4, 4), np.float32)), cube_mask((4, 4, 4), (0, 0, 0), (2, 2, 2)), 10)


def test_nan_voxels_inside_the_crop_are_refused():
    array = np.ones((4, 4, 4), np.float32)
    array[1, 2, 3] = np.nan
    array[0, 0, 0] = np.inf  # inside the ROI
    with pytest.raises(ImageError, match=r"image exam/t1_post\.nrrd has 2 NaN or infinite voxels inside the radiomics "
                                         r"crop \(the first at voxel x, y, z = 0, 0, 0, 1 of them inside mask "
                                         r"exam/tumor\.seg\.nrrd\)"):  # the 10 mm crop margin covers the whole image
        preprocess(image_from(array), cube_mask((4, 4, 4), (0, 0, 0), (2, 2, 2)), load_preprocessing_config(PLAIN),
                   source="exam/t1_post.nrrd", mask_source="exam/tumor.seg.nrrd")


def test_mask_partly_outside_the_image_is_refused():
    image = image_from(np.ones((4, 4, 4), np.float32))
    mask = cube_mask((4, 4, 4), (0, 0, 0), (4, 4, 4), origin=(2.0, 0.0, 0.0))  # x centres 2..5, image 0..3
    with pytest.raises(ImageError, match=r"32 of 64 ROI voxels of mask exam/tumor\.seg\.nrrd lie outside "
                                         r"image exam/t1_post\.nrrd"):
        check(image, mask)


def test_disjoint_physical_spaces_are_refused():
    image = image_from(np.ones((4, 4, 4), np.float32))
    mask = cube_mask((4, 4, 4), (0, 0, 0), (2, 2, 2), origin=(100.0, 0.0, 0.0))
    with pytest.raises(ImageError, match=r"image exam/t1_post\.nrrd and mask exam/tumor\.seg\.nrrd occupy physical "
                                         r"spaces that do not overlap"):
        check(image, mask)


def test_roi_lost_by_resampling_is_refused():
    image = image_from(np.ones((10, 10, 10), np.float32), spacing=(0.5, 0.5, 0.5))
    # 8 voxels spanning 1.75-2.75 mm per axis; the 2 mm grid has centres at 0.75 and 2.75 mm, whose nearest
    # input voxels (indices 1 and 6 after rounding 5.5 up) are outside the ROI
    mask = cube_mask((10, 10, 10), (4, 4, 4), (6, 6, 6), spacing=(0.5, 0.5, 0.5))
    with pytest.raises(ImageError, match=r"mask roi\.nrrd has 0 ROI voxels after resampling to \(2\.0, 2\.0, 2\.0\) mm"):
        preprocess(image, mask, load_preprocessing_config({**PLAIN, "min_roi_voxels": 2, "resample_spacing_mm": 2}),
                   source="t1.nrrd", mask_source="roi.nrrd")
