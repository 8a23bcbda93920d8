"""Exams built from numpy arrays and their geometries (what the Slicer module pulls out of MRML nodes)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import SimpleITK as sitk

from ..errors import AcquisitionError, ConfigError
from .exam import DceSeries, DwiSeries, Exam
from .geometry import ImageGeometry, image_from_array, mask_from_array


def exam_from_arrays(
    *,
    patient_id: str,
    tumor_mask: np.ndarray,
    mask_geometry: ImageGeometry,
    reference_mask: np.ndarray | None = None,
    breast_mask: np.ndarray | None = None,
    other_lesion_mask: np.ndarray | None = None,
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
    extra_series: Mapping[str, tuple[np.ndarray, ImageGeometry]] | None = None,
) -> Exam:
    """Build an :class:`~NACResistanceLib.io.exam.Exam` from numpy arrays and their geometries.

    Parameters
    ----------
    patient_id : str
        Patient identifier stored in the exam.
    tumor_mask, reference_mask : (z, y, x) arrays
        Tumour and (optional) reference-tissue masks on ``mask_geometry``; non-zero = inside.
    breast_mask, other_lesion_mask : (z, y, x) arrays, optional
        The breast (clips peritumoral shells) and another lesion (removed from them) on ``mask_geometry``: the
        ``Exam`` fields the manifest columns ``breast_segment`` and ``other_lesion_segment`` fill.
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
    extra_series : mapping name -> ((z, y, x) array, geometry), optional
        Further named series (``"t2w"``) for multiparametric radiomics, each on its own grid.

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
        breast_mask=None if breast_mask is None else mask_from_array(breast_mask, mask_geometry, name="breast mask"),
        other_lesion_mask=None if other_lesion_mask is None else mask_from_array(
            other_lesion_mask, mask_geometry, name="other-lesion mask"),
        dce=_dce_series(dce_phases, dce_times_s, dce_geometry, roi_phase),
        dwi=_dwi_series(dwi_volumes, dwi_bvals, dwi_bvecs, dwi_geometry),
        adc=_scaled_adc(adc, adc_geometry, adc_scale),
        clinical=dict(clinical or {}),
        timepoint=timepoint,
        extra_series={name: image_from_array(array, geometry, name=f"{name} series")
                      for name, (array, geometry) in (extra_series or {}).items()},
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
