"""A fixed model evaluated on a cohort: labels from the manifest, predictions, and the validation statistics."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import RESEARCH_USE_ONLY
from ..errors import ClinicalDataError, ConfigError
from ..labels import label_cohort
from ..stats.performance import CohortPerformance, evaluate_cohort
from .predict import model_rows, predict_rows

SPLITS = ("all", "training", "validation")


@dataclass(frozen=True)
class ModelEvaluation:
    """Predictions and performance of one model on one set of exams."""

    model_name: str
    split: str
    split_date: str | None
    predictions: pd.DataFrame
    """Per exam: patient_id, timepoint, probability, threshold, predicted_class, linear_predictor, resistant,
    criterion (which resistance criterion fired)."""
    contributions: pd.DataFrame
    """Per exam and term: value, coefficient, contribution (log-odds)."""
    performance: CohortPerformance | None
    """None when the exams hold one outcome class only (AUC, sensitivity or specificity undefined)."""
    note: str = ""
    """Why the performance is missing (one outcome class), or empty."""

    def summary(self) -> dict:
        """Headline numbers (JSON-ready)."""
        if self.performance is None:
            y = self.predictions["resistant"].to_numpy(dtype=float)
            p = self.predictions["probability"].to_numpy(dtype=float)
            return {"research_use_only": RESEARCH_USE_ONLY, "model": self.model_name, "split": self.split,
                    "split_date": self.split_date, "exams": int(len(self.predictions)),
                    "resistant": int(y.sum()), "auc": None, "threshold": float(self.predictions["threshold"].iloc[0]),
                    "brier": float(np.mean((p - y) ** 2)), "note": self.note}
        disc = self.performance.discrimination.iloc[0]
        calib = self.performance.calibration.iloc[0]
        keys = ("auc", "auc_low", "auc_high", "threshold", "sensitivity", "sensitivity_low", "sensitivity_high",
                "specificity", "specificity_low", "specificity_high")
        return {"research_use_only": RESEARCH_USE_ONLY, "model": self.model_name, "split": self.split,
                "split_date": self.split_date, "exams": int(len(self.predictions)),
                "resistant": int(self.predictions["resistant"].sum()),
                **{k: float(disc[k]) for k in keys},
                "hosmer_lemeshow": {"statistic": float(calib["hl_statistic"]), "df": float(calib["hl_df"]),
                                    "p_value": float(calib["hl_p_value"])},
                "calibration_intercept": float(calib["calibration_intercept"]),
                "calibration_slope": float(calib["calibration_slope"]), "brier": float(calib["brier"])}

    def write(self, out_dir: str | Path) -> Path:
        """``predictions.csv``, ``contributions.csv``, ``discrimination.csv``, ``calibration.csv``,
        ``roc_curve.csv``, ``calibration_curve.csv``, ``decision_curve.csv`` and ``metrics.json``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tables = {"predictions": self.predictions, "contributions": self.contributions}
        if self.performance is not None:
            tables.update({
                "discrimination": self.performance.discrimination, "calibration": self.performance.calibration,
                "roc_curve": self.performance.roc_curves, "calibration_curve": self.performance.calibration_curves,
                "decision_curve": self.performance.decision_curves})
        for name, table in tables.items():
            table.to_csv(out / f"{name}.csv", index=False)
        (out / "metrics.json").write_text(json.dumps(self.summary(), indent=2) + "\n")
        return out


def evaluate_model(model, features: pd.DataFrame, manifest_frame: pd.DataFrame, *, split: str = "all",
                   split_date: str | None = None, timepoint: str = "baseline") -> ModelEvaluation:
    """Evaluate ``model`` (threshold unchanged) on the exams of ``features`` at ``timepoint``.

    Parameters
    ----------
    model : models.StudyModel
    features : DataFrame
        Index ``(patient_id, timepoint)`` (``features.csv`` of ``extract``).
    manifest_frame : DataFrame
        ``io.Manifest.frame`` with the clinical and outcome columns.
    split : {"all", "training", "validation"}
        "training" keeps exams dated before ``split_date``, "validation" those on or after it.
    split_date : str, optional
        ``YYYY-MM-DD``; default: the split date stored in the model's training block.
    """
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {SPLITS}, got {split!r} (option --split)")
    rows = model_rows(features, manifest_frame)
    rows = rows[rows.index.get_level_values("timepoint") == timepoint]
    date = split_date or model.training.get("split_date")
    if split != "all":
        if not date:
            raise ConfigError(f"model {model.name!r} stores no split date; give one with --split-date YYYY-MM-DD")
        dates = pd.to_datetime(rows["exam_date"], format="%Y-%m-%d")
        rows = rows[(dates < pd.Timestamp(date)) if split == "training" else (dates >= pd.Timestamp(date))]
    labels = label_cohort(rows.reset_index())
    if labels.empty:
        which = "" if split == "all" else f" {split} ({'before' if split == 'training' else 'from'} {date})"
        raise ClinicalDataError(f"no{which} exam at time point {timepoint!r} has both features and outcome; check "
                                "--split, --split-date and --timepoint against the manifest's exam_date and timepoint")
    predictions, contributions = predict_rows(model, rows)
    predictions = predictions.assign(resistant=labels["resistant"].to_numpy(), criterion=labels["criterion"].to_numpy())
    if labels["resistant"].nunique() < 2:
        which = "all" if split == "all" else f"the {split}"
        kind = "resistant" if bool(labels["resistant"].iloc[0]) else "sensitive"
        note = (f"{which} {len(rows)} exams are {kind} (one outcome class): AUC, sensitivity, specificity and "
                "calibration slope are undefined; predictions.csv and the Brier score are written")
        return ModelEvaluation(model.name, split, date if split != "all" else None, predictions, contributions,
                               None, note)
    y = predictions["resistant"].to_numpy(dtype=float)
    performance = evaluate_cohort(split, y, {model.name: predictions["probability"].to_numpy(dtype=np.float64)},
                                  {model.name: model.threshold}, reference=model.name)
    return ModelEvaluation(model.name, split, date if split != "all" else None, predictions, contributions,
                           performance)
