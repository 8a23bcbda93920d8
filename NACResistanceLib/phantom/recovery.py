"""What a study recovered of a synthetic cohort's known truth (the phantom's generative model).

Computed by the study step (``study_folder.complete_study``) from the phantom's ``truth.json`` /
``truth.csv``; the study folder stores the tables and the report only shows them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

TRUE_TO_MODEL_TERM = {"er": "er_positive", "ki67_high": "ki67_ge_20", "dose_intensity": "dose_intensity_pct"}
"""Phantom generative-model predictor -> the model variable that measures it (docs/phantom.md)."""
LATENT = ("heterogeneity", "cellularity")
"""Latent predictors of the phantom, visible only through the images."""


def find_truth(manifest_path: str | Path | None) -> Path | None:
    """The phantom's truth folder beside a manifest (``truth/truth.json`` or ``truth.json``), or None."""
    if manifest_path is None:
        return None
    folder = Path(manifest_path).parent
    for candidate in (folder / "truth", folder):
        if (candidate / "truth.json").is_file() and (candidate / "truth.csv").is_file():
            return candidate
    return None


def compare_with_truth(combined_model, predictions: pd.DataFrame, truth_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The truth tables of a study: ``predictors``, ``aucs`` and ``probabilities``.

    ``predictions`` is ``StudyResult.predictions`` (with the ``rad_score`` column when the combined
    model has a Rad-score).
    """
    truth_dir = Path(truth_dir)
    summary = json.loads((truth_dir / "truth.json").read_text())
    truth = pd.read_csv(truth_dir / "truth.csv")
    truth = truth[truth["timepoint"] == "baseline"].set_index("patient_id")
    truth.index = truth.index.astype(str)
    rad_scores = predictions.set_index("patient_id")["rad_score"] if "rad_score" in predictions else None
    probabilities = predictions[["patient_id", "cohort", "combined_probability"]].assign(
        true_probability=truth.loc[predictions["patient_id"].astype(str), "probability"].to_numpy())
    return {"predictors": recovered_predictors(summary["model"]["coefficients"], combined_model, truth, rad_scores),
            "aucs": truth_aucs(predictions, truth, summary), "probabilities": probabilities}


def recovered_predictors(coefficients: Mapping[str, float], model, truth: pd.DataFrame,
                         rad_scores: pd.Series | None) -> pd.DataFrame:
    """One row per true predictor: its true log-odds coefficient and what the combined model holds for it."""
    terms = {t.name: t.coefficient for t in model.terms}
    rows = []
    for name, true_coefficient in coefficients.items():
        if name in LATENT:
            found = "rad_score" in terms or any(t.kind == "feature" for t in model.terms)
            correlation = _correlation(rad_scores, truth[name]) if rad_scores is not None else np.nan
            rows.append({"true_predictor": f"{name} (latent, imaging)", "true_coefficient": true_coefficient,
                         "model_term": "rad_score" if "rad_score" in terms else "imaging features" if found else "–",
                         "model_coefficient": terms.get("rad_score", np.nan), "recovered": bool(found),
                         "r_rad_score_vs_latent": correlation})
        else:
            term = TRUE_TO_MODEL_TERM.get(name, name)
            rows.append({"true_predictor": name, "true_coefficient": true_coefficient, "model_term": term,
                         "model_coefficient": terms.get(term, np.nan), "recovered": term in terms,
                         "r_rad_score_vs_latent": np.nan})
    extra = [t for t in terms if t not in set(TRUE_TO_MODEL_TERM.values()) | {"rad_score"}]
    for term in extra:
        rows.append({"true_predictor": "(not in the truth)", "true_coefficient": 0.0, "model_term": term,
                     "model_coefficient": terms[term], "recovered": False, "r_rad_score_vs_latent": np.nan})
    return pd.DataFrame(rows)


def _correlation(rad_scores: pd.Series, latent: pd.Series) -> float:
    joined = pd.concat([rad_scores.rename("a"), latent.rename("b")], axis=1, join="inner").dropna()
    return float(np.corrcoef(joined["a"], joined["b"])[0, 1]) if len(joined) > 2 else float("nan")


def truth_aucs(predictions: pd.DataFrame, truth: pd.DataFrame, summary: Mapping) -> pd.DataFrame:
    """Per cohort: combined-model AUC, AUC of the true probabilities on the same patients, Bayes-optimal AUC."""
    from ..stats import roc_auc_ci

    rows = []
    for cohort, part in predictions.groupby("cohort", sort=False):
        if part["resistant"].nunique() < 2:
            continue
        true_p = truth.loc[part["patient_id"].astype(str), "probability"].to_numpy()
        rows.append({"cohort": cohort, "patients": len(part),
                     "combined_model_auc": roc_auc_ci(part["resistant"], part["combined_probability"]).auc,
                     "true_probability_auc": roc_auc_ci(part["resistant"], true_p).auc,
                     "bayes_optimal_auc_cohort": summary["bayes_optimal_auc"]})
    return pd.DataFrame(rows, columns=["cohort", "patients", "combined_model_auc", "true_probability_auc",
                                       "bayes_optimal_auc_cohort"])
