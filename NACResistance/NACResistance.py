"""NACResistance: predict resistance to neoadjuvant chemotherapy from pre-treatment breast MRI.

A thin 3D Slicer front door over ``NACResistanceLib``: the Widget wires the panel to the parameter
node, the Logic converts MRML nodes to numpy arrays (and back) and calls one library function per
user action. Research use only.

No ``from __future__ import annotations`` here: ``@parameterNodeWrapper`` reads the field annotations
with ``typing.get_type_hints`` at class creation, and Slicer 5.8 runs Python 3.9, so the fields use
``Optional[...]`` and every annotation in this file is valid when evaluated on Python 3.9.
"""

import json
import os
import sys
from pathlib import Path
from typing import Annotated, NamedTuple, Optional

import qt
import slicer
import vtk
from NACResistanceMRML.adapter import (
    curveChart,
    dceArrays,
    dicomFiles,
    dicomInstanceUIDs,
    dwiArrays,
    examToNodes,
    fillTable,
    mapColorNodeID,
    mapVolume,
    regionSegment,
    segmentArrays,
    segmentMasks,
    volumeArray,
)
from slicer import (
    vtkMRMLDiffusionWeightedVolumeNode,
    vtkMRMLPlotChartNode,
    vtkMRMLScalarVolumeNode,
    vtkMRMLSegmentationNode,
    vtkMRMLSequenceNode,
    vtkMRMLTableNode,
)
from slicer.i18n import tr as _
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin


def _makeLibraryImportable() -> None:
    """Loaded from the source tree, only this folder is on sys.path: add the repository root.

    Called when the module class or the Logic is constructed, never at import time.
    """
    try:
        import NACResistanceLib  # noqa: F401
    except ImportError:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        if os.path.isdir(os.path.join(root, "NACResistanceLib")) and root not in sys.path:
            sys.path.insert(0, root)


def _researchUseOnly() -> str:
    from NACResistanceLib import RESEARCH_USE_ONLY  # light: no third-party imports

    return RESEARCH_USE_ONLY


ADC_UNIT_SCALES = {"mm^2/s": 1.0, "10^-3 mm^2/s": 1e-3, "10^-6 mm^2/s": 1e-6}
"""ADC unit choices of the panel and their factor to mm²/s (the library works in mm²/s)."""

SAMPLE_DATA_NAME = "NACResistanceSyntheticExam"
"""Sample Data entry of the module: one synthetic (phantom) exam built in memory, no download."""


#
# NACResistance
#


class NACResistance(ScriptedLoadableModule):
    """Module description shown in Slicer's module list and help panel."""

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        _makeLibraryImportable()
        self.parent.title = _("NAC Resistance")
        self.parent.categories = ["Quantification"]
        self.parent.dependencies = ["Segmentations", "Sequences"]
        self.parent.contributors = ["NACResistance developers"]
        self.parent.helpText = _(
            "Predicts whether a breast cancer will resist neoadjuvant chemotherapy from pre-treatment "
            "DCE and diffusion MRI, a tumour and a reference-tissue segment, and clinical data. "
            "Shows the probability, each term's contribution, all extracted values with units, "
            "ADC / kurtosis / PE / SER maps and the time-intensity curves. "
        ) + _researchUseOnly()
        self.parent.helpText += self.getDefaultModuleDocumentationLink()
        self.parent.acknowledgementText = _(
            "Built on SimpleITK, pyradiomics, DIPY, scikit-learn and statsmodels. "
            "The bundled demo model was trained on synthetic (phantom) data only."
        )
        slicer.app.connect("startupCompleted()", registerSampleData)


def registerSampleData() -> None:
    """Add the synthetic example to the Sample Data module: built in memory by a loader, no download."""
    import SampleData

    SampleData.SampleDataLogic.registerCustomSampleDataSource(
        category="NACResistance", sampleName=SAMPLE_DATA_NAME, uris=[], fileNames=[], nodeNames=[],
        thumbnailFileName=NACResistanceLogic.resourcePath("Icons/NACResistance.png"),
        customDownloader=loadSampleData)


def loadSampleData(source=None) -> list:
    """Sample Data loader: the synthetic exam in the scene, selected in the module's parameter node."""
    logic = NACResistanceLogic()
    logic.ensureRequirements()
    parameters = logic.getParameterNode()
    logic.loadSyntheticExample(parameters)
    return [*parameters.dcePhaseVolumes, parameters.segmentation]


#
# NACResistanceParameterNode
#


