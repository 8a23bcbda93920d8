"""Export every exam of a feature table as DICOM: source series (when the exam is NIfTI), SEG and SR.

For each ``(patient_id, timepoint)`` row of an ``extract`` feature table: the exam is read from the manifest;
the SEG and SR reference the exam's own DICOM slices of the ROI phase when it was read from DICOM, else the ROI
phase written as a minimal MR series (``source/``); the tumour and reference
masks (on the ROI phase's grid; masks drawn on another grid are resampled nearest-neighbour onto it, with a
warning) become ``seg.dcm``, and every feature, described by ``feature_catalogue``, goes into ``sr.dcm`` with
the model's probability when a model is given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from ..errors import AcquisitionError
from .export import ExportedExam, ModelOutput, export_exam, model_version, require_highdicom
from .source import find_source_series, write_source_series

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CohortExport:
    """What :func:`export_cohort` wrote."""

    exams: dict[tuple[str, str], ExportedExam] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    """(patient_id, timepoint, reason) of exams not exported."""


def mask_on_grid(mask: sitk.Image, grid: sitk.Image) -> tuple[np.ndarray, bool]:
    """``mask`` as a (z, y, x) bool array on ``grid``; True when it had to be resampled."""
    same = (mask.GetSize() == grid.GetSize() and np.allclose(mask.GetSpacing(), grid.GetSpacing())
            and np.allclose(mask.GetOrigin(), grid.GetOrigin()) and np.allclose(mask.GetDirection(), grid.GetDirection()))
    if not same:
        mask = sitk.Resample(mask, grid, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    return sitk.GetArrayFromImage(mask) > 0, not same


def export_cohort(manifest, features: pd.DataFrame, descriptions: dict, out_dir: str | Path, *, model=None,
                  patients: list[str] | None = None) -> CohortExport:
    """Export the exams of ``features`` (index ``(patient_id, timepoint)``) into ``out_dir/<patient>_<timepoint>/``.

    ``manifest`` is an ``io.Manifest``; ``descriptions`` maps column -> ``FeatureDescription``; ``model`` is a
    ``StudyModel`` whose probability is written (optional).
    """
    require_highdicom()
    from .. import io
    from ..cohort.predict import model_rows

    out = Path(out_dir)
    result = CohortExport()
    probabilities = None
    if model is not None:
        rows = model_rows(features, manifest.frame)
        probabilities = model.predict_frame(rows)["probability"]
        version = model_version(model)
    for (patient, timepoint), values in features.iterrows():
        if patients and patient not in patients:
            continue
        try:
            exam = io.load_exam(manifest, (patient, timepoint))
            if exam.dce is None:
                raise AcquisitionError(f"patient {patient} ({timepoint}): no DCE series, so no ROI phase to reference")
            grid = exam.dce.roi_image
            tumour, moved = mask_on_grid(exam.tumor_mask, grid)
            reference = None
            if exam.reference_mask is not None:
                reference, moved_reference = mask_on_grid(exam.reference_mask, grid)
                moved = moved or moved_reference
            if moved:
                logger.warning("patient %s (%s): masks resampled onto the ROI phase's grid for the SEG", patient,
                               timepoint)
            folder = out / f"{patient}_{timepoint}"
            side = str(exam.clinical.get("side", "")).lower()
            source = find_source_series(exam.sources.get("dce_phases", ""), grid)
            if source is None:  # NIfTI input, or DICOM slices that do not match the ROI phase one to one
                source = write_source_series(grid, folder / "source", patient_id=patient, study_date=exam.exam_date,
                                             laterality={"left": "L", "right": "R"}.get(side, ""))
            output = None
            if probabilities is not None:
                output = ModelOutput(model.name, version, float(probabilities.loc[(patient, timepoint)]))
            finite = {name: float(v) for name, v in values.items()}
            result.exams[(patient, timepoint)] = export_exam(source, tumour, finite, descriptions, folder,
                                                             reference_mask=reference, model_output=output)
        except (OSError, ValueError, AcquisitionError) as error:
            result.failures.append((patient, timepoint, f"{type(error).__name__}: {error}"))
    return result


def feature_descriptions(features_path: str | Path, columns) -> dict:
    """Column -> ``FeatureDescription`` of a feature table: the catalogue with the extraction's analysis
    parameters, and the units and definitions of ``feature_dictionary.csv`` beside the table when present."""
    from ..config.records import features_parameters
    from ..feature_catalogue import describe

    analysis = features_parameters(features_path).to_dict()
    dictionary = Path(features_path).parent / "feature_dictionary.csv"
    table = pd.read_csv(dictionary, dtype=str, keep_default_na=False).set_index("feature") \
        if dictionary.is_file() else pd.DataFrame(columns=["unit", "description"])
    return {name: describe(name, table.at[name, "unit"] if name in table.index else "",
                           table.at[name, "description"] if name in table.index else "", analysis=analysis)
            for name in columns}


def export_from_files(manifest_path: str | Path, features_path: str | Path, out_dir: str | Path, *,
                      model_path: str | Path | None = None, patients: list[str] | None = None) -> CohortExport:
    """``nacresistance export-dicom``: read the manifest, the feature table and the model, export every exam."""
    from .. import io, models
    from ..cohort import read_feature_table

    require_highdicom()
    features = read_feature_table(Path(features_path))
    model = models.load(model_path) if model_path else None
    return export_cohort(io.read_manifest(manifest_path), features, feature_descriptions(features_path, features.columns),
                         out_dir, model=model, patients=patients)
