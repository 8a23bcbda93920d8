"""Peritumoral shells on anisotropic grids against two references.

* Exact: the voxel count of each shell equals a brute-force count (k-d tree distance from every voxel centre
  to the nearest tumour voxel centre, in mm); voxels within 1e-4 mm of a shell boundary (float32 ties) may
  fall either way.
* Closed form: the shell volume (count × voxel volume) against the ideal band between two parallel bodies of the
  ellipsoid, by Steiner's formula V(d) = V + S·d + M·d² + 4π/3·d³ (S surface area, M integral of mean
  curvature, both by quadrature). Discretisation tolerance: S(outer)·h/2, h the largest voxel side (a layer
  half a voxel thick over the outer surface): distances are measured to voxel centres, which sit inside the
  surface by up to half a voxel.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import integrate
from scipy.spatial import cKDTree

from NACResistanceLib.errors import ImageError
from NACResistanceLib.preprocessing.peritumoral import (
    breast_mask_from_precontrast,
    peritumoral_shell,
    shell_name,
)

GRIDS = [  # semi-axes (mm), spacing (mm), size (voxels)
    pytest.param((12.0, 12.0, 12.0), (0.7, 0.8, 2.2), (60, 60, 24), id="sphere-0.7x0.8x2.2"),
    pytest.param((15.0, 9.0, 7.0), (0.6, 0.9, 1.7), (70, 50, 24), id="ellipsoid-0.6x0.9x1.7"),
]
SHELLS_MM = [(0.0, 3.0), (3.0, 6.0), (0.0, 5.0)]


def _ellipsoid(axes, spacing, size):
    """Digitised ellipsoid (voxel centres inside), off-centre by 0.123 voxel; centres in mm, mask image."""
    z, y, x = np.indices(size[::-1])
    centre = [((n - 1) / 2 + 0.123) * s for n, s in zip(size, spacing)]
    points = np.stack([x * spacing[0], y * spacing[1], z * spacing[2]], axis=-1) - centre
    inside = ((points / np.asarray(axes)) ** 2).sum(axis=-1) <= 1.0
    image = sitk.GetImageFromArray(inside.astype(np.uint8))
    image.SetSpacing(spacing)
    return image, points, inside


def _steiner(axes, d):
    """Volume (mm³) of the ellipsoid's outer parallel body at distance d (mm), and its surface area S (mm²)."""
    a, b, c = axes

    def element(v, u, mean_curvature):
        x, y, z = a * np.sin(u) * np.cos(v), b * np.sin(u) * np.sin(v), c * np.cos(u)
        r_u = np.array([a * np.cos(u) * np.cos(v), b * np.cos(u) * np.sin(v), -c * np.sin(u)])
        r_v = np.array([-a * np.sin(u) * np.sin(v), b * np.sin(u) * np.cos(v), 0.0])
        area = np.linalg.norm(np.cross(r_u, r_v))
        if not mean_curvature:
            return area
        h = 1.0 / np.sqrt(x * x / a**4 + y * y / b**4 + z * z / c**4)
        return area * h**3 * (a * a + b * b + c * c - x * x - y * y - z * z) / (2 * a * a * b * b * c * c)

    surface = integrate.dblquad(element, 0, np.pi, 0, 2 * np.pi, args=(False,))[0]
    curvature = integrate.dblquad(element, 0, np.pi, 0, 2 * np.pi, args=(True,))[0]
    return 4 / 3 * np.pi * a * b * c + surface * d + curvature * d * d + 4 / 3 * np.pi * d**3, surface


def test_steiner_formula_is_exact_for_a_sphere():
    volume, surface = _steiner((10.0, 10.0, 10.0), 3.0)
    assert volume == pytest.approx(4 / 3 * np.pi * 13.0**3, rel=1e-9)
    assert surface == pytest.approx(4 * np.pi * 100.0, rel=1e-9)


@pytest.mark.parametrize("axes, spacing, size", GRIDS)
def test_shells_match_brute_force_counts_and_closed_form_volumes(axes, spacing, size):
    mask, points, inside = _ellipsoid(axes, spacing, size)
    distance = cKDTree(points[inside]).query(points.reshape(-1, 3))[0].reshape(inside.shape)
    voxel_mm3 = float(np.prod(spacing))
    for inner, outer in SHELLS_MM:
        shell = sitk.GetArrayFromImage(peritumoral_shell(mask, inner, outer)).astype(bool)
        expected = ~inside & (distance > inner) & (distance <= outer)
        ties = ~inside & ((np.abs(distance - inner) < 1e-4) | (np.abs(distance - outer) < 1e-4))
        assert not np.any((shell != expected) & ~ties), (inner, outer)
        assert not np.any(shell & inside)
        outer_volume, outer_surface = _steiner(axes, outer)
        band = outer_volume - _steiner(axes, inner)[0]
        assert abs(shell.sum() * voxel_mm3 - band) <= outer_surface * max(spacing) / 2, (inner, outer)


