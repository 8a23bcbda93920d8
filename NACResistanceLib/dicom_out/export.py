"""DICOM SEG (tumour and reference ROIs) and TID 1500 measurement report (every feature, the model's
probability) of one exam, written with highdicom.

The SR holds one volumetric ROI measurement group per segment (TID 1411) referencing the SEG segment and the
source series; each feature is a measurement (TID 300) whose concept name is its IBSI identifier
(scheme ``IBSI``) or, where IBSI defines no such feature, the private code :data:`PRIVATE_SCHEME` with the
column name as code value; the measurement's tracking identifier is the column name, its method the image
and filter, its unit the UCUM code. The model's probability of resistance is a measurement of a third group
with the model's name and version as algorithm identification.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import ConfigError
from ..feature_catalogue import FeatureDescription

PRIVATE_SCHEME = "99NACR"
"""Private coding scheme of NACResistance: code value = :func:`private_code` of the feature column name (16
characters, the limit of a DICOM code value), code meaning = the column name."""
PROBABILITY_CODE = "probability_resistance"
MANUFACTURER = "NACResistance"


def require_highdicom() -> None:
    """Raise :class:`ConfigError` on Python < 3.10 (highdicom's minimum) or when highdicom is not installed."""
    if sys.version_info < (3, 10):
        raise ConfigError(f"export-dicom needs Python 3.10 or newer (highdicom); this is Python "
                          f"{sys.version_info[0]}.{sys.version_info[1]}")
    try:
        import highdicom  # noqa: F401
    except ImportError as error:
        raise ConfigError("export-dicom needs highdicom: pip install 'highdicom>=0.22'") from error


@dataclass(frozen=True)
class ExportedExam:
    """Paths of what :func:`export_exam` wrote."""

    seg_path: Path
    sr_path: Path
    n_measurements: int
    skipped: tuple[str, ...]
    """Features not written because their value is not finite (NaN/inf)."""


@dataclass(frozen=True)
class ModelOutput:
    """The model result written into the SR."""

    model_name: str
    model_version: str
    probability: float


def model_version(model) -> str:
    """``<library version>+<first 12 hex of the SHA-256 of the model document>``: names the exact model file."""
    from ..models import to_document

    digest = hashlib.sha256(json.dumps(to_document(model), sort_keys=True, default=str).encode()).hexdigest()
    return f"{model.versions.get('NACResistanceLib', __version__)}+{digest[:12]}"


ASCII = str.maketrans({"²": "2", "³": "3", "⁻": "-", "¹": "1", "·": ".", "–": "-", "’": "'", "×": "x", "σ": "sigma",
                       "≥": ">=", "≤": "<="})


def _code(value: str, scheme: str, meaning: str):
    """A coded concept with an ASCII meaning of at most 64 characters (the default character repertoire)."""
    from highdicom.sr import CodedConcept

    text = meaning.translate(ASCII).encode("ascii", "replace").decode("ascii")
    return CodedConcept(value=value, scheme_designator=scheme, meaning=text[:64])


def _concept(description: FeatureDescription, ibsi_names: Mapping[str, str]):
    if description.ibsi_code:
        return _code(description.ibsi_code, "IBSI", ibsi_names.get(description.ibsi_code, description.feature))
    return _code(private_code(description.feature), PRIVATE_SCHEME, description.feature)


def private_code(name: str) -> str:
    """Code value of a column in :data:`PRIVATE_SCHEME`: "N" + the first 15 hex digits of its SHA-1 (stable)."""
    return "N" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:15]


TYPE2_COPIED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyID", "AccessionNumber",
                "ReferringPhysicianName", "StudyDate", "StudyTime")
"""Patient and study attributes the SEG and SR copy from the source (type 2: present, possibly empty)."""


