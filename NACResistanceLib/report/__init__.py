"""The study report: one self-contained HTML file plus every number in CSV/JSON beside it.

``write_report(study_result, out_dir, ...)`` writes ``report.html`` (figures embedded as PNG, no
network, no JavaScript), ``tables/`` (:meth:`StudyResult.write`: every table and curve as CSV,
``summary.json``, ``models/*.json``), the report's own numbers (ROC bands, nomogram terms, ground
truth) in ``tables/`` and ``provenance.json``. Research use only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from .. import RESEARCH_USE_ONLY
from . import extras, html, sections

TITLE = "NACResistance: predicting resistance to neoadjuvant chemotherapy from pre-treatment breast MRI"


def write_report(result, out_dir, *, rows: pd.DataFrame | None = None, truth_dir: str | Path | None = None,
                 failures: pd.DataFrame | None = None, analysis_config: Mapping | None = None,
                 extra_sections: Sequence = (), command: str | None = None, n_boot_band: int = 1000) -> Path:
    """Write the study report and its tables; returns the path of ``report.html``.

    Parameters
    ----------
    result : study.StudyResult
    out_dir : str or Path
        Output folder (created).
    rows : DataFrame, optional
        Model rows (features and manifest clinical columns) indexed by ``patient_id``; needed for the
        nomogram's term ranges and the Rad-score of the ground-truth panel.
    truth_dir : str or Path, optional
        Folder with the phantom's ``truth.json`` and ``truth.csv``: adds the ground-truth panel.
    failures : DataFrame, optional
        The extraction's failures table, listed in the cohort section.
    analysis_config : mapping, optional
        ``AnalysisConfig.to_dict()`` of the extraction, recorded in the provenance.
    extra_sections : sequence of report_sections.ReportSection
        More sections (reproducibility, delta radiomics), included as given; their tables are written.
    command : str, optional
        The command line that produced the study, recorded in the provenance.
    n_boot_band : int
        Bootstrap replicates of the ROC confidence bands (seeded by ``result.seed``).
    """
    out = Path(out_dir)
    tables = result.write(out / "tables")
    body, numbers = _body(result, rows, truth_dir, failures, analysis_config, extra_sections, command, n_boot_band)
    for name, frame in numbers.items():
        frame.to_csv(tables / f"{name}.csv", index=False)
    record = extras.provenance(result, analysis_config, command)
    (out / "provenance.json").write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    path = out / "report.html"
    path.write_text(html.page(TITLE, body), encoding="utf-8")
    return path


def _body(result, rows, truth_dir, failures, analysis_config, extra_sections, command, n_boot_band):
    performance, bands = sections.performance_section(result, n_boot_band)
    training = _training_rows(result, rows)
    nomogram, nomogram_terms = extras.nomogram_section(result.models["combined"], training)
    blocks = [sections.cohort_section(result, failures), sections.group_tables_section(result, training),
              sections.selection_section(result), sections.models_section(result), performance,
              sections.bootstrap_section(result), nomogram]
    numbers = {"roc_bands": bands, "nomogram": nomogram_terms}
    if truth_dir is not None:
        truth_html, truth_numbers = extras.truth_section(result, Path(truth_dir), _rad_scores(result, rows))
        blocks.append(truth_html)
        numbers.update({"truth_predictors": truth_numbers["predictors"], "truth_aucs": truth_numbers["aucs"]})
    for extra in extra_sections:
        blocks.append(extra.html)
        numbers.update(dict(extra.tables))
    blocks.append(extras.provenance_section(extras.provenance(result, analysis_config, command)))
    return _header(result, truth_dir is not None) + "\n".join(blocks), numbers


def _training_rows(result, rows: pd.DataFrame | None) -> pd.DataFrame | None:
    if rows is None:
        return None
    training = result.cohort.index[result.cohort["cohort"] == "training"]
    return rows.loc[rows.index.intersection(training)]


def _rad_scores(result, rows: pd.DataFrame | None) -> pd.Series | None:
    model = result.models["combined"]
    if rows is None or model.radscore is None:
        return None
    usable = rows.loc[rows.index.intersection(result.cohort.index)]
    names = [name for name, _ in model.radscore.features]
    usable = usable.dropna(subset=names)
    return pd.Series(model.radscore.compute(usable), index=usable.index)


def _header(result, synthetic: bool) -> str:
    summary = result.summary()["cohorts"]
    counts = ", ".join(f"{name}: {c['n']} patients ({c['resistant']} resistant)" for name, c in summary.items())
    links = [("cohort", "Cohort"), ("tables-1-3", "Tables 1–3"), ("selection", "Feature selection, Rad-score"),
             ("table-4", "Table 4"), ("table-5", "Table 5, Figures 1–3"), ("table-6", "Table 6"),
             ("nomogram", "Nomogram")]
    if synthetic:
        links.append(("ground-truth", "Ground truth"))
    links.append(("provenance", "Versions and parameters"))
    toc = "".join(f'<li><a href="#{html.text(a)}">{html.text(t)}</a></li>' for a, t in links)
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    kind = "synthetic cohort (phantom)" if synthetic else "cohort"
    return "\n".join([
        f"<h1>{html.text(TITLE)}</h1>",
        html.paragraph(RESEARCH_USE_ONLY, "ruo"),
        html.paragraph(f"Study of a {kind}: {counts}. Generated {generated}; every number is also in tables/*.csv.",
                       "note"),
        f"<nav><ol>{toc}</ol></nav>",
    ])
