"""Apparent diffusion coefficient from a mono-exponential fit, S(b) = S0·exp(−b·ADC).

b in s/mm², ADC in mm²/s; signal arrays carry the volumes on the LAST axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import AcquisitionError, ConfigError
from .least_squares import weighted_log_linear
from .signal import DEFAULT_SHELL_TOLERANCE, as_bvals, group_shells, scatter, select_voxels, valid_voxels

ADC_METHODS = ("wls", "ols", "nls")
"""Fit methods: weighted log-linear (default), ordinary log-linear, non-linear least squares."""


class AdcModel:
    """Mono-exponential ADC model of one acquisition.

    Parameters
    ----------
    bvals : (n_volumes,) b-values, s/mm². At least two distinct shells are needed. S0 is always a
        fitted parameter, so a b=0 volume is not required (e.g. b=50/800 protocols work).
    method : ``"wls"`` (default), ``"ols"`` or ``"nls"``.
        ``ols`` fits ``ln S = ln S0 − b·ADC``; ``wls`` refits it with weights ``Ŝ²`` from the OLS
        prediction (the variance of ln S is ≈ σ²/S², Veraart et al. 2013, as DIPY's DTI WLS);
        ``nls`` starts from WLS and minimises ``Σ (S − S0·exp(−b·ADC))²`` with a vectorised
        Levenberg–Marquardt iteration.
    min_signal : a voxel is fitted only if every sample is finite and > ``min_signal`` (signal units).
        0 excludes zeros and negatives; set a noise-floor level to also exclude voxels whose high-b
        signal reached the floor (ADC would be underestimated there). Excluded voxels are NaN and counted.
    shell_tolerance : b-values within this distance (s/mm²) count as one shell.

    Notes
    -----
    With several volumes per b-value (directions or averages) every volume enters the fit; for OLS
    this equals fitting the geometric mean of each shell, i.e. the scanner's trace image.
    """

    def __init__(self, bvals, *, method: str = "wls", min_signal: float = 0.0,
                 shell_tolerance: float = DEFAULT_SHELL_TOLERANCE) -> None:
        if method not in ADC_METHODS:
            raise ConfigError(f"ADC method {method!r} is unknown; use one of {ADC_METHODS}")
        self.bvals = as_bvals(bvals, np.size(bvals))
        self.shells = group_shells(self.bvals, shell_tolerance)
        if self.shells.bvals.size < 2:
            raise AcquisitionError(
                f"ADC needs at least 2 distinct b-values, got {sorted(set(self.bvals.tolist()))} s/mm²"
            )
        self.method = method
        self.min_signal = float(min_signal)
        self.design = np.stack([np.ones_like(self.bvals), -self.bvals], axis=-1)

    def fit(self, signal: np.ndarray, mask: np.ndarray | None = None) -> AdcFit:
        """Fit every voxel of ``signal`` (``(..., n_volumes)``) inside ``mask`` (``signal.shape[:-1]``, bool)."""
        signal = np.asarray(signal, dtype=np.float64)
        if signal.shape[-1] != self.bvals.size:
            raise AcquisitionError(f"signal has {signal.shape[-1]} volumes but the model has {self.bvals.size} b-values")
        mask, samples = select_voxels(signal, mask)
        ok = valid_voxels(samples, self.min_signal)
        params = self._fit_samples(samples[ok])
        fitted = mask.copy()
        fitted[mask] = ok
        return AdcFit(model=self, fitted=fitted, params=params, n_excluded=int((~ok).sum()))

    def _fit_samples(self, samples: np.ndarray) -> np.ndarray:
        """(n, n_volumes) positive samples -> (n, 2) parameters ``(S0, ADC)``."""
        log_s = np.log(samples)
        params = weighted_log_linear(log_s, self.design, np.ones_like(log_s))
        if self.method != "ols":
            predicted = np.exp(params @ self.design.T)
            params = weighted_log_linear(log_s, self.design, predicted**2)
        params = np.stack([np.exp(params[:, 0]), params[:, 1]], axis=-1)
        if self.method == "nls":
            params = levenberg_marquardt_monoexp(samples, self.bvals, params)
        return params


def levenberg_marquardt_monoexp(samples: np.ndarray, bvals: np.ndarray, start: np.ndarray,
                                iterations: int = 50) -> np.ndarray:
    """Non-linear least squares of ``S = S0·exp(−b·D)`` for all voxels at once.

    Parameters
    ----------
    samples : (n, n_b) signal; bvals : (n_b,) s/mm²; start : (n, 2) initial ``(S0, D)``.

    Returns
    -------
    (n, 2) array ``(S0, D)``, D in mm²/s. Marquardt's diagonal scaling makes the step independent
    of the very different scales of S0 and D; each voxel keeps its own damping factor.
    """
    params = start.copy()
    damping = np.full(len(params), 1e-3)

    def residual_and_jacobian(p):
        decay = np.exp(-bvals[None, :] * p[:, 1:2])
        jac = np.stack([decay, -bvals[None, :] * p[:, :1] * decay], axis=-1)
        return samples - p[:, :1] * decay, jac

    residual, jac = residual_and_jacobian(params)
    cost = np.sum(residual**2, axis=1)
    for _ in range(iterations):
        jtj = np.einsum("vsp,vsq->vpq", jac, jac)
        scaled = jtj + damping[:, None, None] * np.einsum("vpp->vp", jtj)[:, :, None] * np.eye(2)
        step = np.linalg.solve(scaled, np.einsum("vsp,vs->vp", jac, residual)[..., None])[..., 0]
        trial = params + step
        trial_residual, trial_jac = residual_and_jacobian(trial)
        trial_cost = np.sum(trial_residual**2, axis=1)
        better = trial_cost < cost
        params[better], residual[better], jac[better], cost[better] = (
            trial[better], trial_residual[better], trial_jac[better], trial_cost[better])
        damping = np.where(better, damping / 10.0, damping * 10.0)
    return params


@dataclass(frozen=True, eq=False)
class AdcFit:
    """Result of :meth:`AdcModel.fit`. Maps have the voxel shape of the fitted signal; NaN where not fitted."""

    model: AdcModel
    fitted: np.ndarray
    """Bool map of the voxels that were fitted (inside the mask and valid signal)."""
    params: np.ndarray
    """``(n_fitted, 2)`` array ``(S0, ADC)`` of the fitted voxels, in ``fitted`` order."""
    n_excluded: int
    """Mask voxels left out because a sample was non-finite or <= ``min_signal`` (count)."""

    @cached_property
    def adc(self) -> np.ndarray:
        """ADC map, mm²/s (NaN outside the mask and at excluded voxels)."""
        return scatter(self.params[:, 1], self.fitted)

    @cached_property
    def s0(self) -> np.ndarray:
        """Fitted signal at b = 0, signal units (NaN where not fitted)."""
        return scatter(self.params[:, 0], self.fitted)

    @property
    def n_fitted(self) -> int:
        """Number of fitted voxels."""
        return int(self.fitted.sum())


def fit_adc(signal: np.ndarray, bvals, mask: np.ndarray | None = None, *, method: str = "wls",
            min_signal: float = 0.0) -> AdcFit:
    """Fit ADC (mm²/s) to ``signal`` (``(..., n_volumes)``, volumes last) with b-values ``bvals`` (s/mm²).

    Shortcut for ``AdcModel(bvals, method=..., min_signal=...).fit(signal, mask)``; see :class:`AdcModel`.
    """
    return AdcModel(bvals, method=method, min_signal=min_signal).fit(signal, mask)
