"""Report sections of the reproducibility and delta-radiomics analyses (``nacresistance reproducibility``,
``nacresistance delta``): each function returns a :class:`~NACResistanceLib.report.html.ReportSection`
with the tables it shows; :func:`standalone_page` wraps sections in a self-contained HTML page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..delta import AucComparison
from ..errors import InputFileError
from ..robustness.filter import IccFilterDecision, read_decision
from ..robustness.icc import IccResult
from . import html
from .html import ReportSection

STATISTIC_WORDS = {"icc": "estimate", "ci_low": "lower confidence bound"}
"""How the filter's statistic reads in the report."""
MAX_ROWS = 60
"""Longest table shown in the page; the full table is in the CSV."""
SEED_ICC = "The seed study reports an ICC of 0.89 (95% CI 0.82–0.94) between two radiologists' outlines of 30 patients."


def icc_by_class(decision: IccFilterDecision) -> pd.DataFrame:
    """Per source and feature class: features, ICC quartiles, and how many the filter kept and removed."""
    groups = decision.table.groupby(["source", "feature_class"], sort=True)
    frame = pd.DataFrame({
        "features": groups.size(),
        "icc_median": groups["icc"].median(),
        "icc_q1": groups["icc"].quantile(0.25),
        "icc_q3": groups["icc"].quantile(0.75),
        "kept": groups["kept"].sum().astype(int),
    })
    frame["removed"] = frame["features"] - frame["kept"]
    return frame


def icc_class_figure(decision: IccFilterDecision) -> Figure:
    """Per source, a box plot of the ICC per feature class, every feature a dot, the threshold a line."""
    sources = list(dict.fromkeys(decision.table["source"]))
    classes = sorted(decision.table["feature_class"].unique())
    fig = html.new_figure(max(5.0, 0.8 * len(classes) + 2.0) * len(sources), 4.2)
    for position, source in enumerate(sources):
        table = decision.table[(decision.table["source"] == source)].dropna(subset=["icc"])
        axes = fig.add_subplot(1, len(sources), position + 1)
        _class_boxes(axes, table, classes)
        axes.axhline(decision.threshold, color="#555555", ls="--", lw=1)
        axes.set_ylabel(decision.icc_type)
        axes.set_title(source)
        axes.set_ylim(min(-0.05, float(table["icc"].min()) - 0.05) if len(table) else -0.05, 1.02)
    fig.tight_layout()
    return fig


def _class_boxes(axes, table: pd.DataFrame, classes: Sequence[str]) -> None:
    values = [table.loc[table["feature_class"] == c, "icc"].to_numpy() for c in classes]
    axes.boxplot(values, showfliers=False)
    offsets = np.random.default_rng(0).uniform(-0.18, 0.18, size=len(table))  # fixed jitter, drawing only
    positions = np.array([list(classes).index(c) + 1 for c in table["feature_class"]]) + offsets
    colours = np.where(table["kept"].to_numpy(dtype=bool), "#2ca02c", "#d62728")
    axes.scatter(positions, table["icc"], s=8, c=colours, alpha=0.6, lw=0)
    axes.set_xticks(range(1, len(classes) + 1), classes, rotation=30, ha="right")


def _summary(source: str, result: IccResult, decision: IccFilterDecision) -> str:
    rows = result.table[result.table["icc_type"] == decision.icc_type]
    n_subjects, n_raters = int(rows["n_subjects"].max()), int(rows["n_raters"].max())
    quartiles = rows["icc"].quantile([0.25, 0.5, 0.75]).to_numpy()
    return (f"{source}: {decision.icc_type} of {len(rows)} features between {n_raters} outlines of "
            f"{n_subjects} exams: median {quartiles[1]:.3f} (IQR {quartiles[0]:.3f}–{quartiles[2]:.3f}).")


def reproducibility_section(results: Mapping[str, IccResult], decision: IccFilterDecision, *,
                            perturbations: pd.DataFrame | None = None, notes: Sequence[str] = ()) -> ReportSection:
    """The reproducibility section: summary, ICC per class (table and figure), removed features.

    Parameters
    ----------
    results : mapping of str to IccResult
        Per source (``"readers"``, ``"perturbations"``) the per-feature ICCs.
    decision : IccFilterDecision
        The (combined) filter decision over those sources.
    perturbations : DataFrame, optional
        Voxel changes per perturbation (``ReproducibilityResult.perturbation_summary()``), shown as a table.
    notes : sequence of str
        Caveats shown under the summary (e.g. ``ReproducibilityResult.notes``).
    """
    removed = decision.table.loc[~decision.table["kept"]].sort_values("icc").drop(columns="kept")
    parts = [html.paragraph(_summary(source, result, decision)) for source, result in results.items()]
    parts.append(html.paragraph(
        f"Filter: {decision.icc_type} {STATISTIC_WORDS[decision.statistic]} ≥ {decision.threshold:g} for every "
        f"source; it keeps "
        f"{len(decision.kept)} and removes {len(decision.removed)} features before feature selection."))
    parts.append(html.paragraph(SEED_ICC, "note"))
    parts += [html.paragraph(f"{source}: {w}", "note") for source, r in results.items() for w in r.warnings]
    parts += [html.paragraph(note, "note") for note in notes]
    by_class = icc_by_class(decision)
    parts.append(html.table(by_class, f"{decision.icc_type} per feature class"))
    parts.append(html.figure(icc_class_figure(decision), f"{decision.icc_type} per feature class; green = kept, "
                             f"red = removed; dashed line = threshold {decision.threshold:g}.",
                             "Box plots of intraclass correlation per feature class"))
    caption = f"Features removed by the ICC filter ({len(removed)} rows"
    caption += f"; the {MAX_ROWS} least reproducible shown)" if len(removed) > MAX_ROWS else ")"
    parts.append(html.table(removed.head(MAX_ROWS), caption, index=False))
    tables = {f"icc_{source}": r.to_frame() for source, r in results.items()}
    tables.update(icc_by_class=by_class.reset_index(), icc_filter=decision.to_frame())
    if perturbations is not None:
        parts.append(html.table(perturbations, "Segmentation perturbations: voxel changes (mean over exams)",
                                index=False, digits=1))
        tables["perturbations"] = perturbations
    return ReportSection("reproducibility", "Feature reproducibility", html.section(
        "reproducibility", "Feature reproducibility", parts), tables)


