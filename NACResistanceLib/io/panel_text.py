"""Text typed in or shown by a panel: number lists, sequence index values as times, the prediction line."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from ..errors import ConfigError

TIME_UNIT_SECONDS = {"s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3, "msec": 1e-3, "min": 60.0}
"""Sequence index units accepted as acquisition times, with their factor to seconds."""


def parse_number_list(text: str, *, field: str) -> tuple[float, ...]:
    """Numbers typed by a user (``"0, 51.3, 102.6"``; commas, semicolons or spaces).

    Raises
    ------
    ConfigError
        If a token is not a finite number; the message names ``field`` and the token.
    """
    values = []
    for token in (t for t in re.split(r"[,;\s]+", text.strip()) if t):
        try:
            value = float(token)
        except ValueError:
            raise ConfigError(f"{field}: {token!r} is not a number (expected e.g. '0, 51.3, 102.6')") from None
        if not math.isfinite(value):
            raise ConfigError(f"{field}: {token!r} is not a finite number")
        values.append(value)
    return tuple(values)


def times_from_index_values(values: Sequence[str], unit: str, *, field: str) -> tuple[float, ...]:
    """Acquisition times (s, relative to the first) from a sequence's index values and unit.

    Raises
    ------
    ConfigError
        If the unit is not a time unit (see :data:`TIME_UNIT_SECONDS`) or a value is not a number;
        the fix is to type the times explicitly.
    """
    factor = TIME_UNIT_SECONDS.get(unit.strip().lower())
    if factor is None:
        raise ConfigError(
            f"{field}: the sequence index unit {unit!r} is not a time unit "
            f"({', '.join(TIME_UNIT_SECONDS)}); type the acquisition times instead"
        )
    times = parse_number_list(" ".join(values), field=field)
    return tuple((t - times[0]) * factor for t in times)


def prediction_text(probability: float, threshold: float, predicted_class: str) -> str:
    """One line for a panel: ``"Probability of resistance 0.62 (threshold 0.41): resistant"``."""
    return f"Probability of resistance {probability:.2f} (threshold {threshold:.2f}): {predicted_class}"
