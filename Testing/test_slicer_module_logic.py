"""Run the Slicer module's Logic and self-test outside Slicer, on minimal stand-ins for slicer/vtk/qt.

Slicer cannot run here, so the static checks of test_slicer_module.py never execute the module's
Python. These tests load ``NACResistance.py`` with small stand-ins for the few Slicer calls the
Logic makes (volume nodes that keep a numpy array and an IJK-to-RAS matrix, a segmentation that
exports on the grid it was filled on, tables, plot nodes) and run the module's own code: the self-test
``NACResistanceTest`` (Logic values == ``pipeline.analyze_exam``), the result-node writers and the
lazy-install helper. The stand-ins encode only documented Slicer behaviour (``slicer.util``
functions' signatures and array order); what they cannot show (real resampling of segments, Qt) is
left to the self-test in a real Slicer.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
import typing
import unittest
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULE_FILE = ROOT / "NACResistance" / "NACResistance.py"


class _Node:
    """A scene node: name, ID and whatever the Logic stores on it."""

    def __init__(self, scene, name: str = "") -> None:
        self.scene, self.name, self.id = scene, name, f"node{len(scene.nodes)}"
        self.display = SimpleNamespace(colorNodeID=None)
        self.display.SetAndObserveColorNodeID = lambda color: setattr(self.display, "colorNodeID", color)

    def GetName(self):  # noqa: N802  (VTK naming, as in Slicer)
        return self.name

    def GetID(self):  # noqa: N802
        return self.id

    def CreateDefaultDisplayNodes(self):  # noqa: N802
        return None

    def GetDisplayNode(self):  # noqa: N802
        return self.display


class _Volume(_Node):
    """A scalar volume: voxels ``(k, j, i)`` and a 4x4 IJK-to-RAS matrix (what arrayFromVolume sees)."""

    array: np.ndarray
    ijk_to_ras: np.ndarray

    def GetParentTransformNode(self):  # noqa: N802
        return None

    def GetIJKToRASMatrix(self, matrix):  # noqa: N802
        matrix.values[:] = self.ijk_to_ras


class _Segmentation(_Node):
    """Segments stored as binary arrays on the grid of the volume they were filled from."""

    def __init__(self, scene, name: str = "") -> None:
        super().__init__(scene, name)
        self.segments: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.GetSegmentation = lambda: SimpleNamespace(AddEmptySegment=self._add)

    def _add(self, name: str) -> str:
        self.segments[name] = (np.zeros((0, 0, 0), np.uint8), np.eye(4))
        return name

    def SetReferenceImageGeometryParameterFromVolumeNode(self, volume):  # noqa: N802
        self.reference = volume


class _Table(_Node):
    def __init__(self, scene, name: str = "") -> None:
        super().__init__(scene, name)
        self.units, self.descriptions, self.table = {}, {}, None

    def SetAndObserveTable(self, table):  # noqa: N802
        self.table = table

    def SetColumnUnitLabel(self, column, unit):  # noqa: N802
        self.units[column] = unit

    def SetColumnDescription(self, column, description):  # noqa: N802
        self.descriptions[column] = description


class _Series(_Node):
    def __init__(self, scene, name: str = "") -> None:
        super().__init__(scene, name)
        self.settings = {}
        for method in ("SetXColumnName", "SetYColumnName", "SetPlotType", "SetAndObserveTableNodeID"):
            self.__dict__[method] = (lambda key: lambda value: self.settings.__setitem__(key, value))(method)
        self.SetColor = lambda *rgb: self.settings.__setitem__("SetColor", rgb)


class _Chart(_Node):
    def __init__(self, scene, name: str = "") -> None:
        super().__init__(scene, name)
        self.series, self.titles = [], {}
        for method in ("SetTitle", "SetXAxisTitle", "SetYAxisTitle"):
            self.__dict__[method] = (lambda key: lambda value: self.titles.__setitem__(key, value))(method)

    def AddAndObservePlotSeriesNodeID(self, node_id):  # noqa: N802
        self.series.append(next(n for n in self.scene.nodes if n.id == node_id))

    def GetNumberOfPlotSeriesNodes(self):  # noqa: N802
        return len(self.series)

    def GetNthPlotSeriesNode(self, index):  # noqa: N802
        return self.series[index]


class _Scene:
    CLASSES = {"vtkMRMLScalarVolumeNode": _Volume, "vtkMRMLSegmentationNode": _Segmentation,
               "vtkMRMLTableNode": _Table, "vtkMRMLPlotSeriesNode": _Series, "vtkMRMLPlotChartNode": _Chart}

    def __init__(self) -> None:
        self.nodes: list[_Node] = []

    def AddNewNodeByClass(self, class_name, name=""):  # noqa: N802
        node = self.CLASSES[class_name](self, name)
        self.nodes.append(node)
        return node

    def RemoveNode(self, node):  # noqa: N802
        self.nodes.remove(node)

    def GetFirstNodeByName(self, name):  # noqa: N802
        return next((n for n in self.nodes if n.name == name), None)

    def Clear(self):  # noqa: N802
        self.nodes.clear()


def _util(scene: _Scene) -> types.ModuleType:
    """``slicer.util`` functions with their documented signatures and (k, j, i) array order."""
    util = types.ModuleType("slicer.util")

    def add_volume_from_array(narray, ijkToRAS=None, name=None, nodeClassName=None):  # noqa: N803
        node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name or "")
        node.array, node.ijk_to_ras = np.array(narray), np.asarray(ijkToRAS, dtype=float).copy()
        return node

    def update_segment(narray, segmentationNode, segmentId, referenceVolumeNode=None):  # noqa: N803
        segmentationNode.segments[segmentId] = (np.array(narray), referenceVolumeNode.ijk_to_ras.copy())

    def array_from_segment(segmentationNode, segmentId, referenceVolumeNode=None):  # noqa: N803
        array, matrix = segmentationNode.segments[segmentId]
        if not np.array_equal(matrix, referenceVolumeNode.ijk_to_ras) or array.shape != referenceVolumeNode.array.shape:
            raise NotImplementedError("stand-in exports only on the grid the segment was filled on")
        return array.astype(np.uint8)

    util.VTKObservationMixin = type("VTKObservationMixin", (), {})
    util.addVolumeFromArray = add_volume_from_array
    util.updateSegmentBinaryLabelmapFromArray = update_segment
    util.arrayFromSegmentBinaryLabelmap = array_from_segment
    util.arrayFromVolume = lambda node: node.array
    util.arrayFromVTKMatrix = lambda matrix: matrix.values.copy()
    util.NodeModify = lambda node: contextlib.nullcontext()
    util.setSliceViewerLayers = lambda **layers: None
    return util


def _parameter_node_wrapper(cls):
    """Like Slicer's wrapper, evaluate the annotations at class creation (typing.get_type_hints)."""
    cls.allParameters = typing.get_type_hints(cls, include_extras=True)
    return cls


