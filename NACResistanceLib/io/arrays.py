"""Exams from numpy arrays, RAS <-> LPS geometry, and results as plain table columns.

This is the non-MRML half of the Slicer module: the module pulls voxel arrays and IJK-to-RAS
matrices out of MRML nodes and hands them here, so that everything that can be wrong about axis
order, geometry or units is tested by pytest instead of only inside Slicer.

Conventions
-----------
- Voxel arrays are in numpy order ``(z, y, x)`` = ``(k, j, i)``, as returned by
  ``sitk.GetArrayFromImage`` and ``slicer.util.arrayFromVolume``.
- Geometry follows SimpleITK: physical point (LPS, mm) = ``origin + D @ diag(spacing) @ (i, j, k)``,
  with ``D`` the direction matrix whose columns are the unit vectors of the i, j, k axes.
- Slicer stores the same mapping as a 4x4 IJK-to-RAS matrix; RAS and LPS differ by the sign of the
  first two axes (``LPS = diag(-1, -1, 1) @ RAS``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from ..clinical import CLINICAL_CODES, NUMERIC_RANGES
from ..errors import AcquisitionError, ClinicalDataError, ConfigError, ImageError
from .exam import DceSeries, DwiSeries, Exam

LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0])
"""3x3 matrix turning RAS coordinates into LPS coordinates (and back: it is its own inverse)."""

TIME_UNIT_SECONDS = {"s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3, "msec": 1e-3, "min": 60.0}
"""Sequence index units accepted as acquisition times, with their factor to seconds."""


@dataclass(frozen=True)
class ImageGeometry:
    """Where a voxel grid sits in physical space (LPS, mm), in SimpleITK's convention."""

    spacing: tuple[float, float, float]
    """Voxel size along the i, j, k (x, y, z) axes, mm."""
    origin: tuple[float, float, float]
    """Centre of voxel (0, 0, 0), LPS, mm."""
    direction: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    """Row-major 3x3 matrix whose columns are the unit vectors of the i, j, k axes in LPS."""

    def __post_init__(self) -> None:
        if len(self.spacing) != 3 or not all(math.isfinite(s) and s > 0 for s in self.spacing):
            raise ImageError(f"voxel spacing must be three positive numbers (mm), got {self.spacing}")
        if len(self.origin) != 3 or not all(math.isfinite(o) for o in self.origin):
            raise ImageError(f"origin must be three finite numbers (mm), got {self.origin}")
        matrix = np.reshape(np.asarray(self.direction, dtype=float), (-1,))
        if matrix.size != 9 or not np.allclose(matrix.reshape(3, 3).T @ matrix.reshape(3, 3), np.eye(3), atol=1e-4):
            raise ImageError(f"direction must be an orthonormal 3x3 matrix (9 numbers), got {self.direction}")

    @classmethod
    def from_ijk_to_ras(cls, matrix: np.ndarray) -> ImageGeometry:
        """Geometry of a Slicer volume from its 4x4 IJK-to-RAS matrix (``GetIJKToRASMatrix``)."""
        matrix = np.asarray(matrix, dtype=float)
        if matrix.shape != (4, 4):
            raise ImageError(f"IJK-to-RAS matrix must be 4x4, got shape {matrix.shape}")
        axes_lps = LPS_FROM_RAS @ matrix[:3, :3]
        spacing = np.linalg.norm(axes_lps, axis=0)
        if np.any(spacing <= 0):
            raise ImageError(f"IJK-to-RAS matrix has a zero-length axis: {matrix.tolist()}")
        direction = axes_lps / spacing
        origin = LPS_FROM_RAS @ matrix[:3, 3]
        return cls(_floats(spacing), _floats(origin), _floats(direction.ravel()))

    @classmethod
    def from_image(cls, image: sitk.Image) -> ImageGeometry:
        """Geometry of a 3D SimpleITK image."""
        return cls(_floats(image.GetSpacing()), _floats(image.GetOrigin()), _floats(image.GetDirection()))

    def ijk_to_ras(self) -> np.ndarray:
        """The 4x4 IJK-to-RAS matrix that Slicer needs for this grid (``SetIJKToRASMatrix``)."""
        axes_lps = np.reshape(self.direction, (3, 3)) * np.asarray(self.spacing)
        matrix = np.eye(4)
        matrix[:3, :3] = LPS_FROM_RAS @ axes_lps
        matrix[:3, 3] = LPS_FROM_RAS @ np.asarray(self.origin)
        return matrix


