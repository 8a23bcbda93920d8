"""Any configuration, resolved to its effective content: for ``nacresistance config show`` and ``diff``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .analysis import DEFAULTS_FILE as ANALYSIS_DEFAULTS
from .analysis import load_analysis_config
from .files import read_yaml_mapping
from .hashing import parameter_hash
from .preprocessing import DEFAULTS_FILE as PREPROCESSING_DEFAULTS
from .preprocessing import load_preprocessing_config
from .radiomics import PARAM_SECTIONS, load_radiomics_parameters
from .records import analysis_of

KINDS = ("analysis", "preprocessing", "study", "radiomics")


@dataclass(frozen=True)
class Effective:
    """A configuration's effective content (defaults + overrides, referenced files read) and its hash."""

    kind: str
    """analysis, preprocessing, study or radiomics."""
    source: str
    """What was read: a file, a features folder, a model, or the shipped defaults."""
    content: dict[str, Any]
    sha256: str


def effective(path: str | Path | None = None, kind: str | None = None) -> Effective:
    """Resolve ``path`` (a parameter file, a features folder, a model file; None = the defaults of ``kind``).

    The kind of a YAML file is read from its keys unless ``kind`` is given.

    Raises
    ------
    ConfigError
        Unreadable input, unknown kind, or keys that fit no configuration.
    """
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"unknown configuration kind {kind!r}; use one of {', '.join(KINDS)}")
    if path is None:
        return _load(kind or "analysis", None, "the shipped defaults")
    path = Path(path)
    if path.is_dir() or path.suffix.lower() in (".csv", ".json"):
        config, what = analysis_of(path)
        return Effective("analysis", f"{what} {path}", config.to_dict(), config.sha256)
    return _load(kind or _kind_of(path), path, str(path))


def _load(kind: str, path: Path | None, source: str) -> Effective:
    if kind == "radiomics":
        params = load_radiomics_parameters(path if path is not None else "seed")
        return Effective(kind, source, params.parameters, params.sha256)
    if kind == "study":
        from .study import load_study_config

        config: Any = load_study_config(path)
    elif kind == "preprocessing":
        config = load_preprocessing_config(path)
    else:
        config = load_analysis_config(path)
    return Effective(kind, source, config.to_dict(), config.sha256)


def _kind_of(path: Path) -> str:
    from .study import DEFAULTS_FILE as STUDY_DEFAULTS

    keys = set(read_yaml_mapping(path, "configuration"))
    if keys and keys <= set(PARAM_SECTIONS):
        return "radiomics"
    for kind, defaults in (("analysis", ANALYSIS_DEFAULTS), ("study", STUDY_DEFAULTS),
                           ("preprocessing", PREPROCESSING_DEFAULTS)):
        if keys <= set(read_yaml_mapping(defaults, kind)):
            return kind
    raise ConfigError(f"{path}: keys {sorted(keys)} fit no configuration (analysis, preprocessing, study or "
                      "pyradiomics); check for typos, or name the kind with --kind")


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of a configuration's content (as :attr:`Effective.sha256`)."""
    return parameter_hash(content)
