"""MRML nodes <-> numpy arrays for the NACResistance module; imports ``slicer`` and ``vtk``, never Qt.

Everything here runs on Slicer's MRML libraries alone (the ``slicer-core`` wheel or a full Slicer):
volumes, sequences, diffusion-weighted volume nodes, segments exported onto the ROI grid, result
tables, the time-intensity chart, parametric-map volumes and their colour tables, and the scene nodes
of an in-memory exam. No science and no unit conversion: geometry and units live in
``NACResistanceLib.io``; the library is imported inside the functions (it may be installed lazily).
Research use only.
"""

from __future__ import annotations

import contextlib

import slicer
import vtk

MAP_COLOR_NODE_IDS = {"dce_curve_type": "vtkMRMLColorTableNodeLabels"}
"""Colour table of a parametric map chosen by its exact name (categorical maps)."""

MAP_QUANTITY_COLOR_NODE_IDS = {
    "adc": "vtkMRMLColorTableNodeRainbow",
    "md": "vtkMRMLColorTableNodeRainbow",
    "mk": "vtkMRMLColorTableNodeFilePlasma.txt",
    "ak": "vtkMRMLColorTableNodeFilePlasma.txt",
    "rk": "vtkMRMLColorTableNodeFilePlasma.txt",
    "ie": "vtkMRMLColorTableNodeFileInferno.txt",
    "pe": "vtkMRMLColorTableNodeFileInferno.txt",
    "ser": "vtkMRMLColorTableNodeFileColdToHotRainbow.txt",
    "ktrans": "vtkMRMLColorTableNodeFileInferno.txt",
    "kep": "vtkMRMLColorTableNodeFileInferno.txt",
    "ve": "vtkMRMLColorTableNodeFilePlasma.txt",
    "vp": "vtkMRMLColorTableNodeFilePlasma.txt",
}
"""Colour table of a parametric map chosen by the quantity of its name: the last ``_``-separated
word (``dki_tensor_mk`` -> ``mk``), compared whole, never as a substring."""

DEFAULT_MAP_COLOR_NODE_ID = "vtkMRMLColorTableNodeFileViridis.txt"
CURVE_COLORS = {"tumor": (0.85, 0.2, 0.2), "reference": (0.2, 0.45, 0.85)}
"""Plot series of the time-intensity chart: curve-table column -> RGB colour."""


#
# Volumes, sequences and diffusion nodes -> arrays
#


def volumeArray(volumeNode):
    """A copy of the voxels ``(z, y, x)`` and the LPS geometry of a scalar volume node."""
    from NACResistanceLib.errors import ImageError
    from NACResistanceLib.io.geometry import ImageGeometry

    if volumeNode.GetParentTransformNode() is not None:
        raise ImageError(f"volume {volumeNode.GetName()!r} is under a transform: harden the transform first")
    matrix = vtk.vtkMatrix4x4()
    volumeNode.GetIJKToRASMatrix(matrix)
    geometry = ImageGeometry.from_ijk_to_ras(slicer.util.arrayFromVTKMatrix(matrix))
    return slicer.util.arrayFromVolume(volumeNode).copy(), geometry


def sequenceVolumes(sequenceNode):
    """The data nodes of a sequence and its index values and unit."""
    count = sequenceNode.GetNumberOfDataNodes()
    nodes = [sequenceNode.GetNthDataNode(i) for i in range(count)]
    values = [sequenceNode.GetNthIndexValue(i) for i in range(count)]
    return nodes, values, sequenceNode.GetIndexUnit()


def volumesArrays(volumeNodes, name: str):
    """Arrays of volumes that must share one grid, and that grid."""
    from NACResistanceLib.errors import ImageError

    pairs = [volumeArray(node) for node in volumeNodes]
    if any(geometry != pairs[0][1] or array.shape != pairs[0][0].shape for array, geometry in pairs):
        raise ImageError(f"the {name} volumes are not all on one grid; resample them to one volume first")
    return [array for array, _ in pairs], pairs[0][1]


def dceArrays(dceNode, dcePhaseNodes, dceTimesS):
    """(phase arrays, times in s, geometry) from a sequence node (index in s, ms or min) or phase volumes."""
    from NACResistanceLib.errors import AcquisitionError
    from NACResistanceLib.io.panel_text import times_from_index_values

    if dceNode is not None:
        nodes, values, unit = sequenceVolumes(dceNode)
        times = dceTimesS or times_from_index_values(values, unit, field="DCE sequence index")
    else:
        nodes, times = list(dcePhaseNodes), dceTimesS
    if len(nodes) < 2:
        raise AcquisitionError("DCE needs a sequence or at least two phase volumes (pre- and post-contrast)")
    if times is None:
        raise AcquisitionError("type the DCE acquisition times (s), one per phase")
    phases, geometry = volumesArrays(nodes, "DCE phase")
    return phases, list(times), geometry


