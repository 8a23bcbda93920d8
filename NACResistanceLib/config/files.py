"""Reading parameter files: one YAML reader and one override merger for every configuration.

The analysis, preprocessing and study configurations each keep their defaults in one YAML file in
``NACResistanceLib/params/``; a user's file or mapping overrides any subset, and unknown keys are
rejected before anything is computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

PARAMS_DIR = Path(__file__).resolve().parent.parent / "params"
"""The shipped parameter files: every default lives in one of them."""


class _TextDatesLoader(yaml.SafeLoader):
    """YAML's safe loader that leaves dates as text, so a date value is checked (and named) with its key."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml_mapping(path: str | Path, kind: str) -> dict[str, Any]:
    """The mapping stored in the YAML file ``path`` (UTF-8).

    ``kind`` names the configuration in error messages ("analysis", "study", ...).

    Raises
    ------
    ConfigError
        The file cannot be read, is not YAML, or does not hold a mapping.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{kind} file {path} is a folder; give the path of a YAML file")
    if not path.exists():
        raise ConfigError(f"{kind} file {path} does not exist")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_TextDatesLoader)  # a SafeLoader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read {kind} file {path}: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{kind} file {path} must hold a mapping of keys to values")
    return data


def base_directory(source: object) -> Path:
    """Folder against which relative file names inside ``source`` are resolved.

    A YAML file's own folder (so a parameter set and the files it names move together); the
    current folder for a mapping or ``None``.
    """
    return Path(source).resolve().parent if isinstance(source, (str, Path)) else Path.cwd()


def merge_overrides(defaults: dict, overrides: Mapping, label: str, kind: str, prefix: str = "") -> None:
    """Write ``overrides`` into ``defaults`` in place, recursing into nested sections.

    ``label`` says where the overrides come from (a file name, "a mapping"); ``prefix`` is the dotted
    path of the section being merged, for messages.

    Raises
    ------
    ConfigError
        A key that ``defaults`` does not have (the message lists the known keys), or a non-mapping value
        for a section.
    """
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ConfigError(f"unknown {kind} key(s) {[prefix + k for k in unknown]} in {label}; "
                          f"known: {sorted(prefix + k for k in defaults)}")
    for key, value in overrides.items():
        if isinstance(defaults[key], dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{kind} key {prefix + key} in {label} must be a mapping, got {value!r}")
            merge_overrides(defaults[key], value, label, kind, f"{prefix}{key}.")
        else:
            defaults[key] = value


def defaults_with_overrides(defaults_file: str | Path, source: str | Path | Mapping[str, Any] | None,
                            kind: str) -> tuple[dict[str, Any], str]:
    """The defaults of ``defaults_file`` overridden by ``source`` (a YAML file, a mapping, or ``None``).

    Returns the merged values and a label for messages (the file name, or ``"<dict>"``).

    Raises
    ------
    ConfigError
        An unreadable file or an unknown key (see :func:`merge_overrides`).
    """
    values = read_yaml_mapping(defaults_file, kind)
    label = "<dict>"
    if isinstance(source, (str, Path)):
        label, source = str(source), read_yaml_mapping(source, kind)
    merge_overrides(values, dict(source or {}), label, kind)
    return values, label
