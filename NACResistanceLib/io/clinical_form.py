"""The clinical inputs a model needs, as form specifications, and typed values from the form's text."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..clinical import CLINICAL_CODES, NUMERIC_RANGES
from ..errors import ClinicalDataError


@dataclass(frozen=True)
class ClinicalInput:
    """How a panel asks for one clinical input of a model (a choice of codes or a number in a range)."""

    name: str
    description: str
    choices: tuple[str, ...] = ()
    """Allowed codes of a categorical manifest column; empty for a number."""
    minimum: float = -math.inf
    maximum: float = math.inf


def clinical_input_specs(required_inputs: Sequence[str]) -> tuple[ClinicalInput, ...]:
    """The clinical inputs among a model's required inputs (``StudyModel.required_inputs``).

    Required inputs are manifest clinical columns (docs/manifest.md) and feature names; features are
    left out. A categorical column becomes a choice of its codes, a numeric one a number in its range.
    """
    specs = []
    for name in required_inputs:
        if name in CLINICAL_CODES:
            specs.append(ClinicalInput(name, f"one of {', '.join(CLINICAL_CODES[name])}", CLINICAL_CODES[name]))
        elif name in NUMERIC_RANGES:
            low, high = NUMERIC_RANGES[name]
            specs.append(ClinicalInput(name, f"number in [{low:g}, {high:g}] (docs/manifest.md)", (), low, high))
    return tuple(specs)


def clinical_values(raw: Mapping[str, str], specs: Sequence[ClinicalInput]) -> dict[str, object]:
    """Typed clinical values from panel text: codes checked against their choices, numbers parsed and
    range-checked. Inputs left empty are absent (the model refuses an exam that lacks one it needs).

    Raises
    ------
    ClinicalDataError
        If a code is not allowed or a number is malformed or out of range (names the input).
    """
    values: dict[str, object] = {}
    for spec in specs:
        text = str(raw.get(spec.name, "")).strip()
        if text:
            values[spec.name] = _clinical_value(spec, text)
    return values


def _clinical_value(spec: ClinicalInput, text: str) -> object:
    if spec.choices:
        if text not in spec.choices:
            raise ClinicalDataError(f"clinical input {spec.name!r}: {text!r} is not one of {list(spec.choices)}")
        return text
    try:
        value = float(text)
    except ValueError:
        raise ClinicalDataError(f"clinical input {spec.name!r}: {text!r} is not a number") from None
    if not spec.minimum <= value <= spec.maximum:
        raise ClinicalDataError(
            f"clinical input {spec.name!r}: {value:g} is outside [{spec.minimum:g}, {spec.maximum:g}]")
    return value
