"""Reading images, segmentations and cohort manifests into exam objects."""

from __future__ import annotations

from .clinical_form import ClinicalInput, clinical_input_specs, clinical_values
from .dce import read_dce
from .dicom import DicomSeries, list_dicom_series
from .dwi import read_dwi
from .exam import DceSeries, DwiSeries, Exam
from .exam_arrays import exam_from_arrays
from .geometry import (
    ImageGeometry,
    array_from_image,
    bvecs_from_measurement_frame,
    image_from_array,
    mask_from_array,
)
from .images import read_image
from .manifest import Manifest, load_exam, read_manifest, write_manifest
from .panel_text import parse_number_list, prediction_text, times_from_index_values
from .segmentation import SegmentInfo, read_mask
from .table_columns import TableColumn, contribution_columns, curve_columns, feature_columns, frame_columns

__all__ = [
    "DceSeries", "DwiSeries", "Exam",
    "DicomSeries", "SegmentInfo", "list_dicom_series", "read_dce", "read_dwi", "read_image", "read_mask",
    "Manifest", "load_exam", "read_manifest", "write_manifest",
    "ImageGeometry", "array_from_image", "bvecs_from_measurement_frame", "image_from_array", "mask_from_array",
    "exam_from_arrays",
    "parse_number_list", "prediction_text", "times_from_index_values",
    "TableColumn", "contribution_columns", "curve_columns", "feature_columns", "frame_columns",
    "ClinicalInput", "clinical_input_specs", "clinical_values",
]
