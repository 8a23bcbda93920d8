"""Predictions for many exams: a model applied to a feature table joined with the manifest's clinical data.

:func:`predict_cohort` is the one cohort-prediction step behind both front doors (``nacresistance
predict`` and the Slicer module's ``Logic.runCohort``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import ManifestError, ModelFileError, add_context

KEY = ["patient_id", "timepoint"]
PREDICTION_COLUMNS = ["patient_id", "timepoint", "probability", "threshold", "predicted_class", "linear_predictor"]
CONTRIBUTION_COLUMNS = ["patient_id", "timepoint", "term", "value", "coefficient", "contribution"]
FAILURE_COLUMNS = ["patient_id", "timepoint", "error_type", "message"]
PREDICTION_FAILURES_FILE = "prediction_failures.csv"
EXTRACTION_FOLDER = "extraction"
"""Sub-folder of a prediction's output folder that holds the feature extraction (and its cache)."""


@dataclass(frozen=True)
class CohortPrediction:
    """What :func:`predict_cohort` produced and wrote."""

    predictions: pd.DataFrame
    """Columns :data:`PREDICTION_COLUMNS`, one row per exam with features."""
    contributions: pd.DataFrame
    """Columns :data:`CONTRIBUTION_COLUMNS` (long table)."""
    extraction: object
    """The :class:`cohort.ExtractionResult` of the images, or None when a feature table was given."""
    predictions_path: Path
    contributions_path: Path
    failures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FAILURE_COLUMNS))
    """Exams with features that the model could not be applied to (an input missing or empty), one row each."""

    @property
    def ok(self) -> bool:
        """True when every exam was analysed and predicted (no failure in the extraction or the prediction)."""
        return (self.extraction is None or self.extraction.ok) and self.failures.empty


def predict_cohort(model, manifest, out_dir, *, features: pd.DataFrame | None = None, jobs: int = 1,
                   scheduler: str | None = None, progress=None) -> CohortPrediction:
    """Predict every exam of a manifest with a model and write ``predictions.csv`` and ``contributions.csv``.

    Parameters
    ----------
    model : models.StudyModel
    manifest : io.Manifest
        The cohort (clinical data are joined to the features by ``patient_id, timepoint``).
    out_dir : str or Path
        Output folder; the images are analysed into ``out_dir/extraction`` (features, failures,
        cache) with the model's own analysis parameters.
    features : DataFrame, optional
        A feature table (from :func:`cohort.read_feature_table`) used instead of analysing the images.
    jobs, scheduler, progress
        As for :func:`cohort.run_extraction`.

    Returns
    -------
    CohortPrediction
        Exams that failed to analyse have no prediction; ``ok`` is False then.
    """
    from .runner import run_extraction, write_table

    out = Path(out_dir)
    extraction = None
    if features is None:
        extraction = run_extraction(manifest, out / EXTRACTION_FOLDER, model.analysis_config, jobs=jobs,
                                    scheduler=scheduler, progress=progress)
        features = extraction.features
    failures: list[list[str]] = []
    predictions, contributions = predict_rows(model, model_rows(features, manifest.frame), failures=failures)
    out.mkdir(parents=True, exist_ok=True)
    failure_frame = pd.DataFrame(failures, columns=FAILURE_COLUMNS)
    write_table(failure_frame, out / PREDICTION_FAILURES_FILE)
    return CohortPrediction(predictions, contributions, extraction,
                            write_table(predictions, out / "predictions.csv"),
                            write_table(contributions, out / "contributions.csv"), failure_frame)


def model_rows(features: pd.DataFrame, manifest_frame: pd.DataFrame) -> pd.DataFrame:
    """One row per exam: the manifest columns (clinical data) joined with its features.

    Parameters
    ----------
    features : DataFrame
        Index ``(patient_id, timepoint)`` as written by :func:`cohort.run_extraction`.
    manifest_frame : DataFrame
        ``io.Manifest.frame``.

    Returns
    -------
    DataFrame
        Index ``(patient_id, timepoint)`` in feature-table order; exams of the feature table that
        the manifest lacks raise :class:`errors.ManifestError` (a feature column that has the name
        of a manifest column keeps the feature's value).
    """
    clinical = manifest_frame.set_index(KEY)
    missing = features.index.difference(clinical.index)
    if len(missing):
        raise ManifestError(f"{len(missing)} exams of the feature table are not in the manifest, "
                            f"e.g. {list(missing[:3])}; use the manifest the features were extracted from")
    clinical = clinical.drop(columns=[c for c in clinical.columns if c in features.columns])
    return features.join(clinical, how="left").copy()  # copy: one block per dtype (no PerformanceWarning later)


def predict_rows(model, rows: pd.DataFrame, *, failures: list | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Probability, class and the terms behind each prediction.

    Parameters
    ----------
    model : models.StudyModel
    rows : DataFrame
        From :func:`model_rows` (index ``(patient_id, timepoint)``).
    failures : list, optional
        When given, an exam the model cannot be applied to (:class:`errors.ModelFileError`: an input
        missing or empty) is appended as ``[patient_id, timepoint, error_type, message]`` and left
        out, so one bad exam does not stop the others; otherwise the error is raised, naming the patient.

    Returns
    -------
    predictions : DataFrame
        Columns :data:`PREDICTION_COLUMNS`, one row per exam.
    contributions : DataFrame
        Long table, columns :data:`CONTRIBUTION_COLUMNS`: per exam the intercept and every term with
        its value, coefficient and contribution (log-odds); contributions sum to the linear predictor.
    """
    predictions, contributions = [], []
    for (patient_id, timepoint), row in rows.iterrows():
        try:
            prediction = model.predict({"patient_id": patient_id, **row.to_dict()})
        except ModelFileError as error:
            if failures is None:
                raise add_context(error, f"timepoint {timepoint}") from None
            failures.append([patient_id, timepoint, type(error).__name__, str(error)])
            continue
        predictions.append([patient_id, timepoint, prediction.probability, prediction.threshold,
                            prediction.predicted_class, prediction.linear_predictor])
        terms = prediction.contributions.assign(patient_id=patient_id, timepoint=timepoint)
        contributions.append(terms[CONTRIBUTION_COLUMNS])
    long = pd.concat(contributions, ignore_index=True) if contributions else pd.DataFrame(columns=CONTRIBUTION_COLUMNS)
    return pd.DataFrame(predictions, columns=PREDICTION_COLUMNS), long
