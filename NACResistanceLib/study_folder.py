"""The study folder is the study's result: :func:`write_study` writes a :class:`study.StudyResult`
completely, :func:`read_study` reads it back, and the report is rendered from what was read.

Layout: every table of ``StudyResult.TABLES`` as ``<name>.csv``, ``summary.json`` (headline numbers),
``study.json`` (seed, study parameters, warnings, provenance), ``provenance.json`` and
``models/<name>.json``. :func:`complete_study` adds what the training command knows beyond the fit:
the extraction failures, the phantom's truth, the provenance and the reporting checklists.
Research use only.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pandas as pd

from . import RESEARCH_USE_ONLY, __version__
from .config.study import load_study_config
from .errors import ConfigError, InputFileError
from .models import load, save

STUDY_FILE = "study.json"
SUMMARY_FILE = "summary.json"
PROVENANCE_FILE = "provenance.json"
MODELS_FOLDER = "models"
TEXT_COLUMNS = ("level", "answer", "item")
"""Columns whose empty cells are empty text (not missing numbers) when read back."""
INDEXED = {"cohort": "patient_id"}
"""Tables written with their index."""


def provenance(result, analysis_config: Mapping | None, command: str | None) -> dict:
    """Versions, parameters and seed of the study (JSON-ready)."""
    from .models import library_versions

    return {"research_use_only": RESEARCH_USE_ONLY, "NACResistanceLib": __version__,
            "python": platform.python_version(), "platform": platform.platform(),
            "versions": library_versions(), "seed": result.seed, "study_parameters": result.config.to_dict(),
            "analysis_parameters": dict(analysis_config or {}), "command": command,
            "warnings": list(result.warnings)}


def complete_study(result, *, analysis_config: Mapping | None = None, command: str | None = None,
                   truth_dir: str | Path | None = None, failures: pd.DataFrame | None = None):
    """``result`` with the provenance, the extraction failures, the phantom truth and the checklists.

    Parameters
    ----------
    result : study.StudyResult
    analysis_config : mapping, optional
        ``AnalysisConfig.to_dict()`` of the extraction.
    command : str, optional
        The command line that produced the study.
    truth_dir : str or Path, optional
        Folder with a phantom's ``truth.json`` and ``truth.csv`` (adds the truth tables).
    failures : DataFrame, optional
        The extraction's ``failures.csv``.
    """
    from .checklists import fill_checklists
    from .phantom.recovery import compare_with_truth

    changes: dict = {"provenance": provenance(result, analysis_config, command)}
    if failures is not None:
        changes["failures"] = failures.reset_index(drop=True)
    if truth_dir is not None:
        truth = compare_with_truth(result.models["combined"], result.predictions, truth_dir)
        changes.update(truth_predictors=truth["predictors"], truth_aucs=truth["aucs"],
                       truth_probabilities=truth["probabilities"])
    completed = replace(result, **changes)
    clear, tripod = fill_checklists(completed)
    return replace(completed, checklist_clear=clear, checklist_tripod_ai=tripod)


def write_study(result, folder: str | Path) -> Path:
    """Write ``result`` completely into ``folder`` (created); returns ``folder``.

    Raises
    ------
    ConfigError
        A model does not carry the analysis parameters of its features (it could not be used on new exams).
    """
    out = Path(folder)
    (out / MODELS_FOLDER).mkdir(parents=True, exist_ok=True)
    for name, model in result.models.items():
        if not model.analysis_config:
            raise ConfigError(f"the {name} model does not know the analysis parameters of its features, so its "
                              "file could not be used on new exams; pass analysis= to run_study (the "
                              "analysis_parameters.json written by extract)")
    for name, table in result.tables().items():
        table.to_csv(out / f"{name}.csv", index=name in INDEXED)
    (out / SUMMARY_FILE).write_text(json.dumps(result.summary(), indent=2, default=float) + "\n")
    record = {"research_use_only": RESEARCH_USE_ONLY, "seed": result.seed, "config": result.config.to_dict(),
              "models": list(result.models), "warnings": list(result.warnings), "provenance": result.provenance}
    (out / STUDY_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    if result.provenance:
        (out / PROVENANCE_FILE).write_text(json.dumps(result.provenance, indent=2, default=str) + "\n",
                                           encoding="utf-8")
    for name, model in result.models.items():
        save(model, out / MODELS_FOLDER / f"{name}.json")
    return out


def read_study(folder: str | Path):
    """The :class:`study.StudyResult` a study folder holds (written by ``train`` / :func:`write_study`).

    Raises
    ------
    InputFileError
        ``study.json`` or a table is missing: the folder is not a complete study folder.
    """
    from .study import StudyResult

    folder = Path(folder)
    path = folder / STUDY_FILE
    if not path.is_file():
        raise InputFileError(f"{path} not found: give the output folder of `nacresistance train`")
    record = json.loads(path.read_text(encoding="utf-8"))
    tables = {name: _read_table(folder / f"{name}.csv", INDEXED.get(name)) for name in StudyResult.TABLES}
    models = {name: load(folder / MODELS_FOLDER / f"{name}.json") for name in record["models"]}
    return StudyResult(config=load_study_config(record["config"]), seed=int(record["seed"]), models=models,
                       warnings=tuple(record["warnings"]), provenance=record["provenance"], **tables)


def _read_table(path: Path, index: str | None) -> pd.DataFrame:
    if not path.is_file():
        raise InputFileError(f"{path} not found: the study folder is incomplete; run `nacresistance train` again")
    try:
        text = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    frame = pd.DataFrame({column: _typed(text[column], column) for column in text.columns}, index=text.index)
    if index is not None:
        frame = frame.set_index(index)
    return frame


def _typed(cells: pd.Series, column: str) -> pd.Series:
    """A column of CSV text with the type it was written from: Python's ``float`` reads the shortest-repr
    numbers pandas writes exactly (bit for bit); in number columns empty cells are missing, in text
    columns (and :data:`TEXT_COLUMNS`, text even when the cells look like numbers) empty text."""
    if column in TEXT_COLUMNS or column == "patient_id":
        return cells
    values = cells.tolist()
    if values and set(values) <= {"True", "False"}:
        return cells.eq("True")
    try:
        numbers = [float(v) if v != "" else float("nan") for v in values]
    except ValueError:
        return cells  # text: an empty cell is empty text
    if values and all(v.lstrip("-").isdigit() for v in values):
        return pd.Series(numbers, index=cells.index).astype("int64")
    return pd.Series(numbers, index=cells.index, dtype="float64")