def _with_type2(dataset):
    """``dataset`` (a shallow copy when it lacks any of :data:`TYPE2_COPIED`, e.g. an anonymised export) with them."""
    missing = [keyword for keyword in TYPE2_COPIED if keyword not in dataset]
    if not missing:
        return dataset
    copied = copy.copy(dataset)
    for keyword in missing:
        setattr(copied, keyword, "")
    return copied


def _segmentation(source: Sequence, masks: Sequence[tuple[str, np.ndarray]], out: Path):
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    descriptions = []
    for number, (label, _) in enumerate(masks, start=1):
        tumour = number == 1
        descriptions.append(hd.seg.SegmentDescription(
            segment_number=number, segment_label=label,
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure if tumour else codes.SCT.Tissue,
            segmented_property_type=codes.SCT.Neoplasm if tumour else codes.SCT.Breast,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
            tracking_uid=generate_uid(), tracking_id=label))
    pixels = np.stack([mask.astype(np.uint8) for _, mask in masks], axis=-1)
    seg = hd.seg.Segmentation(
        source_images=list(source), pixel_array=pixels, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions, series_instance_uid=generate_uid(), series_number=100,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer=MANUFACTURER,
        manufacturer_model_name="NACResistanceLib", software_versions=__version__, device_serial_number="none",
        series_description="NACResistance ROIs", omit_empty_frames=False)
    seg.save_as(out)
    return seg


def export_exam(source: Sequence, tumor_mask: np.ndarray, features: Mapping[str, float],
                descriptions: Mapping[str, FeatureDescription], out_dir: str | Path, *,
                reference_mask: np.ndarray | None = None, model_output: ModelOutput | None = None,
                ibsi_names: Mapping[str, str] | None = None) -> ExportedExam:
    """Write ``seg.dcm`` and ``sr.dcm`` of one exam into ``out_dir``.

    Parameters
    ----------
    source : sequence of pydicom Dataset
        The ROI phase's series, one dataset per slice in the masks' slice order (index k = mask[k]).
    tumor_mask, reference_mask : (z, y, x) bool arrays on the source grid
        The ROIs the features were extracted with.
    features : mapping
        Column name -> value; non-finite values are left out (listed in ``skipped``).
    descriptions : mapping
        Column name -> :class:`feature_catalogue.FeatureDescription` (unit, IBSI code, image).
    model_output : ModelOutput, optional
        The model's probability of resistance with the model's name and version.
    ibsi_names : mapping, optional
        IBSI code -> feature name (code meanings); default from the shipped mapping.
    """
    require_highdicom()
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    from ..feature_catalogue import ibsi_mapping

    if ibsi_names is None:
        ibsi_names = {r["ibsi_code"]: r["ibsi_feature"] for r in ibsi_mapping().values() if r["ibsi_code"]}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    source = [_with_type2(dataset) for dataset in source]
    masks = [("tumour", np.asarray(tumor_mask, bool))]
    if reference_mask is not None:
        masks.append(("reference", np.asarray(reference_mask, bool)))
    seg = _segmentation(source, masks, out / "seg.dcm")
    series_uid = source[0].SeriesInstanceUID
    algorithm = hd.sr.AlgorithmIdentification(name="NACResistanceLib", version=__version__)
    measurements, skipped = [], []
    for name, value in features.items():
        if not math.isfinite(float(value)):
            skipped.append(name)
            continue
        description = descriptions[name]
        measurements.append(hd.sr.Measurement(
            name=_concept(description, ibsi_names), value=float(value),
            unit=_code(description.ucum, "UCUM", description.ucum),
            tracking_identifier=hd.sr.TrackingIdentifier(identifier=name, uid=generate_uid()),
            method=_code(_image_code(description.image), PRIVATE_SCHEME, description.image),
            algorithm_id=algorithm))
    groups = []
    for number, (label, _) in enumerate(masks, start=1):
        groups.append(hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(identifier=f"{label} ROI", uid=generate_uid()),
            referenced_segment=hd.sr.ReferencedSegment(
                sop_class_uid=seg.SOPClassUID, sop_instance_uid=seg.SOPInstanceUID, segment_number=number,
                source_series=hd.sr.SourceSeriesForSegmentation(series_uid)),
            finding_type=codes.SCT.Tumor if number == 1 else codes.SCT.Tissue,
            measurements=measurements if number == 1 else None))
    if model_output is not None:
        groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(identifier=f"model {model_output.model_name}",
                                                         uid=generate_uid()),
            measurements=[hd.sr.Measurement(
                name=_code(private_code(PROBABILITY_CODE), PRIVATE_SCHEME, "Probability of resistance to neoadjuvant chemotherapy"),
                value=float(model_output.probability), unit=codes.UCUM.NoUnits,
                tracking_identifier=hd.sr.TrackingIdentifier(identifier=PROBABILITY_CODE, uid=generate_uid()),
                algorithm_id=hd.sr.AlgorithmIdentification(name=f"NACResistance {model_output.model_name} model",
                                                           version=model_output.model_version))]))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(), procedure_reported=codes.SCT.MagneticResonanceImagingOfBreast,
        imaging_measurements=groups, title=codes.DCM.ImagingMeasurementReport)
    sr = hd.sr.Comprehensive3DSR(
        evidence=[*source, seg], content=report, series_instance_uid=generate_uid(), series_number=101,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer=MANUFACTURER,
        series_description="NACResistance measurements (research use only)")
    sr.save_as(out / "sr.dcm")
    return ExportedExam(out / "seg.dcm", out / "sr.dcm", len(measurements), tuple(skipped))


