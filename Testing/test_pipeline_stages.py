"""The pieces analyze_exam is built from: the join of stage results, the described ADC statistics and the ROI box."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from NACResistanceLib.diffusion import described_map_statistics, map_statistics
from NACResistanceLib.io import Exam
from NACResistanceLib.pipeline import FeatureValue, StageResult
from NACResistanceLib.pipeline.geometry import rois_on_grid
from NACResistanceLib.pipeline.results import join


def test_join_keeps_each_stage_order_and_refuses_a_name_twice():
    dce = StageResult(features={"b": FeatureValue(2, "%", "B")}, provenance={"dce": 1}, warnings=("w1",))
    dwi = StageResult(features={"a": FeatureValue(1, "", "A")}, maps={"m": sitk.Image(2, 2, 2, sitk.sitkFloat32)},
                      warnings=("w2", "w3"))
    joined = join(dce, dwi)
    assert list(joined.features) == ["b", "a"] and joined.features["b"] == FeatureValue(2.0, "%", "B")
    assert list(joined.maps) == ["m"] and dict(joined.provenance) == {"dce": 1}
    assert joined.warnings == ("w1", "w2", "w3")
    with pytest.raises(ValueError, match=r"feature \['a'\] computed by two analysis steps"):
        join(joined, StageResult(features={"a": FeatureValue(3, "", "A again")}))
    with pytest.raises(TypeError):
        joined.features["c"] = FeatureValue(0, "", "")  # read-only


def test_described_statistics_name_each_value():
    """Same keys and values as map_statistics; the description says which percentile stands for an extreme."""
    values = np.arange(1.0, 101.0)
    described = described_map_statistics(values, percentiles=(12.5, 50), robust_extreme_percentile=2.5)
    assert {k: s.value for k, s in described.items()} == map_statistics(values, percentiles=(12.5, 50),
                                                                         robust_extreme_percentile=2.5)
    assert described["p12_5"].value == pytest.approx(np.percentile(values, 12.5))
    of = "the tumour voxel WLS ADC"
    assert described["p12_5"].describe(of) == "12.5th percentile of the tumour voxel WLS ADC"
    assert described["std"].describe(of) == "standard deviation of the tumour voxel WLS ADC"
    assert described["max_p97_5"].describe(of) == ("97.5th percentile of the tumour voxel WLS ADC, reported as the "
                                                   "maximum (the true extreme of a noisy map is one noisy voxel)")


def test_roi_box_is_the_bounding_box_plus_the_margin_clipped_to_the_grid():
    """Reference: the box written out with numpy (ceil(margin / spacing) voxels per side, clipped)."""
    grid = sitk.Image(30, 20, 10, sitk.sitkFloat32)  # x, y, z
    grid.SetSpacing((1.0, 2.0, 3.0))
    grid.SetOrigin((5.0, -4.0, 2.0))
    tumor, reference = np.zeros((10, 20, 30), np.uint8), np.zeros((10, 20, 30), np.uint8)
    tumor[1:3, 5:8, 20:29] = 1
    reference[4:6, 9:10, 2:4] = 1
    masks = [sitk.GetImageFromArray(m) for m in (tumor, reference)]
    for mask in masks:
        mask.CopyInformation(grid)
    exam = Exam(patient_id="P", tumor_mask=masks[0], reference_mask=masks[1])
    rois = rois_on_grid(exam, grid, "test", margin_mm=4.0)
    pad = np.ceil(4.0 / np.array([3.0, 2.0, 1.0])).astype(int)  # z, y, x
    inside = np.argwhere(tumor | reference)
    lo = np.maximum(inside.min(axis=0) - pad, 0)
    hi = np.minimum(inside.max(axis=0) + pad + 1, tumor.shape)
    assert rois.box.slices == tuple(slice(a, b) for a, b in zip(lo, hi))
    assert rois.transfers == {} and rois.tumor_in_box.sum() == tumor.sum()
    values = np.random.default_rng(0).random(rois.tumor_in_box.shape)
    image = rois.box.image(values, grid)
    assert image.GetOrigin() == grid.TransformIndexToPhysicalPoint([int(lo[2]), int(lo[1]), int(lo[0])])
    assert image.GetSpacing() == grid.GetSpacing() and image.GetPixelID() == sitk.sitkFloat32
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), values.astype(np.float32))
    assert rois.box.image(values > 0.5, grid).GetPixelID() == sitk.sitkUInt8