@parameterNodeWrapper
class NACResistanceParameterNode:
    """Everything the panel holds; saved with the scene.

    DCE: a sequence node or checked phase volumes, acquisition times (s) and the ROI phase index.
    DWI: a sequence node, a diffusion-weighted volume node or checked per-b volumes, with b-values
    (s/mm²). Segment IDs are stored as text (no GUI connector exists for segment selectors); the breast and
    other-lesion segments are optional (empty: none), as the manifest's ``breast_segment`` / ``other_lesion_segment``.
    """

    patientID: str = "exam"
    dceSequence: Optional[vtkMRMLSequenceNode]
    dcePhaseVolumes: list[vtkMRMLScalarVolumeNode]
    dceTimes: str = ""
    roiPhase: Annotated[int, WithinRange(0, 99)] = 1
    dwiSequence: Optional[vtkMRMLSequenceNode]
    dwiVolume: Optional[vtkMRMLDiffusionWeightedVolumeNode]
    dwiPerBVolumes: list[vtkMRMLScalarVolumeNode]
    bValues: str = ""
    adcVolume: Optional[vtkMRMLScalarVolumeNode]
    adcUnit: Annotated[str, Choice(list(ADC_UNIT_SCALES))] = "10^-6 mm^2/s"
    t2wVolume: Optional[vtkMRMLScalarVolumeNode]
    segmentation: Optional[vtkMRMLSegmentationNode]
    tumorSegmentID: str = ""
    referenceSegmentID: str = ""
    breastSegmentID: str = ""
    otherLesionSegmentID: str = ""
    modelPath: Path
    clinicalJson: str = "{}"
    outputTable: Optional[vtkMRMLTableNode]
    contributionsTable: Optional[vtkMRMLTableNode]
    curvesTable: Optional[vtkMRMLTableNode]
    curvesChart: Optional[vtkMRMLPlotChartNode]


#
# NACResistanceWidget
#


class NACResistanceWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """The panel: binds the .ui to the parameter node and calls the Logic; no computation here."""

    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._clinicalWidgets = {}

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/NACResistance.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = NACResistanceLogic()
        self.ui.researchUseLabel.text = _researchUseOnly()
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.ui.dcePhasesSelector.connect("checkedNodesChanged()", self.onCheckedVolumesChanged)
        self.ui.dwiVolumesSelector.connect("checkedNodesChanged()", self.onCheckedVolumesChanged)
        self.ui.segmentationSelector.connect("currentNodeChanged(vtkMRMLNode*)", self.onSegmentationChanged)
        self.ui.tumorSegmentSelector.connect("currentSegmentChanged(QString)", self.onSegmentsChanged)
        self.ui.referenceSegmentSelector.connect("currentSegmentChanged(QString)", self.onSegmentsChanged)
        self.ui.breastSegmentSelector.connect("currentSegmentChanged(QString)", self.onSegmentsChanged)
        self.ui.otherLesionSegmentSelector.connect("currentSegmentChanged(QString)", self.onSegmentsChanged)
        self.ui.modelPathLineEdit.connect("currentPathChanged(QString)", self.onModelPathChanged)
        self.ui.editSegmentsButton.connect("clicked(bool)", self.onEditSegments)
        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
        self.ui.loadExampleButton.connect("clicked(bool)", self.onLoadExample)
        self.ui.showTableButton.connect("clicked(bool)", self.onShowTable)
        self.ui.exportDicomButton.connect("clicked(bool)", self.onExportDicom)
        self.initializeParameterNode()

    def cleanup(self) -> None:
        self.removeObservers()

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        self.setParameterNode(None)

    def onSceneStartClose(self, caller, event) -> None:
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())
        self._parameterNode.modelPath = self.logic.modelPathOrDefault(self._parameterNode.modelPath)

    def setParameterNode(self, inputParameterNode: Optional[NACResistanceParameterNode]) -> None:
        if self._parameterNode == inputParameterNode:
            return
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGUI)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGUI)
            self._updateGUI()
            self.onModelPathChanged()

    def _updateGUI(self, caller=None, event=None) -> None:
        """Hand-bound widgets (checkable lists, segment selectors) and the Apply button state."""
        p = self._parameterNode
        for selector, nodes in ((self.ui.dcePhasesSelector, p.dcePhaseVolumes),
                                (self.ui.dwiVolumesSelector, p.dwiPerBVolumes)):
            wasBlocked = selector.blockSignals(True)
            for index in range(selector.nodeCount()):
                node = selector.nodeFromIndex(index)
                selector.setCheckState(node, qt.Qt.Checked if node in nodes else qt.Qt.Unchecked)
            selector.blockSignals(wasBlocked)
        for selector, field in self._segmentSelectors():
            wasBlocked = selector.blockSignals(True)
            selector.setCurrentNode(p.segmentation)
            selector.setCurrentSegmentID(getattr(p, field))
            selector.blockSignals(wasBlocked)
        hasDce = p.dceSequence is not None or len(p.dcePhaseVolumes) >= 2
        canApply = hasDce and p.segmentation is not None and bool(p.tumorSegmentID)
        self.ui.applyButton.enabled = canApply
        self.ui.applyButton.toolTip = _("Analyse the exam and score it with the model") if canApply else _(
            "Select the DCE series, a segmentation and its tumour segment")
        self._updateExportButton()

    def _segmentSelectors(self) -> tuple:
        """(segment selector, parameter-node field holding its segment ID) of the four segment selectors."""
        return ((self.ui.tumorSegmentSelector, "tumorSegmentID"), (self.ui.referenceSegmentSelector, "referenceSegmentID"),
                (self.ui.breastSegmentSelector, "breastSegmentID"),
                (self.ui.otherLesionSegmentSelector, "otherLesionSegmentID"))

    def _updateExportButton(self) -> None:
        """Enabled when the last Apply's exam can be exported as DICOM; otherwise the tooltip says why not."""
        reason = self.logic.dicomExportUnavailableReason(self._parameterNode)
        self.ui.exportDicomButton.enabled = not reason
        self.ui.exportDicomButton.toolTip = reason or _(
            "Write the last Apply's exam as a DICOM SEG (tumour and reference) and a DICOM SR (values, probability)")

    def onCheckedVolumesChanged(self) -> None:
        if self._parameterNode:
            self._parameterNode.dcePhaseVolumes = list(self.ui.dcePhasesSelector.checkedNodes())
            self._parameterNode.dwiPerBVolumes = list(self.ui.dwiVolumesSelector.checkedNodes())

    def onSegmentationChanged(self, node) -> None:
        for selector, _field in self._segmentSelectors():
            selector.setCurrentNode(node)

    def onSegmentsChanged(self, segmentID=None) -> None:
        if self._parameterNode:
            with slicer.util.NodeModify(self._parameterNode):
                for selector, field in self._segmentSelectors():
                    setattr(self._parameterNode, field, selector.currentSegmentID() or "")

    def onEditSegments(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Cannot open the Segment Editor."), waitCursor=True):
            p = self._parameterNode
            p.segmentation = self.logic.openSegmentEditor(p.segmentation, self.logic.roiVolumeNode(p))

    def onModelPathChanged(self, path=None) -> None:
        """Show the model's name and rebuild the clinical form from the model's required inputs."""
        if not self._parameterNode:
            return
        modelPath = path or self._parameterNode.modelPath  # the signal may arrive before the parameter node has it
        try:
            model = self.logic.loadModel(modelPath)
        except ImportError as error:
            self.ui.modelInfoLabel.text = _("Press Apply once to install the library's packages ({error}).").format(
                error=error)
            return
        except Exception as error:
            self.ui.modelInfoLabel.text = _("Cannot read the model file: {error}").format(error=error)
            return
        self.ui.modelInfoLabel.text = self.logic.modelDescription(model, modelPath)
        self._buildClinicalForm(self.logic.clinicalInputs(model))

    def _buildClinicalForm(self, inputs) -> None:
        layout = self.ui.clinicalGroupBox.layout()
        while layout.rowCount() > 0:
            layout.removeRow(0)
        stored = json.loads(self._parameterNode.clinicalJson or "{}")
        self._clinicalWidgets = {}
        for spec in inputs:
            widget = self._clinicalWidget(spec, stored.get(spec.name))
            widget.toolTip = spec.description
            layout.addRow(spec.name + ":", widget)
            self._clinicalWidgets[spec.name] = widget

    def _clinicalWidget(self, spec, value):
        if spec.choices:
            widget = qt.QComboBox()
            widget.addItems(["", *spec.choices])
            widget.setCurrentIndex(max(widget.findText("" if value is None else str(value)), 0))
            widget.connect("currentIndexChanged(int)", self._storeClinicalValues)
            return widget
        widget = qt.QLineEdit()
        widget.placeholderText = f"{spec.minimum:g} to {spec.maximum:g}"
        widget.text = "" if value is None else str(value)
        widget.connect("textChanged(QString)", self._storeClinicalValues)
        return widget

    def _storeClinicalValues(self, *args) -> None:
        values = {name: (w.currentText if isinstance(w, qt.QComboBox) else w.text)
                  for name, w in self._clinicalWidgets.items()}
        self._parameterNode.clinicalJson = json.dumps({k: v for k, v in values.items() if v != ""})

    def onApplyButton(self) -> None:
        """Analyse and score the exam; progress can be cancelled, errors are shown in the panel too."""
        self.ui.statusLabel.text = ""
        try:
            with slicer.util.tryWithErrorDisplay(_("Failed to analyse the exam."), waitCursor=True):
                self.logic.ensureRequirements()
                score = self._scoreWithProgress()
        except Exception as error:
            self.ui.statusLabel.text = self.logic.errorText(error)
            return
        self.onModelPathChanged()
        self._updateExportButton()
        if score is None:
            self.ui.statusLabel.text = _("Cancelled.")
        else:
            self._showScore(score)

    def _scoreWithProgress(self):
        """The score, or None when the user cancelled (a cancel is not an error)."""
        from NACResistanceLib.errors import CancelledError

        try:
            with ProgressDialog(_("Analysing the exam")) as progress:
                return self.logic.scoreParameterNode(self._parameterNode, progress=progress)
        except CancelledError:
            return None

    def _showScore(self, score) -> None:
        prediction = score.prediction
        self.ui.probabilityLabel.text = self.logic.predictionText(prediction)
        self.ui.contributionsTableView.setMRMLTableNode(self._parameterNode.contributionsTable)
        warnings = tuple(score.analysis.warnings)
        self.ui.statusLabel.text = "\n".join(warnings) if warnings else _("Done.")

    def onShowTable(self) -> None:
        if self._parameterNode and self._parameterNode.outputTable:
            self.logic.showTable(self._parameterNode.outputTable)

    def onExportDicom(self) -> None:
        """Export the last Apply's exam as DICOM SEG and SR into a folder the user picks."""
        folder = qt.QFileDialog.getExistingDirectory(slicer.util.mainWindow(), _("Folder for the DICOM SEG and SR"))
        if not folder:
            return
        self.ui.statusLabel.text = ""
        try:
            with slicer.util.tryWithErrorDisplay(_("Failed to export the exam as DICOM."), waitCursor=True):
                exported = self.logic.exportAppliedDicom(self._parameterNode, folder)
        except Exception as error:
            self.ui.statusLabel.text = self.logic.errorText(error)
            return
        self.ui.statusLabel.text = _("Wrote {seg} and {sr} ({count} values).").format(
            seg=exported.seg_path, sr=exported.sr_path, count=exported.n_measurements)

    def onLoadExample(self) -> None:
        self.ui.statusLabel.text = ""
        try:
            with slicer.util.tryWithErrorDisplay(_("Failed to build the synthetic example."), waitCursor=True):
                self.logic.ensureRequirements()
                self.logic.loadSyntheticExample(self._parameterNode)
        except Exception as error:
            self.ui.statusLabel.text = self.logic.errorText(error)
            return
        self.ui.statusLabel.text = _("Synthetic example loaded: press Apply.")


class ProgressDialog:
    """A cancellable ``slicer.util.createProgressDialog`` seen as the library's progress callback.

    ``progress(message, fraction) -> bool`` updates the dialog and returns True once the user pressed
    Cancel, which makes the library raise ``CancelledError``.
    """

    def __init__(self, title: str) -> None:
        self._title = title
        self._dialog = None

    def __enter__(self) -> "ProgressDialog":
        self._dialog = slicer.util.createProgressDialog(windowTitle=self._title, labelText=self._title,
                                                        maximum=100, value=0)
        return self

    def __exit__(self, *exc) -> bool:
        self._dialog.close()
        return False

    def __call__(self, message: str, fraction: float) -> bool:
        self._dialog.labelText = message
        self._dialog.value = int(round(100 * min(max(fraction, 0.0), 1.0)))
        slicer.app.processEvents()
        return bool(self._dialog.wasCanceled)


class AppliedExam(NamedTuple):
    """What the last Apply computed, kept by the Logic so that it can be exported as DICOM."""

    exam: object
    """The library ``Exam`` built from the panel (masks on the ROI phase's grid)."""
    score: object
    """``pipeline.score_exam(exam, model)``: the values and the probability the panel shows."""
    model: object
    instanceUIDs: tuple
    """SOP instance UIDs of the DICOM files the ROI phase was loaded from; empty when it was not from DICOM."""


#
# NACResistanceLogic
#


class NACResistanceLogic(ScriptedLoadableModuleLogic):
    """MRML <-> numpy conversion and one library call per action; usable without the Widget.

    Batch use (``Slicer --no-main-window --python-script``): see ``scoreNodes``, ``analyzeNodes``,
    ``scoreManifestRow``, ``runCohort``, ``extractCohort`` and ``examples/slicer_batch.py``.
    """

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)
        _makeLibraryImportable()
        self._parameterNode = None
        self.appliedExam = None

    def getParameterNode(self) -> NACResistanceParameterNode:
        parameterNode = super().getParameterNode()
        if not self._parameterNode or self._parameterNode.parameterNode != parameterNode:
            self._parameterNode = NACResistanceParameterNode(parameterNode)
        return self._parameterNode

    @staticmethod
    def resourcePath(relativePath: str) -> str:
        """A file of the module's ``Resources`` folder."""
        return os.path.join(os.path.dirname(os.path.abspath(__file__)), "Resources", relativePath)

    @classmethod
    def defaultModelPath(cls) -> Path:
        """The bundled demo model (trained on synthetic data)."""
        return Path(cls.resourcePath("demo_model.json"))

    @classmethod
    def modelPathOrDefault(cls, modelPath=None) -> Path:
        """``modelPath``, or the demo model when it is unset.

        Unset is None, ``""`` or ``Path(".")``: an unset ``Path`` parameter of the parameter node
        reads back as ``Path(".")``, which is truthy, so ``modelPath or default`` is not enough.
        """
        if modelPath is None or str(modelPath).strip() in ("", "."):
            return cls.defaultModelPath()
        return Path(str(modelPath))

    # --- packages -------------------------------------------------------------------------------

    def ensureRequirements(self, requirementsPath: Optional[str] = None) -> None:
        """Install the library's missing packages from ``Resources/requirements.txt`` (never at import).

        Uses ``slicer.packaging.pip_ensure`` (Slicer 5.11+; asks the user, skipped in testing mode) and
        falls back to ``slicer.util.pip_install`` of the missing requirements on older Slicer.
        """
        path = requirementsPath or self.resourcePath("requirements.txt")
        try:
            import slicer.packaging as packaging
        except ImportError:
            missing = missingRequirements(path)
            if missing:
                slicer.util.pip_install(" ".join(missing))
            return
        packaging.pip_ensure(packaging.load_requirements(path), requester="NACResistance")

    # --- model ----------------------------------------------------------------------------------

    def loadModel(self, modelPath=None):
        """The model of a JSON model file (validated by the library)."""
        from NACResistanceLib import models

        return models.load(str(self.modelPathOrDefault(modelPath)))

    def modelDescription(self, model, modelPath) -> str:
        """One line for the panel; flags the bundled demo model as trained on synthetic data."""
        text = _("Model: {name}").format(name=model.name)
        if self.modelPathOrDefault(modelPath).resolve() == self.defaultModelPath().resolve():
            text += _(" (demo model trained on synthetic data: not for real patients)")
        return text

    @staticmethod
    def clinicalInputs(model):
        """The clinical inputs the model needs, as form specifications (names, codes, ranges)."""
        from NACResistanceLib.io.clinical_form import clinical_input_specs

        return clinical_input_specs(model.required_inputs)

    # --- MRML -> exam ---------------------------------------------------------------------------

    def roiVolumeNode(self, p: NACResistanceParameterNode):
        """The scene volume the tumour is drawn on (a checked phase), or None for sequence input."""
        volumes = list(p.dcePhaseVolumes)
        return volumes[p.roiPhase] if p.roiPhase < len(volumes) else None

    def examFromParameterNode(self, p: NACResistanceParameterNode, model):
        """An exam from the nodes and values held by the parameter node (clinical inputs of ``model``)."""
        from NACResistanceLib.io.panel_text import parse_number_list

        clinical = parseClinical(p.clinicalJson, self.clinicalInputs(model))
        return self.examFromNodes(
            segmentationNode=p.segmentation, tumorSegmentID=p.tumorSegmentID,
            referenceSegmentID=p.referenceSegmentID, breastSegmentID=p.breastSegmentID,
            otherLesionSegmentID=p.otherLesionSegmentID, dceNode=p.dceSequence,
            dcePhaseNodes=list(p.dcePhaseVolumes),
            dceTimesS=parse_number_list(p.dceTimes, field="DCE acquisition times") or None,
            roiPhase=p.roiPhase, dwiNode=p.dwiSequence or p.dwiVolume, dwiVolumeNodes=list(p.dwiPerBVolumes),
            bValues=parse_number_list(p.bValues, field="b-values") or None, adcNode=p.adcVolume,
            adcScale=ADC_UNIT_SCALES[p.adcUnit], clinical=clinical, patientID=p.patientID, t2wNode=p.t2wVolume,
        )

    def examFromNodes(self, *, segmentationNode, tumorSegmentID: str, referenceSegmentID: str = "",
                      breastSegmentID: str = "", otherLesionSegmentID: str = "", dceNode=None, dcePhaseNodes=(), dceTimesS=None, roiPhase: int = 1, dwiNode=None,
                      dwiVolumeNodes=(), bValues=None, adcNode=None, adcScale: float = 1.0,
                      clinical=None, patientID: str = "exam", t2wNode=None):
        """Build a library ``Exam`` from MRML nodes.

        ``dceNode`` is a sequence node (times from ``dceTimesS`` or its index values in s/ms/min) or
        ``dcePhaseNodes`` are volumes in acquisition order. ``dwiNode`` is a sequence (b-values from
        ``bValues`` or its index values) or a diffusion-weighted volume node; or ``dwiVolumeNodes``
        with ``bValues`` (s/mm²). ``adcScale`` converts the ADC volume to mm²/s. ``t2wNode`` (optional) is a
        T2-weighted volume for multiparametric radiomics (used when the analysis lists ``t2w``).
        ``breastSegmentID`` and ``otherLesionSegmentID`` (optional) become the exam's breast and other-lesion masks,
        which clip and are removed from the peritumoral shells (as the manifest's ``breast_segment`` and
        ``other_lesion_segment``).
        """
        from NACResistanceLib.io.exam_arrays import exam_from_arrays

        phases, times, dceGeometry = dceArrays(dceNode, dcePhaseNodes, dceTimesS)
        masks = segmentMasks(segmentationNode, {"tumour": tumorSegmentID, "reference": referenceSegmentID,
                                                "breast": breastSegmentID, "other lesion": otherLesionSegmentID},
                             phases[roiPhase], dceGeometry)
        dwi = dwiArrays(dwiNode, dwiVolumeNodes, bValues)
        adc, adcGeometry = volumeArray(adcNode) if adcNode is not None else (None, None)
        return exam_from_arrays(
            patient_id=patientID, tumor_mask=masks["tumour"], reference_mask=masks.get("reference"),
            breast_mask=masks.get("breast"), other_lesion_mask=masks.get("other lesion"), mask_geometry=dceGeometry,
            dce_phases=phases, dce_times_s=times, dce_geometry=dceGeometry, roi_phase=roiPhase,
            dwi_volumes=dwi[0], dwi_bvals=dwi[1], dwi_bvecs=dwi[2], dwi_geometry=dwi[3],
            adc=adc, adc_geometry=adcGeometry, adc_scale=adcScale, clinical=clinical or {},
            extra_series={"t2w": volumeArray(t2wNode)} if t2wNode is not None else None,
        )

    # --- actions --------------------------------------------------------------------------------

    def scoreParameterNode(self, p: NACResistanceParameterNode, progress=None):
        """Apply: analyse and score the exam of the panel, write the output nodes, return the score.

        The exam, score and model are kept as ``appliedExam`` for :meth:`exportAppliedDicom`.
        """
        from NACResistanceLib import pipeline

        model = self.loadModel(p.modelPath)
        exam = self.examFromParameterNode(p, model)
        score = pipeline.score_exam(exam, model, progress=progress)
        self.writeResultNodes(score, p)
        self.appliedExam = AppliedExam(exam, score, model, self.roiDicomInstanceUIDs(p))
        return score

    def scoreNodes(self, modelPath=None, progress=None, **nodes):
        """Batch: score an exam given as nodes (keywords of ``examFromNodes``); returns the ExamScore.

        No output nodes are created; call ``writeResultNodes`` to add them to the scene.
        """
        from NACResistanceLib import pipeline

        return pipeline.score_exam(self.examFromNodes(**nodes), self.loadModel(modelPath), progress=progress)

    def analyzeNodes(self, progress=None, **nodes):
        """Batch: analyse (no model) an exam given as nodes; returns the library's ExamAnalysis."""
        from NACResistanceLib import pipeline

        return pipeline.analyze_exam(self.examFromNodes(**nodes), progress=progress)

    def scoreManifestRow(self, manifestPath: str, row, modelPath=None, progress=None):
        """Batch from files: score one exam of a cohort manifest (``row`` = index or (patient, timepoint))."""
        from NACResistanceLib import io, pipeline

        exam = io.load_exam(io.read_manifest(manifestPath), row)
        return pipeline.score_exam(exam, self.loadModel(modelPath), progress=progress)

    def runCohort(self, manifestPath: str, outDir: str, modelPath=None, jobs: int = 1, progress=None):
        """Batch: what ``nacresistance predict MODEL MANIFEST --out OUT_DIR`` does (the same library call).

        Writes ``extraction/`` (features, failures, cache), ``predictions.csv`` and ``contributions.csv``
        into ``outDir``; ``modelPath`` unset uses the demo model. Returns the library's
        ``CohortPrediction`` (``ok`` is False when some exams failed). Inside Slicer keep ``jobs=1``.
        """
        from NACResistanceLib import io
        from NACResistanceLib.cohort.predict import predict_cohort

        return predict_cohort(self.loadModel(modelPath), io.read_manifest(manifestPath), outDir, jobs=jobs,
                              progress=progress)

    def extractCohort(self, manifestPath: str, outDir: str, configPath=None, jobs: int = 1, progress=None):
        """Batch: the ``nacresistance extract`` step (features.csv, failures.csv, feature_dictionary.csv, cache/)."""
        from NACResistanceLib.cohort import run_extraction

        return run_extraction(manifestPath, outDir, configPath, jobs=jobs, progress=progress)

    def exportDicom(self, manifestPath: str, featuresPath: str, outDir: str, modelPath=None):
        """Batch: what ``nacresistance export-dicom MANIFEST FEATURES --out OUT_DIR [--model MODEL]`` does (the same
        library call): per exam a DICOM SEG of the ROIs and a TID 1500 SR of every feature (and the model's
        probability), readable by QuantitativeReporting. Needs Python 3.10+ (highdicom).
        """
        from NACResistanceLib.dicom_out.cohort import export_from_files

        return export_from_files(manifestPath, featuresPath, outDir, model_path=modelPath)

    # --- DICOM export of the applied exam --------------------------------------------------------

    def roiDicomInstanceUIDs(self, p: NACResistanceParameterNode) -> tuple:
        """SOP instance UIDs the ROI phase was loaded from by Slicer's DICOM module (its ``DICOM.instanceUIDs``;
        for a sequence, its ROI-phase data node's, else the sequence's own); empty when not from DICOM."""
        sequence = p.dceSequence
        if sequence is None:
            return dicomInstanceUIDs(self.roiVolumeNode(p))
        phase = sequence.GetNthDataNode(p.roiPhase) if p.roiPhase < sequence.GetNumberOfDataNodes() else None
        return dicomInstanceUIDs(phase) or dicomInstanceUIDs(sequence)

    def dicomExportUnavailableReason(self, p: NACResistanceParameterNode) -> str:
        """Why *Export as DICOM* cannot run now, in one sentence; empty when it can."""
        from NACResistanceLib.dicom_out.export import require_highdicom
        from NACResistanceLib.errors import ConfigError

        try:
            require_highdicom()
        except ConfigError as error:
            return str(error)
        roiNode = p.dceSequence if p.dceSequence is not None else self.roiVolumeNode(p)
        if roiNode is None:
            return _("Select the DCE phases and press Apply first.")
        instanceUIDs = self.roiDicomInstanceUIDs(p)
        if not instanceUIDs:
            return _("The ROI phase '{name}' was not loaded through Slicer's DICOM module, so a DICOM SEG would have "
                     "no source images to reference.").format(name=roiNode.GetName())
        if self.appliedExam is None or self.appliedExam.instanceUIDs != instanceUIDs:
            return _("Press Apply first: the export writes the result of the last Apply on this ROI phase.")
        return ""

    def exportAppliedDicom(self, p: NACResistanceParameterNode, outDir: str):
        """Export as DICOM: the last Apply's masks as a DICOM SEG (``seg.dcm``) referencing the ROI phase's own DICOM
        images, its values and probability as a TID 1500 SR (``sr.dcm``), in ``outDir``. Returns the library's
        ``ExportedExam``. Refused with the reason of :meth:`dicomExportUnavailableReason`.
        """
        from NACResistanceLib.dicom_out.exam_score import export_exam_score
        from NACResistanceLib.errors import ConfigError

        reason = self.dicomExportUnavailableReason(p)
        if reason:
            raise ConfigError(reason)
        applied = self.appliedExam
        return export_exam_score(applied.exam, applied.score, applied.model, dicomFiles(applied.instanceUIDs), outDir)

    # --- results -> MRML ------------------------------------------------------------------------

    def writeResultNodes(self, score, p: NACResistanceParameterNode) -> None:
        """Values table (units, descriptions), contributions table, map volumes and the TIC plot."""
        from NACResistanceLib.io.table_columns import contribution_columns, curve_columns, feature_columns

        analysis = score.analysis
        name = analysis.patient_id
        p.outputTable = fillTable(p.outputTable, f"{name} values", feature_columns(
            analysis.features, analysis.units, analysis.descriptions,
            patient_id=analysis.patient_id, timepoint=analysis.timepoint))
        p.contributionsTable = fillTable(p.contributionsTable, f"{name} model contributions",
                                         contribution_columns(score.prediction.contributions))
        p.curvesTable = fillTable(p.curvesTable, f"{name} time-intensity curves", curve_columns(analysis.curves))
        p.curvesChart = curveChart(p.curvesChart, p.curvesTable, name, _("Time-intensity curves"),
                                   _("time after pre-contrast (s)"), _("mean signal (a.u.)"))
        self.showChart(p.curvesChart)
        for mapName, image in analysis.maps.items():
            if mapName.startswith("region_") and p.segmentation is not None:
                regionSegment(p.segmentation, image, mapName[len("region_"):])
            else:
                mapVolume(image, f"{name} {mapName}", mapColorNodeID(mapName))

    @staticmethod
    def showChart(chartNode) -> None:
        """Show a chart in the layout's plot view (nothing in ``--no-main-window`` batch runs)."""
        if slicer.app.layoutManager() is not None:
            slicer.modules.plots.logic().ShowChartInLayout(chartNode)

    @staticmethod
    def showTable(tableNode) -> None:
        """Switch to a layout with a table view and show ``tableNode`` in it."""
        layoutManager = slicer.app.layoutManager()
        if layoutManager is not None:
            layoutManager.setLayout(slicer.modules.tables.logic().GetLayoutWithTable(layoutManager.layout))
        slicer.app.applicationLogic().GetSelectionNode().SetActiveTableID(tableNode.GetID())
        slicer.app.applicationLogic().PropagateTableSelection()

    @staticmethod
    def predictionText(prediction) -> str:
        from NACResistanceLib.io.panel_text import prediction_text

        return prediction_text(prediction.probability, prediction.threshold, prediction.predicted_class)

    @staticmethod
    def errorText(error) -> str:
        """The error for the panel: type, message and notes (file, patient, field)."""
        from NACResistanceLib.errors import describe

        return describe(error)

    # --- Segment Editor and synthetic example ---------------------------------------------------

    @staticmethod
    def openSegmentEditor(segmentationNode=None, sourceVolumeNode=None):
        """Switch to the Segment Editor on ``segmentationNode`` (created if None); returns it."""
        if segmentationNode is None:
            segmentationNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "Segmentation")
        slicer.util.selectModule("SegmentEditor")
        editor = slicer.modules.segmenteditor.widgetRepresentation().self().editor
        editor.setSegmentationNode(segmentationNode)
        if sourceVolumeNode is not None:
            editor.setSourceVolumeNode(sourceVolumeNode)
        return segmentationNode

    def loadSyntheticExample(self, p: NACResistanceParameterNode, seed: int = 0) -> None:
        """Build one phantom exam (small protocol) in the scene and select it in the parameter node."""
        from NACResistanceLib import phantom

        exam = phantom.make_exam(0, seed, phantom.PhantomProtocol.small()).exam
        nodes = examToNodes(exam)
        with slicer.util.NodeModify(p):
            p.patientID = exam.patient_id
            p.dceSequence = None
            p.dcePhaseVolumes = nodes["dcePhases"]
            p.dceTimes = ", ".join(f"{t:g}" for t in exam.dce.times_s)
            p.roiPhase = exam.dce.roi_phase
            p.dwiSequence, p.dwiVolume = None, None
            p.dwiPerBVolumes = nodes["dwiVolumes"]
            p.bValues = ", ".join(f"{b:g}" for b in exam.dwi.bvals) if exam.dwi else ""
            p.adcVolume, p.adcUnit = nodes["adc"], "mm^2/s"  # the in-memory exam holds ADC in mm²/s
            p.segmentation = nodes["segmentation"]
            p.tumorSegmentID, p.referenceSegmentID = nodes["tumorSegmentID"], nodes["referenceSegmentID"]
            p.clinicalJson = json.dumps({k: str(v) for k, v in exam.clinical.items()})
        slicer.util.setSliceViewerLayers(background=nodes["dcePhases"][exam.dce.roi_phase], fit=True)


