"""Static checks of the Slicer module, its .ui and the CMake packaging (Slicer cannot run here).

What a real Slicer would reject at load or package time is checked from the source: Python 3.9
grammar, names shared between the code and the .ui, scene connections of node selectors, declared
custom widgets, CMake file lists against the disk, library names the module uses, and the lazy
package installation. The module's own self-test (NACResistanceTest) runs inside Slicer.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULE_FILE = ROOT / "NACResistance" / "NACResistance.py"
UI_FILE = ROOT / "NACResistance" / "Resources" / "UI" / "NACResistance.ui"
REQUIREMENTS = ROOT / "NACResistance" / "Resources" / "requirements.txt"
ADAPTER_DIR = ROOT / "NACResistance" / "NACResistanceMRML"
SCRIPTS_USING_LIBRARY = [MODULE_FILE, ADAPTER_DIR / "adapter.py", ROOT / "examples" / "slicer_batch.py"]
SCENE_WIDGETS = {"qMRMLNodeComboBox", "qMRMLCheckableNodeComboBox", "qMRMLSegmentSelectorWidget"}
"""Widgets that list scene nodes and need the scene. The contributions qMRMLTableView gets no scene on
purpose: with a scene it also needs a table view node (qMRMLTableView.h); it shows one table node."""
SLICER_BUNDLED = {"numpy", "scipy", "simpleitk"}
"""Library dependencies that every supported Slicer (5.8-5.12) ships, so requirements.txt omits them."""
FIX = "run: python tools/update_cmake_lists.py"


def _load_tool():
    spec = importlib.util.spec_from_file_location("update_cmake_lists", ROOT / "tools" / "update_cmake_lists.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


@pytest.fixture(scope="module")
def module_tree() -> ast.Module:
    return ast.parse(MODULE_FILE.read_text(encoding="utf-8"), feature_version=(3, 9))


@pytest.fixture(scope="module")
def ui() -> ET.Element:
    return ET.parse(UI_FILE).getroot()


def _ui_widgets(ui: ET.Element) -> dict[str, str]:
    return {w.get("name"): w.get("class") for w in ui.iter("widget")}


def _annotations(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign):
            yield node.annotation
        elif isinstance(node, ast.arg) and node.annotation is not None:
            yield node.annotation
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            yield node.returns


def _has_union_operator(annotation: ast.AST) -> bool:
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr) for n in ast.walk(annotation))


def _future_annotations(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
               and any(a.name == "annotations" for a in n.names) for n in tree.body)


def _python_files() -> list[Path]:
    folders = [ROOT / "NACResistanceLib", ADAPTER_DIR, ROOT / "examples", ROOT / "tools"]
    found = (p for folder in folders for p in folder.rglob("*.py") if "__pycache__" not in p.parts)
    return sorted([MODULE_FILE, *found])


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_files_parse_with_the_python39_grammar(path):
    """Slicer 5.8 runs Python 3.9; `X | Y` annotations need the __future__ import to stay unevaluated."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 9))
    if path != MODULE_FILE and not _future_annotations(tree):
        bad = [ast.unparse(a) for a in _annotations(tree) if _has_union_operator(a)]
        assert not bad, f"{path.name}: `X | Y` annotations {bad} need `from __future__ import annotations` on 3.9"


def test_module_annotations_are_valid_when_evaluated_on_python39(module_tree):
    """@parameterNodeWrapper evaluates the field annotations (typing.get_type_hints): no `|`, no __future__."""
    assert not _future_annotations(module_tree)
    bad = [ast.unparse(a) for a in _annotations(module_tree) if _has_union_operator(a)]
    assert not bad, f"use Optional[...] instead of X | None in NACResistance.py: {bad}"


def test_module_keeps_the_template_classes(module_tree):
    classes = {c.name: c for c in module_tree.body if isinstance(c, ast.ClassDef)}
    bases = {name: [ast.unparse(b) for b in c.bases] for name, c in classes.items()}
    assert bases["NACResistance"] == ["ScriptedLoadableModule"]
    assert bases["NACResistanceWidget"] == ["ScriptedLoadableModuleWidget", "VTKObservationMixin"]
    assert bases["NACResistanceLogic"] == ["ScriptedLoadableModuleLogic"]
    assert bases["NACResistanceTest"] == ["ScriptedLoadableModuleTest"]
    decorators = [ast.unparse(d) for d in classes["NACResistanceParameterNode"].decorator_list]
    assert decorators == ["parameterNodeWrapper"]
    tests = [f.name for f in classes["NACResistanceTest"].body if isinstance(f, ast.FunctionDef)]
    assert {"runTest", "test_LogicMatchesLibrary"} <= set(tests)