def _image_code(image: str) -> str:
    """A short code value (≤ 16 characters) naming an image/filter text, stable across runs."""
    return "IMG" + hashlib.sha1(image.encode()).hexdigest()[:13]


def read_measurements(sr_path: str | Path) -> dict[str, dict]:
    """Every measurement of an SR written by :func:`export_exam`, read back with highdicom.

    Returns tracking identifier (feature column name, or ``probability_resistance``) -> ``value``, ``unit``
    (UCUM code), ``code``, ``scheme``, ``group`` (the group's tracking identifier), ``segment`` (referenced
    SEG segment number, or None) and ``algorithm`` (name, version).
    """
    import highdicom as hd

    sr = hd.sr.srread(sr_path)
    groups = [*sr.content.get_volumetric_roi_measurement_groups(), *sr.content.get_image_measurement_groups()]
    found = {}
    for group in groups:
        number = _segment_number(group)
        for measurement in group.get_measurements():
            identifier = _text(measurement, "112039")  # DCM Tracking Identifier
            found[identifier] = {"value": float(measurement.value), "unit": measurement.unit.value,
                                 "code": measurement.name.value, "scheme": measurement.name.scheme_designator,
                                 "group": group.tracking_identifier, "segment": number,
                                 "algorithm": _algorithm(measurement)}
    return found


def _segment_number(group) -> int | None:
    """The SEG segment number a measurement group references (DCM 121191 Referenced Segment), or None."""
    for item in group[0].ContentSequence:
        concept = item.ConceptNameCodeSequence[0]
        if concept.get("CodeValue") == "121191" and "ReferencedSOPSequence" in item:
            return int(item.ReferencedSOPSequence[0].ReferencedSegmentNumber)
    return None


def _text(measurement, code_value: str) -> str:
    """The TEXT value of the measurement's child content item with concept code ``code_value`` (DCM), or ""."""
    for item in measurement[0].get("ContentSequence", []):
        concept = item.ConceptNameCodeSequence[0]
        if concept.get("CodeValue") == code_value and concept.CodingSchemeDesignator == "DCM":
            return str(item.TextValue)
        if "ContentSequence" in item:  # algorithm identification is nested under the method item
            nested = _text([item], code_value)
            if nested:
                return nested
    return ""


def _algorithm(measurement) -> tuple[str, str]:
    return _text(measurement, "111001"), _text(measurement, "111003")  # DCM Algorithm Name, Algorithm Version
