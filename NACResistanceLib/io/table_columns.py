"""Results as plain table columns with units and descriptions (what a Slicer table node shows)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class TableColumn:
    """One column of an output table, with what Slicer's table node shows beside it."""

    name: str
    values: tuple
    """Numbers (float) or text (str), one per row."""
    unit: str = ""
    description: str = ""

    @property
    def is_text(self) -> bool:
        """True when the column holds text rather than numbers."""
        return any(isinstance(v, str) for v in self.values)


def frame_columns(frame, units: Mapping[str, str] | None = None,
                  descriptions: Mapping[str, str] | None = None) -> tuple[TableColumn, ...]:
    """The columns of a pandas DataFrame (index dropped) as :class:`TableColumn` objects."""
    units, descriptions = units or {}, descriptions or {}
    return tuple(
        TableColumn(str(name), tuple(_cell(v) for v in frame[name].tolist()),
                    units.get(str(name), ""), descriptions.get(str(name), ""))
        for name in frame.columns
    )


def _cell(value) -> float | str:
    if isinstance(value, str):
        return value
    return float(value) if value is not None else math.nan


def feature_columns(features: Mapping[str, float], units: Mapping[str, str], descriptions: Mapping[str, str],
                    *, patient_id: str, timepoint: str) -> tuple[TableColumn, ...]:
    """One row per exam: ``patient_id``, ``timepoint`` then every feature with its unit and description."""
    head = (TableColumn("patient_id", (patient_id,), "", "Patient identifier"),
            TableColumn("timepoint", (timepoint,), "", "Exam time point"))
    return head + tuple(
        TableColumn(name, (float(value),), units.get(name, ""), descriptions.get(name, ""))
        for name, value in features.items()
    )


CONTRIBUTION_UNITS = {"contribution": "log-odds", "coefficient": "log-odds per unit"}
"""Units of the model-contribution table columns (``term, value, coefficient, contribution``)."""

CONTRIBUTION_DESCRIPTIONS = {
    "term": "Model term (feature, clinical input or intercept)",
    "value": "Value of the term for this exam, in the model's input scale",
    "coefficient": "Fitted logistic-regression coefficient",
    "contribution": "Coefficient x value: this term's share of the log-odds of resistance",
}

CURVE_UNITS = {"time_s": "s", "tumor": "a.u.", "reference": "a.u."}
"""Units of the time-intensity curve table (``time_s``, ``tumor``, ``reference``)."""

CURVE_DESCRIPTIONS = {
    "time_s": "Acquisition time after the pre-contrast phase",
    "tumor": "Mean signal in the tumour segment",
    "reference": "Mean signal in the reference (normal tissue) segment",
}


def contribution_columns(contributions) -> tuple[TableColumn, ...]:
    """The contributions DataFrame of a prediction as table columns with units and descriptions."""
    return frame_columns(contributions, CONTRIBUTION_UNITS, CONTRIBUTION_DESCRIPTIONS)


def curve_columns(curves) -> tuple[TableColumn, ...]:
    """The time-intensity curves DataFrame of an analysis as table columns with units."""
    return frame_columns(curves, CURVE_UNITS, CURVE_DESCRIPTIONS)
