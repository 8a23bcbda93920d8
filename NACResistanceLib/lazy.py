"""Package exports imported on first use, so that importing a package does not import every module in it."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) for ``package``: ``exports`` maps each name to the submodule that
    defines it, imported when the name is first used (``package.name`` or ``from package import name``)."""

    def __getattr__(name: str) -> Any:  # noqa: N807 (the PEP 562 hook)
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f".{module}", package), name)

    return __getattr__
