"""A compact fingerprint of ``analyze_exam`` on phantom exams, pinned in ``Data/pipeline_fingerprint.json``.

Each scenario exercises a branch of the analysis (tensor, trace DWI, scanner ADC map, no reference, no DCE,
radiomics of maps with NaN voxels and of a map that was not computed). The fingerprint holds every feature
value, unit and description, the curves, the warnings, the provenance (without the analysis configuration
and its hash, which ``test_pipeline.py`` checks, and without the library version and parameter path of pyradiomics'
provenance), and for every map its geometry, pixel type, NaN count and three sums of its values.

Regenerate (only when a change of the numbers is intended, and say why in the commit):
``PYTHONPATH=. python Testing/pipeline_fingerprint.py``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import SimpleITK as sitk

DATA = Path(__file__).resolve().parent / "Data"
FINGERPRINT_FILE = DATA / "pipeline_fingerprint.json"
LIGHT_PARAMS = DATA / "cohort_radiomics_light.yaml"
ANALYSIS_CONFIG = ("analysis_config", "analysis_sha256")
"""Provenance entries of the configuration itself (``test_pipeline.py`` and ``test_config.py`` check them)."""
RADIOMICS_PROVENANCE_UNPINNED = ("library_version", "params_source", "pyradiomics_version", "glcm_class")
"""Entries of pyradiomics' provenance that change with versions or checkout paths, not with the analysis
(``glcm_class`` says whether the installed pyradiomics allowed the fast exact GLCM class of issue 15)."""


def _radiomics(maps: list[str]) -> dict[str, Any]:
    return {"radiomics": True, "radiomics_params": str(LIGHT_PARAMS), "radiomics_maps": maps}


def _scenarios() -> dict[str, tuple[Callable[[], Any], dict[str, Any]]]:
    """name -> (exam factory, analysis configuration overrides)."""
    from NACResistanceLib.phantom import PhantomProtocol, make_exam

    trace = PhantomProtocol.small().with_extra_bvalues()
    seed_b = PhantomProtocol.small()
    tensor = PhantomProtocol.small().with_tensor()
    return {
        "trace_dwi_radiomics_of_maps": (
            lambda: make_exam(1, 7, trace).exam, _radiomics(["adc", "dki_md", "dce_ser", "dce_washout"])),
        "seed_bvalues_no_kurtosis": (
            lambda: make_exam(2, 7, seed_b).exam, {**_radiomics(["dki_md", "adc"]),
                                                 "diffusion": {"adc_method": "nls", "mean_kurtosis": "off", "min_signal": 60.0}}),
        "tensor_without_mean_kurtosis": (
            lambda: make_exam(3, 7, tensor).exam,
            {"radiomics": False, "map_margin_mm": 4.0,
             "diffusion": {"tensor_kurtosis": "required", "mean_kurtosis": "off", "relative_statistic": "median"}}),
        "scanner_adc_no_reference": (
            lambda: dataclasses.replace(make_exam(4, 7, seed_b).exam, dwi=None, reference_mask=None),
            {"radiomics": False, "dce": {"late_time_s": 200.0, "early_time_s": 90.0, "timing_tolerance_s": 1.0,
                                          "enhancement_threshold_pct": 400.0}}),
        "no_dce": (lambda: dataclasses.replace(make_exam(5, 7, trace).exam, dce=None), _radiomics(["adc"])),
    }


def scenario_names() -> list[str]:
    return list(_scenarios())


def analyse(name: str):
    from NACResistanceLib import pipeline

    factory, config = _scenarios()[name]
    return pipeline.analyze_exam(factory(), config)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _map_fingerprint(image: sitk.Image) -> dict[str, Any]:
    values = sitk.GetArrayFromImage(image).astype(np.float64).ravel()
    finite = np.isfinite(values)
    index = np.arange(values.size, dtype=np.float64)
    return {
        "pixel_type": image.GetPixelIDTypeAsString(), "size": list(image.GetSize()),
        "origin": list(image.GetOrigin()), "spacing": list(image.GetSpacing()), "direction": list(image.GetDirection()),
        "nan_count": int(values.size - finite.sum()),
        "sum": float(values[finite].sum()), "sum_of_squares": float((values[finite] ** 2).sum()),
        "index_weighted_sum": float((values[finite] * index[finite]).sum()),
    }


def fingerprint(analysis) -> dict[str, Any]:
    provenance = {key: value for key, value in analysis.provenance.items() if key not in ANALYSIS_CONFIG}
    for key, value in provenance.items():
        if key.startswith("radiomics_"):
            provenance[key] = {k: v for k, v in value.items() if k not in RADIOMICS_PROVENANCE_UNPINNED}
    return {
        "features": {name: [_plain(value), analysis.units[name], analysis.descriptions[name]]
                     for name, value in analysis.features.items()},
        "maps": {name: _map_fingerprint(image) for name, image in analysis.maps.items()},
        "curves": {column: _plain(analysis.curves[column].tolist()) for column in analysis.curves.columns},
        "provenance": _plain(provenance),
        "warnings": list(analysis.warnings),
    }


if __name__ == "__main__":
    FINGERPRINT_FILE.write_text(json.dumps({name: fingerprint(analyse(name)) for name in scenario_names()},
                                           indent=1, ensure_ascii=False, allow_nan=True) + "\n", encoding="utf-8")
    print(f"wrote {FINGERPRINT_FILE}")