def _fake_modules(scene: _Scene) -> dict[str, types.ModuleType]:
    vtk = types.ModuleType("vtk")
    vtk.vtkMatrix4x4 = lambda: SimpleNamespace(values=np.eye(4))
    vtk.vtkCommand = SimpleNamespace(ModifiedEvent=33)
    vtk.vtkTable = lambda: SimpleNamespace(columns=[], AddColumn=None)
    array_type = type("Array", (), {"__init__": lambda self: setattr(self, "values", []),
                                    "SetName": lambda self, n: setattr(self, "name", n),
                                    "InsertNextValue": lambda self, v: self.values.append(v)})
    vtk.vtkStringArray = vtk.vtkDoubleArray = array_type

    def table():
        columns = []
        return SimpleNamespace(columns=columns, AddColumn=columns.append)

    vtk.vtkTable = table
    slicer = types.ModuleType("slicer")
    for name in ("vtkMRMLDiffusionWeightedVolumeNode", "vtkMRMLPlotChartNode", "vtkMRMLScalarVolumeNode",
                 "vtkMRMLSegmentationNode", "vtkMRMLSequenceNode", "vtkMRMLTableNode"):
        setattr(slicer, name, type(name, (), {}))
    slicer.vtkMRMLPlotSeriesNode = SimpleNamespace(PlotTypeScatter=1)
    slicer.mrmlScene = scene
    slicer.app = SimpleNamespace(layoutManager=lambda: None)
    slicer.util = _util(scene)
    i18n = types.ModuleType("slicer.i18n")
    i18n.tr = lambda text: text
    wrapper = types.ModuleType("slicer.parameterNodeWrapper")
    wrapper.Choice = wrapper.WithinRange = lambda *args: ("validator", args)
    wrapper.parameterNodeWrapper = _parameter_node_wrapper
    scripted = types.ModuleType("slicer.ScriptedLoadableModule")
    scripted.ScriptedLoadableModule = scripted.ScriptedLoadableModuleWidget = type("Base", (), {})
    scripted.ScriptedLoadableModuleLogic = type("Logic", (), {"__init__": lambda self: None})
    scripted.ScriptedLoadableModuleTest = type("Test", (unittest.TestCase,), {"delayDisplay": lambda self, m: None})
    return {"vtk": vtk, "qt": types.ModuleType("qt"), "slicer": slicer, "slicer.util": slicer.util,
            "slicer.i18n": i18n, "slicer.parameterNodeWrapper": wrapper, "slicer.ScriptedLoadableModule": scripted}


