"""Encode the manifest's clinical columns (docs/manifest.md) into model variables.

Codes are matched case-insensitively after stripping spaces; an unknown code raises
:class:`~NACResistanceLib.errors.ClinicalDataError` naming the patient, column, value and the
allowed codes. Empty cells stay NaN (a model that needs the variable refuses the patient later).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import ClinicalDataError

CLINICAL_CODES: dict[str, tuple[str, ...]] = {
    "menopause": ("pre", "post"),
    "side": ("left", "right"),
    "t_stage": ("T1", "T2", "T3", "T4"),
    "n_stage": ("N0", "N1", "N2", "N3"),
    "grade": ("1", "2", "3"),
    "er": ("positive", "negative"),
    "pr": ("positive", "negative"),
    "her2": ("positive", "negative"),
    "subtype": ("luminal_a", "luminal_b", "her2_enriched", "triple_negative"),
}
"""Categorical manifest column -> allowed codes (docs/manifest.md)."""

NUMERIC_RANGES: dict[str, tuple[float, float]] = {
    "age_years": (0.0, 120.0),
    "bmi_kg_m2": (5.0, 100.0),
    "tumor_size_mm": (0.0, 500.0),
    "ki67_pct": (0.0, 100.0),
    "dose_intensity_pct": (0.0, 150.0),
}
"""Numeric manifest column -> allowed closed range (units in docs/manifest.md)."""

MODEL_VARIABLES: dict[str, str] = {
    "age_years": "age, years",
    "postmenopausal": "1 = post-menopausal",
    "bmi_kg_m2": "body-mass index, kg/m²",
    "side_right": "1 = right breast",
    "tumor_size_mm": "longest MRI diameter before treatment, mm",
    "t_stage": "clinical T stage as 1-4",
    "node_positive": "1 = clinical N1-N3",
    "grade_3": "1 = histological grade 3 (poorly differentiated)",
    "er_positive": "1 = oestrogen receptor positive",
    "pr_positive": "1 = progesterone receptor positive",
    "her2_positive": "1 = HER2 positive",
    "ki67_ge_20": "1 = Ki-67 >= 20%",
    "subtype_luminal_b": "1 = luminal B (reference luminal A)",
    "subtype_her2_enriched": "1 = HER2-enriched (reference luminal A)",
    "subtype_triple_negative": "1 = triple negative (reference luminal A)",
    "dose_intensity_pct": "relative dose intensity completed, %",
}
"""Model variable made by :func:`encode_clinical` -> meaning."""

VARIABLE_SOURCES: dict[str, str] = {
    "age_years": "age_years", "postmenopausal": "menopause", "bmi_kg_m2": "bmi_kg_m2", "side_right": "side",
    "tumor_size_mm": "tumor_size_mm", "t_stage": "t_stage", "node_positive": "n_stage", "grade_3": "grade",
    "er_positive": "er", "pr_positive": "pr", "her2_positive": "her2", "ki67_ge_20": "ki67_pct",
    "subtype_luminal_b": "subtype", "subtype_her2_enriched": "subtype", "subtype_triple_negative": "subtype",
    "dose_intensity_pct": "dose_intensity_pct",
}
"""Model variable -> the manifest column it is computed from."""


def normalise_codes(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the categorical columns present in ``frame`` spelled exactly as in :data:`CLINICAL_CODES`.

    Raises
    ------
    ClinicalDataError
        A cell holds a code that is not allowed (names patient, column, value, allowed codes).
    """
    out = pd.DataFrame(index=frame.index)
    for column, allowed in CLINICAL_CODES.items():
        if column in frame:
            lookup = {code.lower(): code for code in allowed}
            out[column] = [_lookup_code(v, column, lookup, _patient(frame, i)) for i, v in frame[column].items()]
    return out


def _patient(frame: pd.DataFrame, index: object) -> str:
    return str(frame.at[index, "patient_id"]) if "patient_id" in frame else str(index)


def _lookup_code(value: object, column: str, lookup: dict[str, str], patient: str) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    text = str(value).strip()
    if isinstance(value, (int, float, np.integer, np.floating)) and float(value).is_integer():
        text = str(int(value))
    if text == "":
        return np.nan
    if text.lower() not in lookup:
        value = value.item() if isinstance(value, np.generic) else value
        raise ClinicalDataError(
            f"patient {patient}: column {column!r} has unknown code {value!r}; "
            f"allowed codes are {sorted(lookup.values())}"
        )
    return lookup[text.lower()]


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    low, high = NUMERIC_RANGES[column]
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = (values.isna() & frame[column].notna() & (frame[column].astype(str).str.strip() != "")) | (
        values.notna() & ((values < low) | (values > high))
    )
    if bad.any():
        first = bad[bad].index[0]
        value = frame.at[first, column]
        value = value.item() if isinstance(value, np.generic) else value
        raise ClinicalDataError(
            f"patient {_patient(frame, first)}: column {column!r} value {value!r} "
            f"is not a number in [{low:g}, {high:g}]"
        )
    return values.astype(float)


def _indicator(codes: pd.Series, positive: set[str]) -> pd.Series:
    return codes.map(lambda c: np.nan if pd.isna(c) else float(c in positive))


def encode_clinical(frame: pd.DataFrame) -> pd.DataFrame:
    """Model variables (:data:`MODEL_VARIABLES`) from manifest clinical columns.

    Parameters
    ----------
    frame : DataFrame
        Manifest rows; columns that are absent are skipped, so only the variables they feed appear.

    Returns
    -------
    DataFrame
        One float column per model variable (0/1 indicators, numbers in the manifest's units,
        NaN where the cell was empty), indexed like ``frame``.
    """
    codes = normalise_codes(frame)
    out = pd.DataFrame(index=frame.index)
    for column in ("age_years", "bmi_kg_m2", "tumor_size_mm", "dose_intensity_pct"):
        if column in frame:
            out[column] = _numeric(frame, column)
    indicators = {
        "postmenopausal": ("menopause", {"post"}), "side_right": ("side", {"right"}),
        "node_positive": ("n_stage", {"N1", "N2", "N3"}), "grade_3": ("grade", {"3"}),
        "er_positive": ("er", {"positive"}), "pr_positive": ("pr", {"positive"}),
        "her2_positive": ("her2", {"positive"}),
        "subtype_luminal_b": ("subtype", {"luminal_b"}),
        "subtype_her2_enriched": ("subtype", {"her2_enriched"}),
        "subtype_triple_negative": ("subtype", {"triple_negative"}),
    }
    for name, (column, positive) in indicators.items():
        if column in codes:
            out[name] = _indicator(codes[column], positive)
    if "t_stage" in codes:
        out["t_stage"] = codes["t_stage"].map(lambda c: np.nan if pd.isna(c) else float(c[1]))
    if "ki67_pct" in frame:
        ki67 = _numeric(frame, "ki67_pct")
        out["ki67_ge_20"] = np.where(ki67.isna(), np.nan, (ki67 >= 20).astype(float))
    return out[[name for name in MODEL_VARIABLES if name in out]]
