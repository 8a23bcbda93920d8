"""Typed values of the parameter files: each key's converter checks the type and the allowed range.

A converter turns the YAML value of one key into its Python value or raises :class:`ValueError`
with the allowed range, e.g. ``number(ge=0, unit="mm")`` accepts ``1`` and ``2.5`` but refuses
``true`` (YAML booleans are not numbers), ``"fast"`` and ``-1``. :func:`build_section` applies the
converters of one section and names the file, the key, the value and the allowed range on error.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True)
class Converter:
    """Checks and converts one key's value; ``allowed`` describes what is accepted."""

    convert: Callable[[Any], Any]
    allowed: str

    def __call__(self, value: Any) -> Any:
        return self.convert(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def _bounds_text(ge: float | None, gt: float | None, le: float | None, lt: float | None, unit: str) -> str:
    parts = []
    if ge is not None:
        parts.append(f">= {ge:g}")
    if gt is not None:
        parts.append(f"> {gt:g}")
    if le is not None:
        parts.append(f"<= {le:g}")
    if lt is not None:
        parts.append(f"< {lt:g}")
    text = " and ".join(parts)
    return f"{text} {unit}".strip() if unit else text


def _in_bounds(x: float, ge, gt, le, lt) -> bool:
    return ((ge is None or x >= ge) and (gt is None or x > gt) and (le is None or x <= le)
            and (lt is None or x < lt))


def number(*, ge: float | None = None, gt: float | None = None, le: float | None = None,
           lt: float | None = None, unit: str = "") -> Converter:
    """A finite real number (not a boolean) within the bounds; ``unit`` is for the message only."""
    bounds = _bounds_text(ge, gt, le, lt, unit)
    allowed = "a number" + (f" {bounds}" if bounds else "")

    def convert(value: Any) -> float:
        if not _is_number(value) or not _in_bounds(float(value), ge, gt, le, lt):
            raise ValueError(allowed)
        return float(value)

    return Converter(convert, allowed)


def integer(*, ge: int | None = None, le: int | None = None) -> Converter:
    """A whole number (``3`` or ``3.0``; not ``0.5``, not a boolean) within the bounds."""
    bounds = _bounds_text(ge, None, le, None, "")
    allowed = "a whole number" + (f" {bounds}" if bounds else "")

    def convert(value: Any) -> int:
        if not _is_number(value) or float(value) != int(value) or not _in_bounds(int(value), ge, None, le, None):
            raise ValueError(allowed)
        return int(value)

    return Converter(convert, allowed)


def boolean() -> Converter:
    """``true`` or ``false`` (not 0/1, not ``"yes"``)."""

    def convert(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError("true or false")
        return value

    return Converter(convert, "true or false")


def choice(options: Sequence[str]) -> Converter:
    """One of ``options`` (text, compared exactly)."""
    allowed = "one of " + ", ".join(repr(o) for o in options)

    def convert(value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            raise ValueError(allowed)
        return value

    return Converter(convert, allowed)


def text() -> Converter:
    """Any non-empty text."""

    def convert(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("non-empty text")
        return value

    return Converter(convert, "non-empty text")


def date() -> Converter:
    """A calendar date written YYYY-MM-DD (kept as that text)."""

    def convert(value: Any) -> str:
        if isinstance(value, datetime.date):
            return value.isoformat()
        try:
            return datetime.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError("a date written YYYY-MM-DD (a real calendar day)") from None

    return Converter(convert, "a date written YYYY-MM-DD (a real calendar day)")


def optional(inner: Converter) -> Converter:
    """``null`` or what ``inner`` accepts."""
    return Converter(lambda value: None if value is None else inner(value), f"null or {inner.allowed}")


def sequence(inner: Converter, *, length: int | None = None, min_length: int = 0,
             check: Callable[[tuple], bool] | None = None, check_text: str = "") -> Converter:
    """A list of values each accepted by ``inner``, returned as a tuple.

    ``length`` fixes the number of items; ``check`` tests the whole tuple (``check_text`` says what it needs).
    """
    size = f"{length} " if length is not None else (f"at least {min_length} " if min_length else "")
    allowed = f"a list of {size}values, each {inner.allowed}" + (f", {check_text}" if check_text else "")

    def convert(value: Any) -> tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(allowed)
        items = tuple(inner(v) for v in value)
        if (length is not None and len(items) != length) or len(items) < min_length or (check and not check(items)):
            raise ValueError(allowed)
        return items

    return Converter(convert, allowed)


def either(*converters: Converter) -> Converter:
    """The first of ``converters`` that accepts the value."""
    allowed = " or ".join(c.allowed for c in converters)

    def convert(value: Any) -> Any:
        for converter in converters:
            try:
                return converter(value)
            except ValueError:
                continue
        raise ValueError(allowed)

    return Converter(convert, allowed)


def build_section(cls: type, specs: Mapping[str, Converter], values: Mapping[str, Any], *, kind: str,
                  label: str, prefix: str = "") -> Any:
    """``cls(**converted)`` from ``values``, each key converted by its spec.

    Raises
    ------
    ConfigError
        ``"<label>: <kind> key <prefix+key> = <value> is not allowed: expected <allowed>"``.
    """
    converted = {}
    for key, spec in specs.items():
        value = values[key]
        try:
            converted[key] = spec(value)
        except ValueError as error:
            raise ConfigError(f"{label}: {kind} key {prefix}{key} = {value!r} is not allowed: expected {error}") from None
    try:
        return cls(**converted)
    except ValueError as error:  # a check across keys in the section class itself
        section = prefix.rstrip(".") or "top level"
        raise ConfigError(f"{label}: {kind} section {section}: {error}") from None
