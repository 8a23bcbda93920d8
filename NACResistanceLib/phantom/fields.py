"""Spatially correlated Gaussian random fields that can be evaluated at any physical point.

A field is a sum of random Fourier modes (the spectral method of Shinozuka & Deodatis, Appl Mech
Rev 1991): ``f(p) = sqrt(2/M) Σ_m cos(k_m · p + φ_m)`` with ``k_m ~ N(0, I/ℓ²)`` and
``φ_m ~ U(0, 2π)``. Its mean is 0, its variance 1 and its correlation ``exp(−r²/(2ℓ²))`` (exact in
expectation over modes). Because it is a function of physical position, the DCE and the DWI grid
see the same field, each at its own voxel centres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RandomField:
    """A stationary Gaussian random field with a Gaussian correlation function."""

    wavevectors: np.ndarray
    """``(n_modes, 3)`` wave vectors, rad/mm, in (x, y, z) order."""
    phases: np.ndarray
    """``(n_modes,)`` phases, rad."""

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Field values at ``points``, an ``(n, 3)`` array of (x, y, z) positions in mm; returns ``(n,)``.

        Evaluated in float32 (about 1e-6 relative precision, four times faster than float64).
        """
        arguments = points.astype(np.float32) @ self.wavevectors.T.astype(np.float32)
        arguments += self.phases.astype(np.float32)
        return np.sqrt(2.0 / len(self.phases)) * np.cos(arguments).sum(axis=1, dtype=np.float64)


def random_field(rng: np.random.Generator, correlation_mm: float, n_modes: int = 48) -> RandomField:
    """Draw a field with correlation length ``correlation_mm`` (mm) from ``rng``."""
    wavevectors = rng.normal(0.0, 1.0 / correlation_mm, size=(n_modes, 3))
    phases = rng.uniform(0.0, 2.0 * np.pi, size=n_modes)
    return RandomField(wavevectors, phases)
