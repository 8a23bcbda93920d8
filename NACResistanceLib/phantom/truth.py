"""The ground truth of an exam and of a cohort (never read by the analysis).

Per exam: latent variables, true per-patient and voxel-averaged tissue parameters, noise-free ROI
values, the true probability and label. Per cohort: the resistance rate and the Bayes-optimal AUC,
the AUC of the true probabilities themselves (no model can do better on average).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dwi import tensor_kurtosis_metrics
from .segmentation import REFERENCE_LABEL, TUMOR_LABEL, reader_one
from .tissues import DWI_SIGNAL_SCALE, NECROSIS, TISSUES, TUMOR


@dataclass(frozen=True)
class GridSample:
    """The anatomy sampled on one grid: voxel centres, tissue codes and tumour-voxel parameters."""

    points: np.ndarray
    """``(n, 3)`` voxel centres (x, y, z), mm, in numpy (z, y, x) voxel order."""
    tissues: np.ndarray
    """``(n,)`` tissue codes."""
    tumor_index: np.ndarray
    """Indices of the tumour voxels."""
    tumor_params: dict
    """Parameter name -> ``(n_tumor,)`` values (:mod:`.tumor`)."""


def exam_truth(state, protocol, dce: GridSample, dwi: GridSample, outlines, clean_tumor_dwi, bvals) -> dict:
    """Flat dict of JSON-ready truth values of one exam (see docs/phantom.md for each key)."""
    patient, biology = state.patient, state.biology
    truth = {
        "patient_id": patient.patient_id, "timepoint": state.timepoint, "exam_date": state.exam_date,
        "resistant": patient.resistant, "probability": biology.probability,
        "heterogeneity": biology.heterogeneity, "cellularity": biology.cellularity,
        "true_shrinkage": patient.outcome["true_shrinkage"],
        "tumor_ktrans_per_min": biology.ktrans_per_min, "tumor_ve": biology.ve, "tumor_vp": biology.vp,
        "tumor_field_sd": biology.field_sd, "tumor_d_mm2_s": biology.d_mm2_s, "tumor_kurtosis": biology.kurtosis,
        "reference_d_mm2_s": biology.reference_d_mm2_s, "reference_kurtosis": biology.reference_kurtosis,
        "bpe_ktrans_per_min": biology.bpe_ktrans_per_min,
        "tumor_longest_diameter_mm": state.anatomy.tumor.longest_diameter_mm(),
        "necrosis": state.anatomy.tumor.necrosis_fraction > 0, "oedema_mm": state.anatomy.tumor.oedema_mm,
        "benign_focus": state.anatomy.benign is not None,
        "dce_noise_sd": protocol.dce_noise_sd, "dwi_noise_sigma": DWI_SIGNAL_SCALE / protocol.dwi_snr,
    }
    truth.update(_dce_truth(protocol, dce, *outlines))
    truth.update(_dwi_truth(state, dwi, clean_tumor_dwi, bvals))
    if protocol.tensor_shells:
        metrics = tensor_kurtosis_metrics(biology.kurtosis, TISSUES[TUMOR].anisotropy)
        truth.update({f"tumor_tensor_{name}": value for name, value in metrics.items()})
    return {key: _plain(value) for key, value in truth.items()}


def _dce_truth(protocol, dce: GridSample, outline, outline2) -> dict[str, object]:
    params, tissues = dce.tumor_params, dce.tissues
    voxel_mm3 = float(np.prod(protocol.dce_grid.spacing))
    truth = {f"tumor_voxel_mean_{name}": float(np.mean(params[name])) for name in ("ktrans_per_min", "ve", "vp")}
    truth["tumor_volume_mm3"] = float(np.count_nonzero(outline == TUMOR_LABEL) * voxel_mm3)
    truth["necrosis_volume_mm3"] = float(np.count_nonzero(tissues == NECROSIS) * voxel_mm3)
    truth["reference_volume_mm3"] = float(np.count_nonzero(outline == REFERENCE_LABEL) * voxel_mm3)
    if outline2 is not None:
        one, two = outline == TUMOR_LABEL, outline2 == TUMOR_LABEL
        truth["reader_dice"] = float(2.0 * np.count_nonzero(one & two) / (one.sum() + two.sum()))
    return truth


def _dwi_truth(state, dwi: GridSample, noise_free_tumor, bvals) -> dict[str, object]:
    params = dwi.tumor_params
    truth = {"tumor_voxel_mean_d_mm2_s": float(np.mean(params["d_mm2_s"])),
             "tumor_voxel_mean_kurtosis": float(np.mean(params["kurtosis"])),
             "tumor_dwi_voxels": int(len(params["d_mm2_s"]))}
    reference = reader_one(state.anatomy, dwi.points, dwi.tissues) == REFERENCE_LABEL
    truth["reference_dwi_voxels"] = int(reference.sum())
    bvals = np.asarray(bvals, dtype=np.float64)
    if len(np.unique(bvals)) >= 3:
        mean_signal = np.array([noise_free_tumor[:, bvals == b].mean() for b in np.unique(bvals)])
        d, k = roi_kurtosis_fit(mean_signal, np.unique(bvals))
        truth.update({"tumor_roi_d_mm2_s": d, "tumor_roi_kurtosis": k,
                      "tumor_roi_adc_mm2_s": roi_adc(mean_signal, np.unique(bvals)),
                      "true_rmk": k / state.biology.reference_kurtosis, "true_rmd": d / state.biology.reference_d_mm2_s})
    return truth


def roi_kurtosis_fit(signal: np.ndarray, bvals: np.ndarray) -> tuple[float, float]:
    """D (mm²/s) and K of ``log S = log S0 − b·D + b²·D²·K/6``, least squares over ``(n_b,)`` b-values."""
    design = np.stack([np.ones_like(bvals), -bvals, bvals**2 / 6.0], axis=1)
    (_, d, d2k), *_ = np.linalg.lstsq(design, np.log(signal), rcond=None)
    return float(d), float(d2k / d**2)


def roi_adc(signal: np.ndarray, bvals: np.ndarray) -> float:
    """Mono-exponential ADC (mm²/s), least squares over the b-values <= 1000 s/mm²."""
    used = bvals <= 1000.0
    slope = np.polyfit(bvals[used], np.log(signal[used]), 1)[0]
    return float(-slope)


def bayes_auc(probabilities: np.ndarray) -> float | None:
    """Expected AUC of the true probabilities over the labels they generate (Bayes-optimal AUC).

    ``Σ_{i≠j} p_i (1 − p_j) [p_i > p_j] / Σ_{i≠j} p_i (1 − p_j)`` (exact pairwise sum in O(n log n);
    tied probabilities, which continuous models do not produce, are ordered arbitrarily); None for
    fewer than two patients.
    """
    p = np.sort(np.asarray(probabilities, dtype=np.float64))
    positive, negative = p, 1.0 - p
    below_negative = np.cumsum(negative) - negative
    numerator = np.sum(positive * below_negative)
    total = positive.sum() * negative.sum() - np.sum(positive * negative)
    return float(numerator / total) if total > 0 else None


def realised_auc(probabilities, labels) -> float | None:
    """AUC of the true probabilities against the drawn labels (Mann-Whitney, ties one half); None with one class."""
    from scipy.stats import rankdata

    p, y = np.asarray(probabilities, dtype=np.float64), np.asarray(labels, dtype=bool)
    ranks = rankdata(p)
    n1, n0 = y.sum(), (~y).sum()
    if n1 == 0 or n0 == 0:
        return None
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def _plain(value):
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    return value
