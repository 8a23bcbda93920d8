"""Time-intensity curves of ROIs of a DCE series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import SimpleITK as sitk

from ..errors import ImageError
from ..io.exam import DceSeries


def phase_array(dce: DceSeries) -> np.ndarray:
    """The phases as a ``(z, y, x, n_phases)`` float64 array (numpy axis order, phases last)."""
    return np.stack([sitk.GetArrayFromImage(p).astype(np.float64) for p in dce.phases], axis=-1)


def roi_curve(phases: np.ndarray, mask: np.ndarray, *, name: str) -> np.ndarray:
    """Mean signal of the ROI voxels in each phase, ``(n_phases,)``, signal units."""
    mask = np.asarray(mask, bool)
    if mask.shape != phases.shape[:-1]:
        raise ImageError(f"{name} mask shape {mask.shape} does not match the DCE grid {phases.shape[:-1]} (z, y, x)")
    if not mask.any():
        raise ImageError(f"{name} mask is empty on the DCE grid")
    return phases[mask].mean(axis=0)


def time_intensity_curves(dce: DceSeries, tumor_mask: np.ndarray, reference_mask: np.ndarray | None = None,
                          phases: np.ndarray | None = None) -> pd.DataFrame:
    """Mean ROI signal per phase: columns ``time_s`` (s), ``tumor``, ``reference`` (signal units; NaN if no reference).

    Masks are bool ``(z, y, x)`` arrays on the DCE grid; ``phases`` may pass a precomputed :func:`phase_array`.
    """
    phases = phase_array(dce) if phases is None else phases
    reference = (roi_curve(phases, reference_mask, name="reference") if reference_mask is not None
                 else np.full(len(dce.times_s), np.nan))
    return pd.DataFrame({
        "time_s": np.asarray(dce.times_s, float),
        "tumor": roi_curve(phases, tumor_mask, name="tumour"),
        "reference": reference,
    })
