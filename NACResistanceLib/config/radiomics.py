"""The pyradiomics parameters of an extraction, held as content with its SHA-256."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from .files import PARAMS_DIR
from .hashing import parameter_hash

SEED_PARAMS = PARAMS_DIR / "seed_851.yaml"
"""The shipped 851-feature pyradiomics parameter file (Original + Wavelet, all feature classes)."""
SEED = "seed"
"""The name that selects :data:`SEED_PARAMS` in an analysis file."""
PARAM_SECTIONS = ("setting", "imageType", "featureClass", "voxelSetting")
"""Top-level keys of a pyradiomics parameter file."""


@dataclass(frozen=True)
class RadiomicsParameters:
    """A pyradiomics parameter set as content.

    ``parameters`` is the parsed parameter file (plain JSON-like values); ``sha256`` its content hash
    (:func:`~NACResistanceLib.config.parameter_hash`); ``source`` only says where it was read from, for
    messages: it is not part of :meth:`to_dict` and not hashed.
    """

    parameters: dict
    sha256: str
    source: str = field(compare=False)

    def to_dict(self) -> dict[str, Any]:
        """``{"sha256": ..., "content": ...}``: loadable again without the file."""
        return {"sha256": self.sha256, "content": json.loads(json.dumps(self.parameters))}


def load_radiomics_parameters(source: str | Path | Mapping[str, Any] | RadiomicsParameters,
                              base: Path | None = None, *, key: str = "radiomics_params") -> RadiomicsParameters:
    """Read a pyradiomics parameter set.

    Parameters
    ----------
    source : ``"seed"`` (the shipped 851-feature file), a YAML file name (relative to ``base``), a
        pyradiomics mapping (keys among ``setting``, ``imageType``, ``featureClass``, ``voxelSetting``),
        or the ``{"sha256", "content"}`` mapping of :meth:`RadiomicsParameters.to_dict` (its hash is checked).
    key : the analysis key being read, for messages.

    Raises
    ------
    ConfigError
        Unreadable file, not a mapping, unknown section, or a stored hash that does not match the content.
    """
    if isinstance(source, RadiomicsParameters):
        return source
    if isinstance(source, Mapping):
        if set(source) == {"sha256", "content"}:
            content = _checked(source["content"], "<stored content>", key)
            if parameter_hash(content) != source["sha256"]:
                raise ConfigError(f"{key}: the stored sha256 {source['sha256']} does not match its content "
                                  f"({parameter_hash(content)}); the parameters were edited after they were recorded")
            return RadiomicsParameters(content, source["sha256"], "<stored content>")
        content = _checked(json.loads(json.dumps(dict(source), default=list)), "<dict>", key)
        return RadiomicsParameters(content, parameter_hash(content), "<dict>")
    if not isinstance(source, (str, Path)):
        raise ConfigError(f"{key} = {source!r} is not allowed: expected {SEED!r}, a pyradiomics YAML file or a mapping")
    path = SEED_PARAMS if str(source) == SEED else Path(source)
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    if not path.is_file():
        raise ConfigError(f"{key}: pyradiomics parameter file {path} does not exist; give an existing YAML file "
                          f"or {SEED!r} for the shipped 851-feature set")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{key}: cannot read pyradiomics parameter file {path}: {error}") from error
    content = _checked(content, str(path), key)
    return RadiomicsParameters(content, parameter_hash(content), str(path))


def _checked(content: Any, source: str, key: str) -> dict:
    if not isinstance(content, Mapping):
        raise ConfigError(f"{key}: pyradiomics parameters {source} must be a mapping with keys among {PARAM_SECTIONS}")
    unknown = sorted(set(content) - set(PARAM_SECTIONS))
    if unknown:
        raise ConfigError(f"{key}: unknown section(s) {unknown} in pyradiomics parameters {source}; "
                          f"known: {list(PARAM_SECTIONS)}")
    for section, value in content.items():
        if value is not None and not isinstance(value, Mapping):
            raise ConfigError(f"{key}: section {section} of pyradiomics parameters {source} must be a mapping, "
                              f"got {value!r}")
    return dict(content)
