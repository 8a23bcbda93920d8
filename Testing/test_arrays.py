"""Tests of io.geometry, io.exam_arrays, io.panel_text, io.table_columns and io.clinical_form: RAS <-> LPS
geometry, exams from arrays, panel text, result table columns and the clinical form.

References: closed-form IJK-to-RAS matrices; SimpleITK's own index-to-physical mapping; nibabel's
reading of a NIfTI file written by SimpleITK (a NIfTI affine is the IJK-to-RAS matrix Slicer uses).
"""

from __future__ import annotations

import math

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from NACResistanceLib.errors import AcquisitionError, ClinicalDataError, ConfigError, ImageError
from NACResistanceLib.io.clinical_form import clinical_input_specs, clinical_values
from NACResistanceLib.io.exam_arrays import exam_from_arrays
from NACResistanceLib.io.geometry import (
    ImageGeometry,
    array_from_image,
    bvecs_from_measurement_frame,
    image_from_array,
)
from NACResistanceLib.io.panel_text import parse_number_list, prediction_text, times_from_index_values
from NACResistanceLib.io.table_columns import contribution_columns, curve_columns, feature_columns

FLIP = np.diag([-1.0, -1.0, 1.0])


def _oblique_ras_matrix() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """IJK-to-RAS of a grid rotated 30 deg about z, spacing (0.7, 0.8, 4) mm, LPS origin (1, 2, 3) mm."""
    angle = math.radians(30.0)
    rotation = np.array([[math.cos(angle), -math.sin(angle), 0.0], [math.sin(angle), math.cos(angle), 0.0], [0, 0, 1]])
    spacing = np.array([0.7, 0.8, 4.0])
    origin = np.array([1.0, 2.0, 3.0])
    matrix = np.eye(4)
    matrix[:3, :3] = FLIP @ rotation @ np.diag(spacing)
    matrix[:3, 3] = FLIP @ origin
    return matrix, rotation, spacing, origin


def test_axis_aligned_ras_matrix_gives_closed_form_lps_geometry():
    matrix = np.array([[-2.0, 0, 0, 10], [0, -3.0, 0, 20], [0, 0, 4.0, 30], [0, 0, 0, 1]])
    geometry = ImageGeometry.from_ijk_to_ras(matrix)
    assert geometry.spacing == (2.0, 3.0, 4.0)
    assert geometry.origin == (-10.0, -20.0, 30.0)
    assert geometry.direction == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    np.testing.assert_array_equal(geometry.ijk_to_ras(), matrix)


def test_oblique_ras_matrix_round_trips():
    matrix, rotation, spacing, origin = _oblique_ras_matrix()
    geometry = ImageGeometry.from_ijk_to_ras(matrix)
    np.testing.assert_allclose(geometry.spacing, spacing, atol=1e-12)
    np.testing.assert_allclose(geometry.origin, origin, atol=1e-12)
    np.testing.assert_allclose(np.reshape(geometry.direction, (3, 3)), rotation, atol=1e-12)
    np.testing.assert_allclose(geometry.ijk_to_ras(), matrix, atol=1e-12)


def test_image_voxels_land_where_slicer_puts_them(rng):
    """SimpleITK's physical point of (i, j, k) equals the LPS form of IJK-to-RAS @ (i, j, k, 1)."""
    matrix = _oblique_ras_matrix()[0]
    array = rng.normal(size=(5, 6, 7)).astype(np.float32)
    image = image_from_array(array, ImageGeometry.from_ijk_to_ras(matrix))
    for ijk in [(0, 0, 0), (6, 0, 0), (0, 5, 0), (0, 0, 4), (3, 2, 1)]:
        ras = matrix @ np.array([*ijk, 1.0])
        np.testing.assert_allclose(image.TransformIndexToPhysicalPoint(ijk), FLIP @ ras[:3], atol=1e-9)
        assert image.GetPixel(ijk) == array[ijk[2], ijk[1], ijk[0]]
    assert image.GetPixelID() == sitk.sitkFloat32


def test_ijk_to_ras_matches_nibabel_affine_of_the_written_nifti(tmp_path):
    """A NIfTI affine is an IJK-to-RAS matrix: nibabel's reading is an independent reference."""
    matrix = _oblique_ras_matrix()[0]
    geometry = ImageGeometry.from_ijk_to_ras(matrix)
    path = tmp_path / "oblique.nii.gz"
    sitk.WriteImage(image_from_array(np.zeros((3, 4, 5), np.int16), geometry), str(path))
    np.testing.assert_allclose(nib.load(str(path)).affine, geometry.ijk_to_ras(), atol=1e-4)


def test_array_from_image_inverts_image_from_array(rng):
    geometry = ImageGeometry.from_ijk_to_ras(_oblique_ras_matrix()[0])
    array = rng.integers(0, 1000, size=(4, 5, 6)).astype(np.int16)
    back, back_geometry = array_from_image(image_from_array(array, geometry))
    np.testing.assert_array_equal(back, array)
    np.testing.assert_allclose(back_geometry.ijk_to_ras(), geometry.ijk_to_ras(), atol=1e-12)


