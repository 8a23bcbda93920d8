"""Models the acquisition may not support: required ones raise, optional ones are omitted with a warning."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import AcquisitionError


def optional_model(mode: str, what: str, omitted: str, build: Callable[[], Any]) -> tuple[Any, tuple[str, ...]]:
    """``(build(), ())``; if the acquisition refuses the model: raise when ``mode == "required"``, else
    ``(None, (warning naming the omitted columns ``omitted`` and the reason,))``.

    Raises
    ------
    AcquisitionError
        ``mode`` is ``"required"`` and the acquisition cannot support ``what``.
    """
    try:
        return build(), ()
    except AcquisitionError as error:
        if mode == "required":
            raise AcquisitionError(f"{what} is required by the analysis configuration but {error}") from error
        return None, (f"{omitted} omitted: {error}",)
