"""analyze_exam keeps its numbers: every feature (value, unit, description), map, curve, provenance entry and
warning of five phantom scenarios equals the fingerprint pinned in Data/pipeline_fingerprint.json, which was
computed with the single-module pipeline before it was split into stages (commit ea58175)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from pipeline_fingerprint import FINGERPRINT_FILE, analyse, fingerprint, scenario_names

RELATIVE_TOLERANCE = 1e-8
"""Floating-point values: last-digit differences between numpy builds are allowed, nothing more. numpy's SIMD
exp/log differ by an ulp between versions and CPUs; an ADC percentile interpolated between two voxels amplifies
that to ~2e-9 (seen with numpy 2.4.6 against the pin made with an older numpy)."""
FITTED_MAP_HASHES = {"radiomics_adc", "radiomics_dki_md"}
"""Provenance entries whose image is a map fitted with exp/log: its SHA-1 changes with the last bit of any voxel,
so it is not pinned; the features computed on it are compared to RELATIVE_TOLERANCE instead."""
MAP_SUM_TOLERANCE = 1e-7
"""Sums over a float32 map (float64 accumulation)."""

PINNED = json.loads(FINGERPRINT_FILE.read_text(encoding="utf-8"))


def assert_same(actual: Any, expected: Any, where: str, rel: float = RELATIVE_TOLERANCE) -> None:
    """Equal structure and text; numbers equal to ``rel`` (NaN equals NaN)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and list(actual) == list(expected), (where, list(actual), list(expected))
        for key in expected:
            if key == "image_hash_sha1" and where.rsplit(".", 1)[-1] in FITTED_MAP_HASHES:
                continue
            assert_same(actual[key], expected[key], f"{where}.{key}", rel)
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (where, actual, expected)
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{where}[{i}]", rel)
    elif isinstance(expected, float) and not isinstance(actual, bool):
        assert isinstance(actual, (int, float)), (where, actual, expected)
        assert (math.isnan(actual) and math.isnan(expected)) or actual == pytest.approx(expected, rel=rel, abs=0), \
            (where, actual, expected)
    else:
        assert actual == expected and type(actual) is type(expected), (where, actual, expected)


@pytest.mark.parametrize("scenario", scenario_names())
def test_analysis_equals_pinned_fingerprint(scenario):
    actual, expected = fingerprint(analyse(scenario)), PINNED[scenario]
    assert list(actual) == list(expected)
    for part in ("features", "curves", "provenance", "warnings"):
        assert_same(actual[part], expected[part], f"{scenario}.{part}")
    assert list(actual["maps"]) == list(expected["maps"])
    for name, summary in expected["maps"].items():
        assert_same(actual["maps"][name], summary, f"{scenario}.maps.{name}", rel=MAP_SUM_TOLERANCE)


def test_fingerprint_covers_every_branch():
    """The scenarios reach each stage's warnings and both ADC sources (so the pin is not vacuous)."""
    warnings = [w for scenario in PINNED.values() for w in scenario["warnings"]]
    for needle in ("no DCE series", "no DWI in the exam", "tumour voxels have no ADC", "kurtosis tensor",
                   "unfitted (NaN) voxels", "radiomics on the dki_md map omitted", "DCE early phase"):
        assert any(needle in w for w in warnings), needle
    maps = {name for scenario in PINNED.values() for name in scenario["maps"]}
    assert {"adc", "dki_md", "dki_mk_quality", "dki_tensor_rk", "dce_curve_type", "dce_washout"} <= maps
    features = {name for scenario in PINNED.values() for name in scenario["features"]}
    assert {"adc_rADC", "dki_rMK", "dki_rKa", "dce_rPE", "dce_ftv_mm3", "adc_original_firstorder_Mean"} <= features
