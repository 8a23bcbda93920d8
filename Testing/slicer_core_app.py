"""A headless Slicer application on ``slicer-core``: the real MRML scene and module logics, no Qt.

``slicer-core`` (PyPI, Kitware; Python >= 3.10) is Slicer's C++ core (MRML, the segmentations,
volumes, sequences, tables, plots and colours logics) and the real ``slicer.util``. What a full Slicer
adds on top is Qt: the application object, the GUI, layouts, and the pure-Python helpers that import
Qt (``slicer.i18n``, ``slicer.parameterNodeWrapper``, ``slicer.ScriptedLoadableModule``). This file
wires the real pieces together as Slicer's application does at startup (one ``vtkMRMLScene``, an
application logic, each module logic given the scene) and stands in only for the Qt-side Python:

- ``slicer.app``: no layout manager (as ``Slicer --no-main-window``), testing mode on, ``exit(status)``
  recorded, ``connect("startupCompleted()", slot)`` recorded and fired by :func:`start_modules`.
- ``slicer.parameterNodeWrapper``: fields stored in a real ``vtkMRMLScriptedModuleNode`` (text
  parameters and node references); like Slicer's wrapper an unset ``Path`` reads back as ``Path(".")``.
- ``slicer.ScriptedLoadableModule``: ``getParameterNode`` returns the scene's singleton scripted
  module node, as Slicer's does.
- ``qt`` (empty: only the Widget uses it) and ``slicer.i18n.tr`` (returns the text).
- ``SampleData`` (a Qt module of Slicer): ``registerCustomSampleDataSource`` calls are recorded.

Used by Testing/test_slicer_mrml.py in-process (:func:`install`) and, to run a Slicer batch script
such as examples/slicer_batch.py, as a launcher (like ``Slicer --no-main-window --python-script``):

    python Testing/slicer_core_app.py SCRIPT [ARGS...]
"""

from __future__ import annotations

import pathlib
import runpy
import sys
import tempfile
import types
import typing
import unittest
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
MODULE_DIR = ROOT / "NACResistance"
MODULE_LOGICS = {
    "colors": "vtkSlicerColorLogic", "segmentations": "vtkSlicerSegmentationsModuleLogic",
    "volumes": "vtkSlicerVolumesLogic", "sequences": "vtkSlicerSequencesLogic", "plots": "vtkSlicerPlotsLogic",
    "tables": "vtkSlicerTablesLogic",
}
"""``slicer.modules.<name>.logic()`` objects created at startup (the ones the module and slicer.util use)."""


class HeadlessApp:
    """``slicer.app`` of a run without main window: no layout manager, testing mode, recorded exit."""

    def __init__(self, application_logic) -> None:
        self._application_logic = application_logic
        self.exit_status = None
        self.slots: dict[str, list] = {}
        self.temporaryPath = tempfile.gettempdir()

    def applicationLogic(self):  # noqa: N802  (Slicer's names)
        return self._application_logic

    def layoutManager(self):  # noqa: N802
        return None

    def testingEnabled(self) -> bool:  # noqa: N802
        return True

    def commandOptions(self):  # noqa: N802
        return SimpleNamespace(noMainWindow=True, runPythonAndExit=False)

    def processEvents(self, *args) -> None:  # noqa: N802
        return None

    def connect(self, signal: str, slot) -> None:
        self.slots.setdefault(signal, []).append(slot)

    def exit(self, status: int = 0) -> None:
        self.exit_status = status