#
# Helpers without MRML (the node <-> array functions are in NACResistanceMRML.adapter)
#


def missingRequirements(requirementsPath: str) -> list:
    """Requirement lines of a requirements file whose distribution is not installed."""
    import importlib.metadata
    import re

    missing = []
    with open(requirementsPath, encoding="utf-8") as file:
        for line in (raw.split("#")[0].strip() for raw in file):
            name = re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0]
            if not name:
                continue
            try:
                importlib.metadata.distribution(name)
            except importlib.metadata.PackageNotFoundError:
                missing.append(line.replace(" ", ""))
    return missing


def parseClinical(clinicalJson: str, specs) -> dict:
    """Clinical values typed in the panel, converted and range-checked by the library."""
    from NACResistanceLib.io.clinical_form import clinical_values

    return clinical_values(json.loads(clinicalJson or "{}"), specs)


#
# NACResistanceTest
#


class NACResistanceTest(ScriptedLoadableModuleTest):
    """Self-test with data built in memory (no download): Logic values == library values."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_LogicMatchesLibrary()
        self.setUp()
        self.test_GeometryRoundTrip()
        self.setUp()
        self.test_UnknownSegmentIsRefused()

    def test_UnknownSegmentIsRefused(self):
        """A segment name given instead of its ID: an ImageError that lists the segments (ID and name)."""
        import numpy as np

        from NACResistanceLib.errors import ImageError
        from NACResistanceLib.io.geometry import ImageGeometry

        geometry = ImageGeometry((1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
        volume = slicer.util.addVolumeFromArray(np.zeros((4, 4, 4), np.int16), geometry.ijk_to_ras(), "grid")
        segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "segments")
        segmentation.SetReferenceImageGeometryParameterFromVolumeNode(volume)
        segmentation.GetSegmentation().AddEmptySegment("Segment_1", "tumour")
        with self.assertRaisesRegex(ImageError, r"no segment with ID 'tumour'.*'Segment_1' \(tumour\)"):
            segmentArrays(segmentation, "tumour", "", np.zeros((4, 4, 4)), geometry)

    def test_GeometryRoundTrip(self):
        """A volume pushed to the scene and pulled back keeps voxels and LPS geometry exactly."""
        import numpy as np

        from NACResistanceLib.io.geometry import ImageGeometry

        geometry = ImageGeometry((0.7, 0.8, 4.0), (10.0, -20.0, 30.0), (0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0))
        array = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
        node = slicer.util.addVolumeFromArray(array, geometry.ijk_to_ras(), "round trip")
        back, backGeometry = volumeArray(node)
        np.testing.assert_array_equal(back, array)
        np.testing.assert_allclose(backGeometry.ijk_to_ras(), geometry.ijk_to_ras(), atol=1e-9)

    def test_LogicMatchesLibrary(self):
        """The Logic on scene nodes gives the values of ``pipeline.analyze_exam`` on the same arrays."""
        from NACResistanceLib import phantom, pipeline

        self.delayDisplay("Building a synthetic exam in memory")
        exam = phantom.make_exam(0, 7, phantom.PhantomProtocol.small()).exam
        expected = pipeline.analyze_exam(exam)
        nodes = examToNodes(exam)
        analysis = NACResistanceLogic().analyzeNodes(
            segmentationNode=nodes["segmentation"], tumorSegmentID=nodes["tumorSegmentID"],
            referenceSegmentID=nodes["referenceSegmentID"], dcePhaseNodes=nodes["dcePhases"],
            dceTimesS=list(exam.dce.times_s), roiPhase=exam.dce.roi_phase, dwiVolumeNodes=nodes["dwiVolumes"],
            bValues=list(exam.dwi.bvals) if exam.dwi else None, adcNode=nodes["adc"],
            clinical=dict(exam.clinical), patientID=exam.patient_id)
        self.assertEqual(sorted(analysis.features), sorted(expected.features))
        for name, value in expected.features.items():
            self.assertTrue(_sameValue(analysis.features[name], value), f"{name}: {analysis.features[name]} != {value}")
        self.delayDisplay("Logic values equal the library's")


def _sameValue(a: float, b: float) -> bool:
    import math

    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
