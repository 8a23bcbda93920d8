"""Reading images, segmentations and cohort manifests into exam objects."""

from __future__ import annotations

from .dce import read_dce
from .dicom import DicomSeries, list_dicom_series
from .exam import DceSeries, DwiSeries, Exam
from .images import read_image
from .segmentation import SegmentInfo, read_mask

__all__ = ["DceSeries", "DwiSeries", "Exam"]
__all__ += ["DicomSeries", "SegmentInfo", "list_dicom_series", "read_dce", "read_image", "read_mask"]
