"""Typed errors of NACResistanceLib.

Every stage raises one of these. A message names what failed and where (file, patient, segment,
field, value) and, where one exists, the parameter that would fix it. ``cohort`` adds the patient
with :func:`add_context` and records the failure instead of stopping the run.
"""

from __future__ import annotations


class NACResistanceError(Exception):
    """Base class of every error raised on purpose by the library."""


class InputFileError(NACResistanceError, OSError):
    """A file is missing, unreadable or not what it claims to be."""


class OutputError(NACResistanceError, OSError):
    """An output location cannot be written (a path under a regular file, a read-only or virtual file system)."""


class ImageError(NACResistanceError, ValueError):
    """An image or mask is unusable: empty or disjoint mask, NaN voxels, mismatched geometry."""


class AcquisitionError(NACResistanceError, ValueError):
    """The acquisition cannot support the request (missing b-values, too few directions, ...)."""


class ConfigError(NACResistanceError, ValueError):
    """A parameter file or configuration value is invalid (unknown key, wrong type, out of range)."""


class ManifestError(NACResistanceError, ValueError):
    """A cohort manifest row or column is invalid; the message names the row and column."""


class ClinicalDataError(NACResistanceError, ValueError):
    """A clinical or pathology value is missing, out of range or an unknown code."""


class ModelFileError(NACResistanceError, ValueError):
    """A model file is malformed, fails its schema, or lacks an input the prediction needs."""


class CancelledError(NACResistanceError):
    """The user cancelled a long operation through its progress callback."""


def add_context(error: BaseException, context: str) -> BaseException:
    """Attach ``context`` (for example ``"patient P017"``) to ``error`` and return it.

    Uses ``BaseException.add_note`` where it exists (Python 3.11+) and an ``__notes__`` list
    otherwise, so the note is shown by tracebacks on 3.11+ and by :func:`describe` everywhere.
    """
    if hasattr(error, "add_note"):
        error.add_note(context)
    else:  # Python 3.9 / 3.10
        notes = list(getattr(error, "__notes__", []))
        notes.append(context)
        error.__notes__ = notes  # type: ignore[attr-defined]
    return error


def describe(error: BaseException) -> str:
    """One line: the error type, its message and its notes (``"ImageError: ... [patient P017]"``)."""
    notes = getattr(error, "__notes__", [])
    suffix = f" [{'; '.join(notes)}]" if notes else ""
    return f"{type(error).__name__}: {error}{suffix}"
