"""DICOM out: per exam a DICOM SEG of the tumour and reference ROIs and a TID 1500 measurement report (SR).

:func:`export_exam` writes both with highdicom (Python >= 3.10); :func:`write_source_series` writes a minimal
MR series from an exam image when the exam was read from NIfTI, so the SEG and SR have a series to reference.
Concept names: IBSI identifiers (coding scheme ``IBSI``) where IBSI defines the feature, otherwise the
private scheme :data:`PRIVATE_SCHEME` (code value = the feature column name). See docs/cli.md (export-dicom).
Research use only.
"""

from __future__ import annotations

from .export import (
           PRIVATE_SCHEME,
           ExportedExam,
           ModelOutput,
           export_exam,
           model_version,
           read_measurements,
           require_highdicom,
)
from .source import write_source_series

__all__ = ["PRIVATE_SCHEME", "ExportedExam", "ModelOutput", "export_exam", "model_version", "read_measurements",
           "require_highdicom", "write_source_series"]