def _field_type(annotation):
    """``(base type, is_list, is_node)`` of a parameter-node field annotation."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union:  # Optional[X]
        annotation = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list:
        return args[0], True, _is_node(args[0])
    return annotation, False, _is_node(annotation)


def _is_node(cls) -> bool:
    return isinstance(cls, type) and cls.__name__.startswith("vtkMRML")


def parameter_node_wrapper(cls):
    """Stand-in of ``slicer.parameterNodeWrapper.parameterNodeWrapper`` storing fields in the MRML node.

    Text, numbers and paths are ``SetParameter`` strings; nodes are node references (role = field
    name). Defaults: the class value, else ``""``/``0``/``Path()`` (``Path(".")``), ``None`` or ``[]``.
    """
    hints = typing.get_type_hints(cls, include_extras=True)
    defaults = {name: cls.__dict__[name] for name in hints if name in cls.__dict__}

    def make_property(name: str, annotation):
        base, is_list, is_node = _field_type(annotation)

        def get(self):
            node = self.parameterNode
            if is_node and is_list:
                return [node.GetNthNodeReference(name, i) for i in range(node.GetNumberOfNodeReferences(name))]
            if is_node:
                return node.GetNodeReference(name)
            if not node.HasParameter(name):
                return defaults.get(name, base())
            return base(node.GetParameter(name))

        def set_(self, value):
            node = self.parameterNode
            if is_node and is_list:
                node.RemoveNodeReferenceIDs(name)
                for item in value:
                    node.AddNodeReferenceID(name, item.GetID())
            elif is_node:
                node.SetNodeReferenceID(name, value.GetID() if value is not None else None)
            else:
                node.SetParameter(name, str(value))

        return property(get, set_)

    namespace = {name: make_property(name, annotation) for name, annotation in hints.items()}
    namespace["__init__"] = lambda self, parameterNode: self.__dict__.__setitem__("parameterNode", parameterNode)
    namespace["StartModify"] = lambda self: self.parameterNode.StartModify()
    namespace["EndModify"] = lambda self, was_modifying: self.parameterNode.EndModify(was_modifying)
    namespace["allParameters"] = hints
    namespace["__doc__"] = cls.__doc__
    return type(cls.__name__, (), namespace)


def _scripted_module_classes(slicer) -> types.ModuleType:
    module = types.ModuleType("slicer.ScriptedLoadableModule")

    class ScriptedLoadableModule:
        def __init__(self, parent) -> None:
            self.parent = parent

        def getDefaultModuleDocumentationLink(self) -> str:  # noqa: N802
            return ""

    class ScriptedLoadableModuleLogic:
        def __init__(self, parent=None) -> None:
            name = type(self).__name__
            self.moduleName = name[: -len("Logic")] if name.endswith("Logic") else name

        def getParameterNode(self):  # noqa: N802
            node = slicer.mrmlScene.GetSingletonNode(self.moduleName, "vtkMRMLScriptedModuleNode")
            if node is None:
                node = slicer.vtkMRMLScriptedModuleNode()
                node.SetName(self.moduleName)
                node.SetSingletonTag(self.moduleName)
                node.SetModuleName(self.moduleName)
                node = slicer.mrmlScene.AddNode(node)
            return node

    class ScriptedLoadableModuleTest(unittest.TestCase):
        def delayDisplay(self, message, msec=None) -> None:  # noqa: N802
            return None

    module.ScriptedLoadableModule = ScriptedLoadableModule
    module.ScriptedLoadableModuleLogic = ScriptedLoadableModuleLogic
    module.ScriptedLoadableModuleTest = ScriptedLoadableModuleTest
    module.ScriptedLoadableModuleWidget = type("ScriptedLoadableModuleWidget", (), {})
    return module


def install(setitem, setattr_) -> SimpleNamespace:
    """Wire a fresh scene, application logic and module logics into ``slicer``; stand in for Qt's side.

    ``setitem(mapping, key, value)`` and ``setattr_(obj, name, value)`` do the assignments (pytest's
    ``MonkeyPatch`` methods restore them afterwards). Returns the scene, the app and the module logics.
    """
    import slicer
    import vtk

    scene = slicer.vtkMRMLScene()
    application_logic = slicer.vtkSlicerApplicationLogic()
    application_logic.SetMRMLScene(scene)
    logics = {}
    verbosity = vtk.vtkLogger.GetCurrentVerbosityCutoff()
    vtk.vtkLogger.SetStderrVerbosity(vtk.vtkLogger.VERBOSITY_OFF)  # the colour logic logs that it has no
    try:  # colour files (slicer-core ships none): the procedural and built-in tables are there
        for name, class_name in MODULE_LOGICS.items():
            logic = getattr(slicer, class_name)()
            logic.SetMRMLApplicationLogic(application_logic)
            logic.SetMRMLScene(scene)
            logics[name] = logic
    finally:
        vtk.vtkLogger.SetStderrVerbosity(verbosity)
    application_logic.SetColorLogic(logics["colors"])
    for name, logic in logics.items():  # Slicer registers each module logic by module name
        application_logic.SetModuleLogic(name.capitalize(), logic)
    app = HeadlessApp(application_logic)
    setattr_(slicer, "mrmlScene", scene)
    setattr_(slicer, "app", app)
    setattr_(slicer, "modules", SimpleNamespace(**{
        name: SimpleNamespace(logic=(lambda value: lambda: value)(logic)) for name, logic in logics.items()}))
    i18n = types.ModuleType("slicer.i18n")
    i18n.tr = lambda text: text
    i18n.translate = lambda context, text: text
    wrapper = types.ModuleType("slicer.parameterNodeWrapper")
    wrapper.parameterNodeWrapper = parameter_node_wrapper
    wrapper.Choice = wrapper.WithinRange = lambda *args: ("validator", args)
    sample_data = types.ModuleType("SampleData")  # a Qt module of Slicer: registrations are recorded
    registered: list[dict] = []
    sample_data.SampleDataLogic = SimpleNamespace(registerCustomSampleDataSource=lambda **kw: registered.append(kw))
    stand_ins = {"qt": types.ModuleType("qt"), "slicer.i18n": i18n, "slicer.parameterNodeWrapper": wrapper,
                 "slicer.ScriptedLoadableModule": _scripted_module_classes(slicer), "SampleData": sample_data}
    for name, module in stand_ins.items():
        setitem(sys.modules, name, module)
    for name in ("i18n", "parameterNodeWrapper", "ScriptedLoadableModule"):
        setattr_(slicer, name, stand_ins[f"slicer.{name}"])
    return SimpleNamespace(scene=scene, app=app, logics=logics, sample_data_sources=registered)


def start_modules(app, module) -> object:
    """What Slicer does with a scripted module at startup: construct its module class, then fire
    ``startupCompleted()``. Returns the module object."""
    parent = SimpleNamespace(title="", categories=[], dependencies=[], contributors=[], helpText="",
                             acknowledgementText="")
    instance = getattr(module, module.__name__)(parent)
    for slot in app.slots.get("startupCompleted()", []):
        slot()
    return instance


def main(argv: list[str]) -> int:
    """Run a Slicer batch script (``argv[0]``) with ``argv[1:]`` as its arguments; exit with its status."""
    context = install(lambda mapping, key, value: mapping.__setitem__(key, value), setattr)
    sys.path[:0] = [str(MODULE_DIR)]  # Slicer puts each scripted module's folder on sys.path
    import NACResistance

    start_modules(context.app, NACResistance)
    script = pathlib.Path(argv[0])
    sys.argv = [str(script), *argv[1:]]
    runpy.run_path(str(script), run_name="__main__")
    return int(context.app.exit_status or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
