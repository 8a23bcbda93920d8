"""Shared pytest fixtures: explicit random generators and the path of the shipped test data."""

from __future__ import annotations

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
