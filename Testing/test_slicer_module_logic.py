"""The parts of the Slicer module that only a full Slicer (Qt) reaches, run on minimal stand-ins.

Everything MRML (volumes, sequences, DWI nodes, segments, tables, charts, maps, the Logic's Apply,
the module's self-test, the batch example) is tested on Slicer's own MRML libraries in
Testing/test_slicer_mrml.py. What ``slicer-core`` cannot provide is Qt: the application's layout
manager, ``slicer.packaging.pip_ensure`` and the parameter-node wrapper's evaluation of annotations.
These tests load ``NACResistance.py`` on small stand-ins for exactly those calls (documented Slicer
signatures) and check the module's side of them: the chart and table are shown in the layout when
there is one, the lazy install asks for the missing requirements only, and the parameter node's
annotations evaluate.
"""

from __future__ import annotations

import importlib.util
import sys
import types
import typing
import unittest
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULE_FILE = ROOT / "NACResistance" / "NACResistance.py"
ADAPTER_MODULES = ("NACResistanceMRML", "NACResistanceMRML.adapter")


class _Recorder:
    """Records ``name(*args)`` calls made on it; ``results`` gives return values by method name."""

    def __init__(self, **results) -> None:
        self.calls: list[tuple] = []
        self._results = results

    def __getattr__(self, name: str):
        def call(*args, **kwargs):
            self.calls.append((name, *args, *kwargs.items()))
            return self._results.get(name)
        return call


def _parameter_node_wrapper(cls):
    """Like Slicer's wrapper, evaluate the annotations at class creation (typing.get_type_hints)."""
    cls.allParameters = typing.get_type_hints(cls, include_extras=True)
    return cls


def _fake_modules(app) -> dict[str, types.ModuleType]:
    vtk = types.ModuleType("vtk")
    vtk.vtkCommand = SimpleNamespace(ModifiedEvent=33)
    slicer = types.ModuleType("slicer")
    for name in ("vtkMRMLDiffusionWeightedVolumeNode", "vtkMRMLPlotChartNode", "vtkMRMLScalarVolumeNode",
                 "vtkMRMLSegmentationNode", "vtkMRMLSequenceNode", "vtkMRMLTableNode"):
        setattr(slicer, name, type(name, (), {}))
    slicer.app = app
    slicer.util = types.ModuleType("slicer.util")
    slicer.util.VTKObservationMixin = type("VTKObservationMixin", (), {})
    slicer.util.pip_install = app.recorder.pip_install
    slicer.modules = SimpleNamespace(tables=SimpleNamespace(logic=lambda: app.tables),
                                     plots=SimpleNamespace(logic=lambda: app.plots))
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
def app():
    """A stand-in ``slicer.app`` with a layout manager (a main window) and recorded calls."""
    recorder = _Recorder()
    layout_manager = SimpleNamespace(layout=3, setLayout=lambda value: recorder.setLayout(value))
    selection = _Recorder()
    return SimpleNamespace(
        recorder=recorder, selection=selection, layoutManager=lambda: layout_manager,
        applicationLogic=lambda: SimpleNamespace(GetSelectionNode=lambda: selection,
                                                 PropagateTableSelection=recorder.PropagateTableSelection),
        tables=_Recorder(GetLayoutWithTable=35), plots=_Recorder())


@pytest.fixture(scope="module")
def loaded(app):
    """The module loaded on the stand-ins; sys.modules and sys.path are restored afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        for name, module in _fake_modules(app).items():
            patch.setitem(sys.modules, name, module)
        for name in [n for n in sys.modules if n in ADAPTER_MODULES]:
            patch.delitem(sys.modules, name)
        patch.syspath_prepend(str(MODULE_FILE.parent))
        spec = importlib.util.spec_from_file_location("NACResistance", MODULE_FILE)
        module = importlib.util.module_from_spec(spec)
        patch.setitem(sys.modules, "NACResistance", module)
        spec.loader.exec_module(module)
        yield module
        for name in ADAPTER_MODULES:
            sys.modules.pop(name, None)


def test_parameter_node_annotations_evaluate(loaded):
    fields = loaded.NACResistanceParameterNode.allParameters
    assert {"dceSequence", "dcePhaseVolumes", "segmentation", "modelPath", "adcUnit", "curvesChart"} <= set(fields)


def test_missing_requirements_lists_only_absent_distributions(loaded, tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("# comment\nnumpy>=1.20\nno-such-distribution-nacr >= 1.0  # absent\ndask[distributed]>=2023.1\n")
    assert loaded.missingRequirements(str(path)) == ["no-such-distribution-nacr>=1.0"]


def test_requirements_use_pip_ensure_on_new_slicer_and_pip_install_of_the_missing_on_old(loaded, app, tmp_path):
    """Slicer 5.11+: ``slicer.packaging.pip_ensure`` (it asks the user); older: pip_install of what is missing."""
    path = tmp_path / "requirements.txt"
    path.write_text("numpy>=1.20\nno-such-distribution-nacr>=1.0\n")
    packaging = _Recorder(load_requirements=["parsed"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "slicer.packaging", packaging)
        loaded.NACResistanceLogic().ensureRequirements(str(path))
    assert packaging.calls == [("load_requirements", str(path)), ("pip_ensure", ["parsed"], ("requester", "NACResistance"))]
    app.recorder.calls.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "slicer.packaging", None)  # import fails as on Slicer 5.8-5.10
        loaded.NACResistanceLogic().ensureRequirements(str(path))
    assert app.recorder.calls == [("pip_install", "no-such-distribution-nacr>=1.0")]


def test_tables_and_charts_are_shown_in_the_layout_when_there_is_one(loaded, app):
    """With a main window: the table layout of the current layout, the table selected; the chart shown."""
    app.recorder.calls.clear()
    table = SimpleNamespace(GetID=lambda: "vtkMRMLTableNode7")
    loaded.NACResistanceLogic.showTable(table)
    assert app.tables.calls == [("GetLayoutWithTable", 3)]
    assert app.recorder.calls == [("setLayout", 35), ("PropagateTableSelection",)]
    assert app.selection.calls == [("SetActiveTableID", "vtkMRMLTableNode7")]
    chart = object()
    loaded.NACResistanceLogic.showChart(chart)
    assert app.plots.calls == [("ShowChartInLayout", chart)]


def test_export_button_shows_the_librarys_python_39_message(loaded, monkeypatch):
    """Slicer 5.8 (Python 3.9, no highdicom): the Widget disables *Export as DICOM* and its tooltip is the library's
    one-line message (checked before any MRML node is read)."""
    monkeypatch.setattr(sys, "version_info", (3, 9, 18, "final", 0))
    widget = object.__new__(loaded.NACResistanceWidget)
    widget.logic, widget._parameterNode = loaded.NACResistanceLogic(), None
    widget.ui = SimpleNamespace(exportDicomButton=SimpleNamespace(enabled=True, toolTip=""))
    widget._updateExportButton()
    assert (widget.ui.exportDicomButton.enabled, widget.ui.exportDicomButton.toolTip) == (
        False, "export-dicom needs Python 3.10 or newer (highdicom); this is Python 3.9")
