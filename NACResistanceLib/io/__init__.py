"""Reading images, segmentations and cohort manifests into exam objects."""

from __future__ import annotations

from .exam import DceSeries, DwiSeries, Exam

__all__ = ["DceSeries", "DwiSeries", "Exam"]
