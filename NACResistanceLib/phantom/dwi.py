"""DWI signal: the diffusion kurtosis model, optional anisotropy, Rician noise, scanner ADC map.

* Trace-weighted (direction-averaged) signal: ``S(b) = S0·exp(−b·D + b²·D²·K/6)``
  (Jensen et al., MRM 2005), b in s/mm², D in mm²/s.
* Tensor protocol: an axially symmetric diffusion tensor with eigenvalues
  ``D·(1 + 2a, 1 − a, 1 − a)`` around a principal direction ``e`` and an isotropic kurtosis tensor
  ``W_ijkl = K·(δij δkl + δik δjl + δil δjk)/3``, so along gradient ``g``:
  ``D(g) = D·(1 − a + 3a·(g·e)²)`` and ``S(g, b) = S0·exp(−b·D(g) + b²·D²·K/6)``. The apparent
  kurtosis is ``K(g) = K·D²/D(g)²``: mean kurtosis MK = mean of K(g) over the sphere, axial
  ``AK = K·D²/λ1²``, radial ``RK = K·D²/λ⊥²``.
* Rician magnitude noise: ``|S + σ(n1 + i·n2)|`` with ``σ = S0_FGT / SNR``.
"""

from __future__ import annotations

import numpy as np

from .anatomy import fibonacci_directions


def kurtosis_signal(s0: np.ndarray, d_mm2_s: np.ndarray, kurtosis: np.ndarray, bvals) -> np.ndarray:
    """Noise-free signal of ``(n,)`` voxels at ``(n_b,)`` b-values (s/mm²); returns ``(n, n_b)``."""
    b = np.asarray(bvals, dtype=np.float64)[None, :]
    d = np.asarray(d_mm2_s, dtype=np.float64)[:, None]
    k = np.asarray(kurtosis, dtype=np.float64)[:, None]
    return np.asarray(s0, dtype=np.float64)[:, None] * np.exp(-b * d + b**2 * d**2 * k / 6.0)


def tensor_signal(s0, d_mm2_s, kurtosis, anisotropy, principal, bvals, bvecs) -> np.ndarray:
    """Noise-free signal of ``(n,)`` voxels with ``(n, 3)`` principal directions; returns ``(n, n_volumes)``.

    ``bvals`` is ``(n_volumes,)`` s/mm², ``bvecs`` ``(n_volumes, 3)`` unit vectors (any for b = 0).
    """
    b = np.asarray(bvals, dtype=np.float64)[None, :]
    d = np.asarray(d_mm2_s, dtype=np.float64)[:, None]
    a = np.asarray(anisotropy, dtype=np.float64)[:, None]
    cosine2 = (np.asarray(principal, dtype=np.float64) @ np.asarray(bvecs, dtype=np.float64).T) ** 2
    apparent = d * (1.0 - a + 3.0 * a * cosine2)
    k = np.asarray(kurtosis, dtype=np.float64)[:, None]
    return np.asarray(s0, dtype=np.float64)[:, None] * np.exp(-b * apparent + b**2 * d**2 * k / 6.0)


def tensor_kurtosis_metrics(kurtosis: float, anisotropy: float) -> dict[str, float]:
    """True MK, AK and RK of the tensor model above (MK averaged over 4000 directions)."""
    cosine2 = fibonacci_directions(4000)[:, 2] ** 2
    ratio = 1.0 - anisotropy + 3.0 * anisotropy * cosine2
    return {
        "mk": float(np.mean(kurtosis / ratio**2)),
        "ak": float(kurtosis / (1.0 + 2.0 * anisotropy) ** 2),
        "rk": float(kurtosis / (1.0 - anisotropy) ** 2),
    }


def add_rician_noise(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitude of the signal plus complex Gaussian noise of standard deviation ``sigma`` per channel.

    Computed in the precision of ``signal`` (float32 or float64). Where the noise-free signal is
    exactly 0 (air) the magnitude is Rayleigh distributed and is drawn as ``sigma·sqrt(−2 ln U)``
    from one uniform number, the same distribution at a third of the cost of two normals.
    """
    dtype = signal.dtype if signal.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    scale = dtype.type(sigma)
    zero = signal == 0
    out = np.empty(signal.shape, dtype=dtype)
    out[zero] = scale * np.sqrt(-2.0 * np.log1p(-rng.random(int(zero.sum()), dtype=dtype)))
    tissue = signal[~zero].astype(dtype)
    real = tissue + scale * rng.standard_normal(tissue.shape, dtype=dtype)
    imaginary = scale * rng.standard_normal(tissue.shape, dtype=dtype)
    out[~zero] = np.sqrt(real * real + imaginary * imaginary)
    return out


def gradient_table(shells, n_directions: int) -> tuple[np.ndarray, np.ndarray]:
    """b = 0 plus ``n_directions`` directions (Fibonacci half-sphere) per shell: ``(bvals, bvecs)``."""
    directions = fibonacci_directions(2 * n_directions)
    directions = directions[directions[:, 2] > 0][:n_directions]
    bvals = np.concatenate([[0.0], np.repeat(np.asarray(shells, dtype=np.float64), n_directions)])
    bvecs = np.concatenate([[[0.0, 0.0, 0.0]], np.tile(directions, (len(shells), 1))])
    return bvals, bvecs


def scanner_adc_um2_s(signal: np.ndarray, bvals, minimum_b0: float) -> np.ndarray:
    """Mono-exponential ADC as scanners store it, 10⁻⁶ mm²/s, from ``(..., n_b)`` signals.

    Least-squares fit of ``log S = log S0 − b·ADC`` over the b-values <= 1000 s/mm²; voxels whose
    b = 0 signal is below ``minimum_b0`` (background, suppressed fat) are 0, values are clipped to
    0..5000 and rounded to integers.
    """
    b = np.asarray(bvals, dtype=np.float64)
    used = b <= 1000.0
    log_signal = np.log(np.maximum(signal[..., used], 1e-3))
    centred = b[used] - b[used].mean()
    slope = (log_signal * centred).sum(axis=-1) / (centred**2).sum()
    adc = np.clip(-slope * 1e6, 0.0, 5000.0)
    return np.where(signal[..., np.argmin(b)] >= minimum_b0, np.round(adc), 0.0)
