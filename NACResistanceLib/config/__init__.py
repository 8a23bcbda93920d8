"""Parameters as content: one typed configuration layer for every parameter file.

The analysis, preprocessing, study and pyradiomics parameter files are read by one loader
(:mod:`.files`: defaults from ``params/*.yaml`` overridden by a user's file or mapping) into frozen
dataclasses whose keys are checked against their type and range in one place (:mod:`.values`).
A file named inside a configuration is read and held as content with its SHA-256, so a result's
parameters are identified by what they say, never by where a file was.
"""

from __future__ import annotations

from typing import Any

from .analysis import (
    AnalysisConfig,
    DceOptions,
    DiffusionOptions,
    MultiparametricOptions,
    PeritumoralOptions,
    PharmacokineticsOptions,
    load_analysis_config,
)
from .hashing import diff_parameters, parameter_hash
from .preprocessing import PreprocessingConfig, load_preprocessing_config
from .radiomics import SEED_PARAMS, RadiomicsParameters, load_radiomics_parameters

_STUDY_NAMES = ("StudyConfig", "ValidationSettings", "load_study_config", "default_study_config")

__all__ = [
    "SEED_PARAMS", "AnalysisConfig", "DceOptions", "DiffusionOptions", "MultiparametricOptions", "PeritumoralOptions", "PharmacokineticsOptions",
    "PreprocessingConfig", "RadiomicsParameters",
    "diff_parameters", "load_analysis_config", "load_preprocessing_config", "load_radiomics_parameters",
    "parameter_hash", *_STUDY_NAMES,
]


def __getattr__(name: str) -> Any:
    """The study names are imported on first use: they pull in the statistics stack."""
    if name in _STUDY_NAMES:
        from . import study

        return getattr(study, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
