"""Report sections beyond the seed paper's tables: nomogram, synthetic ground truth, provenance."""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .. import RESEARCH_USE_ONLY, __version__
from . import figures, html

TRUE_TO_MODEL_TERM = {"er": "er_positive", "ki67_high": "ki67_ge_20", "dose_intensity": "dose_intensity_pct"}
"""Phantom generative-model predictor -> the model variable that measures it (docs/phantom.md)."""
LATENT = ("heterogeneity", "cellularity")
"""Latent predictors of the phantom, visible only through the images."""


def nomogram_terms(model, term_values: pd.DataFrame) -> pd.DataFrame:
    """Per model term: coefficient and the range drawn (training 1st-99th percentile; 0/1 for binary terms)."""
    rows = []
    for term in model.terms:
        values = term_values[term.name].dropna().to_numpy(dtype=float)
        binary = np.isin(values, (0.0, 1.0)).all()
        low, high = (0.0, 1.0) if binary else np.percentile(values, [1, 99])
        rows.append({"term": term.name, "coefficient": term.coefficient, "low": float(low), "high": float(high)})
    return pd.DataFrame(rows, columns=["term", "coefficient", "low", "high"])


def nomogram_section(model, training_rows: pd.DataFrame | None) -> tuple[str, pd.DataFrame]:
    """The combined model as a nomogram; needs the training rows (features + clinical) for the ranges."""
    reason = ("the combined model has no term (intercept only)" if not model.terms else
              "the training rows (features and clinical data) were not given to the report"
              if training_rows is None else "")
    if reason:
        return html.section("nomogram", "Nomogram of the combined model",
                            [html.paragraph(f"Not drawn: {reason}.")]), pd.DataFrame()
    terms = nomogram_terms(model, model.term_values(model.encode(training_rows)))
    parts = [html.figure(figures.nomogram_figure(terms, model.intercept),
                         "Nomogram of the combined model: read each term's points, add them, and read the "
                         "probability of resistance under the total. Term ranges: training 1st–99th percentile.",
                         "nomogram of the combined model"),
             html.table(terms, "Nomogram terms (log-odds per unit)", index=False, digits=4)]
    return html.section("nomogram", "Nomogram of the combined model", parts), terms


def find_truth(manifest_path: str | Path | None) -> Path | None:
    """The phantom's truth folder beside a manifest (``truth/truth.json`` or ``truth.json``), or None."""
    if manifest_path is None:
        return None
    folder = Path(manifest_path).parent
    for candidate in (folder / "truth", folder):
        if (candidate / "truth.json").is_file() and (candidate / "truth.csv").is_file():
            return candidate
    return None


def truth_section(result, truth_dir: Path, rad_scores: pd.Series | None) -> tuple[str, dict]:
    """Ground truth of a synthetic cohort against what the study recovered."""
    summary = json.loads((truth_dir / "truth.json").read_text())
    truth = pd.read_csv(truth_dir / "truth.csv")
    truth = truth[truth["timepoint"] == "baseline"].set_index("patient_id")
    predictors = recovered_predictors(summary["model"]["coefficients"], result.models["combined"], truth, rad_scores)
    aucs = truth_aucs(result, truth, summary)
    parts = [
        html.paragraph("This cohort is synthetic (NACResistanceLib.phantom); its generative model is known, so "
                       "the study's findings can be checked against it. The analysis never read these files."),
        html.table(predictors, "True predictors of resistance against the combined model", index=False, digits=3),
        html.table(aucs, "Discrimination against the truth: the model's AUC, the AUC of the true probabilities "
                   "on the same patients, and the Bayes-optimal AUC of the cohort", index=False),
        html.figure(_probability_figure(result.predictions, truth),
                    "Predicted probability (combined model) against each patient's true probability of resistance.",
                    "predicted against true probability"),
    ]
    numbers = {"predictors": predictors, "aucs": aucs}
    return html.section("ground-truth", "Ground truth (synthetic cohort)", parts), numbers


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


def truth_aucs(result, truth: pd.DataFrame, summary: Mapping) -> pd.DataFrame:
    """Per cohort: combined-model AUC, AUC of the true probabilities on the same patients, Bayes-optimal AUC."""
    from ..stats import roc_auc_ci

    rows = []
    for cohort, part in result.predictions.groupby("cohort", sort=False):
        if part["resistant"].nunique() < 2:
            continue
        true_p = truth.loc[part["patient_id"], "probability"].to_numpy()
        rows.append({"cohort": cohort, "patients": len(part),
                     "combined_model_auc": roc_auc_ci(part["resistant"], part["combined_probability"]).auc,
                     "true_probability_auc": roc_auc_ci(part["resistant"], true_p).auc,
                     "bayes_optimal_auc_cohort": summary["bayes_optimal_auc"]})
    return pd.DataFrame(rows)


def _probability_figure(predictions: pd.DataFrame, truth: pd.DataFrame):
    fig = html.new_figure(4.8, 4.6)
    axes = fig.add_subplot(1, 1, 1)
    for cohort, colour in (("training", "#1f77b4"), ("validation", "#d62728")):
        part = predictions[predictions["cohort"] == cohort]
        axes.scatter(truth.loc[part["patient_id"], "probability"], part["combined_probability"], s=12,
                     alpha=0.7, color=colour, label=cohort)
    axes.plot([0, 1], [0, 1], color="#999999", ls="--", lw=0.8)
    axes.set_xlabel("True probability of resistance")
    axes.set_ylabel("Predicted probability (combined model)")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.legend(fontsize=8)
    return fig


def provenance(result, analysis_config: Mapping | None, command: str | None) -> dict:
    """Versions, parameters and seed of the study (JSON-ready)."""
    from ..models import library_versions

    return {"research_use_only": RESEARCH_USE_ONLY, "NACResistanceLib": __version__,
            "python": platform.python_version(), "platform": platform.platform(),
            "versions": library_versions(), "seed": result.seed, "study_parameters": result.config.to_dict(),
            "analysis_parameters": dict(analysis_config or {}), "command": command,
            "warnings": list(result.warnings)}


def provenance_section(record: Mapping) -> str:
    """Versions and every parameter, as text."""
    versions = pd.DataFrame(sorted(record["versions"].items()), columns=["package", "version"])
    parts = [html.paragraph(record["research_use_only"], "ruo"),
             html.paragraph(f"Python {record['python']} on {record['platform']}."),
             html.table(versions, "Software versions", index=False),
             html.paragraph(f"Seed: {record['seed']}." + (f" Command: {record['command']}" if record["command"] else ""))]
    for key, title in (("study_parameters", "Study parameters"), ("analysis_parameters", "Analysis parameters")):
        text = json.dumps(record[key], indent=2, sort_keys=True) if record[key] else "(not recorded)"
        parts.append(f"{html.heading(title)}\n<pre class=\"formula\">{html.text(text)}</pre>")
    if record["warnings"]:
        parts.append(html.heading("Warnings"))
        parts.append("<ul>" + "".join(f"<li>{html.text(w)}</li>" for w in record["warnings"]) + "</ul>")
    return html.section("provenance", "Versions, parameters and warnings", parts)
