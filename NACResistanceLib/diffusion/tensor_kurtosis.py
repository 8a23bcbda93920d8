"""Full diffusion kurtosis tensor (DKI) through DIPY, refused on acquisitions that cannot support it.

The kurtosis tensor has 15 independent elements and the diffusion tensor 6 (22 unknowns with S0),
so MK, axial kurtosis Ka and radial kurtosis Kr need at least 15 non-collinear gradient directions
and at least two non-zero b-values (Jensen & Helpern 2010). DIPY's ``DiffusionKurtosisModel``
only checks for 3 b-values and silently returns wrong values otherwise (3 directions at
b=0/800/1000: MK 0.536, Ka 0.892, Kr 0.669 for a truth of 0.893), so :class:`DkiModel` checks first.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AcquisitionError
from .signal import DEFAULT_SHELL_TOLERANCE, as_bvals, group_shells, scatter, select_voxels, valid_voxels

if TYPE_CHECKING:  # DIPY is imported where a tensor is fitted: trace-weighted exams never load it (0.5 s)
    from dipy.reconst import dki

MIN_DIRECTIONS = 15
"""Non-collinear gradient directions the kurtosis tensor needs."""
MIN_NONZERO_SHELLS = 2
"""Non-zero b-value shells the kurtosis tensor needs."""
B0_THRESHOLD = 50.0
"""b-values at or below this (s/mm²) count as b=0 (DIPY's default)."""
COLLINEAR_DEG = 5.0
"""Two directions closer than this angle (degrees, up to sign) count as one."""
N_UNKNOWNS = 22


def count_noncollinear(bvecs: np.ndarray, angle_deg: float = COLLINEAR_DEG) -> int:
    """Number of distinct directions among unit ``bvecs`` (``(n, 3)``), ``u`` and ``−u`` being one direction."""
    cos_limit = np.cos(np.deg2rad(angle_deg))
    kept: list[np.ndarray] = []
    for vector in bvecs:
        if all(abs(float(vector @ other)) < cos_limit for other in kept):
            kept.append(vector)
    return len(kept)


def check_dki_acquisition(bvals: np.ndarray, bvecs: np.ndarray,
                          shell_tolerance: float = DEFAULT_SHELL_TOLERANCE) -> None:
    """Raise :class:`AcquisitionError` unless the acquisition determines the kurtosis tensor.

    Requires: unit gradient vectors for every b > 50 s/mm² volume, at least 15 non-collinear
    directions among them, at least 2 non-zero shells, and a DKI design matrix of full rank (22).
    """
    if bvecs is None:
        raise AcquisitionError(
            "the kurtosis tensor (MK, Ka, Kr) needs gradient directions; this DWI is trace-weighted "
            "(no bvecs), which supports only ADC and mean-signal kurtosis (MD, MK of the mean signal)"
        )
    bvecs = np.asarray(bvecs, dtype=np.float64)
    if bvecs.shape != (bvals.size, 3):
        raise AcquisitionError(f"bvecs must have shape ({bvals.size}, 3) (one direction per b-value), got {bvecs.shape}")
    weighted = bvals > B0_THRESHOLD
    norms = np.linalg.norm(bvecs[weighted], axis=1)
    if np.any(np.abs(norms - 1.0) > 0.05):
        raise AcquisitionError(f"gradient vectors of b > {B0_THRESHOLD:.0f} volumes must be unit length; norms {np.round(norms, 3).tolist()}")
    shells = group_shells(bvals[weighted], shell_tolerance).bvals if np.any(weighted) else np.array([])
    n_dirs = count_noncollinear(bvecs[weighted] / norms[:, None]) if np.any(weighted) else 0
    missing = []
    if n_dirs < MIN_DIRECTIONS:
        missing.append(f"{n_dirs} non-collinear gradient directions (needs >= {MIN_DIRECTIONS})")
    if shells.size < MIN_NONZERO_SHELLS:
        missing.append(f"{shells.size} non-zero b-value shell(s) {np.round(shells).tolist()} s/mm² (needs >= {MIN_NONZERO_SHELLS})")
    if missing:
        raise AcquisitionError(
            "the kurtosis tensor (MK, Ka, Kr) cannot be estimated: the acquisition has " + " and ".join(missing)
            + "; use mean-signal kurtosis (fit_mean_kurtosis) for MD/MK, Ka and Kr are not available"
        )
    from dipy.reconst import dki

    rank = np.linalg.matrix_rank(dki.design_matrix(_gradient_table(bvals, bvecs)))
    if rank < N_UNKNOWNS:
        raise AcquisitionError(f"the DKI design matrix has rank {rank} < {N_UNKNOWNS}: the directions/b-values do not determine the tensor")


def _gradient_table(bvals: np.ndarray, bvecs: np.ndarray):
    from dipy.core.gradients import gradient_table

    vecs = np.where((bvals > B0_THRESHOLD)[:, None], bvecs, 0.0)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs = np.divide(vecs, norms, out=np.zeros_like(vecs), where=norms > 0)
    return gradient_table(bvals, bvecs=vecs, b0_threshold=B0_THRESHOLD)


class DkiModel:
    """Diffusion kurtosis tensor model of one acquisition (DIPY WLS fit).

    Parameters
    ----------
    bvals : (n_volumes,) s/mm²; bvecs : (n_volumes, 3) unit gradient directions (any for b=0).
    min_signal : voxels with any sample non-finite or <= ``min_signal`` are excluded (NaN, counted),
        instead of DIPY's silent clipping to a tiny positive value.

    Raises
    ------
    AcquisitionError
        If the acquisition cannot determine the tensor (see :func:`check_dki_acquisition`).
    """

    def __init__(self, bvals, bvecs, *, min_signal: float = 0.0,
                 shell_tolerance: float = DEFAULT_SHELL_TOLERANCE) -> None:
        self.bvals = as_bvals(bvals, np.size(bvals))
        check_dki_acquisition(self.bvals, bvecs, shell_tolerance)
        self.bvecs = np.asarray(bvecs, dtype=np.float64)
        self.min_signal = float(min_signal)

    def fit(self, dwi: np.ndarray, mask: np.ndarray | None = None) -> DkiFit:
        """Fit ``dwi`` (``(..., n_volumes)``) inside ``mask`` (bool, ``dwi.shape[:-1]``)."""
        dwi = np.asarray(dwi, dtype=np.float64)
        if dwi.shape[-1] != self.bvals.size:
            raise AcquisitionError(f"DWI has {dwi.shape[-1]} volumes but the model has {self.bvals.size} b-values")
        from dipy.reconst import dki

        mask, samples = select_voxels(dwi, mask)
        ok = valid_voxels(samples, self.min_signal)
        dipy_model = dki.DiffusionKurtosisModel(_gradient_table(self.bvals, self.bvecs), fit_method="WLS")
        dipy_fit = dipy_model.fit(samples[ok])
        fitted = mask.copy()
        fitted[mask] = ok
        return DkiFit(fitted=fitted, dipy_fit=dipy_fit, n_excluded=int((~ok).sum()))


@dataclass(frozen=True, eq=False)
class DkiFit:
    """Result of :meth:`DkiModel.fit`. Kurtosis values use DIPY's analytical formulas clipped to
    [−3/7, 10] (its default; −3/7 is the physical lower bound); NaN outside the mask / excluded voxels."""

    fitted: np.ndarray
    """Bool map of the fitted voxels."""
    dipy_fit: dki.DiffusionKurtosisFit
    """DIPY's fit of the ``(n_fitted, n_volumes)`` samples, for further DIPY metrics."""
    n_excluded: int
    """Mask voxels left out for a non-finite or <= ``min_signal`` sample (count)."""

    @cached_property
    def mk(self) -> np.ndarray:
        """Mean kurtosis (of the tensor) map."""
        return scatter(self.dipy_fit.mk(), self.fitted)

    @cached_property
    def ak(self) -> np.ndarray:
        """Axial kurtosis Ka map (along the principal diffusion direction)."""
        return scatter(self.dipy_fit.ak(), self.fitted)

    @cached_property
    def rk(self) -> np.ndarray:
        """Radial kurtosis Kr map (perpendicular to the principal diffusion direction)."""
        return scatter(self.dipy_fit.rk(), self.fitted)

    @cached_property
    def md(self) -> np.ndarray:
        """Mean diffusivity of the diffusion tensor, mm²/s."""
        return scatter(self.dipy_fit.md, self.fitted)


def fit_dki(dwi: np.ndarray, bvals, bvecs, mask: np.ndarray | None = None, *, min_signal: float = 0.0) -> DkiFit:
    """Kurtosis tensor fit of ``dwi`` (``(..., n_volumes)``, volumes last; b in s/mm², bvecs ``(n_volumes, 3)``).

    Returns a :class:`DkiFit` with ``.mk``, ``.ak``, ``.rk`` and ``.md`` (mm²/s) maps. Raises
    :class:`AcquisitionError` when the acquisition lacks directions or shells (see :class:`DkiModel`).
    """
    return DkiModel(bvals, bvecs, min_signal=min_signal).fit(dwi, mask)