@pytest.fixture(scope="module")
def loaded():
    """The module loaded on the stand-ins, and its scene; sys.modules is restored afterwards."""
    scene = _Scene()
    with pytest.MonkeyPatch.context() as patch:
        for name, module in _fake_modules(scene).items():
            patch.setitem(sys.modules, name, module)
        spec = importlib.util.spec_from_file_location("NACResistance", MODULE_FILE)
        module = importlib.util.module_from_spec(spec)
        patch.setitem(sys.modules, "NACResistance", module)
        spec.loader.exec_module(module)
        yield module, scene


def test_parameter_node_annotations_evaluate(loaded):
    module, _ = loaded
    fields = module.NACResistanceParameterNode.allParameters
    assert {"dceSequence", "dcePhaseVolumes", "segmentation", "modelPath", "adcUnit", "curvesChart"} <= set(fields)


@pytest.mark.slow
def test_module_self_test_passes_on_stand_ins(loaded):
    """NACResistanceTest: phantom exam -> scene nodes -> Logic == pipeline.analyze_exam (all values)."""
    module, scene = loaded
    scene.Clear()
    module.NACResistanceTest("test_LogicMatchesLibrary").test_LogicMatchesLibrary()
    module.NACResistanceTest("test_GeometryRoundTrip").test_GeometryRoundTrip()
    assert not [n for n in scene.nodes if n.name == "NACResistance ROI grid"], "temporary volume left in the scene"


@pytest.mark.slow
def test_result_nodes_carry_units_maps_colours_and_curves(loaded):
    from NACResistanceLib import phantom, pipeline

    module, scene = loaded
    scene.Clear()
    exam = phantom.make_exam(0, 3, phantom.PhantomProtocol.small()).exam
    analysis = pipeline.analyze_exam(exam, {"radiomics": False})
    contributions = pd.DataFrame({"term": ["intercept", "adc_mean"], "value": [1.0, 1.1e-3],
                                  "coefficient": [-1.0, -800.0], "contribution": [-1.0, -0.88]})
    score = SimpleNamespace(analysis=analysis, prediction=SimpleNamespace(contributions=contributions))
    p = SimpleNamespace(outputTable=None, contributionsTable=None, curvesTable=None, curvesChart=None)
    module.NACResistanceLogic().writeResultNodes(score, p)
    values = {c.name: c for c in p.outputTable.table.columns}
    assert len(values) == 2 + len(analysis.features)
    assert all(p.outputTable.units[name] == unit for name, unit in analysis.units.items())
    assert p.outputTable.units["adc_mean"] == "mm²/s" and values["adc_mean"].values == [analysis.features["adc_mean"]]
    assert p.contributionsTable.units["contribution"] == "log-odds"
    assert [s.settings["SetYColumnName"] for s in p.curvesChart.series] == ["tumor", "reference"]
    assert {s.settings["SetAndObserveTableNodeID"] for s in p.curvesChart.series} == {p.curvesTable.GetID()}
    maps = {n.name: n for n in scene.nodes if isinstance(n, _Volume)}
    assert set(maps) == {f"{exam.patient_id} {name}" for name in analysis.maps}
    assert maps[f"{exam.patient_id} adc"].display.colorNodeID == "vtkMRMLColorTableNodeRainbow"
    np.testing.assert_array_equal(maps[f"{exam.patient_id} dce_ser"].array,
                                  __import__("SimpleITK").GetArrayFromImage(analysis.maps["dce_ser"]))


def test_missing_requirements_lists_only_absent_distributions(loaded, tmp_path):
    module, _ = loaded
    path = tmp_path / "requirements.txt"
    path.write_text("# comment\nnumpy>=1.20\nno-such-distribution-nacr >= 1.0  # absent\ndask[distributed]>=2023.1\n")
    assert module.missingRequirements(str(path)) == ["no-such-distribution-nacr>=1.0"]


def _volume(scene: _Scene, value: float, ijk_to_ras: np.ndarray) -> _Volume:
    return sys.modules["slicer"].util.addVolumeFromArray(np.full((2, 3, 4), value, np.int16), ijk_to_ras, f"v{value}")