def test_invalid_geometry_and_arrays_are_refused():
    with pytest.raises(ImageError, match="spacing"):
        ImageGeometry((1.0, 0.0, 1.0), (0.0, 0.0, 0.0))
    with pytest.raises(ImageError, match="orthonormal"):
        ImageGeometry((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (1.0, 0, 0, 1.0, 0, 0, 0, 0, 1.0))
    with pytest.raises(ImageError, match="DCE phase 1 must be a 3D"):
        exam_from_arrays(patient_id="P1", tumor_mask=np.ones((2, 2, 2)), mask_geometry=_unit_geometry(),
                         dce_phases=[np.ones((2, 2, 2)), np.ones((2, 2))], dce_times_s=[0, 60],
                         dce_geometry=_unit_geometry())


def _unit_geometry() -> ImageGeometry:
    return ImageGeometry((1.0, 1.0, 2.0), (0.0, 0.0, 0.0))


def test_exam_from_arrays_builds_every_series(rng):
    geometry = _unit_geometry()
    mask = np.zeros((3, 4, 5), np.int16)
    mask[1, 1:3, 1:4] = 7
    phases = [rng.normal(100, 5, size=(3, 4, 5)) for _ in range(3)]
    exam = exam_from_arrays(
        patient_id="P001", tumor_mask=mask, mask_geometry=geometry, reference_mask=mask[::-1],
        dce_phases=phases, dce_times_s=[30.0, 81.3, 132.6], dce_geometry=geometry, roi_phase=1,
        dwi_volumes=[np.full((2, 2, 2), 100.0), np.full((2, 2, 2), 40.0)], dwi_bvals=[0, 800],
        dwi_geometry=ImageGeometry((2.0, 2.0, 4.0), (0.0, 0.0, 0.0)),
        adc=np.full((2, 2, 2), 1100.0), adc_geometry=ImageGeometry((2.0, 2.0, 4.0), (0.0, 0.0, 0.0)),
        adc_scale=1e-6, clinical={"age": 51}, timepoint="baseline",
    )
    assert exam.tumor_mask.GetPixelID() == sitk.sitkUInt8
    assert sitk.GetArrayFromImage(exam.tumor_mask).sum() == 6
    np.testing.assert_allclose(exam.dce.times_s, (0.0, 51.3, 102.6), atol=1e-12)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(exam.dce.roi_image), phases[1])
    assert exam.dwi.bvals == (0.0, 800.0) and exam.dwi.is_trace
    np.testing.assert_allclose(sitk.GetArrayFromImage(exam.adc), 1.1e-3)
    assert exam.clinical == {"age": 51} and exam.patient_id == "P001"


def test_series_without_times_or_bvalues_are_refused():
    with pytest.raises(AcquisitionError, match="acquisition times"):
        exam_from_arrays(patient_id="P1", tumor_mask=np.ones((2, 2, 2)), mask_geometry=_unit_geometry(),
                         dce_phases=[np.ones((2, 2, 2))] * 2, dce_geometry=_unit_geometry())
    with pytest.raises(AcquisitionError, match="b-values"):
        exam_from_arrays(patient_id="P1", tumor_mask=np.ones((2, 2, 2)), mask_geometry=_unit_geometry(),
                         dwi_volumes=[np.ones((2, 2, 2))], dwi_geometry=_unit_geometry())
    with pytest.raises(ConfigError, match="adc_scale"):
        exam_from_arrays(patient_id="P1", tumor_mask=np.ones((2, 2, 2)), mask_geometry=_unit_geometry(),
                         adc=np.ones((2, 2, 2)), adc_geometry=_unit_geometry(), adc_scale=0.0)


def test_parse_number_list_accepts_separators_and_names_the_field():
    assert parse_number_list(" 0, 51.3;102.6  153.9 ", field="DCE times") == (0.0, 51.3, 102.6, 153.9)
    assert parse_number_list("", field="b-values") == ()
    with pytest.raises(ConfigError, match=r"b-values: 'b800' is not a number"):
        parse_number_list("0, b800", field="b-values")


def test_times_from_index_values_converts_units():
    assert times_from_index_values(["1000", "52300", "103600"], "ms", field="DCE") == pytest.approx((0.0, 51.3, 102.6))
    assert times_from_index_values(["0", "1"], "min", field="DCE") == (0.0, 60.0)
    with pytest.raises(ConfigError, match="not a time unit"):
        times_from_index_values(["0", "800"], "s/mm2", field="DCE")


def test_bvecs_from_measurement_frame():
    gradients = np.array([[0.0, 0, 0], [1.0, 0, 0], [0, 2.0, 0]])
    np.testing.assert_allclose(bvecs_from_measurement_frame(gradients, np.eye(4)),
                               [[0, 0, 0], [-1, 0, 0], [0, -1, 0]], atol=1e-12)
    swap_xz = np.array([[0.0, 0, 1], [0, 1, 0], [1, 0, 0]])
    np.testing.assert_allclose(bvecs_from_measurement_frame(gradients[1:2], swap_xz), [[0, 0, 1]], atol=1e-12)


