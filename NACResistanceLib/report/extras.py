"""Report sections beyond the seed paper's tables: nomogram, synthetic ground truth, checklists, provenance.

Every number shown was computed by the study step and read from the study folder; these functions draw.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd

from . import figures, html
from .html import ReportSection

CHECKLIST_COLUMNS = {"item": "Item", "section": "Section", "topic": "Topic (paraphrased)", "answer": "Answer from the run",
                     "status": "Status"}


def nomogram_section(result) -> ReportSection:
    """The combined model as a nomogram (term ranges from ``result.nomogram``)."""
    model, terms = result.models["combined"], result.nomogram
    if not model.terms or not len(terms):
        return html.report_section("nomogram", "Nomogram of the combined model",
                                   [html.paragraph("Not drawn: the combined model has no term (intercept only).")])
    parts = [html.figure(figures.nomogram_figure(terms, model.intercept),
                         "Nomogram of the combined model: read each term's points, add them, and read the "
                         "probability of resistance under the total. Term ranges: training 1st–99th percentile.",
                         "nomogram of the combined model"),
             html.table(terms, "Nomogram terms (log-odds per unit)", index=False, digits=4)]
    return html.report_section("nomogram", "Nomogram of the combined model", parts)


def truth_section(result) -> ReportSection:
    """Ground truth of a synthetic cohort against what the study recovered (``result.truth_*``)."""
    parts = [
        html.paragraph("This cohort is synthetic (NACResistanceLib.phantom); its generative model is known, so "
                       "the study's findings can be checked against it. The analysis never read these files."),
        html.table(result.truth_predictors, "True predictors of resistance against the combined model", index=False,
                   digits=3),
        html.table(result.truth_aucs, "Discrimination against the truth: the model's AUC, the AUC of the true "
                   "probabilities on the same patients, and the Bayes-optimal AUC of the cohort", index=False),
        html.figure(_probability_figure(result.truth_probabilities),
                    "Predicted probability (combined model) against each patient's true probability of resistance.",
                    "predicted against true probability"),
    ]
    return html.report_section("ground-truth", "Ground truth (synthetic cohort)", parts)


def _probability_figure(probabilities: pd.DataFrame):
    fig = html.new_figure(4.8, 4.6)
    axes = fig.add_subplot(1, 1, 1)
    for cohort, colour in (("training", "#1f77b4"), ("validation", "#d62728")):
        part = probabilities[probabilities["cohort"] == cohort]
        axes.scatter(part["true_probability"], part["combined_probability"], s=12, alpha=0.7, color=colour,
                     label=cohort)
    axes.plot([0, 1], [0, 1], color="#999999", ls="--", lw=0.8)
    axes.set_xlabel("True probability of resistance")
    axes.set_ylabel("Predicted probability (combined model)")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.legend(fontsize=8)
    return fig


def checklist_section(result) -> ReportSection:
    """The CLEAR and TRIPOD+AI checklists as the run answered them; open items are the authors' to fill."""
    parts = [html.paragraph("Item topics are short paraphrases with the checklists' item numbers, not the "
                            "published item texts; read the checklists themselves (CLEAR: Kocak et al., Insights "
                            "Imaging 2023;14:75; TRIPOD+AI: Collins et al., BMJ 2024;385:e078378). Items marked "
                            "open can only be answered by the authors.", "note")]
    for name, table in (("CLEAR", result.checklist_clear), ("TRIPOD+AI", result.checklist_tripod_ai)):
        if len(table):
            answered = int((table["status"] == "answered").sum())
            shown = table[list(CHECKLIST_COLUMNS)].rename(columns=CHECKLIST_COLUMNS)
            parts.append(html.table(shown, f"{name}: {answered} of {len(table)} items answered by the run",
                                    index=False))
    return html.report_section("checklists", "Reporting checklists (CLEAR, TRIPOD+AI)", parts)


def provenance_section(record: Mapping) -> ReportSection:
    """Versions and every parameter, as text."""
    versions = pd.DataFrame(sorted(record["versions"].items()), columns=["package", "version"])
    parts = [html.paragraph(record["research_use_only"], "ruo"),
             html.paragraph(f"NACResistanceLib {record['NACResistanceLib']}, Python {record['python']} on "
                            f"{record['platform']}."),
             html.table(versions, "Software versions", index=False),
             html.paragraph(f"Seed: {record['seed']}." + (f" Command: {record['command']}" if record["command"] else ""))]
    for key, title in (("study_parameters", "Study parameters"), ("analysis_parameters", "Analysis parameters")):
        text = json.dumps(record[key], indent=2, sort_keys=True) if record[key] else "(not recorded)"
        parts.append(f"{html.heading(title)}\n<pre class=\"formula\">{html.text(text)}</pre>")
    if record["warnings"]:
        parts.append(html.heading("Warnings"))
        parts.append("<ul>" + "".join(f"<li>{html.text(w)}</li>" for w in record["warnings"]) + "</ul>")
    return html.report_section("provenance", "Versions, parameters and warnings", parts)
