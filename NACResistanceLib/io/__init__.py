"""Reading images, segmentations and cohort manifests into exam objects."""

from __future__ import annotations

from .arrays import (
    ClinicalInput,
    ImageGeometry,
    TableColumn,
    array_from_image,
    bvecs_from_measurement_frame,
    clinical_input_specs,
    clinical_values,
    contribution_columns,
    curve_columns,
    exam_from_arrays,
    feature_columns,
    frame_columns,
    image_from_array,
    mask_from_array,
    parse_number_list,
    prediction_text,
    times_from_index_values,
)
from .dce import read_dce
from .dicom import DicomSeries, list_dicom_series
from .dwi import read_dwi
from .exam import DceSeries, DwiSeries, Exam
from .images import read_image
from .manifest import Manifest, load_exam, read_manifest, write_manifest
from .segmentation import SegmentInfo, read_mask

__all__ = ["DceSeries", "DwiSeries", "Exam"]
__all__ += ["DicomSeries", "SegmentInfo", "list_dicom_series", "read_dce", "read_image", "read_mask"]
__all__ += ["ClinicalInput", "ImageGeometry", "TableColumn", "array_from_image", "bvecs_from_measurement_frame", "clinical_input_specs", "clinical_values", "contribution_columns", "curve_columns", "exam_from_arrays", "feature_columns", "frame_columns", "image_from_array", "mask_from_array", "parse_number_list", "prediction_text", "times_from_index_values"]  # noqa: E501  slicer
__all__ += ["read_dwi"]  # quant
__all__ += ["Manifest", "load_exam", "read_manifest", "write_manifest"]  # phantom