def _floats(values: Sequence[float]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def image_from_array(array: np.ndarray, geometry: ImageGeometry, *, name: str = "image") -> sitk.Image:
    """A 3D SimpleITK image from a ``(z, y, x)`` array and its geometry (pixel type kept; bool -> uint8).

    Raises
    ------
    ImageError
        If the array is not 3D; ``name`` names the input in the message.
    """
    array = np.asarray(array)
    if array.ndim != 3:
        raise ImageError(f"{name} must be a 3D (z, y, x) array, got shape {array.shape}")
    image = sitk.GetImageFromArray(array.astype(np.uint8) if array.dtype == bool else array)
    image.SetSpacing(geometry.spacing)
    image.SetOrigin(geometry.origin)
    image.SetDirection(geometry.direction)
    return image


def mask_from_array(array: np.ndarray, geometry: ImageGeometry, *, name: str = "mask") -> sitk.Image:
    """A binary ``sitkUInt8`` mask (1 where ``array != 0``) on ``geometry``."""
    return image_from_array(np.asarray(array) != 0, geometry, name=name)


def array_from_image(image: sitk.Image) -> tuple[np.ndarray, ImageGeometry]:
    """The ``(z, y, x)`` voxel array (a copy) and the geometry of a 3D SimpleITK image."""
    if image.GetDimension() != 3:
        raise ImageError(f"expected a 3D image, got {image.GetDimension()}D")
    return sitk.GetArrayFromImage(image), ImageGeometry.from_image(image)


def exam_from_arrays(
    *,
    patient_id: str,
    tumor_mask: np.ndarray,
    mask_geometry: ImageGeometry,
    reference_mask: np.ndarray | None = None,
    dce_phases: Sequence[np.ndarray] | None = None,
    dce_times_s: Sequence[float] | None = None,
    dce_geometry: ImageGeometry | None = None,
    roi_phase: int = 1,
    dwi_volumes: Sequence[np.ndarray] | None = None,
    dwi_bvals: Sequence[float] | None = None,
    dwi_bvecs: np.ndarray | None = None,
    dwi_geometry: ImageGeometry | None = None,
    adc: np.ndarray | None = None,
    adc_geometry: ImageGeometry | None = None,
    adc_scale: float = 1.0,
    clinical: Mapping[str, object] | None = None,
    timepoint: str = "baseline",
) -> Exam:
    """Build an :class:`~NACResistanceLib.io.exam.Exam` from numpy arrays and their geometries.

    Parameters
    ----------
    patient_id : str
        Patient identifier stored in the exam.
    tumor_mask, reference_mask : (z, y, x) arrays
        Tumour and (optional) reference-tissue masks on ``mask_geometry``; non-zero = inside.
    dce_phases : sequence of (z, y, x) arrays, optional
        DCE phases in acquisition order on ``dce_geometry`` (``phases[0]`` pre-contrast).
    dce_times_s : sequence of float
        Acquisition time of each phase, s; made relative to the first phase.
    roi_phase : int
        Index of the phase the tumour was outlined on.
    dwi_volumes : sequence of (z, y, x) arrays, optional
        One volume per b-value (trace) or per (b, direction) on ``dwi_geometry``.
    dwi_bvals : sequence of float
        b-value of each DWI volume, s/mm².
    dwi_bvecs : (n_volumes, 3) array, optional
        Gradient directions in LPS; ``None`` for trace-weighted volumes.
    adc : (z, y, x) array, optional
        Scanner ADC map on ``adc_geometry``; multiplied by ``adc_scale`` to give mm²/s
        (``1e-6`` for maps stored in 10⁻⁶ mm²/s). The factor is never guessed.
    clinical : mapping, optional
        Clinical values by manifest column name (see docs/manifest.md).
    timepoint : str
        Time point label.

    Raises
    ------
    AcquisitionError
        If a series is given without its times / b-values / geometry.
    ImageError
        If an array is not 3D or a geometry is invalid.
    """
    return Exam(
        patient_id=patient_id,
        tumor_mask=mask_from_array(tumor_mask, mask_geometry, name="tumour mask"),
        reference_mask=None if reference_mask is None else mask_from_array(
            reference_mask, mask_geometry, name="reference mask"),
        dce=_dce_series(dce_phases, dce_times_s, dce_geometry, roi_phase),
        dwi=_dwi_series(dwi_volumes, dwi_bvals, dwi_bvecs, dwi_geometry),
        adc=_scaled_adc(adc, adc_geometry, adc_scale),
        clinical=dict(clinical or {}),
        timepoint=timepoint,
    )


def _dce_series(phases, times_s, geometry, roi_phase) -> DceSeries | None:
    if phases is None:
        return None
    if times_s is None or geometry is None:
        raise AcquisitionError("DCE phases were given without acquisition times (s) or geometry")
    images = tuple(image_from_array(p, geometry, name=f"DCE phase {i}") for i, p in enumerate(phases))
    times = tuple(float(t) - float(times_s[0]) for t in times_s)
    return DceSeries(phases=images, times_s=times, roi_phase=roi_phase)


def _dwi_series(volumes, bvals, bvecs, geometry) -> DwiSeries | None:
    if volumes is None:
        return None
    if bvals is None or geometry is None:
        raise AcquisitionError("DWI volumes were given without b-values (s/mm²) or geometry")
    images = tuple(image_from_array(v, geometry, name=f"DWI volume {i}") for i, v in enumerate(volumes))
    vectors = None if bvecs is None else np.asarray(bvecs, dtype=float)
    return DwiSeries(volumes=images, bvals=tuple(float(b) for b in bvals), bvecs=vectors)


def _scaled_adc(adc, geometry, scale) -> sitk.Image | None:
    if adc is None:
        return None
    if geometry is None:
        raise AcquisitionError("an ADC map was given without its geometry")
    if not (math.isfinite(scale) and scale > 0):
        raise ConfigError(f"adc_scale must be a positive factor to mm²/s, got {scale}")
    array = np.asarray(adc) if scale == 1.0 else np.asarray(adc, dtype=np.float64) * scale
    return image_from_array(array, geometry, name="ADC map")


def parse_number_list(text: str, *, field: str) -> tuple[float, ...]:
    """Numbers typed by a user (``"0, 51.3, 102.6"``; commas, semicolons or spaces).

    Raises
    ------
    ConfigError
        If a token is not a finite number; the message names ``field`` and the token.
    """
    values = []
    for token in (t for t in re.split(r"[,;\s]+", text.strip()) if t):
        try:
            value = float(token)
        except ValueError:
            raise ConfigError(f"{field}: {token!r} is not a number (expected e.g. '0, 51.3, 102.6')") from None
        if not math.isfinite(value):
            raise ConfigError(f"{field}: {token!r} is not a finite number")
        values.append(value)
    return tuple(values)


def times_from_index_values(values: Sequence[str], unit: str, *, field: str) -> tuple[float, ...]:
    """Acquisition times (s, relative to the first) from a sequence's index values and unit.

    Raises
    ------
    ConfigError
        If the unit is not a time unit (see :data:`TIME_UNIT_SECONDS`) or a value is not a number;
        the fix is to type the times explicitly.
    """
    factor = TIME_UNIT_SECONDS.get(unit.strip().lower())
    if factor is None:
        raise ConfigError(
            f"{field}: the sequence index unit {unit!r} is not a time unit "
            f"({', '.join(TIME_UNIT_SECONDS)}); type the acquisition times instead"
        )
    times = parse_number_list(" ".join(values), field=field)
    return tuple((t - times[0]) * factor for t in times)


def bvecs_from_measurement_frame(gradients: np.ndarray, measurement_frame_to_ras: np.ndarray) -> np.ndarray:
    """Gradient directions of a Slicer DWI node, turned from its measurement frame into LPS unit vectors.

    Parameters
    ----------
    gradients : (n, 3) array
        ``GetDiffusionGradient(i)`` of each volume, in the measurement frame; zero rows (b = 0) stay zero.
    measurement_frame_to_ras : (3, 3) or (4, 4) array
        ``GetMeasurementFrameMatrix`` of the node.
    """
    frame = np.asarray(measurement_frame_to_ras, dtype=float)[:3, :3]
    lps = (LPS_FROM_RAS @ frame @ np.asarray(gradients, dtype=float).T).T
    norms = np.linalg.norm(lps, axis=1, keepdims=True)
    return np.divide(lps, norms, out=np.zeros_like(lps), where=norms > 0)


@dataclass(frozen=True)
class TableColumn:
    """One column of an output table, with what Slicer's table node shows beside it."""

    name: str
    values: tuple
    """Numbers (float) or text (str), one per row."""
    unit: str = ""
    description: str = ""

    @property
    def is_text(self) -> bool:
        """True when the column holds text rather than numbers."""
        return any(isinstance(v, str) for v in self.values)


def frame_columns(frame, units: Mapping[str, str] | None = None,
                  descriptions: Mapping[str, str] | None = None) -> tuple[TableColumn, ...]:
    """The columns of a pandas DataFrame (index dropped) as :class:`TableColumn` objects."""
    units, descriptions = units or {}, descriptions or {}
    return tuple(
        TableColumn(str(name), tuple(_cell(v) for v in frame[name].tolist()),
                    units.get(str(name), ""), descriptions.get(str(name), ""))
        for name in frame.columns
    )


def _cell(value) -> float | str:
    if isinstance(value, str):
        return value
    return float(value) if value is not None else math.nan


def feature_columns(features: Mapping[str, float], units: Mapping[str, str], descriptions: Mapping[str, str],
                    *, patient_id: str, timepoint: str) -> tuple[TableColumn, ...]:
    """One row per exam: ``patient_id``, ``timepoint`` then every feature with its unit and description."""
    head = (TableColumn("patient_id", (patient_id,), "", "Patient identifier"),
            TableColumn("timepoint", (timepoint,), "", "Exam time point"))
    return head + tuple(
        TableColumn(name, (float(value),), units.get(name, ""), descriptions.get(name, ""))
        for name, value in features.items()
    )


CONTRIBUTION_UNITS = {"contribution": "log-odds", "coefficient": "log-odds per unit"}
"""Units of the model-contribution table columns (``term, value, coefficient, contribution``)."""

CONTRIBUTION_DESCRIPTIONS = {
    "term": "Model term (feature, clinical input or intercept)",
    "value": "Value of the term for this exam, in the model's input scale",
    "coefficient": "Fitted logistic-regression coefficient",
    "contribution": "Coefficient x value: this term's share of the log-odds of resistance",
}

CURVE_UNITS = {"time_s": "s", "tumor": "a.u.", "reference": "a.u."}
"""Units of the time-intensity curve table (``time_s``, ``tumor``, ``reference``)."""

CURVE_DESCRIPTIONS = {
    "time_s": "Acquisition time after the pre-contrast phase",
    "tumor": "Mean signal in the tumour segment",
    "reference": "Mean signal in the reference (normal tissue) segment",
}


def contribution_columns(contributions) -> tuple[TableColumn, ...]:
    """The contributions DataFrame of a prediction as table columns with units and descriptions."""
    return frame_columns(contributions, CONTRIBUTION_UNITS, CONTRIBUTION_DESCRIPTIONS)


def curve_columns(curves) -> tuple[TableColumn, ...]:
    """The time-intensity curves DataFrame of an analysis as table columns with units."""
    return frame_columns(curves, CURVE_UNITS, CURVE_DESCRIPTIONS)


def prediction_text(probability: float, threshold: float, predicted_class: str) -> str:
    """One line for a panel: ``"Probability of resistance 0.62 (threshold 0.41): resistant"``."""
    return f"Probability of resistance {probability:.2f} (threshold {threshold:.2f}): {predicted_class}"


@dataclass(frozen=True)
class ClinicalInput:
    """How a panel asks for one clinical input of a model (a choice of codes or a number in a range)."""

    name: str
    description: str
    choices: tuple[str, ...] = ()
    """Allowed codes of a categorical manifest column; empty for a number."""
    minimum: float = -math.inf
    maximum: float = math.inf


def clinical_input_specs(required_inputs: Sequence[str]) -> tuple[ClinicalInput, ...]:
    """The clinical inputs among a model's required inputs (``StudyModel.required_inputs``).

    Required inputs are manifest clinical columns (docs/manifest.md) and feature names; features are
    left out. A categorical column becomes a choice of its codes, a numeric one a number in its range.
    """
    specs = []
    for name in required_inputs:
        if name in CLINICAL_CODES:
            specs.append(ClinicalInput(name, f"one of {', '.join(CLINICAL_CODES[name])}", CLINICAL_CODES[name]))
        elif name in NUMERIC_RANGES:
            low, high = NUMERIC_RANGES[name]
            specs.append(ClinicalInput(name, f"number in [{low:g}, {high:g}] (docs/manifest.md)", (), low, high))
    return tuple(specs)


def clinical_values(raw: Mapping[str, str], specs: Sequence[ClinicalInput]) -> dict[str, object]:
    """Typed clinical values from panel text: codes checked against their choices, numbers parsed and
    range-checked. Inputs left empty are absent (the model refuses an exam that lacks one it needs).

    Raises
    ------
    ClinicalDataError
        If a code is not allowed or a number is malformed or out of range (names the input).
    """
    values: dict[str, object] = {}
    for spec in specs:
        text = str(raw.get(spec.name, "")).strip()
        if text:
            values[spec.name] = _clinical_value(spec, text)
    return values


def _clinical_value(spec: ClinicalInput, text: str) -> object:
    if spec.choices:
        if text not in spec.choices:
            raise ClinicalDataError(f"clinical input {spec.name!r}: {text!r} is not one of {list(spec.choices)}")
        return text
    try:
        value = float(text)
    except ValueError:
        raise ClinicalDataError(f"clinical input {spec.name!r}: {text!r} is not a number") from None
    if not spec.minimum <= value <= spec.maximum:
        raise ClinicalDataError(
            f"clinical input {spec.name!r}: {value:g} is outside [{spec.minimum:g}, {spec.maximum:g}]")
    return value
