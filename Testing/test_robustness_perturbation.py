"""Segmentation perturbations: the voxel changes they report equal closed-form counts on cubes and balls."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from NACResistanceLib.errors import ImageError
from NACResistanceLib.robustness.perturbation import (
    PerturbationConfig,
    contour_noise,
    dilate,
    equivalent_radius_mm,
    erode,
    perturb,
    perturbation_plan,
    resize,
    translate,
)

A = 6  # cube side, voxels


def _cube(side: int = A, shape=(16, 16, 16), spacing=(1.0, 1.0, 1.0)) -> sitk.Image:
    """A ``side``³ cube of ones at index 5.. in a (z, y, x) grid of ``shape``; spacing in mm (x, y, z)."""
    array = np.zeros(shape, np.uint8)
    array[5:5 + side, 5:5 + side, 5:5 + side] = 1
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin((-3.0, 7.0, 1.5))
    return image


def _array(result) -> np.ndarray:
    return sitk.GetArrayFromImage(result.mask).astype(bool)


def _ball_count(radius: float) -> int:
    """Voxel centres of the integer grid within ``radius`` of a voxel centre (closed-form lattice count)."""
    r = int(np.floor(radius))
    z, y, x = np.mgrid[-r:r + 1, -r:r + 1, -r:r + 1]
    return int((x * x + y * y + z * z <= radius * radius).sum())


@pytest.mark.parametrize(("distance", "added"), [
    (1.0, 6 * A**2),                          # faces
    (np.sqrt(2), 6 * A**2 + 12 * A),          # + edges
    (np.sqrt(3), (A + 2) ** 3 - A**3),        # + corners: the full 26-connected shell
    (2.0, 12 * A**2 + 12 * A + 8),            # two face layers + edges (sqrt 2) + corners (sqrt 3)
])
def test_dilate_cube_exact(distance, added):
    result = dilate(_cube(), distance)
    assert (result.voxels_before, result.voxels_added, result.voxels_removed) == (A**3, added, 0)
    assert _array(result).sum() == A**3 + added == result.voxels_after


@pytest.mark.parametrize(("distance", "side"), [(1.0, A - 2), (np.sqrt(3), A - 2), (2.0, A - 4)])
def test_erode_cube_exact(distance, side):
    result = erode(_cube(), distance)
    assert (result.voxels_added, result.voxels_removed) == (0, A**3 - side**3)
    expected = np.zeros((16, 16, 16), bool)
    lo = 5 + (A - side) // 2
    expected[lo:lo + side, lo:lo + side, lo:lo + side] = True
    np.testing.assert_array_equal(_array(result), expected)


def test_mm_units_follow_anisotropic_spacing():
    # spacing (x, y, z) = (1, 1, 3) mm: 1 mm grows in x and y only.
    image = _cube(spacing=(1.0, 1.0, 3.0))
    assert dilate(image, 1.0, unit="mm").voxels_added == 4 * A**2
    # 3 mm: three in-plane face layers (12 a²), in-plane offsets (1,1),(1,2),(2,1),(2,2) along the 4
    # z-parallel edges (16 a), and one z layer on each side (2 a²).
    assert dilate(image, 3.0, unit="mm").voxels_added == 12 * A**2 + 16 * A + 2 * A**2
    result = dilate(image, 1.0, unit="voxel")
    assert result.voxels_added == 6 * A**2
    assert result.mask.GetSpacing() == image.GetSpacing() and result.mask.GetOrigin() == image.GetOrigin()


def test_equivalent_radius_is_that_of_the_volume():
    image = _cube(spacing=(0.5, 1.0, 2.0))
    volume_mm3 = A**3 * 0.5 * 1.0 * 2.0
    assert equivalent_radius_mm(image) == pytest.approx((3 * volume_mm3 / (4 * np.pi)) ** (1 / 3), rel=1e-12)


@pytest.mark.parametrize(("distance_mm", "added"), [(1.2, 6 * A**2), (1.5, 6 * A**2 + 12 * A)])
def test_resize_grows_by_the_fraction_of_the_equivalent_radius(distance_mm, added):
    image = _cube()
    fraction = distance_mm / equivalent_radius_mm(image)
    result = resize(image, fraction)
    assert (result.voxels_added, result.voxels_removed) == (added, 0)
    assert result.name == f"radius_{fraction:+.0%}"
    shrunk = resize(image, -fraction)
    assert (shrunk.voxels_added, shrunk.voxels_removed) == (0, A**3 - (A - 2) ** 3)


def test_contour_noise_flips_only_boundary_voxels(rng):
    image = _cube()
    old = sitk.GetArrayFromImage(image).astype(bool)
    full = contour_noise(image, 1.0, rng)
    assert (full.voxels_removed, full.voxels_added) == (A**3 - (A - 2) ** 3, 6 * A**2)
    half = contour_noise(image, 0.5, rng)
    new = _array(half)
    inner = old & ~_array(erode(image, 1.0))
    outer = _array(dilate(image, 1.0)) & ~old
    assert half.voxels_removed == int((old & ~new).sum()) and half.voxels_added == int((new & ~old).sum())
    assert not ((old ^ new) & ~(inner | outer)).any()
    # Binomial(n, 0.5): within 5 standard deviations of n / 2.
    for changed, layer in ((half.voxels_removed, inner.sum()), (half.voxels_added, outer.sum())):
        assert abs(changed - layer / 2) < 5 * np.sqrt(layer / 4)


def test_contour_noise_is_reproducible_with_the_same_seed():
    image = _cube()
    first = contour_noise(image, 0.3, np.random.default_rng(7))
    second = contour_noise(image, 0.3, np.random.default_rng(7))
    np.testing.assert_array_equal(_array(first), _array(second))


@pytest.mark.parametrize("shift", [(1, 0, 0), (0, -2, 0), (0, 0, 3)])
def test_translate_cube_exact(shift):
    result = translate(_cube(), shift)
    moved = max(abs(s) for s in shift)
    assert (result.voxels_added, result.voxels_removed, result.voxels_after) == (moved * A**2, moved * A**2, A**3)
    expected = np.roll(sitk.GetArrayFromImage(_cube()), shift[::-1], axis=(0, 1, 2))
    np.testing.assert_array_equal(_array(result), expected.astype(bool))


def test_translate_off_grid_and_bad_inputs_raise():
    with pytest.raises(ImageError, match="off the image grid"):
        translate(_cube(), (0, 0, 6))
    with pytest.raises(ImageError, match="three integers"):
        translate(_cube(), (0.5, 0, 0))
    with pytest.raises(ImageError, match="removed every voxel"):
        erode(_cube(side=2), 1.0)
    with pytest.raises(ImageError, match="empty tumour mask"):
        dilate(sitk.Image(4, 4, 4, sitk.sitkUInt8), 1.0)
    with pytest.raises(ImageError, match="distance unit"):
        dilate(_cube(), 1.0, unit="cm")


def test_perturb_names_are_stable_and_changes_exact(rng):
    side = 10
    results = perturb(_cube(side, shape=(24, 24, 24)), PerturbationConfig(), rng)
    names = [r.name for r in results]
    assert names == ["erode_1voxel", "dilate_1voxel", "radius_-20%", "radius_+20%", "contour_noise_1",
                     "shift_x+1", "shift_x-1", "shift_y+1", "shift_y-1"]
    changes = {r.name: (r.voxels_added, r.voxels_removed) for r in results}
    assert changes["dilate_1voxel"] == (6 * side**2, 0)
    # 0.2 x equivalent radius 6.20 mm = 1.24 mm: between 1 and sqrt(2) voxels -> the face layer only.
    assert changes["radius_+20%"] == (6 * side**2, 0)
    assert changes["radius_-20%"] == (0, side**3 - (side - 2) ** 3)


def test_morphology_step_is_one_in_plane_voxel_on_thick_slices(rng):
    # spacing (x, y, z) = (1, 1, 3) mm: "1 voxel" = 1 mm, so z neighbours (3 mm) are untouched.
    (erosion, dilation) = perturb(_cube(spacing=(1.0, 1.0, 3.0)), PerturbationConfig(
        radius_fractions=(), contour_noise_repeats=0, shifts_voxels=()), rng)
    assert erosion.voxels_removed == A * (A**2 - (A - 2) ** 2)
    assert dilation.voxels_added == 4 * A**2


def test_resize_below_the_voxel_size_raises_instead_of_returning_an_unchanged_mask():
    with pytest.raises(ImageError, match="changes no voxel"):
        resize(_cube(), 0.1)   # 0.1 x 3.72 mm < 1 mm


def test_plan_names_match_results(rng):
    config = PerturbationConfig(shifts_voxels=((1, 0, -2),), contour_noise_repeats=2)
    plan = perturbation_plan(config)
    results = [step(_cube(10, shape=(24, 24, 24)), rng) for _, step in plan]
    assert [name for name, _ in plan] == [r.name for r in results]
    assert plan[-1][0] == "shift_x+1z-2"
