"""Render the NACResistance panel (.ui) to a PNG without Slicer, for the README and for review.

Slicer and CTK widgets are replaced by plain-Qt stand-ins of the same class names, so the layout,
labels, tooltips and order are the real ones from ``NACResistance/Resources/UI/NACResistance.ui``.
Node selectors show the node names the "Load synthetic example" button creates. With ``--results``
the results area shows what the library computes for that synthetic exam with the demo model
(``NACResistance/Resources/demo_model.json``); without it the results area stays empty.

PySide6 is a development tool only (not a project dependency):

    python -m venv /tmp/uivenv && /tmp/uivenv/bin/pip install PySide6-Essentials
    PYTHONPATH=. /tmp/uivenv/bin/python tools/render_ui.py Resources/Screenshots/NACResistance-panel.png

(``--results`` also needs the project's dependencies in that interpreter, e.g. run it with
``.venv/bin/python`` after ``pip install PySide6-Essentials`` there.)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtGui, QtUiTools, QtWidgets  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
UI_FILE = ROOT / "NACResistance" / "Resources" / "UI" / "NACResistance.ui"
EXAMPLE_NODES = {
    "dceSequenceSelector": "None",
    "dcePhasesSelector": "SYN0001 DCE 0-6 (7 checked)",
    "dwiSequenceSelector": "None",
    "dwiVolumeSelector": "None",
    "dwiVolumesSelector": "SYN0001 DWI b0-b1000 (3 checked)",
    "adcSelector": "SYN0001 ADC",
    "segmentationSelector": "SYN0001 segmentation",
    "tumorSegmentSelector": "tumor",
    "referenceSegmentSelector": "reference",
    "outputTableSelector": "SYN0001 values",
}
"""What the node selectors show after "Load synthetic example" (names made by the module's Logic)."""
EXAMPLE_TEXT = {"patientIdLineEdit": "SYN0001", "dceTimesLineEdit": "0, 51.3, 102.6, 153.9, 205.2, 256.5, 307.8",
                "bValuesLineEdit": "0, 800, 1000"}


class qMRMLWidget(QtWidgets.QWidget):
    """Stand-in for Slicer's qMRMLWidget (a QWidget with a scene)."""


class ctkCollapsibleButton(QtWidgets.QGroupBox):
    """Stand-in: a group box whose title is drawn like CTK's collapsible header."""

    def _get_text(self) -> str:
        return self.title()

    def _set_text(self, text: str) -> None:
        self.setTitle(f"\u25be {text}")

    text = QtCore.Property(str, _get_text, _set_text)


class _NodeCombo(QtWidgets.QComboBox):
    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if self.count() == 0:
            self.addItem(EXAMPLE_NODES.get(self.objectName(), "None"))
        super().showEvent(event)


class qMRMLNodeComboBox(_NodeCombo):
    """Stand-in for Slicer's node selector."""


class qMRMLCheckableNodeComboBox(_NodeCombo):
    """Stand-in for Slicer's checkable node selector."""


class qMRMLSegmentSelectorWidget(_NodeCombo):
    """Stand-in for Slicer's segment selector."""


class qMRMLTableView(QtWidgets.QTableWidget):
    """Stand-in for Slicer's table view (filled by ``--results``)."""


class ctkPathLineEdit(QtWidgets.QWidget):
    """Stand-in: a line edit and a browse button."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QtWidgets.QLineEdit("NACResistance/Resources/demo_model.json")
        layout.addWidget(self.edit)
        layout.addWidget(QtWidgets.QToolButton(text="..."))


STAND_INS = (qMRMLWidget, ctkCollapsibleButton, qMRMLNodeComboBox, qMRMLCheckableNodeComboBox,
             qMRMLSegmentSelectorWidget, qMRMLTableView, ctkPathLineEdit)


def load_panel() -> QtWidgets.QWidget:
    loader = QtUiTools.QUiLoader()
    for cls in STAND_INS:
        loader.registerCustomWidget(cls)
    file = QtCore.QFile(str(UI_FILE))
    file.open(QtCore.QFile.ReadOnly)
    panel = loader.load(file)
    if panel is None:
        raise RuntimeError(f"cannot load {UI_FILE}: {loader.errorString()}")
    return panel


def fill_example(panel: QtWidgets.QWidget) -> None:
    """The panel as the Logic leaves it after "Load synthetic example"."""
    from NACResistanceLib import RESEARCH_USE_ONLY

    panel.findChild(QtWidgets.QLabel, "researchUseLabel").setText(RESEARCH_USE_ONLY)
    for name, text in EXAMPLE_TEXT.items():
        panel.findChild(QtWidgets.QLineEdit, name).setText(text)
    panel.findChild(QtWidgets.QSpinBox, "roiPhaseSpinBox").setValue(1)
    panel.findChild(QtWidgets.QComboBox, "adcUnitComboBox").addItems(["mm^2/s", "10^-3 mm^2/s", "10^-6 mm^2/s"])
    panel.findChild(QtWidgets.QPushButton, "applyButton").setEnabled(True)
    for edit in panel.findChildren(QtWidgets.QLineEdit):
        edit.setCursorPosition(0)
        edit.setFocusPolicy(QtCore.Qt.NoFocus)


DEMO_MODEL = ROOT / "NACResistance" / "Resources" / "demo_model.json"


def fill_results(panel: QtWidgets.QWidget, model_path: Path) -> None:
    """Real library outputs for synthetic exam 0 (seed 0) scored with the model (default: the demo model)."""
    from NACResistanceLib import models, phantom, pipeline
    from NACResistanceLib.io import clinical_input_specs, contribution_columns, prediction_text

    model = models.load(str(model_path))
    exam = phantom.make_exam(0, 0, phantom.PhantomProtocol.small()).exam
    score = pipeline.score_exam(exam, model)
    prediction = score.prediction
    note = " (demo model trained on synthetic data: not for real patients)" if model_path == DEMO_MODEL else ""
    panel.findChild(QtWidgets.QLabel, "modelInfoLabel").setText(f"Model: {model.name}{note}")
    form = panel.findChild(QtWidgets.QGroupBox, "clinicalGroupBox").layout()
    for spec in clinical_input_specs(model.required_inputs):
        form.addRow(spec.name + ":", _clinical_widget(spec, exam.clinical.get(spec.name, "")))
    panel.findChild(ctkPathLineEdit, "modelPathLineEdit").edit.setText(_shown_path(model_path))
    panel.findChild(QtWidgets.QLabel, "probabilityLabel").setText(
        prediction_text(prediction.probability, prediction.threshold, prediction.predicted_class))
    _fill_table(panel.findChild(QtWidgets.QTableWidget, "contributionsTableView"),
                contribution_columns(prediction.contributions))
    panel.findChild(QtWidgets.QLabel, "statusLabel").setText("Done.")


def _clinical_widget(spec, value) -> QtWidgets.QWidget:
    """The widget the module builds for a clinical input: a choice of codes or a number field."""
    if not spec.choices:
        return QtWidgets.QLineEdit(str(value))
    combo = QtWidgets.QComboBox()
    combo.addItems(["", *spec.choices])
    combo.setCurrentText(str(value))
    return combo


def _shown_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def _fill_table(table: QtWidgets.QTableWidget, columns) -> None:
    table.setColumnCount(len(columns))
    table.setRowCount(len(columns[0].values) if columns else 0)
    table.setHorizontalHeaderLabels([c.name for c in columns])
    for j, column in enumerate(columns):
        for i, value in enumerate(column.values):
            text = value if isinstance(value, str) else f"{value:.3g}"
            table.setItem(i, j, QtWidgets.QTableWidgetItem(text))
    table.resizeColumnsToContents()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="PNG file to write")
    parser.add_argument("--results", action="store_true", help="fill the results with the library's real outputs")
    parser.add_argument("--model", type=Path, default=DEMO_MODEL, help="model file for --results (default: demo)")
    parser.add_argument("--width", type=int, default=440)
    args = parser.parse_args(argv)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    app.setStyle("Fusion")
    app.setFont(QtGui.QFont("DejaVu Sans", 9))
    panel = load_panel()
    fill_example(panel)
    if args.results:
        fill_results(panel, args.model)
    panel.resize(args.width, panel.sizeHint().height())
    panel.show()
    app.processEvents()
    panel.resize(args.width, panel.minimumSizeHint().height())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if not panel.grab().save(str(args.output)):
        raise RuntimeError(f"cannot write {args.output}")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