def delta_section(comparison: AucComparison, roc_curves: pd.DataFrame | None = None, *,
                  notes: Sequence[str] = ()) -> ReportSection:
    """The RS1 / RS2 / Delta RS comparison: AUCs with DeLong CIs, paired DeLong tests, ROC curves.

    ``roc_curves`` is a long table ``model, fpr, tpr, label`` (``delta.DeltaStudy.roc_curves()``).
    """
    parts = [html.paragraph("Models trained on baseline features (RS1), features after two cycles (RS2) and "
                            "their change (Delta RS), evaluated on the same patients; AUCs compared with "
                            "DeLong's test for paired ROC curves.")]
    parts += [html.paragraph(note, "note") for note in notes]
    parts.append(html.table(comparison.aucs, "AUC (95% CI, DeLong) per feature set", index=False))
    parts.append(html.table(comparison.tests, "Paired DeLong tests (difference = AUC a − AUC b)", index=False,
                            p_columns=("p_value",)))
    if roc_curves is not None:
        from .figures import roc_figure

        no_bands = pd.DataFrame(columns=["model", "fpr", "tpr_low", "tpr_high"])
        parts.append(html.figure(roc_figure({"RS1 / RS2 / Delta RS": (roc_curves, no_bands)}),
                                 "ROC curves of the models per feature set.", "ROC curves per feature set"))
    tables = {"delta_auc": comparison.aucs, "delta_delong": comparison.tests}
    return ReportSection("delta-radiomics", "Delta radiomics (RS1 / RS2 / Delta RS)", html.section(
        "delta-radiomics", "Delta radiomics (RS1 / RS2 / Delta RS)", parts), tables)


def reproducibility_section_from(folder: str | Path) -> ReportSection:
    """The reproducibility section rebuilt from the folder ``nacresistance reproducibility`` wrote.

    Raises
    ------
    InputFileError
        If ``reproducibility.json`` or a table it lists is missing.
    """
    from ..robustness.cohort import SUMMARY_FILE

    folder = Path(folder)
    summary = _read_json(folder / SUMMARY_FILE)
    results = {source: IccResult.from_table(_read_csv(folder / f"icc_{source}.csv"), summary["confidence"])
               for source in summary["sources"]}
    perturbations = _read_csv(folder / "perturbations.csv") if summary["perturbations"] else None
    return reproducibility_section(results, read_decision(folder / "icc_filter.csv"), perturbations=perturbations,
                                   notes=summary["notes"])


def delta_section_from(folder: str | Path) -> ReportSection:
    """The delta-radiomics section rebuilt from the folder ``nacresistance delta`` wrote.

    Raises
    ------
    InputFileError
        If ``delta.json`` or one of its tables is missing.
    """
    from ..delta import SUMMARY_FILE, roc_curves

    folder = Path(folder)
    summary = _read_json(folder / SUMMARY_FILE)
    comparison = AucComparison(_read_csv(folder / "delta_auc.csv"), _read_csv(folder / "delta_delong.csv"))
    predictions = _read_csv(folder / "delta_predictions.csv").set_index("patient_id")
    notes = [f"Model compared: {summary['model']}; AUCs on the {summary['evaluation_cohort']} cohort "
             f"({summary['n_patients']} patients)."] + list(summary["notes"])
    return delta_section(comparison, roc_curves(predictions, summary["sets"]), notes=notes)


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise InputFileError(f"{path} not found: give the output folder of `nacresistance reproducibility` "
                             "or `nacresistance delta`")
    return json.loads(path.read_text(encoding="utf-8"))


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputFileError(f"{path} not found (listed by the summary file beside it); re-run the command")
    return pd.read_csv(path)


def standalone_page(title: str, sections: Sequence[ReportSection], *, preamble: Sequence[str] = ()) -> str:
    """A self-contained HTML page (no network, no JavaScript) holding ``sections``."""
    from .. import RESEARCH_USE_ONLY

    body = [f"<h1>{html.text(title)}</h1>", html.paragraph(RESEARCH_USE_ONLY, "ruo")]
    body += [html.paragraph(p) for p in preamble]
    body += [s.html for s in sections]
    return html.page(title, "\n".join(body))
