"""Predictions for many exams: a model applied to a feature table joined with the manifest's clinical data."""

from __future__ import annotations

import pandas as pd

from ..errors import ManifestError

KEY = ["patient_id", "timepoint"]
PREDICTION_COLUMNS = ["patient_id", "timepoint", "probability", "threshold", "predicted_class", "linear_predictor"]
CONTRIBUTION_COLUMNS = ["patient_id", "timepoint", "term", "value", "coefficient", "contribution"]


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
    return features.join(clinical, how="left")


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