def test_breast_clipping_and_second_lesion_exclusion():
    mask, points, inside = _ellipsoid((6.0, 6.0, 6.0), (1.0, 1.0, 2.0), (30, 30, 14))
    breast = sitk.GetImageFromArray((points[..., 0] < 3.0).astype(np.uint8))
    breast.CopyInformation(mask)
    lesion = sitk.GetImageFromArray((points[..., 1] > 6.5).astype(np.uint8))
    lesion.CopyInformation(mask)
    full = sitk.GetArrayFromImage(peritumoral_shell(mask, 0, 4)).astype(bool)
    clipped = sitk.GetArrayFromImage(peritumoral_shell(mask, 0, 4, breast_mask=breast, exclude_mask=lesion)).astype(bool)
    np.testing.assert_array_equal(clipped, full & (points[..., 0] < 3.0) & ~(points[..., 1] > 6.5))
    other_grid = sitk.Image(5, 5, 5, sitk.sitkUInt8)
    with pytest.raises(ImageError, match="breast mask is not on the tumour mask's grid"):
        peritumoral_shell(mask, 0, 4, breast_mask=other_grid)
    with pytest.raises(ImageError, match="empty"):
        peritumoral_shell(sitk.Image(4, 4, 4, sitk.sitkUInt8), 0, 3)
    assert shell_name(3.0) == "peri3mm" and shell_name(2.5) == "peri2.5mm"


def test_breast_mask_from_precontrast_removes_air_of_the_phantom():
    from NACResistanceLib.phantom import PhantomProtocol, make_exam
    from NACResistanceLib.phantom.tissues import AIR, FAT, FIBROGLANDULAR, TUMOR

    synthetic = make_exam(1, 3, PhantomProtocol.small())
    breast = sitk.GetArrayFromImage(breast_mask_from_precontrast(synthetic.exam.dce.phases[0])).astype(bool)
    tissues = sitk.GetArrayFromImage(synthetic.tissues_dce)
    assert np.mean(breast[tissues == AIR]) < 0.02
    for tissue in (FAT, FIBROGLANDULAR, TUMOR):
        assert np.mean(breast[tissues == tissue]) > 0.98


def test_peritumoral_features_recover_the_planted_rim():
    """The phantom plants a 3 mm enhancing rim (Ktrans 0.6/min); same patient and noise with and without it.

    The peri3mm first-order mean (ROI phase, signal units: no z-score, no smoothing) rises by at least half the
    planted mean signal change over the shell's voxels (the rest is lost to 1 mm B-spline resampling of 4.4 mm
    slices), and the 3-6 mm shell, outside the rim, by less than a tenth of that.
    """
    from pathlib import Path

    from NACResistanceLib.phantom import PhantomProtocol, make_exam
    from NACResistanceLib.pipeline import analyze_exam

    config = {"radiomics_params": str(Path(__file__).parent / "Data" / "cohort_radiomics_light.yaml"),
              "preprocessing": {"normalization": "none", "gaussian_sigma_mm": 0.0},
              "peritumoral": {"shells_mm": [[0, 3], [3, 6]]}}
    with_rim = make_exam(1, 3, PhantomProtocol.small(peritumoral_rim_mm=3.0))
    without = make_exam(1, 3, PhantomProtocol.small())
    a, b = analyze_exam(with_rim.exam, config), analyze_exam(without.exam, config)
    shell = sitk.GetArrayFromImage(peritumoral_shell(with_rim.exam.tumor_mask, 0, 3)).astype(bool)
    planted = (sitk.GetArrayFromImage(with_rim.exam.dce.roi_image).astype(float)
               - sitk.GetArrayFromImage(without.exam.dce.roi_image))[shell].mean()
    assert planted > 100.0
    rise3 = a.features["peri3mm_original_firstorder_Mean"] - b.features["peri3mm_original_firstorder_Mean"]
    rise6 = a.features["peri6mm_original_firstorder_Mean"] - b.features["peri6mm_original_firstorder_Mean"]
    assert 0.5 * planted < rise3 <= 1.05 * planted
    assert abs(rise6) < 0.1 * rise3
    shells = a.provenance["peritumoral"]["shells"]
    assert shells["peri3mm"]["voxels"] > 0 and a.provenance["peritumoral"]["breast_mask"].startswith("pre-contrast")
    radiomics = [n for n in a.features if n.startswith("peri3mm_original_")]
    assert len(radiomics) == len([n for n in a.features if n.startswith("original_")])
    # Quantitative values per region: the planted curve (Ktrans 0.6/min, kep 1.5/min) peaks at the first
    # post-contrast phase (51.3 s) in every tissue it replaces; the 3-6 mm shell is untouched by the rim.
    assert a.features["peri3mm_dce_ttp_mean"] == pytest.approx(51.3)
    assert b.features["peri3mm_dce_ttp_mean"] > 150.0
    assert a.features["peri3mm_dce_pe_mean"] > 2.5 * b.features["peri3mm_dce_pe_mean"]
    assert a.features["peri6mm_dce_pe_mean"] == pytest.approx(b.features["peri6mm_dce_pe_mean"], rel=1e-12)
    assert a.units["peri3mm_dce_pe_mean"] == "%"
    assert sitk.GetArrayFromImage(a.maps["region_peri3mm"]).sum() == shells["peri3mm"]["voxels"]