def _parameter_fields(module_tree) -> set[str]:
    cls = next(c for c in module_tree.body if isinstance(c, ast.ClassDef) and c.name == "NACResistanceParameterNode")
    return {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign)}


def test_every_ui_name_used_in_the_module_exists_in_the_ui(module_tree, ui):
    used = {n.attr for n in ast.walk(module_tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute)
            and n.value.attr == "ui" and isinstance(n.value.value, ast.Name) and n.value.value.id == "self"}
    missing = sorted(used - set(_ui_widgets(ui)))
    assert len(used) > 10 and not missing, f"self.ui.<name> not in NACResistance.ui: {missing}"


def test_every_slicer_parameter_name_is_a_parameter_node_field(module_tree, ui):
    names = [p.findtext("string") for p in ui.iter("property") if p.get("name") == "SlicerParameterName"]
    unknown = sorted(set(names) - _parameter_fields(module_tree))
    assert len(names) >= 10 and len(names) == len(set(names)), names
    assert not unknown, f"SlicerParameterName values that are not NACResistanceParameterNode fields: {unknown}"


def test_every_mrml_widget_is_connected_to_the_scene(ui):
    root = ui.find("widget").get("name")
    connected = {c.findtext("receiver") for c in ui.iter("connection")
                 if c.findtext("sender") == root and c.findtext("signal") == "mrmlSceneChanged(vtkMRMLScene*)"
                 and c.findtext("slot") == "setMRMLScene(vtkMRMLScene*)"}
    needing = {name for name, cls in _ui_widgets(ui).items() if cls in SCENE_WIDGETS}
    assert needing and not needing - connected, f"not connected to mrmlSceneChanged: {sorted(needing - connected)}"


def test_custom_widget_classes_are_declared(ui):
    declared = {c.findtext("class"): c.findtext("extends") for c in ui.iter("customwidget")}
    used = {cls for cls in _ui_widgets(ui).values() if not cls.startswith("Q")}
    assert not used - set(declared), f"undeclared custom widgets: {sorted(used - set(declared))}"
    assert all(base.startswith("Q") or base in declared for base in declared.values()), declared
    root = ui.find("widget")
    assert root.get("class") == "qMRMLWidget" and root.get("name") == ui.findtext("class") == "NACResistance"


def test_research_use_only_line_is_shown(module_tree, ui):
    assert "researchUseLabel" in _ui_widgets(ui)
    assigned = [ast.unparse(n) for n in ast.walk(module_tree) if isinstance(n, ast.Assign)]
    assert "self.ui.researchUseLabel.text = _researchUseOnly()" in assigned


def _enclosing_functions(tree: ast.AST) -> dict[ast.AST, str]:
    owner = {}
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        for child in ast.walk(function):
            owner.setdefault(child, function.name) if child is function else owner.__setitem__(child, function.name)
    return owner


