"""The small synthetic cohort of the cohort tests: the light pyradiomics file and helpers naming it.

The fixtures ``light_cohort`` and ``light_reference`` (``conftest.py``) build the cohort and its reference
extraction once per test module.
"""

from __future__ import annotations

from pathlib import Path

LIGHT_PARAMS = Path(__file__).parent / "Data" / "cohort_radiomics_light.yaml"
"""A light pyradiomics file: fast exams through the same code path as the seed's 851 features."""
LIGHT_COHORT_PATIENTS = 4


def light_config() -> dict:
    """Shipped analysis defaults with :data:`LIGHT_PARAMS` as the pyradiomics file."""
    return {"radiomics_params": str(LIGHT_PARAMS)}


def light_yaml(folder: Path) -> Path:
    """An analysis parameter file in ``folder`` naming :data:`LIGHT_PARAMS` (for the command line)."""
    path = folder / "light.yaml"
    path.write_text(f"radiomics_params: {LIGHT_PARAMS}\n")
    return path
