"""Shared pytest fixtures: explicit random generators, the path of the shipped test data, and the small
synthetic cohort the cohort tests extract with the light pyradiomics file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from light_cohort import LIGHT_COHORT_PATIENTS, light_config

DATA_DIR = Path(__file__).parent / "Data"


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded generator per test (never the global numpy state)."""
    return np.random.default_rng(20261122)


@pytest.fixture
def data_dir() -> Path:
    """``Testing/Data``: files copied from public references, with their attribution."""
    return DATA_DIR


@pytest.fixture(scope="module")
def data() -> Path:
    """``Testing/Data/stats``: public statistics data sets and R reference values (see its README rows)."""
    return DATA_DIR / "stats"


@pytest.fixture(scope="module")
def expected(data: Path) -> dict:
    """The reference values of ``Testing/Data/stats/expected_values.json`` (pROC, glmnet, rms, ...)."""
    return json.loads((data / "expected_values.json").read_text(encoding="utf-8"))



@pytest.fixture(scope="module")
def light_cohort(tmp_path_factory) -> Path:
    """Four small synthetic exams (phantom small protocol, seed 11); returns their manifest.csv."""
    from NACResistanceLib.phantom import PhantomProtocol, make_cohort

    return make_cohort(LIGHT_COHORT_PATIENTS, 11, tmp_path_factory.mktemp("cohort"), PhantomProtocol.small())


@pytest.fixture(scope="module")
def light_reference(light_cohort, tmp_path_factory):
    """The uninterrupted in-process extraction of :func:`light_cohort` (``jobs=1``)."""
    from NACResistanceLib.cohort import run_extraction

    return run_extraction(light_cohort, tmp_path_factory.mktemp("reference"), light_config(), jobs=1)
