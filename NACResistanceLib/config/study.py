"""The study configuration: how ``run_study`` turns features and a manifest into the paper's analysis.

Defaults live only in ``params/study.yaml``; the section classes (:class:`~NACResistanceLib.labels.ResistanceRule`,
:class:`~NACResistanceLib.selection.SelectionSettings`, :class:`~NACResistanceLib.models.ModelSettings`,
:class:`ValidationSettings`) are built from it here, each key checked against its type and range.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..clinical import MODEL_VARIABLES
from ..errors import ConfigError
from ..labels import RCB_CLASSES, ResistanceRule
from ..models.building import ModelSettings
from ..selection import SelectionSettings
from .files import PARAMS_DIR, defaults_with_overrides
from .hashing import parameter_hash
from .values import Converter, build_section, choice, date, integer, number, optional, sequence, text

DEFAULTS_FILE = PARAMS_DIR / "study.yaml"
"""The one file holding every study default."""


@dataclass(frozen=True)
class ValidationSettings:
    """Validation settings (see the ``validation`` section of params/study.yaml)."""

    n_boot_optimism: int
    n_boot_performance: int
    cv_folds: int
    workers: int
    hosmer_lemeshow_groups: int
    dca_thresholds: tuple[float, float, float]
    """Decision-curve threshold probabilities: start, stop (inclusive), step."""
    proportion_ci: str
    level: float

    def thresholds(self) -> np.ndarray:
        """Decision-curve thresholds start..stop (inclusive) by step."""
        start, stop, step = self.dca_thresholds
        return np.round(np.arange(start, stop + step / 2, step), 10)


@dataclass(frozen=True)
class StudyConfig:
    """Everything ``run_study`` needs besides the data; build it with :func:`load_study_config`."""

    split_date: str
    """YYYY-MM-DD: exams before this day train, the others validate."""
    timepoint: str
    data_description: str
    resistance: ResistanceRule
    selection: SelectionSettings
    models: ModelSettings
    validation: ValidationSettings
    table3_features: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (YAML/JSON-ready) of the configuration."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @property
    def sha256(self) -> str:
        """SHA-256 of :meth:`to_dict` as canonical JSON."""
        return parameter_hash(self.to_dict())


_PROBABILITY = number(gt=0, lt=1)
SECTIONS: dict[str, tuple[type, dict[str, Converter]]] = {
    "resistance": (ResistanceRule, {
        "min_rcb_class": optional(choice(RCB_CLASSES)),
        "shrinkage_below": optional(number(gt=0, le=1, unit="(fraction of the baseline diameter)")),
    }),
    "selection": (SelectionSettings, {
        "nzv_freq_ratio": number(ge=1),
        "nzv_unique_pct": number(gt=0, le=100, unit="%"),
        "correlation_threshold": number(gt=0, le=1),
        "screen_alpha": optional(_PROBABILITY),
        "lasso_choice": choice(("min", "1se")),
        "n_folds": integer(ge=2),
        "n_lambda": integer(ge=2),
    }),
    "models": (ModelSettings, {
        "clinical_candidates": sequence(choice(tuple(MODEL_VARIABLES))),
        "clinical_screen_alpha": optional(_PROBABILITY),
        "p_enter": _PROBABILITY,
        "p_remove": _PROBABILITY,
    }),
    "validation": (ValidationSettings, {
        "n_boot_optimism": integer(ge=0),
        "n_boot_performance": integer(ge=1),
        "cv_folds": integer(ge=2),
        "workers": integer(ge=1),
        "hosmer_lemeshow_groups": integer(ge=3),
        "dca_thresholds": sequence(number(gt=0, lt=1), length=3, check=lambda t: t[0] <= t[1] and t[2] > 0,
                                   check_text="start <= stop and step > 0"),
        "proportion_ci": choice(("wilson", "beta")),
        "level": _PROBABILITY,
    }),
}
"""Each section's class and the type and range of each of its keys."""
TOP_SPECS: dict[str, Converter] = {
    "split_date": date(),
    "timepoint": text(),
    "data_description": text(),
    "table3_features": sequence(text()),
}


def load_study_config(source: str | Path | Mapping[str, Any] | StudyConfig | None = None) -> StudyConfig:
    """Defaults of ``params/study.yaml`` overridden by ``source`` (YAML file, mapping, or None).

    Raises
    ------
    ConfigError
        Unknown key, wrong type or out-of-range value; the message names the file, key, value and the
        allowed range.
    """
    if isinstance(source, StudyConfig):
        return source
    values, label = defaults_with_overrides(DEFAULTS_FILE, source, "study")
    sections = {name: build_section(cls, specs, values[name], kind="study", label=label, prefix=f"{name}.")
                for name, (cls, specs) in SECTIONS.items()}
    models = sections["models"]
    if models.p_enter >= models.p_remove:
        raise ConfigError(f"{label}: study key models.p_enter = {models.p_enter!r} is not allowed: expected a value "
                          f"below models.p_remove ({models.p_remove!r}), or stepwise selection can cycle")
    return StudyConfig(**sections, **build_section(dict, TOP_SPECS, values, kind="study", label=label))


@functools.lru_cache(maxsize=1)
def default_study_config() -> StudyConfig:
    """The shipped defaults (read once)."""
    return load_study_config()
