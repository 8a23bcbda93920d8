"""The Slicer module's Logic and MRML adapter on Slicer's own MRML libraries (the ``slicer-core`` wheel).

A real ``vtkMRMLScene`` with the real segmentations, volumes, sequences, tables, plots and colours
logics and the real ``slicer.util`` (Testing/slicer_core_app.py wires them as Slicer does; only the
Qt-side Python is stood in). References: closed-form geometry and masks (boxes, spheres, shifts),
Slicer's own node accessors, and ``pipeline.analyze_exam`` / ``score_exam`` on the same exam.
``slicer-core`` needs Python >= 3.10: on Python 3.9 this module is skipped (one reason line).
What only a full Slicer can test (Widget, Segment Editor, layouts) is listed in docs/slicer.md.
"""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

if sys.version_info < (3, 10):
    pytest.skip("slicer-core (Slicer's MRML libraries as a wheel) needs Python >= 3.10; real-MRML tests skipped",
                allow_module_level=True)
pytest.importorskip("slicer_core", reason="slicer-core is not installed: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import slicer_core_app  # noqa: E402

from NACResistanceLib import models, phantom, pipeline  # noqa: E402
from NACResistanceLib.config import load_analysis_config  # noqa: E402
from NACResistanceLib.errors import AcquisitionError, ConfigError, ImageError  # noqa: E402
from NACResistanceLib.io import ImageGeometry  # noqa: E402

SMALL = phantom.PhantomProtocol.small()
MODULES = ("NACResistance", "NACResistanceMRML", "NACResistanceMRML.adapter")


@pytest.fixture(scope="module")
def mrml():
    """The module imported on slicer-core, started as Slicer starts it; sys.modules restored afterwards."""
    import slicer

    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in sys.modules if n in MODULES]:
            patch.delitem(sys.modules, name)
        context = slicer_core_app.install(patch.setitem, lambda obj, name, value: patch.setattr(obj, name, value,
                                                                                               raising=False))
        patch.syspath_prepend(str(slicer_core_app.MODULE_DIR))
        module = importlib.import_module("NACResistance")
        slicer_core_app.start_modules(context.app, module)
        yield SimpleNamespace(module=module, adapter=importlib.import_module("NACResistanceMRML.adapter"),
                              slicer=slicer, scene=context.scene, sources=context.sample_data_sources)
        for name in MODULES:
            sys.modules.pop(name, None)


@pytest.fixture
def scene(mrml):
    mrml.scene.Clear(0)
    return mrml.scene


@pytest.fixture(scope="module")
def quick_model(tmp_path_factory):
    """A hand-written model whose own analysis parameters skip radiomics (a quick analysis)."""
    model = models.make_model("quick test model", -1.0,
                              [("er_positive", -0.7), ("age_years", 0.01), ("dki_rMK", 0.9), ("adc_mean", -800.0)],
                              radscore=None, threshold=0.3,
                              training={"data": "hand-written test model", "n_patients": 1, "n_resistant": 0},
                              analysis_config=load_analysis_config({"radiomics": False}).to_dict())
    return models.save(model, tmp_path_factory.mktemp("model") / "model.json"), model


def _nodes(scene) -> list:
    return [scene.GetNthNode(i) for i in range(scene.GetNumberOfNodes())]


def _volume(mrml, array, ijk_to_ras, name="v"):
    return mrml.slicer.util.addVolumeFromArray(np.asarray(array), np.asarray(ijk_to_ras, float), name)


def _rotation_z(degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    return np.array([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0], [0.0, 0.0, 1.0]])


def _ijk_to_ras(spacing, origin_ras, rotation=None) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3] = (np.eye(3) if rotation is None else rotation) @ np.diag(spacing)
    matrix[:3, 3] = origin_ras
    return matrix


def _ras_points(shape, ijk_to_ras) -> np.ndarray:
    """RAS position of every voxel centre, array (z, y, x, 3)."""
    k, j, i = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    ijk = np.stack([i, j, k, np.ones_like(i)], axis=-1).astype(float)
    return (ijk @ np.asarray(ijk_to_ras).T)[..., :3]


def _sphere(shape, ijk_to_ras, centre_ras, radius_mm) -> np.ndarray:
    return (np.linalg.norm(_ras_points(shape, ijk_to_ras) - centre_ras, axis=-1) <= radius_mm).astype(np.uint8)


def _dice(a, b) -> float:
    return 2.0 * np.logical_and(a, b).sum() / (a.astype(bool).sum() + b.astype(bool).sum())


def _segmentation(mrml, masks: dict, reference_volume, names: dict | None = None):
    """A segmentation node whose segments (ID -> mask) are filled on ``reference_volume``'s grid."""
    node = mrml.scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "segmentation")
    node.CreateDefaultDisplayNodes()
    node.SetReferenceImageGeometryParameterFromVolumeNode(reference_volume)
    for segment_id, mask in masks.items():
        node.GetSegmentation().AddEmptySegment(segment_id, (names or {}).get(segment_id, segment_id))
        mrml.slicer.util.updateSegmentBinaryLabelmapFromArray(mask, node, segment_id, reference_volume)
    return node


# --- geometry ----------------------------------------------------------------------------------------


def test_volume_geometry_matches_slicers_own_node_accessors(mrml, scene):
    """An oblique volume pushed and pulled back: voxels exact; spacing/origin/directions as Slicer reports them."""
    rotation = _rotation_z(30.0) @ np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])
    matrix = _ijk_to_ras((0.7, 0.8, 4.0), (10.0, -20.0, 30.0), rotation)
    array = np.arange(3 * 4 * 5, dtype=np.int16).reshape(3, 4, 5)
    node = _volume(mrml, array, matrix)
    back, geometry = mrml.adapter.volumeArray(node)
    np.testing.assert_array_equal(back, array)
    np.testing.assert_allclose(geometry.spacing, node.GetSpacing(), rtol=1e-12)
    origin_ras = np.array(node.GetOrigin())
    np.testing.assert_allclose(geometry.origin, origin_ras * [-1, -1, 1], atol=1e-12)
    directions = np.zeros((3, 3))
    node.GetIJKToRASDirections(directions)
    np.testing.assert_allclose(np.reshape(geometry.direction, (3, 3)), np.diag([-1, -1, 1]) @ directions, atol=1e-12)
    np.testing.assert_allclose(geometry.ijk_to_ras(), matrix, atol=1e-12)


