"""Content hashes and key-by-key differences of parameter sets (plain JSON-like mappings)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def canonical_json(value: Any) -> str:
    """JSON text with sorted keys: equal content gives equal text whatever the key order or source."""
    return json.dumps(value, sort_keys=True, default=str)


def parameter_hash(value: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> leaf value (lists are leaves): ``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key in value:
            out.update(flatten(value[key], f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def diff_parameters(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(dotted key, value in a, value in b)`` for every key whose values differ, sorted by key.

    A key present on one side only has ``"<absent>"`` on the other.
    """
    flat_a, flat_b = flatten(a), flatten(b)
    rows = []
    for key in sorted(set(flat_a) | set(flat_b)):
        left, right = flat_a.get(key, "<absent>"), flat_b.get(key, "<absent>")
        if canonical_json(left) != canonical_json(right):
            rows.append((key, left, right))
    return rows


def describe_differences(rows: list[tuple[str, Any, Any]], limit: int = 8) -> str:
    """``key: a -> b; ...`` for messages (at most ``limit`` keys, then how many more)."""
    shown = [f"{key}: {_short(a)} -> {_short(b)}" for key, a, b in rows[:limit]]
    more = f"; and {len(rows) - limit} more" if len(rows) > limit else ""
    return "; ".join(shown) + more


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."