def dwiArrays(dwiNode, dwiVolumeNodes, bValues):
    """(volume arrays, b-values s/mm², bvecs LPS or None, geometry), all None without DWI."""
    from NACResistanceLib.errors import AcquisitionError
    from NACResistanceLib.io.panel_text import parse_number_list

    if isinstance(dwiNode, slicer.vtkMRMLDiffusionWeightedVolumeNode):
        return diffusionNodeArrays(dwiNode)
    if dwiNode is not None:
        nodes, values, _unit = sequenceVolumes(dwiNode)
        bValues = bValues or parse_number_list(" ".join(values), field="DWI sequence index (b-values)")
    else:
        nodes = list(dwiVolumeNodes)
    if not nodes:
        return None, None, None, None
    if not bValues or len(bValues) != len(nodes):
        raise AcquisitionError(f"give one b-value (s/mm²) per DWI volume: {len(nodes)} volumes, b-values {bValues}")
    volumes, geometry = volumesArrays(nodes, "DWI")
    return volumes, list(bValues), None, geometry


def diffusionNodeArrays(dwiNode):
    """Volumes, b-values (s/mm²), LPS gradient directions and geometry of a diffusion-weighted volume node."""
    from vtk.util.numpy_support import vtk_to_numpy

    from NACResistanceLib.io.geometry import bvecs_from_measurement_frame

    data, geometry = volumeArray(dwiNode)
    frame = vtk.vtkMatrix4x4()
    dwiNode.GetMeasurementFrameMatrix(frame)
    gradients = vtk_to_numpy(dwiNode.GetDiffusionGradients()).reshape(-1, 3)
    bvecs = bvecs_from_measurement_frame(gradients, slicer.util.arrayFromVTKMatrix(frame))
    bvals = vtk_to_numpy(dwiNode.GetBValues()).tolist()
    volumes = [data[..., i] for i in range(data.shape[-1])]
    return volumes, bvals, bvecs, geometry


#
# Segments -> masks on the ROI grid
#


def segmentList(segmentationNode) -> str:
    """``'id' (name), ...`` of every segment of a segmentation, for messages."""
    segmentation = segmentationNode.GetSegmentation()
    ids = [segmentation.GetNthSegmentID(i) for i in range(segmentation.GetNumberOfSegments())]
    return ", ".join(f"{sid!r} ({segmentation.GetSegment(sid).GetName()})" for sid in ids) or "none"


def checkSegmentID(segmentationNode, segmentID: str, role: str) -> None:
    """Refuse a segment ID that the segmentation does not hold (a name typed instead, a deleted segment).

    Slicer's export would log an error and return an empty labelmap; this names the segments instead.
    """
    from NACResistanceLib.errors import ImageError

    if segmentationNode.GetSegmentation().GetSegment(segmentID) is None:
        raise ImageError(
            f"segmentation {segmentationNode.GetName()!r} has no segment with ID {segmentID!r} ({role}); "
            f"its segments (ID (name)): {segmentList(segmentationNode)}. Choose the segment again.")


def segmentArrays(segmentationNode, tumorSegmentID, referenceSegmentID, roiArray, roiGeometry):
    """Tumour and (optional) reference masks exported onto the ROI phase's grid, ``(z, y, x)`` uint8.

    The segmentation may be on any grid (finer, oblique) and under a transform: Slicer's
    segmentations logic resamples it. The temporary grid and labelmap nodes are removed with the display
    and colour nodes made for them, so the scene keeps no trace.
    """
    masks = segmentMasks(segmentationNode, {"tumour": tumorSegmentID, "reference": referenceSegmentID},
                         roiArray, roiGeometry)
    return masks["tumour"], masks.get("reference")


def segmentMasks(segmentationNode, segmentIDs, roiArray, roiGeometry) -> dict:
    """Role -> ``(z, y, x)`` uint8 mask on the ROI phase's grid of each segment ID given (roles with an empty ID
    are left out); the ``"tumour"`` role is required. Exported as :func:`segmentArrays` describes."""
    from NACResistanceLib.errors import ImageError

    if segmentationNode is None or not segmentIDs.get("tumour"):
        raise ImageError("select a segmentation and its tumour segment")
    chosen = {role: segmentID for role, segmentID in segmentIDs.items() if segmentID}
    for role, segmentID in chosen.items():
        checkSegmentID(segmentationNode, segmentID, role)
    with temporarySceneNodes():
        reference = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "NACResistance ROI grid")
        reference.SetIJKToRASMatrix(slicer.util.vtkMatrixFromArray(roiGeometry.ijk_to_ras()))
        grid = vtk.vtkImageData()
        grid.SetDimensions(*reversed(roiArray.shape))
        grid.AllocateScalars(vtk.VTK_UNSIGNED_CHAR, 1)
        reference.SetAndObserveImageData(grid)
        return {role: exportSegment(segmentationNode, segmentID, reference) for role, segmentID in chosen.items()}


