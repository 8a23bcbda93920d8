"""``cohort.predict.predict_cohort``: the one cohort-prediction step behind ``nacresistance predict`` and
the Slicer module's ``Logic.runCohort``. Reference: the model's own ``predict`` on each exam's row
(features joined with the manifest's clinical data); the written files equal the returned tables.
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from NACResistanceLib import models
from NACResistanceLib.cohort.predict import CONTRIBUTION_COLUMNS, PREDICTION_COLUMNS, predict_cohort
from NACResistanceLib.errors import ManifestError


@pytest.fixture
def model():
    return models.make_model("test model", -1.0, [("er_positive", -0.7), ("age_years", 0.01), ("adc_mean", -800.0)],
                             radscore=None, threshold=0.3,
                             training={"data": "hand-written test model", "n_patients": 1, "n_resistant": 0})


@pytest.fixture
def manifest():
    frame = pd.DataFrame({"patient_id": ["P1", "P2"], "timepoint": ["baseline", "baseline"],
                          "er": ["positive", "negative"], "age_years": [51.0, 38.0]})
    return SimpleNamespace(frame=frame)


def _features(values) -> pd.DataFrame:
    index = pd.MultiIndex.from_tuples([("P1", "baseline"), ("P2", "baseline")], names=["patient_id", "timepoint"])
    return pd.DataFrame({"adc_mean": values}, index=index)


def test_predictions_equal_the_models_own_and_are_written(model, manifest, tmp_path):
    result = predict_cohort(model, manifest, tmp_path / "out", features=_features([1.1e-3, 0.8e-3]))
    assert result.ok and result.extraction is None
    expected = [model.predict({"adc_mean": 1.1e-3, "er": "positive", "age_years": 51.0}),
                model.predict({"adc_mean": 0.8e-3, "er": "negative", "age_years": 38.0})]
    assert list(result.predictions.columns) == PREDICTION_COLUMNS
    assert result.predictions["probability"].tolist() == pytest.approx([p.probability for p in expected], rel=1e-15)
    assert result.predictions["predicted_class"].tolist() == [p.predicted_class for p in expected]
    assert list(result.contributions.columns) == CONTRIBUTION_COLUMNS
    assert result.contributions.groupby("patient_id")["contribution"].sum().tolist() == pytest.approx(
        [p.linear_predictor for p in expected], rel=1e-12)
    assert result.predictions_path == tmp_path / "out" / "predictions.csv"
    written = pd.read_csv(result.predictions_path)
    assert written["probability"].tolist() == pytest.approx(result.predictions["probability"].tolist(), rel=1e-15)
    assert len(pd.read_csv(result.contributions_path)) == len(result.contributions)


def test_features_of_exams_missing_from_the_manifest_are_refused(model, manifest, tmp_path):
    manifest.frame = manifest.frame.iloc[:1]
    with pytest.raises(ManifestError, match="not in the manifest"):
        predict_cohort(model, manifest, tmp_path, features=_features([1.1e-3, 0.8e-3]))
