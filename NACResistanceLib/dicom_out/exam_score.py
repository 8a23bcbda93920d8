"""Export one exam scored in memory (what the Slicer panel applied) as a DICOM SEG and a TID 1500 SR.

The cohort export (:mod:`.cohort`) starts from a manifest and a feature table; this one starts from the exam and the
:class:`~NACResistanceLib.pipeline.ExamScore` of one ``score_exam`` call, and from the DICOM files the exam's ROI
phase was loaded from (the SEG must reference its source images). The masks, features and probability written are
exactly those of that call.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import AcquisitionError, InputFileError
from .export import ExportedExam, ModelOutput, export_exam, model_version, require_highdicom
from .source import find_source_series


def export_exam_score(exam, score, model, source_files: Sequence[str | Path], out_dir: str | Path) -> ExportedExam:
    """Write ``seg.dcm`` (tumour and reference masks on the ROI phase's grid) and ``sr.dcm`` (every finite feature
    of ``score.analysis`` and ``score.prediction.probability``) into ``out_dir``.

    Parameters
    ----------
    exam : io.Exam
        The exam ``score`` was computed from (its masks and its DCE ROI phase).
    score : pipeline.ExamScore
        ``pipeline.score_exam(exam, model)``.
    model : models.StudyModel
        The model of ``score``: its name and version (:func:`.model_version`) identify the probability. The features
        are described (IBSI codes, filters, discretisation) from the analysis configuration in ``score``'s provenance.
    source_files : sequence of paths
        The DICOM files of the ROI phase (any order; other series' files are ignored).

    Raises
    ------
    ConfigError
        Python < 3.10 or highdicom missing (:func:`.require_highdicom`).
    AcquisitionError
        The exam has no DCE series (no ROI phase to reference).
    InputFileError
        The files hold no slice-for-slice match of the ROI phase's geometry and voxel values.
    """
    require_highdicom()
    from ..feature_catalogue import describe
    from .cohort import mask_on_grid

    if exam.dce is None:
        raise AcquisitionError(f"patient {exam.patient_id}: no DCE series, so no ROI phase for the SEG to reference")
    grid = exam.dce.roi_image
    source = find_source_series(";".join(str(path) for path in source_files), grid)
    if source is None:
        raise InputFileError(f"patient {exam.patient_id}: the {len(source_files)} DICOM files of the ROI phase do not "
                             "match its voxels and geometry slice for slice; load the series from DICOM unmodified")
    tumour = mask_on_grid(exam.tumor_mask, grid)[0]
    reference = None if exam.reference_mask is None else mask_on_grid(exam.reference_mask, grid)[0]
    analysis = score.analysis
    descriptions = {name: describe(name, analysis.units.get(name, ""), analysis.descriptions.get(name, ""),
                                   analysis=analysis.provenance["analysis_config"]) for name in analysis.features}
    output = ModelOutput(model.name, model_version(model), float(score.prediction.probability))
    return export_exam(source, tumour, analysis.features, descriptions, out_dir, reference_mask=reference,
                       model_output=output)
