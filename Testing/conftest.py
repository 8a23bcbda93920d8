"""Shared pytest fixtures: explicit random generators and the path of the shipped test data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

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