def exportSegment(segmentationNode, segmentID: str, referenceVolumeNode):
    """One segment as a ``(z, y, x)`` uint8 array on the grid of ``referenceVolumeNode``."""
    from NACResistanceLib.errors import ImageError

    ids = vtk.vtkStringArray()
    ids.InsertNextValue(segmentID)
    with temporarySceneNodes():
        labelmap = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "NACResistance segment export")
        exported = slicer.modules.segmentations.logic().ExportSegmentsToLabelmapNode(
            segmentationNode, ids, labelmap, referenceVolumeNode)
        if not exported or labelmap.GetImageData() is None:
            raise ImageError(f"segment {segmentID!r} of {segmentationNode.GetName()!r} could not be exported "
                             "onto the ROI grid; check that it is not empty")
        return (slicer.util.arrayFromVolume(labelmap) != 0).astype("uint8")


@contextlib.contextmanager
def temporarySceneNodes():
    """Remove every node added to the scene inside the block when it ends (with display, colour and
    storage nodes, which ``vtkMRMLScene.RemoveNode`` of a volume leaves behind)."""
    scene = slicer.mrmlScene
    before = {scene.GetNthNode(i).GetID() for i in range(scene.GetNumberOfNodes())}
    try:
        yield
    finally:
        added = [scene.GetNthNode(i) for i in range(scene.GetNumberOfNodes())]
        for node in reversed([n for n in added if n.GetID() not in before]):
            scene.RemoveNode(node)


#
# DICOM source of a volume
#

DICOM_INSTANCE_UIDS_ATTRIBUTE = "DICOM.instanceUIDs"
"""Node attribute in which Slicer's DICOM module lists the SOP instance UIDs (space-separated) of the files a
volume, or a volume sequence, was loaded from."""


def dicomInstanceUIDs(node) -> tuple:
    """SOP instance UIDs of the DICOM files ``node`` was loaded from; empty when it was not loaded from DICOM."""
    if node is None:
        return ()
    return tuple((node.GetAttribute(DICOM_INSTANCE_UIDS_ATTRIBUTE) or "").split())


def dicomFiles(instanceUIDs) -> list:
    """The files of Slicer's DICOM database (``slicer.dicomDatabase``) holding these SOP instances, in order."""
    from NACResistanceLib.errors import InputFileError

    database = getattr(slicer, "dicomDatabase", None)
    if database is None:
        raise InputFileError("Slicer's DICOM database is not open: open it in the DICOM module, then export again")
    files = [database.fileForInstance(uid) for uid in instanceUIDs]
    missing = [uid for uid, path in zip(instanceUIDs, files) if not path]
    if missing:
        raise InputFileError(f"{len(missing)} of the {len(files)} DICOM instances the ROI phase was loaded from are "
                             f"not in Slicer's DICOM database (first: {missing[0]}); import the series again")
    return files


#
# Results -> tables, chart, map volumes
#


def fillTable(tableNode, name: str, columns):
    """Replace a table node's content by library ``TableColumn``s (unit and description per column).

    ``tableNode`` None: a new table node named ``name``.
    """
    if tableNode is None:
        tableNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLTableNode", name)
    table = vtk.vtkTable()
    for column in columns:
        array = vtk.vtkStringArray() if column.is_text else vtk.vtkDoubleArray()
        array.SetName(column.name)
        for value in column.values:
            array.InsertNextValue(value)
        table.AddColumn(array)
    with slicer.util.NodeModify(tableNode):
        tableNode.SetAndObserveTable(table)
        for column in columns:
            tableNode.SetColumnUnitLabel(column.name, column.unit)
            tableNode.SetColumnDescription(column.name, column.description)
    return tableNode


def curveChart(chartNode, curvesTable, name: str, title: str, xTitle: str, yTitle: str):
    """A plot chart with one series per :data:`CURVE_COLORS` column of ``curvesTable`` (time in s).

    ``chartNode`` None: a new chart and its series; otherwise its series are pointed at ``curvesTable``.
    """
    if chartNode is None:
        chartNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLPlotChartNode", f"{name} time-intensity curves")
        for column, color in CURVE_COLORS.items():
            series = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", f"{name} {column}")
            series.SetXColumnName("time_s")
            series.SetYColumnName(column)
            series.SetPlotType(slicer.vtkMRMLPlotSeriesNode.PlotTypeScatter)
            series.SetColor(*color)
            chartNode.AddAndObservePlotSeriesNodeID(series.GetID())
    for index in range(chartNode.GetNumberOfPlotSeriesNodes()):
        chartNode.GetNthPlotSeriesNode(index).SetAndObserveTableNodeID(curvesTable.GetID())
    chartNode.SetTitle(title)
    chartNode.SetXAxisTitle(xTitle)
    chartNode.SetYAxisTitle(yTitle)
    return chartNode