def test_table_columns_carry_units_and_descriptions():
    contributions = pd.DataFrame({"term": ["intercept", "dki_rMK"], "value": [1.0, 1.4],
                                  "coefficient": [-2.0, 1.5], "contribution": [-2.0, 2.1]})
    columns = {c.name: c for c in contribution_columns(contributions)}
    assert columns["term"].is_text and columns["term"].values == ("intercept", "dki_rMK")
    assert columns["contribution"].unit == "log-odds" and columns["contribution"].values == (-2.0, 2.1)
    curves = {c.name: c for c in curve_columns(pd.DataFrame({"time_s": [0.0, 51.3], "tumor": [1, 2],
                                                             "reference": [1, 1.5]}))}
    assert curves["time_s"].unit == "s" and not curves["tumor"].is_text
    features = feature_columns({"adc_mean": 1.1e-3}, {"adc_mean": "mm²/s"}, {"adc_mean": "Mean ADC"},
                               patient_id="P1", timepoint="baseline")
    assert [c.name for c in features] == ["patient_id", "timepoint", "adc_mean"]
    assert features[2].unit == "mm²/s" and features[2].values == (1.1e-3,)
    assert prediction_text(0.6234, 0.41, "resistant") == "Probability of resistance 0.62 (threshold 0.41): resistant"


def test_clinical_input_specs_follow_the_manifest_columns():
    specs = {s.name: s for s in clinical_input_specs(["adc_mean", "er", "age_years", "dki_rMK", "ki67_pct"])}
    assert list(specs) == ["er", "age_years", "ki67_pct"]  # image features are not asked for
    assert specs["er"].choices == ("positive", "negative")
    assert (specs["age_years"].minimum, specs["age_years"].maximum) == (0.0, 120.0)
    assert (specs["ki67_pct"].minimum, specs["ki67_pct"].maximum) == (0.0, 100.0)
    values = clinical_values({"er": "negative", "age_years": " 51.5 ", "ki67_pct": ""}, list(specs.values()))
    assert values == {"er": "negative", "age_years": 51.5}


@pytest.mark.parametrize(("raw", "message"), [
    ({"er": "pos"}, r"'er': 'pos' is not one of \['positive', 'negative'\]"),
    ({"age_years": "old"}, "'age_years': 'old' is not a number"),
    ({"age_years": "130"}, r"'age_years': 130 is outside \[0, 120\]"),
])
def test_clinical_values_refuse_bad_input(raw, message):
    with pytest.raises(ClinicalDataError, match=message):
        clinical_values(raw, clinical_input_specs(["er", "age_years"]))


def _through_slicer(image: sitk.Image) -> tuple[np.ndarray, ImageGeometry]:
    """What the Slicer module gets back: the voxel array and the geometry parsed from IJK-to-RAS."""
    array, geometry = array_from_image(image)
    return array, ImageGeometry.from_ijk_to_ras(geometry.ijk_to_ras())


@pytest.mark.slow
def test_exam_rebuilt_from_slicer_arrays_gives_identical_analysis():
    """The Logic's path (arrays + IJK-to-RAS -> exam_from_arrays) changes no value of analyze_exam."""
    from NACResistanceLib import phantom, pipeline

    exam = phantom.make_exam(0, 7, phantom.PhantomProtocol.small()).exam
    phases = [_through_slicer(p) for p in exam.dce.phases]
    dwi = [_through_slicer(v) for v in exam.dwi.volumes]
    adc, adc_geometry = _through_slicer(exam.adc)
    roi_geometry = phases[exam.dce.roi_phase][1]
    rebuilt = exam_from_arrays(
        patient_id=exam.patient_id, tumor_mask=_through_slicer(exam.tumor_mask)[0],
        reference_mask=_through_slicer(exam.reference_mask)[0], mask_geometry=roi_geometry,
        dce_phases=[a for a, _ in phases], dce_times_s=list(exam.dce.times_s), dce_geometry=roi_geometry,
        roi_phase=exam.dce.roi_phase, dwi_volumes=[a for a, _ in dwi], dwi_bvals=list(exam.dwi.bvals),
        dwi_geometry=dwi[0][1], adc=adc, adc_geometry=adc_geometry, clinical=dict(exam.clinical),
    )
    expected, actual = pipeline.analyze_exam(exam), pipeline.analyze_exam(rebuilt)
    assert len(expected.features) > 800 and list(actual.features) == list(expected.features)
    differing = [name for name, value in expected.features.items()
                 if not (value == actual.features[name] or (math.isnan(value) and math.isnan(actual.features[name])))]
    assert differing == []
    pd.testing.assert_frame_equal(actual.curves, expected.curves)
