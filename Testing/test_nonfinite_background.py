"""NaN and infinite voxels: allowed outside every region an analysis reads (ignored, one warning, left out of the
z-score statistics), refused inside (map boxes, radiomics crops, the whole image with N4).

References: ``np.nanmean`` / ``np.nanstd`` (ddof 0) for the statistics; for the exam, the same exam with the NaN
voxels replaced by values that leave the whole-image mean and SD unchanged (derivation in
:func:`statistics_preserving_fill`).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from light_cohort import light_yaml

from NACResistanceLib.cli import main as cli_main
from NACResistanceLib.config import load_analysis_config
from NACResistanceLib.errors import ImageError
from NACResistanceLib.io import load_exam, read_manifest
from NACResistanceLib.io.manifest import write_manifest
from NACResistanceLib.phantom import PhantomProtocol, make_cohort
from NACResistanceLib.pipeline import analyze_exam
from NACResistanceLib.pipeline.geometry import rois_on_grid
from NACResistanceLib.preprocessing import (
    crop_read_box,
    load_preprocessing_config,
    preprocess,
    same_grid,
    whole_image_statistics,
)
from NACResistanceLib.preprocessing.peritumoral import breast_mask_from_precontrast

BLOCK = (slice(0, 4), slice(0, 4), slice(-4, None))
"""(z, y, x) block of 64 voxels in the far corner of the last columns, where the NaN voxels are planted."""


@pytest.fixture(scope="module")
def exam_folder(tmp_path_factory) -> Path:
    """One small synthetic exam (phantom small protocol, seed 21); returns its manifest.csv."""
    return make_cohort(1, 21, tmp_path_factory.mktemp("exam"), PhantomProtocol.small())


def last_read_column(manifest: Path) -> int:
    """The last x index the analysis reads of the DCE ROI phase: the DCE map box or the radiomics input crop."""
    exam = load_exam(read_manifest(manifest), 0)
    assert same_grid(exam.tumor_mask, exam.dce.roi_image)
    config = load_analysis_config(None)
    box = rois_on_grid(exam, exam.dce.roi_image, "DCE", config.map_margin_mm).box
    crop_index, crop_size = crop_read_box(exam.dce.roi_image, exam.tumor_mask, config.preprocessing)
    return int(max(box.index[0] + box.size[0], crop_index[0] + crop_size[0]) - 1)


def statistics_preserving_fill(values: np.ndarray, planted: np.ndarray) -> np.ndarray:
    """Values for the ``planted`` voxels (an even count k) that keep the mean and SD of the other n voxels.

    With m and s the mean and population SD of the n other voxels, half of the k voxels get m + s and half m − s:
    the mean of all n + k voxels is (n·m + k/2·(m + s) + k/2·(m − s)) / (n + k) = m and their sum of squared
    deviations is n·s² + k·s², so their SD is s again. The z-score of every crop voxel is therefore unchanged.
    """
    others = values[~planted].astype(np.float64)
    m, s = others.mean(), others.std()
    k = int(planted.sum())
    assert k % 2 == 0
    return np.where(np.arange(k) % 2 == 0, m + s, m - s)


def edited_exam(manifest: Path, folder: Path, fill: str) -> Path:
    """The exam with its DCE ROI phase and its b = 800 DWI volume as float64 files whose :data:`BLOCK` is NaN
    (``fill="nan"``), or (``fill="statistics"``) the DCE block :func:`statistics_preserving_fill` and the DWI
    block its original values."""
    frame = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    folder.mkdir()
    for column, item in (("dce_phases", int(frame.loc[0, "dce_roi_phase"])), ("dwi", 1)):
        parts = [str(manifest.parent / p) for p in frame.loc[0, column].split(";")]
        image = sitk.ReadImage(parts[item])
        values = sitk.GetArrayFromImage(image).astype(np.float64)
        planted = np.zeros(values.shape, bool)
        planted[BLOCK] = True
        if fill == "nan":
            values[planted] = np.nan
        elif column == "dce_phases":
            values[planted] = statistics_preserving_fill(values, planted)
        edited = sitk.GetImageFromArray(values)
        edited.CopyInformation(image)
        parts[item] = str(folder / Path(parts[item]).name)
        sitk.WriteImage(edited, parts[item])
        frame.loc[0, column] = ";".join(parts)
    for column in ("adc", "segmentation"):
        frame.loc[0, column] = str(manifest.parent / frame.loc[0, column])
    return write_manifest(frame, folder / "manifest.csv")


def extract(manifest: Path, out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    assert cli_main(["extract", str(manifest), "--out", str(out), "--config", str(light_yaml(manifest.parent)),
                     "--jobs", "1", "--progress", "none"]) == 0
    return pd.read_csv(out / "features.csv"), pd.read_csv(out / "warnings.csv")


def test_nan_far_outside_the_crop_gives_the_features_of_statistics_preserving_values(exam_folder, tmp_path):
    assert last_read_column(exam_folder) < 128 - 4  # the planted columns are read by no stage
    nan_features, nan_warnings = extract(edited_exam(exam_folder, tmp_path / "nan", "nan"), tmp_path / "out_nan")
    ref_features, ref_warnings = extract(edited_exam(exam_folder, tmp_path / "ref", "statistics"),
                                         tmp_path / "out_ref")
    assert list(nan_features.columns) == list(ref_features.columns)
    radiomics = [c for c in ref_features.columns if c.startswith("original_") or c.startswith("wavelet")
                 or c.startswith("log-")]
    assert radiomics
    for column in ref_features.columns.drop(["patient_id", "timepoint"]):
        expected = ref_features.loc[0, column]
        tolerance = dict(rel=1e-9, abs=1e-12) if column in radiomics else dict(rel=0, abs=0)  # z-score: rounding
        assert nan_features.loc[0, column] == pytest.approx(expected, nan_ok=True, **tolerance), column
    ignored = nan_warnings[nan_warnings["message"].str.contains("NaN or infinite voxels ignored")]
    assert len(ignored) == 1 and ignored["stage"].tolist() == ["exam"]
    message = ignored["message"].iloc[0]
    assert message.startswith("128 NaN or infinite voxels ignored: they lie outside every region the analysis reads "
                              "(the crops and map boxes around the ROIs) and are left out of the whole-image z-score "
                              f"statistics ({tmp_path / 'nan'}")
    assert re.search(r"dce_01\.nrrd: 64; .*dwi_b0800\.nrrd: 64\)$", message), message
    assert ref_warnings["message"].tolist() == nan_warnings["message"].drop(ignored.index).tolist()


def test_whole_image_statistics_leave_nan_out_like_nanmean_and_nanstd(rng):
    values = rng.normal(250.0, 30.0, (12, 20, 24))
    values[0, :5, :] = np.nan  # a background slab and scattered voxels
    values[rng.random(values.shape) < 0.01] = np.nan
    stats = whole_image_statistics(sitk.GetImageFromArray(values))
    n_nan = int(np.isnan(values).sum())
    assert (stats.n_voxels, stats.n_nonfinite) == (values.size - n_nan, n_nan)
    assert stats.mean == pytest.approx(np.nanmean(values), rel=1e-13)
    assert stats.sd == pytest.approx(np.nanstd(values), rel=1e-12)


def test_infinite_voxels_are_left_out_too():
    values = np.array([[[1.0, 2.0, 3.0, np.inf, -np.inf, np.nan]]])
    stats = whole_image_statistics(sitk.GetImageFromArray(values))
    assert (stats.mean, stats.sd, stats.n_voxels, stats.n_nonfinite) == (2.0, (2.0 / 3.0) ** 0.5, 3, 3)


def test_nan_outside_the_crop_is_named_in_the_zscore_step_and_refused_with_n4():
    values = np.full((10, 40, 40), 100.0)
    values[4:6, 10:14, 10:14] = 200.0
    values[:, :, 39] = np.nan  # 400 voxels beyond the 10 mm margin of the native-grid crop (x <= 27)
    mask = np.zeros(values.shape, np.uint8)
    mask[4:6, 10:14, 10:14] = 1
    image, roi = sitk.GetImageFromArray(values), sitk.GetImageFromArray(mask)
    config = {"resample_spacing_mm": None, "gaussian_sigma_mm": 0, "min_roi_voxels": 1}
    result = preprocess(image, roi, load_preprocessing_config(config), source="t1.nrrd")
    zscore = result.steps[-1]
    finite = values[np.isfinite(values)]
    assert (zscore["mean"], zscore["sd"]) == (pytest.approx(finite.mean(), rel=1e-14),
                                              pytest.approx(finite.std(), rel=1e-13))
    assert zscore["voxels"] == ("the 15600 finite voxels of the native image (400 NaN or infinite voxels, all "
                                "outside the radiomics crop, left out)")
    with pytest.raises(ImageError, match=r"image t1\.nrrd has 400 NaN or infinite voxels \(the first at voxel x, y, z "
                                         r"= 39, 0, 0\); replace them \(e\.g\. with 0\) or export the image again: N4 "
                                         r"bias correction \(preprocessing key n4\) reads every voxel"):
        preprocess(image, roi, load_preprocessing_config({**config, "n4": True}), source="t1.nrrd")


def test_nan_inside_a_map_box_fails_the_exam_naming_the_volume(exam_folder):
    exam = load_exam(read_manifest(exam_folder), 0)
    config = load_analysis_config(None)
    box = rois_on_grid(exam, exam.dwi.volumes[0], "DWI", config.map_margin_mm).box
    volume = sitk.Cast(exam.dwi.volumes[2], sitk.sitkFloat32)
    corner = sitk.GetArrayFromImage(volume)
    corner[box.index[2], box.index[1], box.index[0]] = np.nan  # the box's first corner: outside every ROI
    nan_volume = sitk.GetImageFromArray(corner)
    nan_volume.CopyInformation(volume)
    volumes = exam.dwi.volumes[:2] + (nan_volume,) + exam.dwi.volumes[3:]
    broken = dataclasses.replace(exam, dwi=dataclasses.replace(exam.dwi, volumes=volumes))
    named = exam.part_source("dwi", 2)
    x, y, z = box.index
    with pytest.raises(ImageError, match=re.escape(
            f"image {named} has 1 NaN or infinite voxels inside the DWI map box (the first at voxel x, y, z = "
            f"{x}, {y}, {z}); replace them (e.g. with 0) or export the image again: that box is the tumour and "
            "reference ROIs plus map_margin_mm = 10 mm")):
        analyze_exam(broken, {"radiomics": False})


def test_the_breast_mask_of_an_image_with_nan_background_is_that_of_its_finite_part():
    values = np.full((12, 40, 40), 5.0)  # air
    values[2:10, 8:32, 6:34] = 60.0  # fat
    values[4:8, 14:26, 12:28] = 120.0  # fibroglandular tissue
    with_nan = values.copy()
    with_nan[:, :, 37:] = np.nan  # masked background, 3 voxels from the body
    finite_part = sitk.GetArrayFromImage(breast_mask_from_precontrast(sitk.GetImageFromArray(values[:, :, :37].copy())))
    breast = sitk.GetArrayFromImage(breast_mask_from_precontrast(sitk.GetImageFromArray(with_nan)))
    body = np.zeros(finite_part.shape, bool)
    body[2:10, 8:32, 6:34] = True
    assert not finite_part[~body].any() and finite_part[body].mean() > 0.95  # the smoothing rounds the corners
    np.testing.assert_array_equal(breast[:, :, :37], finite_part)
    assert not breast[:, :, 37:].any()
