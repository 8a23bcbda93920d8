"""Predictions for many exams: a model applied to a feature table joined with the manifest's clinical data.

:func:`predict_cohort` is the one cohort-prediction step behind both front doors (``nacresistance
predict`` and the Slicer module's ``Logic.runCohort``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import ManifestError

KEY = ["patient_id", "timepoint"]
PREDICTION_COLUMNS = ["patient_id", "timepoint", "probability", "threshold", "predicted_class", "linear_predictor"]
CONTRIBUTION_COLUMNS = ["patient_id", "timepoint", "term", "value", "coefficient", "contribution"]
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

    @property
    def ok(self) -> bool:
        """True when every exam was analysed (no failure in the extraction)."""
        return self.extraction is None or self.extraction.ok


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
    predictions, contributions = predict_rows(model, model_rows(features, manifest.frame))
    out.mkdir(parents=True, exist_ok=True)
    return CohortPrediction(predictions, contributions, extraction,
                            write_table(predictions, out / "predictions.csv"),
                            write_table(contributions, out / "contributions.csv"))


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


def predict_rows(model, rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Probability, class and the terms behind each prediction.

    Parameters
    ----------
    model : models.StudyModel
    rows : DataFrame
        From :func:`model_rows` (index ``(patient_id, timepoint)``).

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
        prediction = model.predict(row.to_dict())
        predictions.append([patient_id, timepoint, prediction.probability, prediction.threshold,
                            prediction.predicted_class, prediction.linear_predictor])
        terms = prediction.contributions.assign(patient_id=patient_id, timepoint=timepoint)
        contributions.append(terms[CONTRIBUTION_COLUMNS])
    long = pd.concat(contributions, ignore_index=True) if contributions else pd.DataFrame(columns=CONTRIBUTION_COLUMNS)
    return pd.DataFrame(predictions, columns=PREDICTION_COLUMNS), long