def test_module_self_test_quick_flows(mrml, scene):
    """NACResistanceTest's geometry round trip and unknown-segment refusal, as a real Slicer runs them."""
    test = mrml.module.NACResistanceTest("runTest")
    for name in ("test_GeometryRoundTrip", "test_UnknownSegmentIsRefused"):
        test.setUp()
        getattr(test, name)()


# --- segments onto the ROI grid ------------------------------------------------------------------------


def test_segment_from_a_finer_grid_exports_exactly_onto_the_roi_grid(mrml, scene):
    """Fine voxels (0.5 mm) tiling whole ROI voxels (1 mm): the export is the closed-form box."""
    roi_matrix = _ijk_to_ras((1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    roi_shape = (8, 10, 12)
    expected = np.zeros(roi_shape, np.uint8)
    expected[2:6, 3:7, 4:9] = 1
    fine = _volume(mrml, np.zeros((16, 20, 24), np.int16), _ijk_to_ras((0.5, 0.5, 0.5), (-0.25, -0.25, -0.25)), "fine")
    fine_mask = expected.repeat(2, 0).repeat(2, 1).repeat(2, 2)
    segmentation = _segmentation(mrml, {"tumor": fine_mask}, fine)
    geometry = ImageGeometry.from_ijk_to_ras(roi_matrix)
    tumor, reference = mrml.adapter.segmentArrays(segmentation, "tumor", "", np.zeros(roi_shape), geometry)
    assert reference is None and tumor.dtype == np.uint8
    np.testing.assert_array_equal(tumor, expected)


@pytest.mark.parametrize("case", ["oblique", "dwi grid"])
def test_segment_from_another_grid_matches_the_closed_form_sphere(mrml, scene, case):
    """A sphere drawn on an oblique (30 deg) or a coarse DWI grid, exported onto the DCE ROI grid."""
    centre, radius = np.array([12.0, 14.0, 10.0]), 6.0
    roi_matrix = _ijk_to_ras((0.8, 0.8, 1.0), (0.0, 0.0, 0.0))
    roi_shape = (20, 36, 32)
    if case == "oblique":
        source_matrix = _ijk_to_ras((0.5, 0.5, 0.5), (14.0, -2.0, -1.0), _rotation_z(30.0))
        source_shape = (48, 64, 64)
    else:
        source_matrix = _ijk_to_ras((2.0, 2.0, 3.0), (-1.0, -1.0, -1.5))
        source_shape = (9, 18, 16)
    source = _volume(mrml, np.zeros(source_shape, np.int16), source_matrix, "source")
    segmentation = _segmentation(mrml, {"tumor": _sphere(source_shape, source_matrix, centre, radius)}, source)
    tumor, _ = mrml.adapter.segmentArrays(segmentation, "tumor", "", np.zeros(roi_shape),
                                          ImageGeometry.from_ijk_to_ras(roi_matrix))
    truth = _sphere(roi_shape, roi_matrix, centre, radius)
    assert tumor.shape == roi_shape
    assert _dice(tumor, truth) > (0.93 if case == "oblique" else 0.80)  # coarser source grid, coarser edge
    assert abs(tumor.sum() * 0.64 - 4 / 3 * math.pi * radius**3) / (4 / 3 * math.pi * radius**3) < 0.2


def test_segmentation_under_a_transform_is_exported_where_the_transform_puts_it(mrml, scene):
    """A segmentation under a 3 mm translation: the export is the drawn box shifted by 3 voxels."""
    matrix = _ijk_to_ras((1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    shape = (6, 8, 12)
    box = np.zeros(shape, np.uint8)
    box[1:4, 2:5, 2:5] = 1
    volume = _volume(mrml, np.zeros(shape, np.int16), matrix)
    segmentation = _segmentation(mrml, {"tumor": box}, volume)
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "shift")
    transform.SetMatrixTransformToParent(mrml.slicer.util.vtkMatrixFromArray(_ijk_to_ras((1, 1, 1), (3.0, 0, 0))))
    segmentation.SetAndObserveTransformNodeID(transform.GetID())
    tumor, _ = mrml.adapter.segmentArrays(segmentation, "tumor", "", np.zeros(shape),
                                          ImageGeometry.from_ijk_to_ras(matrix))
    np.testing.assert_array_equal(tumor, np.roll(box, 3, axis=2))


def test_unknown_segment_id_is_refused_naming_the_segments(mrml, scene):
    """Bug 1: a segment name typed instead of its ID, or a deleted segment, gives one clear ImageError."""
    matrix = _ijk_to_ras((1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    volume = _volume(mrml, np.zeros((4, 4, 4), np.int16), matrix)
    mask = np.zeros((4, 4, 4), np.uint8)
    mask[1:3, 1:3, 1:3] = 1
    segmentation = _segmentation(mrml, {"Segment_1": mask, "Segment_2": mask}, volume,
                                 {"Segment_1": "tumour", "Segment_2": "fat"})
    geometry = ImageGeometry.from_ijk_to_ras(matrix)
    with pytest.raises(ImageError, match=r"no segment with ID 'tumour' \(tumour\).*'Segment_1' \(tumour\), "
                                         r"'Segment_2' \(fat\)"):
        mrml.adapter.segmentArrays(segmentation, "tumour", "", np.zeros((4, 4, 4)), geometry)
    segmentation.GetSegmentation().RemoveSegment("Segment_2")
    with pytest.raises(ImageError, match=r"no segment with ID 'Segment_2' \(reference\).*: 'Segment_1' \(tumour\)\. "):
        mrml.adapter.segmentArrays(segmentation, "Segment_1", "Segment_2", np.zeros((4, 4, 4)), geometry)


def test_segment_export_leaves_no_node_behind(mrml, scene):
    matrix = _ijk_to_ras((1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    volume = _volume(mrml, np.zeros((4, 4, 4), np.int16), matrix)
    mask = np.zeros((4, 4, 4), np.uint8)
    mask[1:3, 1:3, 1:3] = 1
    segmentation = _segmentation(mrml, {"tumor": mask, "reference": 1 - mask}, volume)
    before = [n.GetID() for n in _nodes(scene)]
    tumor, reference = mrml.adapter.segmentArrays(segmentation, "tumor", "reference", np.zeros((4, 4, 4)),
                                                  ImageGeometry.from_ijk_to_ras(matrix))
    np.testing.assert_array_equal(tumor, mask)
    np.testing.assert_array_equal(reference, 1 - mask)
    assert [n.GetID() for n in _nodes(scene)] == before


# --- sequences and diffusion nodes ----------------------------------------------------------------------


@pytest.mark.parametrize(("unit", "index", "times"), [
    ("s", ["2", "53.3", "104.6"], [0.0, 51.3, 102.6]),
    ("ms", ["2000", "53300", "104600"], [0.0, 51.3, 102.6]),
    ("min", ["0", "1", "2.5"], [0.0, 60.0, 150.0]),
])
def test_dce_sequence_index_units_give_times_in_seconds(mrml, scene, unit, index, times):
    matrix = _ijk_to_ras((0.7, 0.7, 2.0), (1.0, 2.0, 3.0))
    sequence = scene.AddNewNodeByClass("vtkMRMLSequenceNode", "DCE")
    sequence.SetIndexUnit(unit)
    for value, signal in zip(index, (10, 30, 25)):
        sequence.SetDataNodeAtValue(_volume(mrml, np.full((2, 3, 4), signal, np.int16), matrix), value)
    phases, seconds, geometry = mrml.adapter.dceArrays(sequence, [], None)
    assert seconds == pytest.approx(times, abs=1e-9)
    assert [int(p[0, 0, 0]) for p in phases] == [10, 30, 25]
    np.testing.assert_allclose(geometry.ijk_to_ras(), matrix, atol=1e-12)


def test_dce_sequence_with_a_non_time_index_is_refused(mrml, scene):
    sequence = scene.AddNewNodeByClass("vtkMRMLSequenceNode", "DCE")
    sequence.SetIndexUnit("frame")
    for value in ("0", "1"):
        sequence.SetDataNodeAtValue(_volume(mrml, np.zeros((2, 2, 2), np.int16), np.eye(4)), value)
    with pytest.raises(ConfigError, match="not a time unit"):
        mrml.adapter.dceArrays(sequence, [], None)


def test_dwi_node_with_a_rotated_measurement_frame_gives_lps_gradients(mrml, scene):
    """Measurement frame rotated 90 deg about z: gradient g -> RAS R g -> LPS diag(-1,-1,1) R g (closed form)."""
    from vtk.util.numpy_support import numpy_to_vtk

    gradients = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0.6, 0.8, 0]], float)  # Slicer: |g| 0 or 1
    bvals = [0.0, 1000.0, 1000.0, 1000.0, 800.0]
    data = np.stack([np.full((3, 4, 5), 100 - 10 * i, np.float32) for i in range(5)], axis=-1)
    node = scene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode", "DWI")
    matrix = _ijk_to_ras((1.5, 1.5, 3.0), (5.0, 6.0, 7.0))
    node.SetIJKToRASMatrix(mrml.slicer.util.vtkMatrixFromArray(matrix))
    mrml.slicer.util.updateVolumeFromArray(node, data)
    node.SetNumberOfGradients(5)
    node.SetDiffusionGradients(numpy_to_vtk(gradients, deep=True))
    node.SetBValues(numpy_to_vtk(np.array(bvals), deep=True))
    frame = np.eye(4)
    frame[:3, :3] = _rotation_z(90.0)
    node.SetMeasurementFrameMatrix(mrml.slicer.util.vtkMatrixFromArray(frame))
    volumes, b, bvecs, geometry = mrml.adapter.dwiArrays(node, [], None)
    expected = (np.diag([-1.0, -1.0, 1.0]) @ _rotation_z(90.0) @ gradients.T).T
    norms = np.linalg.norm(expected, axis=1, keepdims=True)
    expected = np.divide(expected, norms, out=np.zeros_like(expected), where=norms > 0)
    np.testing.assert_allclose(bvecs, expected, atol=1e-12)
    np.testing.assert_allclose(bvecs[1], [0.0, -1.0, 0.0], atol=1e-12)  # x in the frame -> RAS +y -> LPS -y
    assert b == bvals and [float(v[0, 0, 0]) for v in volumes] == [100, 90, 80, 70, 60]
    np.testing.assert_allclose(geometry.ijk_to_ras(), matrix, atol=1e-12)


def test_dwi_per_b_volumes_need_one_b_value_each_and_grids_must_agree(mrml, scene):
    a = _volume(mrml, np.zeros((2, 2, 2), np.int16), np.eye(4))
    b = _volume(mrml, np.zeros((2, 2, 2), np.int16), np.diag([2.0, 1.0, 1.0, 1.0]))
    with pytest.raises(AcquisitionError, match="one b-value"):
        mrml.adapter.dwiArrays(None, [a, a], [0.0])
    with pytest.raises(ImageError, match="not all on one grid"):
        mrml.adapter.dceArrays(None, [a, b], [0.0, 60.0])
    with pytest.raises(AcquisitionError, match="at least two phase volumes"):
        mrml.adapter.dceArrays(None, [a], [0.0])
    transform = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "t")
    a.SetAndObserveTransformNodeID(transform.GetID())
    with pytest.raises(ImageError, match="harden the transform"):
        mrml.adapter.volumeArray(a)


# --- the Logic: score, result nodes, orphan count, colours ----------------------------------------------


@pytest.fixture(scope="module")
def example_exam():
    return phantom.make_exam(0, 0, SMALL).exam


def _documented_outputs(n_maps: int) -> int:
    """docs/slicer.md: 3 tables, 1 chart and its 2 series, and a volume + display node per map."""
    return 3 + 1 + 2 + 2 * n_maps


@pytest.mark.slow
def test_apply_scores_like_the_library_and_leaves_only_its_outputs(mrml, scene, example_exam, quick_model):
    """Panel state -> scoreParameterNode == pipeline.score_exam; node count = before + outputs; re-Apply adds 0."""
    model_path, model = quick_model
    logic = mrml.module.NACResistanceLogic()
    p = logic.getParameterNode()
    logic.loadSyntheticExample(p)
    p.modelPath = Path(model_path)
    before = scene.GetNumberOfNodes()
    score = logic.scoreParameterNode(p)
    expected = pipeline.score_exam(example_exam, model)
    assert score.prediction.probability == pytest.approx(expected.prediction.probability, rel=1e-12)
    assert scene.GetNumberOfNodes() == before + _documented_outputs(len(score.analysis.maps))
    ids = [n.GetID() for n in _nodes(scene)]
    logic.scoreParameterNode(p)
    assert [n.GetID() for n in _nodes(scene)] == ids, "a second Apply must reuse the output nodes"

    values = p.outputTable
    assert values.GetNumberOfColumns() == 2 + len(expected.analysis.features)
    for name, value in expected.analysis.features.items():
        cell = float(values.GetTable().GetColumnByName(name).GetValue(0))
        assert (math.isnan(cell) and math.isnan(value)) or cell == pytest.approx(value, rel=1e-12), name
        assert values.GetColumnUnitLabel(name) == expected.analysis.units.get(name, "")
        assert values.GetColumnDescription(name) == expected.analysis.descriptions.get(name, "")
    assert values.GetColumnUnitLabel("adc_mean") == "mm²/s"
    contributions = p.contributionsTable
    assert contributions.GetColumnUnitLabel("contribution") == "log-odds"
    terms = [contributions.GetCellText(r, 0) for r in range(contributions.GetNumberOfRows())]
    assert terms == list(expected.prediction.contributions["term"])
    np.testing.assert_allclose(mrml.slicer.util.arrayFromTableColumn(contributions, "contribution"),
                               expected.prediction.contributions["contribution"], rtol=1e-12)
    curves = p.curvesTable
    np.testing.assert_allclose(mrml.slicer.util.arrayFromTableColumn(curves, "tumor"),
                               expected.analysis.curves["tumor"], rtol=1e-12)
    assert curves.GetColumnUnitLabel("time_s") == "s"
    chart = p.curvesChart
    series = [chart.GetNthPlotSeriesNode(i) for i in range(chart.GetNumberOfPlotSeriesNodes())]
    assert [(s.GetXColumnName(), s.GetYColumnName()) for s in series] == [("time_s", "tumor"), ("time_s", "reference")]
    assert {s.GetTableNodeID() for s in series} == {curves.GetID()}
    assert chart.GetTitle() == "Time-intensity curves"

    import SimpleITK as sitk

    for map_name, image in expected.analysis.maps.items():
        node = scene.GetFirstNode(f"{example_exam.patient_id} {map_name}", "vtkMRMLScalarVolumeNode")
        array, geometry = mrml.adapter.volumeArray(node)
        np.testing.assert_array_equal(array, sitk.GetArrayFromImage(image), err_msg=map_name)
        assert geometry == ImageGeometry.from_image(image)
        assert node.GetDisplayNode().GetColorNodeID() == mrml.adapter.mapColorNodeID(map_name)
    rainbow = scene.GetFirstNode(f"{example_exam.patient_id} adc", "vtkMRMLScalarVolumeNode")
    assert rainbow.GetDisplayNode().GetColorNode().GetName() == "Rainbow"  # a built-in table, in slicer-core


@pytest.mark.parametrize(("map_name", "table"), [
    ("dce_curve_type", "vtkMRMLColorTableNodeLabels"),  # was Inferno: "type" contains "pe"
    ("dce_pe", "vtkMRMLColorTableNodeFileInferno.txt"), ("dce_ie", "vtkMRMLColorTableNodeFileInferno.txt"),
    ("adc", "vtkMRMLColorTableNodeRainbow"), ("dki_tensor_md", "vtkMRMLColorTableNodeRainbow"),
    ("dki_tensor_mk", "vtkMRMLColorTableNodeFilePlasma.txt"), ("dce_ser", "vtkMRMLColorTableNodeFileColdToHotRainbow.txt"),
    ("dce_ttp", "vtkMRMLColorTableNodeFileViridis.txt"), ("dce_wash_in", "vtkMRMLColorTableNodeFileViridis.txt"),
    ("dce_washout", "vtkMRMLColorTableNodeFileViridis.txt"), ("dce_speed", "vtkMRMLColorTableNodeFileViridis.txt"),
])
def test_map_colours_are_chosen_by_whole_words(mrml, map_name, table):
    assert mrml.adapter.mapColorNodeID(map_name) == table


def test_colour_tables_chosen_exist_in_slicer(mrml, scene):
    """Built-in tables exist in the scene; file tables are the ones Slicer ships in share/ColorFiles."""
    tables = {*mrml.adapter.MAP_COLOR_NODE_IDS.values(), *mrml.adapter.MAP_QUANTITY_COLOR_NODE_IDS.values(),
              mrml.adapter.DEFAULT_MAP_COLOR_NODE_ID}
    built_in = {t for t in tables if ".txt" not in t}
    assert built_in and all(scene.GetNodeByID(t) is not None for t in built_in)
    assert {t[len("vtkMRMLColorTableNodeFile"):] for t in tables - built_in} == {
        "Plasma.txt", "Inferno.txt", "ColdToHotRainbow.txt", "Viridis.txt"}


@pytest.mark.slow
def test_score_nodes_with_a_dce_sequence_and_a_dwi_node(mrml, scene, example_exam, quick_model):
    """scoreNodes from a sequence (index in ms) and a DWI volume node == score_exam on the same arrays."""
    from vtk.util.numpy_support import numpy_to_vtk

    model_path, model = quick_model
    nodes = mrml.adapter.examToNodes(example_exam)
    sequence = scene.AddNewNodeByClass("vtkMRMLSequenceNode", "DCE")
    sequence.SetIndexUnit("ms")
    for node, time_s in zip(nodes["dcePhases"], example_exam.dce.times_s):
        sequence.SetDataNodeAtValue(node, f"{1000 * time_s + 5000:g}")
    dwi = scene.AddNewNodeByClass("vtkMRMLDiffusionWeightedVolumeNode", "DWI")
    volumes = [mrml.adapter.volumeArray(n) for n in nodes["dwiVolumes"]]
    dwi.SetIJKToRASMatrix(mrml.slicer.util.vtkMatrixFromArray(volumes[0][1].ijk_to_ras()))
    mrml.slicer.util.updateVolumeFromArray(dwi, np.stack([v for v, _ in volumes], axis=-1))
    bvals = np.array(example_exam.dwi.bvals, float)
    dwi.SetNumberOfGradients(len(bvals))
    dwi.SetDiffusionGradients(numpy_to_vtk(np.zeros((len(bvals), 3)), deep=True))
    dwi.SetBValues(numpy_to_vtk(bvals, deep=True))
    score = mrml.module.NACResistanceLogic().scoreNodes(
        modelPath=model_path, segmentationNode=nodes["segmentation"], tumorSegmentID=nodes["tumorSegmentID"],
        referenceSegmentID=nodes["referenceSegmentID"], dceNode=sequence, roiPhase=example_exam.dce.roi_phase,
        dwiNode=dwi, adcNode=nodes["adc"], clinical=dict(example_exam.clinical), patientID=example_exam.patient_id)
    expected = pipeline.score_exam(example_exam, model)
    assert score.prediction.probability == pytest.approx(expected.prediction.probability, rel=1e-12)
    for name in ("adc_mean", "dki_rMK", "dce_pe_mean", "dce_ser_mean"):
        assert score.analysis.features[name] == pytest.approx(expected.analysis.features[name], rel=1e-12), name


def test_unset_model_path_reads_back_as_dot_and_the_logic_uses_the_demo_model(mrml, scene):
    """Bug 2: an unset ``modelPath: Path`` is Path('.'), truthy; the Logic resolves it to the demo model."""
    logic = mrml.module.NACResistanceLogic()
    p = logic.getParameterNode()
    assert p.modelPath == Path(".")
    assert logic.modelPathOrDefault(p.modelPath) == logic.defaultModelPath()
    assert logic.loadModel(p.modelPath).name == models.load(logic.defaultModelPath()).name
    assert "demo model" in logic.modelDescription(logic.loadModel(p.modelPath), p.modelPath)
    assert logic.modelPathOrDefault("/x/model.json") == Path("/x/model.json")


def test_sample_data_entry_loads_the_synthetic_exam_without_download(mrml, scene, example_exam):
    """Registered at startupCompleted with a loader function and no URL; the loader builds the exam."""
    entries = [s for s in mrml.sources if s["sampleName"] == mrml.module.SAMPLE_DATA_NAME]
    assert len(entries) == 1 and entries[0]["uris"] == [] and entries[0]["fileNames"] == []
    assert Path(entries[0]["thumbnailFileName"]).is_file()
    loaded = entries[0]["customDownloader"](SimpleNamespace(sampleName=mrml.module.SAMPLE_DATA_NAME))
    phases = loaded[:-1]
    assert len(phases) == len(example_exam.dce.phases)
    array, _ = mrml.adapter.volumeArray(phases[1])
    import SimpleITK as sitk

    np.testing.assert_array_equal(array, sitk.GetArrayFromImage(example_exam.dce.phases[1]))
    assert loaded[-1].GetSegmentation().GetNumberOfSegments() == 2


# --- the module's own self-test and the batch example -------------------------------------------------


@pytest.mark.slow
def test_module_self_test_all_features_equal_analyze_exam(mrml, scene):
    """NACResistanceTest.runTest: every feature (radiomics included) == analyze_exam, and the quick flows."""
    mrml.module.NACResistanceTest("runTest").runTest()  # all its flows, as Slicer's Reload and Test runs them


def _run_batch(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(Path(slicer_core_app.__file__)), str(ROOT / "examples" / "slicer_batch.py"),
               *arguments]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.slow
def test_batch_example_runs_headless_with_the_demo_model(tmp_path):
    """Bug 2: ``slicer_batch.py --example`` (no --model) scores with the demo model and writes its files.

    Reference: the demo model applied by the library to the written features and the exam's clinical
    data (the features themselves equal analyze_exam: the self-test above).
    """
    import pandas as pd

    result = _run_batch(tmp_path, "--example", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stdout + result.stderr
    exam = phantom.make_exam(0, 0, SMALL).exam
    features = pd.read_csv(tmp_path / "out" / "features.csv", index_col=[0, 1])
    assert list(features.index) == [(exam.patient_id, exam.timepoint)]
    demo = models.load(ROOT / "NACResistance" / "Resources" / "demo_model.json")
    expected = demo.predict({**features.iloc[0].to_dict(), **exam.clinical})
    assert f"Probability of resistance {expected.probability:.2f}" in result.stdout
    terms = pd.read_csv(tmp_path / "out" / "contributions.csv")
    np.testing.assert_allclose(terms["contribution"], expected.contributions["contribution"], rtol=1e-12)
    values = pd.read_csv(tmp_path / "out" / "values.tsv", sep="\t")  # Slicer's table writer: 6 digits
    assert values["patient_id"].tolist() == [exam.patient_id]
    for name in ("adc_mean", "dce_pe_mean", "dki_rMK"):
        assert values[name].iloc[0] == pytest.approx(features[name].iloc[0], rel=1e-5), name
    schema = pd.read_csv(tmp_path / "out" / "values.schema.tsv", sep="\t").set_index("columnName")
    assert schema.loc["adc_mean", "unitLabel"] == "mm²/s"


@pytest.mark.slow
def test_batch_example_scores_a_manifest_and_one_row(tmp_path, quick_model):
    """``--manifest`` writes what ``nacresistance predict`` writes (same table from the same features);
    ``--row`` scores one exam like the cohort run."""
    import pandas as pd

    from NACResistanceLib import cli

    model_path, _ = quick_model
    manifest = phantom.make_cohort(2, 5, tmp_path / "cohort", SMALL)
    result = _run_batch(tmp_path, "--manifest", str(manifest), "--model", str(model_path), "--out", str(tmp_path / "b"))
    assert result.returncode == 0, result.stdout + result.stderr
    features = tmp_path / "b" / "extraction" / "features.csv"
    assert cli.main(["predict", str(model_path), str(manifest), "--features", str(features),
                     "--out", str(tmp_path / "c"), "--progress", "none"]) == 0
    for name in ("predictions.csv", "contributions.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "b" / name), pd.read_csv(tmp_path / "c" / name))
    predictions = pd.read_csv(tmp_path / "b" / "predictions.csv")
    assert len(predictions) == 2
    row = _run_batch(tmp_path, "--manifest", str(manifest), "--row", "1", "--model", str(model_path),
                     "--out", str(tmp_path / "r"))
    assert row.returncode == 0, row.stdout + row.stderr
    assert f"Probability of resistance {predictions['probability'].iloc[1]:.2f}" in row.stdout
    one = pd.read_csv(tmp_path / "r" / "features.csv")
    cohort = pd.read_csv(features)
    assert one["adc_mean"].iloc[0] == pytest.approx(cohort["adc_mean"].iloc[1], rel=1e-12)


def test_run_cohort_calls_the_library_not_the_command_line():
    import ast

    tree = ast.parse((ROOT / "NACResistance" / "NACResistance.py").read_text(encoding="utf-8"))
    run_cohort = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "runCohort")
    source = ast.unparse(run_cohort)
    assert "predict_cohort(" in source and "cli" not in source
    command = (ROOT / "NACResistanceLib" / "commands" / "predict.py").read_text(encoding="utf-8")
    assert "predict_cohort(" in command


def test_the_clinical_panel_values_reach_the_exam(mrml, scene, example_exam, quick_model):
    """clinicalJson of the parameter node -> typed, range-checked clinical values of the exam."""
    model_path, model = quick_model
    logic = mrml.module.NACResistanceLogic()
    p = logic.getParameterNode()
    logic.loadSyntheticExample(p)
    p.clinicalJson = json.dumps({"er": str(example_exam.clinical["er"]), "age_years": "51"})
    exam = logic.examFromParameterNode(p, model)
    assert exam.clinical == {"er": example_exam.clinical["er"], "age_years": 51.0}


def test_region_mask_becomes_a_segment_and_reapplying_replaces_it(mrml, scene):
    """A peritumoral shell (``region_<name>`` map) is shown as the segment ``<name>``: exported back onto its own
    grid it is the same voxels; a second Apply replaces it and leaves no label map behind."""
    import SimpleITK as sitk

    from NACResistanceLib.io.geometry import array_from_image

    mask = np.zeros((6, 8, 10), np.uint8)
    mask[1:4, 2:6, 3:8] = 1
    mask[2, 3:5, 4:7] = 0
    image = sitk.GetImageFromArray(mask)
    image.SetSpacing((0.8, 0.9, 2.0))
    image.SetOrigin((-10.0, 5.0, 3.0))
    array, geometry = array_from_image(image)
    reference = _volume(mrml, np.zeros(array.shape, np.int16), geometry.ijk_to_ras(), "reference")
    segmentation = _segmentation(mrml, {"tumor": np.zeros(array.shape, np.uint8)}, reference)
    mrml.adapter.regionSegment(segmentation, image, "peri3mm")
    segment_id = mrml.adapter.regionSegment(segmentation, image, "peri3mm")
    segments = segmentation.GetSegmentation()
    assert segments.GetNumberOfSegments() == 2 and segments.GetSegment(segment_id).GetName() == "peri3mm"
    np.testing.assert_array_equal(mrml.adapter.exportSegment(segmentation, segment_id, reference), array != 0)
    assert scene.GetNodesByClass("vtkMRMLLabelMapVolumeNode").GetNumberOfItems() == 0


@pytest.mark.parametrize("map_name, table", [("pk_ktrans", "vtkMRMLColorTableNodeFileInferno.txt"),
                                             ("pk_ve", "vtkMRMLColorTableNodeFilePlasma.txt")])
def test_pharmacokinetic_maps_have_their_colours(mrml, map_name, table):
    assert mrml.adapter.mapColorNodeID(map_name) == table


def test_t2w_volume_node_reaches_the_exam_as_its_t2w_series(mrml, scene, example_exam):
    """The panel's T2-weighted node: its voxels and LPS geometry become ``exam.extra_series["t2w"]``."""
    import SimpleITK as sitk

    from NACResistanceLib.io.geometry import array_from_image

    t2w = phantom.make_exam(3, 3, phantom.PhantomProtocol.small(t2w=True)).exam.extra_series["t2w"]
    nodes = mrml.adapter.examToNodes(example_exam)
    array, geometry = array_from_image(t2w)
    t2w_node = _volume(mrml, array, geometry.ijk_to_ras(), "T2w")
    exam = mrml.module.NACResistanceLogic().examFromNodes(
        segmentationNode=nodes["segmentation"], tumorSegmentID=nodes["tumorSegmentID"],
        dcePhaseNodes=nodes["dcePhases"], dceTimesS=list(example_exam.dce.times_s), t2wNode=t2w_node)
    carried = exam.extra_series["t2w"]
    np.testing.assert_array_equal(sitk.GetArrayFromImage(carried), sitk.GetArrayFromImage(t2w))
    np.testing.assert_allclose(carried.GetOrigin(), t2w.GetOrigin(), atol=1e-9)
    np.testing.assert_allclose(carried.GetSpacing(), t2w.GetSpacing(), atol=1e-12)


# --- export as DICOM (SEG and SR) of the applied exam --------------------------------------------------


def _load_dicom_series(mrml, paths: list, name: str):
    """A volume read from DICOM files as Slicer's DICOM module loads it (DICOMScalarVolumePlugin): an archetype
    storage node reads the files (ITK GDCM), and ``DICOM.instanceUIDs`` lists the files' SOP instance UIDs."""
    import pydicom

    storage = mrml.scene.AddNewNodeByClass("vtkMRMLVolumeArchetypeStorageNode")
    storage.ResetFileNameList()
    storage.SetFileName(str(paths[0]))
    for path in paths:
        storage.AddFileName(str(path))
    storage.SetSingleFile(0)
    volume = mrml.scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
    volume.SetAndObserveStorageNodeID(storage.GetID())
    assert storage.ReadData(volume)
    uids = [str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID) for path in paths]
    volume.SetAttribute("DICOM.instanceUIDs", " ".join(uids))
    return volume


@pytest.fixture
def dicom_phases(mrml, scene, example_exam, tmp_path, monkeypatch):
    """The example exam's DCE phases written as DICOM series (int16, exact) and loaded as Slicer's DICOM module
    loads them; ``slicer.dicomDatabase`` stands in for Slicer's database (``fileForInstance``: UID -> file)."""
    import SimpleITK as sitk
    from dicom_writers import uid, write_volume

    files, volumes = {}, []
    for index, phase in enumerate(example_exam.dce.phases):
        paths = write_volume(tmp_path / "dicom" / f"phase{index}", sitk.GetArrayFromImage(phase),
                             spacing=phase.GetSpacing(), origin=phase.GetOrigin(), series_uid=uid("dce", index),
                             number=index + 1, description=f"DCE phase {index}", patient=example_exam.patient_id,
                             FrameOfReferenceUID=uid("dce", "frame"))
        volumes.append(_load_dicom_series(mrml, paths, f"DCE {index} (DICOM)"))
        files.update(zip(volumes[-1].GetAttribute("DICOM.instanceUIDs").split(), map(str, paths)))
    monkeypatch.setattr(mrml.slicer, "dicomDatabase", SimpleNamespace(fileForInstance=lambda u: files.get(u, "")),
                        raising=False)
    return volumes


def _export_button(mrml, logic, p):
    """The panel's export button after the Widget's own update (``_updateExportButton``) on a stand-in button."""
    widget = object.__new__(mrml.module.NACResistanceWidget)
    widget.logic, widget._parameterNode = logic, p
    widget.ui = SimpleNamespace(exportDicomButton=SimpleNamespace(enabled=True, toolTip=""))
    widget._updateExportButton()
    return widget.ui.exportDicomButton


@pytest.mark.slow
def test_dicom_loaded_exam_exports_a_seg_of_its_segments_and_an_sr_of_the_panel_probability(
        mrml, scene, example_exam, quick_model, dicom_phases, tmp_path):
    """ROI phase loaded from DICOM: after Apply the SEG's voxels are the tumour and reference segments on the ROI
    phase (Slicer's own ``arrayFromSegmentBinaryLabelmap``) and reference that phase's series; the SR's probability
    and values are the Apply's."""
    import highdicom as hd

    from NACResistanceLib.dicom_out import read_measurements

    model_path, _ = quick_model
    logic = mrml.module.NACResistanceLogic()
    p = logic.getParameterNode()
    logic.loadSyntheticExample(p)
    p.dcePhaseVolumes, p.modelPath = dicom_phases, Path(model_path)
    assert logic.dicomExportUnavailableReason(p) == (
        "Press Apply first: the export writes the result of the last Apply on this ROI phase.")
    score = logic.scoreParameterNode(p)
    button = _export_button(mrml, logic, p)
    assert button.enabled and button.toolTip.startswith("Write the last Apply's exam as a DICOM SEG")

    exported = logic.exportAppliedDicom(p, str(tmp_path / "out"))
    roi = dicom_phases[example_exam.dce.roi_phase]
    seg = hd.seg.segread(exported.seg_path)
    uids = roi.GetAttribute("DICOM.instanceUIDs").split()  # slice order (written k = 0, 1, ...)
    pixels = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[1, 2])
    for number, segment_id in ((1, p.tumorSegmentID), (2, p.referenceSegmentID)):
        expected = mrml.slicer.util.arrayFromSegmentBinaryLabelmap(p.segmentation, segment_id, roi) > 0
        assert expected.sum() > 0
        np.testing.assert_array_equal(pixels[..., number - 1] > 0, expected, err_msg=segment_id)
    import pydicom

    roi_header = pydicom.dcmread(mrml.slicer.dicomDatabase.fileForInstance(uids[0]), stop_before_pixels=True)
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == roi_header.SeriesInstanceUID
    assert seg.FrameOfReferenceUID == roi_header.FrameOfReferenceUID

    measurements = read_measurements(exported.sr_path)
    probability = measurements["probability_resistance"]["value"]
    assert probability == score.prediction.probability
    assert f"Probability of resistance {probability:.2f}" in logic.predictionText(score.prediction)
    finite = {n: v for n, v in score.analysis.features.items() if math.isfinite(v)}
    assert exported.n_measurements == len(finite)
    for name in ("adc_mean", "dki_rMK", "dce_pe_mean"):
        assert measurements[name]["value"] == finite[name], name


def test_non_dicom_exam_disables_the_export_and_says_why(mrml, scene, quick_model):
    """Volumes built in memory (no DICOM.instanceUIDs): the button is disabled, its tooltip is the reason, and the
    Logic refuses with the same sentence, before and after Apply."""
    model_path, _ = quick_model
    logic = mrml.module.NACResistanceLogic()
    p = logic.getParameterNode()
    logic.loadSyntheticExample(p)
    p.modelPath = Path(model_path)
    roi_name = logic.roiVolumeNode(p).GetName()
    reason = (f"The ROI phase '{roi_name}' was not loaded through Slicer's DICOM module, so a DICOM SEG would have "
              "no source images to reference.")
    button = _export_button(mrml, logic, p)
    assert (button.enabled, button.toolTip) == (False, reason)
    logic.appliedExam = mrml.module.AppliedExam(None, None, None, ())  # what an Apply on these volumes records
    assert _export_button(mrml, logic, p).toolTip == reason
    with pytest.raises(ConfigError) as refused:
        logic.exportAppliedDicom(p, "unused")
    assert logic.errorText(refused.value) == f"ConfigError: {reason}"


def test_python_39_shows_the_librarys_message_not_a_traceback(mrml, scene, dicom_phases, monkeypatch):
    """Slicer 5.8 (Python 3.9) has no highdicom: the tooltip and the refusal are the library's one line."""
    logic = mrml.module.NACResistanceLogic()
    p = logic.getParameterNode()
    logic.loadSyntheticExample(p)
    p.dcePhaseVolumes = dicom_phases
    monkeypatch.setattr(sys, "version_info", (3, 9, 18, "final", 0))
    message = "export-dicom needs Python 3.10 or newer (highdicom); this is Python 3.9"
    button = _export_button(mrml, logic, p)
    assert (button.enabled, button.toolTip) == (False, message)
    with pytest.raises(ConfigError) as refused:
        logic.exportAppliedDicom(p, "unused")
    assert logic.errorText(refused.value) == f"ConfigError: {message}"


def test_a_dicom_volume_sequence_gives_the_instance_uids_of_its_roi_phase(mrml, scene):
    """A sequence from DICOM: the ROI phase's data node's UIDs, else the sequence's own (a multi-volume lists all)."""
    logic = mrml.module.NACResistanceLogic()
    p = logic.getParameterNode()
    sequence = scene.AddNewNodeByClass("vtkMRMLSequenceNode", "DCE")
    for value in ("0", "60"):
        sequence.SetDataNodeAtValue(_volume(mrml, np.zeros((2, 2, 2), np.int16), np.eye(4)), value)
    p.dceSequence, p.roiPhase = sequence, 1
    assert logic.roiDicomInstanceUIDs(p) == ()
    sequence.SetAttribute("DICOM.instanceUIDs", "1.2.1 1.2.2 1.2.3 1.2.4")
    assert logic.roiDicomInstanceUIDs(p) == ("1.2.1", "1.2.2", "1.2.3", "1.2.4")
    sequence.GetNthDataNode(1).SetAttribute("DICOM.instanceUIDs", "1.2.3 1.2.4")
    assert logic.roiDicomInstanceUIDs(p) == ("1.2.3", "1.2.4")


# --- breast and other-lesion segments: panel == manifest columns ----------------------------------------


@pytest.fixture(scope="module")
def peritumoral_model(tmp_path_factory):
    """A quick model (no radiomics) whose analysis has a 0-3 mm peritumoral shell (its map means are features)."""
    config = load_analysis_config({"radiomics": False, "peritumoral": {"shells_mm": [[0.0, 3.0]]}})
    model = models.make_model("peritumoral test model", -1.0, [("adc_mean", -800.0)], radscore=None, threshold=0.3,
                              training={"data": "hand-written test model", "n_patients": 1, "n_resistant": 0},
                              analysis_config=config.to_dict())
    return models.save(model, tmp_path_factory.mktemp("peri") / "model.json"), config


def _fill_panel(p, exam, nodes, model_path) -> None:
    """The panel's fields for an exam pushed to the scene by ``examToNodes`` (times and b-values in full)."""
    p.patientID = exam.patient_id
    p.dcePhaseVolumes, p.roiPhase = nodes["dcePhases"], exam.dce.roi_phase
    p.dceTimes = ", ".join(repr(float(t)) for t in exam.dce.times_s)
    p.dwiPerBVolumes, p.bValues = nodes["dwiVolumes"], ", ".join(repr(float(b)) for b in exam.dwi.bvals)
    p.adcVolume, p.adcUnit = nodes["adc"], "mm^2/s"
    p.segmentation = nodes["segmentation"]
    p.tumorSegmentID, p.referenceSegmentID = nodes["tumorSegmentID"], nodes["referenceSegmentID"]
    p.modelPath = Path(model_path)


@pytest.mark.slow
def test_breast_and_other_lesion_segments_change_the_shells_as_the_manifest_columns_do(
        mrml, scene, peritumoral_model, tmp_path):
    """Panel with a breast and an other-lesion segment == the same exam read from a manifest whose
    ``breast_segment`` / ``other_lesion_segment`` name those segments of the same segmentation file (written by
    Slicer's segmentation storage node): every feature equal (shell voxel counts exactly); without them the shell
    values differ."""
    import pandas as pd

    from NACResistanceLib import io

    model_path, config = peritumoral_model
    manifest_path = phantom.make_cohort(1, 0, tmp_path / "cohort", SMALL)
    exam = io.load_exam(io.read_manifest(manifest_path), 0)
    assert exam.dwi.bvecs is None  # trace DWI: one scene volume per b-value carries all of it
    nodes = mrml.adapter.examToNodes(exam)
    segmentation, roi = nodes["segmentation"], nodes["dcePhases"][exam.dce.roi_phase]
    tumour = mrml.slicer.util.arrayFromSegmentBinaryLabelmap(segmentation, nodes["tumorSegmentID"], roi)
    k, j, i = (int(round(c)) for c in np.argwhere(tumour).mean(axis=0))
    low_x = int(np.argwhere(tumour)[:, 2].min())
    breast = np.zeros(tumour.shape, np.uint8)
    breast[:, j - 1:, max(i - 32, 0):i + 32] = 1  # cuts the shell's anterior half; < 50 % of the field of view
    lesion = np.zeros(tumour.shape, np.uint8)
    lesion[k - 1:k + 2, j - 2:j + 3, low_x - 3:low_x] = 1  # a small lesion touching the tumour's low-x side
    for segment_id, mask in (("breast", breast), ("other lesion", lesion)):
        segmentation.GetSegmentation().AddEmptySegment(segment_id, segment_id)
        mrml.slicer.util.updateSegmentBinaryLabelmapFromArray(mask, segmentation, segment_id, roi)
    for segment_id in (nodes["tumorSegmentID"], nodes["referenceSegmentID"]):
        segmentation.GetSegmentation().GetSegment(segment_id).SetName(segment_id)
    storage = scene.AddNewNodeByClass("vtkMRMLSegmentationStorageNode")
    storage.SetFileName(str(tmp_path / "four segments.seg.nrrd"))
    assert storage.WriteData(segmentation)
    rows = pd.read_csv(manifest_path, dtype=str, keep_default_na=False)
    rows["segmentation"] = str(tmp_path / "four segments.seg.nrrd")
    rows["tumor_segment"], rows["reference_segment"] = nodes["tumorSegmentID"], nodes["referenceSegmentID"]
    rows["breast_segment"], rows["other_lesion_segment"] = "breast", "other lesion"
    rows.to_csv(tmp_path / "cohort" / "with_breast.csv", index=False)
    expected = pipeline.analyze_exam(io.load_exam(io.read_manifest(tmp_path / "cohort" / "with_breast.csv"), 0), config)

    logic = mrml.module.NACResistanceLogic()
    p = logic.getParameterNode()
    _fill_panel(p, exam, nodes, model_path)
    without = logic.scoreParameterNode(p).analysis
    p.breastSegmentID, p.otherLesionSegmentID = "breast", "other lesion"
    chosen = logic.scoreParameterNode(p).analysis
    assert chosen.provenance["peritumoral"]["breast_mask"] == "breast segment"
    assert chosen.provenance["peritumoral"]["other_lesion_excluded"] is True
    shells = [name for name in expected.features if name.startswith("peri3mm_")]
    assert shells and sorted(chosen.features) == sorted(expected.features)
    for name, value in expected.features.items():
        # rel 1e-9: Slicer writes the slice spacing 6 mm as 6.000000000000001 into the .seg.nrrd
        assert chosen.features[name] == pytest.approx(value, rel=1e-9, nan_ok=True), name
    assert all(without.features[name] != chosen.features[name] for name in shells)
    voxels = {a.provenance["peritumoral"]["shells"]["peri3mm"]["voxels"] for a in (without, chosen, expected)}
    assert len(voxels) == 2  # the segments removed voxels from the shell; the manifest removed the same ones