def test_packages_are_installed_only_inside_apply(module_tree):
    owner = _enclosing_functions(module_tree)
    calls = [n for n in ast.walk(module_tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and n.func.attr in {"pip_install", "pip_ensure"}]
    assert {n.func.attr for n in calls} == {"pip_install", "pip_ensure"}
    assert {owner.get(n) for n in calls} == {"ensureRequirements"}
    callers = {owner.get(n) for n in ast.walk(module_tree) if isinstance(n, ast.Call)
               and ast.unparse(n.func) == "self.logic.ensureRequirements"}
    assert callers == {"onApplyButton", "onLoadExample"}


def test_apply_runs_inside_try_with_error_display(module_tree):
    apply = next(n for n in ast.walk(module_tree) if isinstance(n, ast.FunctionDef) and n.name == "onApplyButton")
    contexts = [ast.unparse(item.context_expr) for w in ast.walk(apply) if isinstance(w, ast.With) for item in w.items]
    assert any(c.startswith("slicer.util.tryWithErrorDisplay(") for c in contexts), contexts


def _library_references(path: Path) -> set[tuple[str, str]]:
    """``(module, attribute)`` pairs a script takes from NACResistanceLib (imports and module attributes)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    refs, aliases = set(), {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("NACResistanceLib"):
            for alias in node.names:
                refs.add((node.module, alias.name))
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    modules = {name: full for name, full in aliases.items() if _is_module(full)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            refs.add((modules[node.value.id], node.attr))
    return refs


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _exists(module_name: str, attribute: str) -> bool:
    module = importlib.import_module(module_name)
    if hasattr(module, attribute):
        return True
    try:
        importlib.import_module(f"{module_name}.{attribute}")
    except ModuleNotFoundError:
        return False
    return True


@pytest.mark.parametrize("path", SCRIPTS_USING_LIBRARY, ids=lambda p: p.name)
def test_every_library_name_the_scripts_use_exists(path):
    refs = _library_references(path)
    missing = sorted(f"{m}.{a}" for m, a in refs if importlib.util.find_spec(m) is not None and not _exists(m, a))
    missing += sorted(m for m, _ in refs if importlib.util.find_spec(m) is None)
    assert refs or path != MODULE_FILE
    assert not missing, f"{path.name} uses names NACResistanceLib does not have: {missing}"


def test_cmake_lists_match_the_files_on_disk_both_ways():
    tool = _load_tool()
    problems = []
    for (cmake_file, block), expected in tool.expected_blocks(ROOT).items():
        listed = tool.listed_entries((ROOT / cmake_file).read_text(encoding="utf-8"), block)
        for entry in sorted(set(expected) - set(listed)):
            problems.append(f"{cmake_file} [{block}] does not list {entry} (on disk)")
        for entry in sorted(set(listed) - set(expected)):
            problems.append(f"{cmake_file} [{block}] lists {entry}, which is not on disk")
    assert not problems, "\n".join(problems) + f"\n{FIX}"


def test_module_scripts_and_extension_metadata():
    module_cmake = (ROOT / "NACResistance" / "CMakeLists.txt").read_text(encoding="utf-8")
    top = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    scripts = sorted(p.name for p in (ROOT / "NACResistance").glob("*.py"))
    assert scripts == ["NACResistance.py"] and "${MODULE_NAME}.py" in module_cmake  # other .py files: sub-packages
    listed = re.search(r"set\(MODULE_PYTHON_SCRIPTS\n(.*?)\n  \)", module_cmake, re.DOTALL).group(1).split()
    on_disk = sorted(p.relative_to(ROOT / "NACResistance").as_posix() for p in ADAPTER_DIR.rglob("*.py"))
    assert listed == ["${MODULE_NAME}.py", *on_disk], "list every file of NACResistanceMRML/ in MODULE_PYTHON_SCRIPTS"
    assert "set(MODULE_NAME NACResistance)" in module_cmake and "WITH_GENERIC_TESTS" in module_cmake
    assert "slicer_add_python_unittest(SCRIPT ${MODULE_NAME}.py)" in module_cmake
    assert re.search(r"^project\(NACResistance\)", top, re.MULTILINE)
    assert 'set(EXTENSION_CATEGORY "Quantification")' in top
    assert top.index("add_subdirectory(NACResistanceLib)") < top.index("add_subdirectory(NACResistance)")
    assert "EXTENSION_ICONURL" in top  # its URLs: Testing/test_extension_index.py
    assert (ROOT / "LICENSE").is_file()


def test_update_tool_is_deterministic_and_finds_both_kinds_of_drift(tmp_path):
    tool = _load_tool()
    for relative in ["NACResistanceLib/b.py", "NACResistanceLib/a/z.py", "NACResistanceLib/params/p.yaml",
                     "NACResistanceLib/__pycache__/b.cpython-311.pyc", "NACResistance/Resources/UI/NACResistance.ui"]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    for cmake, blocks in [("NACResistanceLib/CMakeLists.txt", ["scripts", "resources"]),
                          ("NACResistance/CMakeLists.txt", ["resources"])]:
        body = "".join(f"set(X\n  # BEGIN generated: {b}\n  gone.py\n  # END generated: {b}\n  )\n" for b in blocks)
        (tmp_path / cmake).write_text(body)
    stale = tool.stale_files(tmp_path)
    assert set(stale) == {"NACResistanceLib/CMakeLists.txt", "NACResistance/CMakeLists.txt"}
    assert tool.listed_entries(stale["NACResistanceLib/CMakeLists.txt"], "scripts") == ["a/z.py", "b.py"]
    assert tool.listed_entries(stale["NACResistanceLib/CMakeLists.txt"], "resources") == ["params/p.yaml"]
    assert tool.listed_entries(stale["NACResistance/CMakeLists.txt"], "resources") == ["Resources/UI/NACResistance.ui"]
    for cmake, text in stale.items():
        (tmp_path / cmake).write_text(text)
    assert tool.stale_files(tmp_path) == {}


def _requirement_names(lines) -> set[str]:
    names = set()
    for line in (raw.split("#")[0].strip() for raw in lines):
        if line:
            names.add(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_requirements_cover_the_library_dependencies_slicer_lacks():
    try:
        import tomllib
    except ImportError:  # Python < 3.11: pytest itself depends on tomli there
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = _requirement_names(project["dependencies"]) - SLICER_BUNDLED
    lines = REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    assert _requirement_names(lines) == needed
    assert not [line for line in lines if "==" in line], "requirements.txt must not pin exact versions"


def test_the_module_can_load_before_the_packages_are_installed():
    """NACResistance.py imports only the package root at load time; it must not pull in pip packages."""
    import subprocess
    import sys

    code = ("import sys; import NACResistanceLib; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'numpy', 'pandas', 'SimpleITK', 'scipy', 'sklearn', 'radiomics', 'dipy', 'yaml', 'jsonschema'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    for path in (MODULE_FILE, ADAPTER_DIR / "adapter.py"):
        top_level = [ast.unparse(n) for n in ast.parse(path.read_text(encoding="utf-8")).body
                     if isinstance(n, (ast.Import, ast.ImportFrom)) and "NACResistanceLib" in ast.unparse(n)]
        assert top_level == [], f"{path.name} imports the library at import time: {top_level}"


@pytest.mark.parametrize("path", [MODULE_FILE, ADAPTER_DIR / "adapter.py", ADAPTER_DIR / "__init__.py"],
                         ids=lambda p: p.name)
def test_importing_the_module_files_only_defines_names(path):
    """Extensions Index / python_faq: no work at import time (no call outside functions, classes and
    decorators); ``_makeLibraryImportable`` and the Sample Data registration run when the module is constructed."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):  # docstrings
            continue
        assert isinstance(node, (ast.Assign, ast.AnnAssign)), f"{path.name}:{node.lineno}: {ast.unparse(node)}"
        calls = [n for n in ast.walk(node.value) if isinstance(n, (ast.Call, ast.Lambda))]
        assert not calls, f"{path.name}:{node.lineno} runs code at import time: {ast.unparse(node)}"


def test_the_mrml_adapter_never_imports_qt_or_ctk():
    tree = ast.parse((ADAPTER_DIR / "adapter.py").read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {"slicer", "vtk"} <= imported and not imported & {"qt", "ctk", "slicer.i18n"}
    assert "slicer.app" not in (ADAPTER_DIR / "adapter.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", sorted((ROOT / "NACResistanceLib").rglob("*.py")), ids=lambda p: p.name)
def test_library_never_imports_slicer_qt_ctk_or_vtk(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.level == 0}
    assert not imported & {"slicer", "qt", "ctk", "vtk", "sitkUtils"}


PY39_LOAD_SCRIPT = r"""
import importlib.util, sys, types, typing
def module(name, **attrs):
    m = types.ModuleType(name); m.__dict__.update(attrs); sys.modules[name] = m; return m
def wrapper(cls):
    cls.allParameters = typing.get_type_hints(cls, include_extras=True)  # what parameterNodeWrapper does
    return cls
nodes = {n: type(n, (), {}) for n in ("vtkMRMLDiffusionWeightedVolumeNode", "vtkMRMLPlotChartNode",
         "vtkMRMLScalarVolumeNode", "vtkMRMLSegmentationNode", "vtkMRMLSequenceNode", "vtkMRMLTableNode")}
module("vtk"); module("qt")
slicer = module("slicer", **nodes)
slicer.util = module("slicer.util", VTKObservationMixin=type("VTKObservationMixin", (), {}))
module("slicer.i18n", tr=lambda text: text)
module("slicer.parameterNodeWrapper", Choice=lambda *a: a, WithinRange=lambda *a: a, parameterNodeWrapper=wrapper)
module("slicer.ScriptedLoadableModule", **{n: type(n, (), {}) for n in ("ScriptedLoadableModule",
       "ScriptedLoadableModuleWidget", "ScriptedLoadableModuleLogic", "ScriptedLoadableModuleTest")})
sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0])  # Slicer puts the module's folder on sys.path
spec = importlib.util.spec_from_file_location("NACResistance", sys.argv[1])
loaded = importlib.util.module_from_spec(spec); sys.modules["NACResistance"] = loaded; spec.loader.exec_module(loaded)
print(sys.version_info[:2], sorted(loaded.NACResistanceParameterNode.allParameters))
"""


def _python39() -> str | None:
    import shutil
    import subprocess

    candidates = [shutil.which("python3.9"), *map(str, sorted(Path.home().glob(".pyenv/versions/3.9*/bin/python")))]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.mark.skipif(_python39() is None, reason="no working Python 3.9 interpreter on this machine")
def test_module_loads_and_its_annotations_evaluate_on_python39(module_tree):
    """Slicer 5.8's Python: the module executes and get_type_hints resolves every parameter-node field."""
    import subprocess

    result = subprocess.run([_python39(), "-c", PY39_LOAD_SCRIPT, str(MODULE_FILE)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("(3, 9)")
    assert all(f"'{name}'" in result.stdout for name in _parameter_fields(module_tree))