def test_dce_sequence_index_in_ms_gives_times_in_s_and_bad_inputs_are_refused(loaded):
    from NACResistanceLib.errors import AcquisitionError, ImageError

    module, scene = loaded
    scene.Clear()
    grid = np.diag([-1.0, -1.0, 2.0, 1.0])
    nodes = [_volume(scene, v, grid) for v in (10.0, 30.0, 25.0)]
    sequence = SimpleNamespace(GetNumberOfDataNodes=lambda: 3, GetNthDataNode=nodes.__getitem__,
                               GetNthIndexValue=lambda i: ["2000", "53300", "104600"][i], GetIndexUnit=lambda: "ms")
    phases, times, geometry = module.dceArrays(sequence, [], None)
    assert times == pytest.approx([0.0, 51.3, 102.6]) and [p[0, 0, 0] for p in phases] == [10, 30, 25]
    assert geometry.spacing == (1.0, 1.0, 2.0)
    with pytest.raises(AcquisitionError, match="at least two phase volumes"):
        module.dceArrays(None, nodes[:1], [0.0])
    with pytest.raises(AcquisitionError, match="one b-value"):
        module.dwiArrays(None, nodes, [0.0, 800.0])
    with pytest.raises(ImageError, match="not all on one grid"):
        module.dceArrays(None, [nodes[0], _volume(scene, 5.0, np.diag([-2.0, -1.0, 2.0, 1.0]))], [0.0, 60.0])


@pytest.mark.slow
def test_apply_path_scores_like_the_library(loaded, tmp_path):
    """Panel state -> Logic.scoreParameterNode == pipeline.score_exam on the in-memory exam, same model."""
    import json

    from NACResistanceLib import models, phantom, pipeline
    from NACResistanceLib.config import load_analysis_config

    module, scene = loaded
    scene.Clear()
    model = models.make_model("test model", -1.0, [("er_positive", -0.7), ("age_years", 0.01), ("dki_rMK", 0.9)],
                              radscore=None, threshold=0.3,
                              training={"data": "hand-written test model", "n_patients": 1, "n_resistant": 0},
                              analysis_config=load_analysis_config({"radiomics": False}).to_dict())  # quick analysis
    model_path = models.save(model, tmp_path / "model.json")
    exam = phantom.make_exam(0, 3, phantom.PhantomProtocol.small()).exam
    nodes = module.examToNodes(exam)
    p = SimpleNamespace(
        patientID=exam.patient_id, dceSequence=None, dcePhaseVolumes=nodes["dcePhases"],
        dceTimes=", ".join(f"{t:g}" for t in exam.dce.times_s), roiPhase=exam.dce.roi_phase, dwiSequence=None,
        dwiVolume=None, dwiPerBVolumes=nodes["dwiVolumes"], bValues="0, 800, 1000", adcVolume=nodes["adc"],
        adcUnit="mm^2/s", segmentation=nodes["segmentation"], tumorSegmentID=nodes["tumorSegmentID"],
        referenceSegmentID=nodes["referenceSegmentID"], modelPath=model_path,
        clinicalJson=json.dumps({"er": str(exam.clinical["er"]), "age_years": str(exam.clinical["age_years"])}),
        outputTable=None, contributionsTable=None, curvesTable=None, curvesChart=None)
    logic = module.NACResistanceLogic()
    assert [s.name for s in logic.clinicalInputs(logic.loadModel(model_path))] == ["er", "age_years"]
    score = logic.scoreParameterNode(p)
    expected = pipeline.score_exam(exam, model).prediction
    assert score.prediction.probability == pytest.approx(expected.probability, rel=1e-12)
    assert score.prediction.predicted_class == expected.predicted_class
    assert list(p.contributionsTable.table.columns[0].values) == ["(intercept)", "er_positive", "age_years", "dki_rMK"]
    assert logic.predictionText(score.prediction).startswith(f"Probability of resistance {expected.probability:.2f}")


@pytest.mark.slow
def test_load_synthetic_example_then_apply_with_the_demo_model(loaded):
    """The panel's two buttons: example exam into the scene, Apply with the bundled demo model."""
    from NACResistanceLib import models, phantom, pipeline

    module, scene = loaded
    scene.Clear()
    logic = module.NACResistanceLogic()
    p = SimpleNamespace(outputTable=None, contributionsTable=None, curvesTable=None, curvesChart=None,
                        modelPath=logic.defaultModelPath())
    logic.loadSyntheticExample(p)
    assert (p.patientID, p.bValues, p.adcUnit) == ("SYN0001", "0, 800, 1000", "mm^2/s")
    score = logic.scoreParameterNode(p)
    exam = phantom.make_exam(0, 0, phantom.PhantomProtocol.small()).exam
    expected = pipeline.score_exam(exam, models.load(logic.defaultModelPath())).prediction
    assert score.prediction.probability == pytest.approx(expected.probability, rel=1e-12)
    pd.testing.assert_frame_equal(score.prediction.contributions, expected.contributions)