def mapColorNodeID(mapName: str) -> str:
    """The colour table of a parametric map: by exact name, else by its quantity (the last word)."""
    lowered = mapName.lower()
    if lowered in MAP_COLOR_NODE_IDS:
        return MAP_COLOR_NODE_IDS[lowered]
    return MAP_QUANTITY_COLOR_NODE_IDS.get(lowered.rsplit("_", 1)[-1], DEFAULT_MAP_COLOR_NODE_ID)


def mapVolume(image, name: str, colorNodeID: str):
    """A scalar volume node named ``name`` showing a parametric map in colour.

    A volume of that name made by an earlier Apply is updated in place (voxels, geometry, colours),
    so re-applying adds no node to the scene.
    """
    from NACResistanceLib.io.geometry import array_from_image

    array, geometry = array_from_image(image)
    node = slicer.mrmlScene.GetFirstNode(name, "vtkMRMLScalarVolumeNode", False, True)
    if node is None:
        node = slicer.util.addVolumeFromArray(array, geometry.ijk_to_ras(), name)
    else:
        node.SetIJKToRASMatrix(slicer.util.vtkMatrixFromArray(geometry.ijk_to_ras()))
        slicer.util.updateVolumeFromArray(node, array)
    node.CreateDefaultDisplayNodes()
    display = node.GetDisplayNode()
    display.SetAndObserveColorNodeID(colorNodeID)
    display.AutoWindowLevelOn()
    return node


def regionSegment(segmentationNode, image, segmentName: str) -> str:
    """Show a region mask (e.g. a peritumoral shell) as the segment ``segmentName`` of ``segmentationNode``.

    A segment of that name from an earlier Apply is replaced, so re-applying adds none. Returns the segment ID.
    """
    from NACResistanceLib.io.geometry import array_from_image

    array, geometry = array_from_image(image)
    segmentation = segmentationNode.GetSegmentation()
    existing = segmentation.GetSegmentIdBySegmentName(segmentName)
    if existing:
        segmentationNode.RemoveSegment(existing)
    before = set(segmentation.GetSegmentIDs())
    with temporarySceneNodes():
        labelmap = slicer.util.addVolumeFromArray((array != 0).astype("uint8"), geometry.ijk_to_ras(), segmentName,
                                                  nodeClassName="vtkMRMLLabelMapVolumeNode")
        slicer.modules.segmentations.logic().ImportLabelmapToSegmentationNode(labelmap, segmentationNode)
    added = [segmentID for segmentID in segmentation.GetSegmentIDs() if segmentID not in before]
    for segmentID in added:
        segmentation.GetSegment(segmentID).SetName(segmentName)
    return added[0] if added else ""


#
# In-memory exam -> scene nodes
#


def examToNodes(exam) -> dict:
    """Scene nodes for an in-memory exam: phase / DWI / ADC volumes and a two-segment segmentation."""
    from NACResistanceLib.io.geometry import array_from_image

    def addVolume(image, name):
        array, geometry = array_from_image(image)
        return slicer.util.addVolumeFromArray(array, geometry.ijk_to_ras(), name)

    pid = exam.patient_id
    phases = [addVolume(image, f"{pid} DCE {i}") for i, image in enumerate(exam.dce.phases)]
    dwiPairs = zip(exam.dwi.volumes, exam.dwi.bvals) if exam.dwi else ()
    dwi = [addVolume(image, f"{pid} DWI b{b:g}") for image, b in dwiPairs]
    adc = addVolume(exam.adc, f"{pid} ADC") if exam.adc is not None else None
    roi = phases[exam.dce.roi_phase]
    segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", f"{pid} segmentation")
    segmentation.CreateDefaultDisplayNodes()
    segmentation.SetReferenceImageGeometryParameterFromVolumeNode(roi)
    ids = {}
    for role, mask in (("tumor", exam.tumor_mask), ("reference", exam.reference_mask)):
        if mask is not None:
            ids[role] = segmentation.GetSegmentation().AddEmptySegment(role)
            slicer.util.updateSegmentBinaryLabelmapFromArray(array_from_image(mask)[0], segmentation, ids[role], roi)
    return {"dcePhases": phases, "dwiVolumes": dwi, "adc": adc, "segmentation": segmentation,
            "tumorSegmentID": ids.get("tumor", ""), "referenceSegmentID": ids.get("reference", "")}
