"""Parity of ``features.extract`` with pyradiomics' own baseline CSVs (breast1 and brain1).

Reference: AIM-Harvard/pyradiomics ``data/baseline/baseline_<class>.csv`` (v3.1.0), copied to
``Testing/Data/pyradiomics``. Each column stores its settings in the ``diagnostics_Configuration_Settings``
row; we feed those settings to ``extract`` and apply pyradiomics' own acceptance rule
(``tests/testUtils.py::checkResult``): ``|1 - value / baseline| < 0.03``, 100% if the baseline is 0 and
the value is not.
"""

from __future__ import annotations

import ast
import csv

import pytest

from NACResistanceLib.features import extract

CLASSES = ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")
CONFIGS = ("", "_normalization", "_resampling", "_resegmentation", "_2d", "_FBN", "_combined", "_flatRegion")
"""Baseline columns: the four configurations of every class file, then extras some texture files have."""
TOLERANCE = 0.03


def baseline_column(data_dir, feature_class: str, column: str) -> dict[str, str] | None:
    """The baseline column of one class file, or None when that file has no such column (shape has only
    the plain and resampling columns)."""
    with open(data_dir / "pyradiomics" / f"baseline_{feature_class}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {row["featureName"]: row[column] for row in rows} if column in rows[0] else None


def relative_difference(value: float, baseline: float) -> float:
    if baseline == 0:
        return 0.0 if value == 0 else 1.0
    return abs(1 - value / baseline)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("case", ["breast1", pytest.param("brain1", marks=pytest.mark.slow)])
def test_extract_reproduces_pyradiomics_baseline(data_dir, case, config):
    worst, n_checked = (0.0, ""), 0
    for feature_class in CLASSES:
        column = baseline_column(data_dir, feature_class, case + config)
        if column is None:
            continue
        settings = ast.literal_eval(column["diagnostics_Configuration_Settings"])
        params = {"setting": settings, "imageType": {"Original": {}}, "featureClass": {feature_class: None}}
        features = extract(data_dir / "pyradiomics" / f"{case}_image.nrrd",
                           data_dir / "pyradiomics" / f"{case}_label.nrrd", params)
        assert len(features) > 0
        for name, value in features.items():
            assert name in column, f"{name} has no baseline in baseline_{feature_class}.csv"
            diff = relative_difference(value, float(column[name]))
            assert diff < TOLERANCE, f"{case}{config} {name}: {value} vs baseline {column[name]}"
            worst = max(worst, (diff, name))
            n_checked += 1
    assert n_checked >= 40  # the smallest column, "_combined", has GLCM + GLRLM only
    print(f"{case}{config}: {n_checked} features, max relative difference {worst[0]:.2e} ({worst[1]})")
