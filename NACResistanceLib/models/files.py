"""Model files: JSON documents validated against ``model.schema.json`` on load (never pickle)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from .. import RESEARCH_USE_ONLY
from ..config.hashing import parameter_hash
from ..errors import ConfigError, ModelFileError
from .study_model import OUTCOME, SCHEMA_FILE, RadScore, StudyModel, Term

FORMAT_VERSION = 2
"""2: the model carries its analysis parameters as content with their SHA-256 (1 named files by path)."""


def to_document(model: StudyModel) -> dict:
    """The JSON document of ``model`` (what :func:`save` writes)."""
    radscore = None
    if model.radscore is not None:
        radscore = {"intercept": model.radscore.intercept,
                    "features": [{"name": n, "coefficient": c} for n, c in model.radscore.features]}
        if model.radscore.lam is not None:
            radscore["lambda"] = model.radscore.lam
    return {
        "format": "nacresistance-model", "format_version": FORMAT_VERSION, "name": model.name,
        "research_use_only": RESEARCH_USE_ONLY, "outcome": OUTCOME, "intercept": model.intercept,
        "terms": [{"name": t.name, "coefficient": t.coefficient, "kind": t.kind} for t in model.terms],
        "radscore": radscore,
        "threshold": {"probability": model.threshold, "method": model.threshold_method},
        "analysis_config": model.analysis_config, "analysis_sha256": parameter_hash(model.analysis_config),
        "training": model.training, "versions": model.versions,
    }


def from_document(document: dict, source: str = "<dict>") -> StudyModel:
    """Validate ``document`` against the schema and build the model.

    Raises
    ------
    ModelFileError
        Names ``source`` and the JSON path of the first problem (e.g. ``$.terms[1].coefficient``).
    """
    if isinstance(document, dict) and document.get("format_version") == 1:
        raise ModelFileError(f"model file {source} is format 1, which names its parameter files by path and cannot "
                             "prove which extraction it was trained on; re-train it with this version (format 2)")
    schema = json.loads(SCHEMA_FILE.read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.path))
    if errors:
        error = errors[0]
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise ModelFileError(f"model file {source}: {path}: {error.message}")
    rad = document["radscore"]
    radscore = None if rad is None else RadScore(
        float(rad["intercept"]), tuple((f["name"], float(f["coefficient"])) for f in rad["features"]),
        rad.get("lambda"))
    if radscore is None and any(t["kind"] == "rad_score" for t in document["terms"]):
        raise ModelFileError(f"model file {source}: $.radscore: a rad_score term needs a radscore definition")
    _check_analysis(document, source)
    terms = tuple(Term(t["name"], float(t["coefficient"]), t["kind"]) for t in document["terms"])
    return StudyModel(document["name"], float(document["intercept"]), terms, radscore,
                      float(document["threshold"]["probability"]), document["threshold"]["method"],
                      dict(document["analysis_config"]), dict(document["training"]), dict(document["versions"]))


def save(model: StudyModel, path: str | Path) -> Path:
    """Write ``model`` as indented JSON; returns the path."""
    path = Path(path)
    path.write_text(json.dumps(to_document(model), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path


def load(path: str | Path) -> StudyModel:
    """Read and validate a model file (:class:`~NACResistanceLib.errors.ModelFileError` if unusable)."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ModelFileError(f"cannot read model file {path}: {error}") from error
    except json.JSONDecodeError as error:
        raise ModelFileError(f"model file {path} is not JSON: {error}") from error
    return from_document(document, str(path))


def _check_analysis(document: dict, source: str) -> None:
    """The analysis parameters must load as a complete configuration whose hash is the recorded one."""
    from ..config.records import analysis_from_model

    try:
        config = analysis_from_model(document["analysis_config"], f"model file {source}: $.analysis_config")
    except ConfigError as error:
        raise ModelFileError(str(error)) from None
    if config.sha256 != document["analysis_sha256"]:
        raise ModelFileError(f"model file {source}: $.analysis_sha256 {document['analysis_sha256']} does not match "
                             f"$.analysis_config ({config.sha256}): the parameters were edited after training")
