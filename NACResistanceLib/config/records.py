"""The analysis parameters recorded beside results, and the check that two results share them.

``extract`` writes ``analysis_parameters.json`` beside its feature table and ``train`` copies the same
content into every model file, so a model carries the extraction it was trained on and a feature
table can be matched against a model by content hash, wherever the files were.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from .analysis import AnalysisConfig, load_analysis_config
from .hashing import describe_differences, diff_parameters

PARAMETERS_FILE = "analysis_parameters.json"
"""Written by ``extract`` beside ``features.csv``."""


def parameters_record(config: AnalysisConfig) -> dict[str, Any]:
    """``{"sha256": ..., "analysis": config.to_dict()}``: what ``analysis_parameters.json`` holds."""
    return {"sha256": config.sha256, "analysis": config.to_dict()}


def write_parameters_text(config: AnalysisConfig) -> str:
    """The text of ``analysis_parameters.json`` (sorted keys, indented, final newline)."""
    return json.dumps(parameters_record(config), indent=2, sort_keys=True) + "\n"


def read_parameters_record(path: str | Path) -> AnalysisConfig:
    """The analysis configuration of an ``analysis_parameters.json`` (its recorded hash is checked).

    Raises
    ------
    ConfigError
        Unreadable, not a record, or content that no longer matches its hash.
    """
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"cannot read analysis parameters {path}: {error}") from error
    if not isinstance(record, dict) or set(record) != {"sha256", "analysis"}:
        raise ConfigError(f"{path} is not an analysis-parameters record (keys sha256 and analysis); "
                          "re-run `nacresistance extract` to write it")
    config = _load(record["analysis"], str(path))
    if config.sha256 != record["sha256"]:
        raise ConfigError(f"{path}: the recorded sha256 {record['sha256']} does not match the parameters in the "
                          f"file ({config.sha256}); the file was edited after extraction")
    return config


def features_parameters(features: str | Path) -> AnalysisConfig:
    """The analysis configuration a feature table was extracted with (its folder's ``analysis_parameters.json``).

    Raises
    ------
    ConfigError
        The folder has no record: the table's parameters cannot be proven.
    """
    features = Path(features)
    folder = features if features.is_dir() else features.parent
    record = folder / PARAMETERS_FILE
    if not record.is_file():
        raise ConfigError(f"{features} has no {PARAMETERS_FILE} beside it, so the parameters it was extracted with "
                          "are unknown; use the folder written by `nacresistance extract` (keep the two files together)")
    return read_parameters_record(record)


def analysis_of(path: str | Path) -> tuple[AnalysisConfig, str]:
    """The analysis configuration held by ``path``, and what kind of file it was.

    ``path`` may be a features folder or feature table (``analysis_parameters.json`` beside it), an
    ``analysis_parameters.json``, a model file (its ``analysis_config``) or an analysis YAML file.
    """
    path = Path(path)
    if path.is_dir() or path.suffix.lower() == ".csv":
        return features_parameters(path), "features"
    if not path.is_file():
        raise ConfigError(f"{path} does not exist; give a features folder, a model file or an analysis YAML file")
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ConfigError(f"cannot read {path}: {error}") from error
        if isinstance(document, dict) and "analysis_config" in document:
            return analysis_from_model(document["analysis_config"], f"model {path}"), "model"
        return read_parameters_record(path), "features"
    try:
        yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from error
    return load_analysis_config(path), "analysis file"


def analysis_from_model(content: Any, label: str) -> AnalysisConfig:
    """The analysis configuration stored in a model file (complete content required)."""
    return _load(content, label)


def require_same_parameters(expected: AnalysisConfig, actual: AnalysisConfig, *, expected_label: str,
                            actual_label: str) -> None:
    """Refuse results of other analysis parameters, naming the keys that differ.

    Raises
    ------
    ConfigError
        ``"<actual> was extracted with other analysis parameters than <expected>: key: a -> b; ..."``.
    """
    if expected.sha256 == actual.sha256:
        return
    rows = diff_parameters(expected.to_dict(), actual.to_dict())
    raise ConfigError(f"{actual_label} was extracted with other analysis parameters than {expected_label} "
                      f"(sha256 {actual.sha256[:12]} vs {expected.sha256[:12]}): {describe_differences(rows)}; "
                      "re-extract the features with the model's parameters (omit --features to do it now)")


def _load(content: Any, label: str) -> AnalysisConfig:
    if not isinstance(content, dict) or not content:
        raise ConfigError(f"{label} holds no analysis parameters; it must carry the full parameters it was made with")
    try:
        config = load_analysis_config(content)
    except ConfigError as error:
        raise ConfigError(f"{label}: {error}") from None
    if config.to_dict() != json.loads(json.dumps(content)):
        raise ConfigError(f"{label} holds incomplete analysis parameters (a file name or missing keys instead of "
                          "the full content); re-create it with this version of NACResistance")
    return config


def check_features_for_model(model_analysis: dict, features: str | Path, *, model_label: str) -> None:
    """Refuse a feature table extracted with other parameters than a model's (see :func:`require_same_parameters`)."""
    require_same_parameters(analysis_from_model(model_analysis, f"model {model_label}"), features_parameters(features),
                            expected_label=f"model {model_label}", actual_label=f"feature table {features}")
