"""Segmentation variants: label maps keep the reference region, paths become absolute, summaries are exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import SimpleITK as sitk

from NACResistanceLib.robustness.cohort import ReproducibilityResult
from NACResistanceLib.robustness.variants import VariantSet, _absolute, _label_map


def _mask(slices) -> sitk.Image:
    array = np.zeros((6, 8, 10), np.uint8)
    array[slices] = 1
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.8, 0.8, 3.0))
    return image


def test_label_map_tumour_over_reference_counts_overwritten_voxels():
    tumor = _mask(np.s_[1:4, 1:4, 1:4])          # 27 voxels
    reference = _mask(np.s_[3:5, 3:6, 3:8])      # 30 voxels, overlapping the tumour in 1 x 1 x 1 = 1 voxel
    labels, overwritten = _label_map(tumor, reference)
    values = sitk.GetArrayFromImage(labels)
    assert overwritten == 1
    assert (values == 1).sum() == 27 and (values == 2).sum() == 29
    assert labels.GetSpacing() == tumor.GetSpacing()
    assert _label_map(tumor, None)[1] == 0


def test_relative_paths_become_absolute_numbers_stay(tmp_path):
    (tmp_path / "images").mkdir()
    for name in ("pre.nii.gz", "post.nii.gz"):
        (tmp_path / "images" / name).write_bytes(b"")
    cell = "images/pre.nii.gz;images/post.nii.gz"
    assert _absolute(cell, tmp_path) == f"{tmp_path / 'images/pre.nii.gz'};{tmp_path / 'images/post.nii.gz'}"
    assert _absolute("0;800;1000", tmp_path) == "0;800;1000"
    assert np.isnan(_absolute(float("nan"), tmp_path))


def test_perturbation_summary_means_over_exams():
    changes = pd.DataFrame(
        [["reader1", "P1", "baseline", 100, 0, 0, 0], ["dilate_1voxel", "P1", "baseline", 100, 60, 0, 2],
         ["reader1", "P2", "baseline", 200, 0, 0, 0], ["dilate_1voxel", "P2", "baseline", 200, 80, 0, 0]],
        columns=["variant", "patient_id", "timepoint", "voxels_before", "voxels_added", "voxels_removed",
                 "reference_voxels_overwritten"])
    variants = VariantSet({}, changes, pd.DataFrame())
    result = ReproducibilityResult(icc={}, decision=None, variants=variants, extraction_failures=pd.DataFrame())
    summary = result.perturbation_summary().set_index("variant")
    assert summary.loc["dilate_1voxel", "exams"] == 2
    assert summary.loc["dilate_1voxel", "voxels_added"] == 70.0
    assert summary.loc["dilate_1voxel", "volume_change_pct"] == 50.0    # mean of 60% and 40%
    assert summary.loc["reader1", "volume_change_pct"] == 0.0
