"""Geometry of one synthetic patient: breasts, skin, fibroglandular tissue, tumour and its surroundings.

Every structure is a function of physical position (x, y, z in mm, LPS), so any grid can be
labelled: the DCE grid and the coarser DWI grid each sample the same anatomy at their own voxel
centres. The patient lies prone; the chest wall is at y >= 0 and the breasts extend anteriorly
(y < 0). The patient's left breast is at x > 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .fields import RandomField, random_field
from .protocol import Grid
from .tissues import BENIGN, CHEST_WALL, FAT, FIBROGLANDULAR, NECROSIS, OEDEMA, SKIN, TUMOR

SKIN_MM = 1.6
"""Skin thickness, mm."""
MAX_DEPTH_MM = 118.0
"""Largest anterior depth of a breast, mm (the field of view reaches 125 mm anterior of the chest wall)."""
REFERENCE_RADIUS_MM = 10.0
"""Radius of the spherical reference ROI in contralateral fibroglandular tissue, mm."""


def fibonacci_directions(n: int) -> np.ndarray:
    """``(n, 3)`` nearly uniform unit vectors on the sphere (Fibonacci lattice)."""
    k = np.arange(n) + 0.5
    polar = np.arccos(1.0 - 2.0 * k / n)
    azimuth = np.pi * (1.0 + 5.0**0.5) * k
    return np.stack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)], axis=1)


@dataclass(frozen=True)
class TumorShape:
    """An irregular (lobulated and spiculated) tumour: a star-shaped body around ``centre``.

    The boundary along unit direction ``u`` is at ``R(u) = radius_mm·(1 + Σ_j a_j·exp(κ_j·(u·v_j − 1)))``:
    broad bumps (small κ) are lobules, narrow ones (large κ) spicules.
    """

    centre: np.ndarray
    """(x, y, z) of the centre, mm."""
    radius_mm: float
    bump_directions: np.ndarray
    """``(n_bumps, 3)`` unit vectors v_j."""
    bump_amplitudes: np.ndarray
    bump_concentrations: np.ndarray
    necrosis_fraction: float
    """Normalised radius of the necrotic core (0 = none)."""
    oedema_mm: float
    """Thickness of peritumoral oedema outside the boundary, mm (0 = none)."""

    def boundary_mm(self, directions: np.ndarray) -> np.ndarray:
        """``R(u)`` for ``(n, 3)`` unit vectors, mm."""
        bumps = np.exp(self.bump_concentrations * (directions @ self.bump_directions.T - 1.0))
        return self.radius_mm * (1.0 + bumps @ self.bump_amplitudes)

    def normalised_radius(self, points: np.ndarray) -> np.ndarray:
        """``|p − centre| / R(u)`` for ``(n, 3)`` points: < 1 inside the tumour."""
        offset = points - self.centre
        distance = np.linalg.norm(offset, axis=1)
        directions = offset / np.maximum(distance, 1e-9)[:, None]
        return distance / self.boundary_mm(directions)

    def longest_diameter_mm(self) -> float:
        """Largest ``R(u) + R(−u)`` over 2000 directions, mm (the MRI longest diameter)."""
        directions = fibonacci_directions(2000)
        return float(np.max(self.boundary_mm(directions) + self.boundary_mm(-directions)))

    @property
    def extent_mm(self) -> float:
        """A radius that contains the tumour and its oedema, mm."""
        return float(self.radius_mm * (1.0 + self.bump_amplitudes.sum()) + self.oedema_mm + 1.0)

    def scaled(self, factor: float) -> TumorShape:
        """The same shape with every radius multiplied by ``factor`` (response to treatment)."""
        return replace(self, radius_mm=self.radius_mm * factor)


@dataclass(frozen=True)
class Anatomy:
    """The anatomy of one patient (all lengths in mm)."""

    breast_radii: tuple[float, float, float]
    """Semi-axes (lateral x, anterior depth y, cranio-caudal z) of each half-ellipsoid breast."""
    breast_offset_x: float
    """The breasts are centred at x = ±breast_offset_x, y = 0, z = 0."""
    fgt_field: RandomField
    fgt_density: float
    """Offset of the thresholded field: larger = denser fibroglandular tissue."""
    tumor: TumorShape
    reference_centre: np.ndarray
    benign: tuple[np.ndarray, float] | None
    """Centre and radius of a benign enhancing focus, or None."""

    def labels(self, points: np.ndarray) -> np.ndarray:
        """Tissue code (:mod:`.tissues`) at each of ``(n, 3)`` points; returns ``(n,)`` uint8."""
        labels = np.zeros(len(points), dtype=np.uint8)
        labels[(points[:, 1] >= 0.0) & (np.abs(points[:, 0]) < 150.0)] = CHEST_WALL
        inside, rho2, skin_distance = self._breast(points)
        index = np.flatnonzero(inside)
        labels[index] = FAT
        fgt = self.fgt_field(points[index]) + self.fgt_density - 2.5 * rho2[index] > 0.0
        near_reference = np.linalg.norm(points[index] - self.reference_centre, axis=1) < REFERENCE_RADIUS_MM + 4.0
        labels[index[fgt | near_reference]] = FIBROGLANDULAR
        labels[index[skin_distance[index] < SKIN_MM]] = SKIN
        self._lesions(points, labels, inside & (skin_distance >= SKIN_MM))
        return labels

    def _breast(self, points: np.ndarray):
        rx, ry, rz = self.breast_radii
        local = points.copy()
        local[:, 0] = np.abs(local[:, 0]) - self.breast_offset_x
        rho2 = (local[:, 0] / rx) ** 2 + (local[:, 1] / ry) ** 2 + (local[:, 2] / rz) ** 2
        gradient = 2.0 * np.sqrt((local[:, 0] / rx**2) ** 2 + (local[:, 1] / ry**2) ** 2 + (local[:, 2] / rz**2) ** 2)
        skin_distance = (1.0 - rho2) / np.maximum(gradient, 1e-9)
        return (rho2 <= 1.0) & (points[:, 1] < 0.0), rho2, skin_distance

    def _lesions(self, points: np.ndarray, labels: np.ndarray, breast_interior: np.ndarray) -> None:
        if self.benign is not None:
            centre, radius = self.benign
            labels[breast_interior & (np.linalg.norm(points - centre, axis=1) < radius)] = BENIGN
        box = np.flatnonzero(np.all(np.abs(points - self.tumor.centre) < self.tumor.extent_mm, axis=1))
        rho = self.tumor.normalised_radius(points[box])
        radial_excess = (rho - 1.0) * np.linalg.norm(points[box] - self.tumor.centre, axis=1) / np.maximum(rho, 1e-9)
        oedema = (rho >= 1.0) & (radial_excess < self.tumor.oedema_mm) & breast_interior[box]
        labels[box[oedema]] = OEDEMA
        labels[box[(rho < 1.0) & breast_interior[box]]] = TUMOR
        labels[box[(rho < self.tumor.necrosis_fraction) & breast_interior[box]]] = NECROSIS


def sample_anatomy(
    size_mm: float, side: str, heterogeneity: float, rng: np.random.Generator
) -> Anatomy:
    """Draw the anatomy of a patient whose tumour has longest diameter ``size_mm`` in breast ``side``."""
    tumor = _sample_tumor_shape(size_mm, heterogeneity, rng)
    margin = tumor.extent_mm + 12.0
    radii = (max(rng.uniform(55.0, 68.0), margin + 8.0), min(max(rng.uniform(70.0, 100.0), 2 * margin), MAX_DEPTH_MM),
             max(rng.uniform(50.0, 62.0), margin + 8.0))
    offset = radii[0] + rng.uniform(10.0, 16.0)
    sign = 1.0 if side == "left" else -1.0
    depth = min(rng.uniform(margin, max(margin + 1.0, 0.7 * radii[1])), radii[1] - tumor.extent_mm - 3.0)
    centre = np.array([
        sign * (offset + rng.uniform(-0.25, 0.25) * (radii[0] - margin)),
        -depth,
        rng.uniform(-0.3, 0.3) * (radii[2] - margin),
    ])
    tumor = replace(tumor, centre=centre)
    reference = np.array([-centre[0], -min(0.45 * radii[1], 35.0), -0.5 * centre[2]])
    return Anatomy(
        breast_radii=radii, breast_offset_x=offset, fgt_field=random_field(rng, 9.0, 24),
        fgt_density=float(rng.uniform(0.6, 1.6)), tumor=tumor, reference_centre=reference,
        benign=_sample_benign(rng, radii, offset, (centre, tumor.extent_mm), reference),
    )


def _sample_tumor_shape(size_mm: float, heterogeneity: float, rng: np.random.Generator) -> TumorShape:
    n_lobes, n_spicules = int(rng.integers(2, 6)), int(rng.integers(0, 9))
    directions = rng.normal(size=(n_lobes + n_spicules, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    amplitudes = np.concatenate([rng.uniform(0.12, 0.32, n_lobes), rng.uniform(0.3, 0.7, n_spicules)])
    concentrations = np.concatenate([rng.uniform(4.0, 10.0, n_lobes), rng.uniform(25.0, 70.0, n_spicules)])
    necrosis_probability = 1.0 / (1.0 + np.exp(-(heterogeneity + (size_mm - 35.0) / 10.0)))
    shape = TumorShape(
        centre=np.zeros(3), radius_mm=1.0, bump_directions=directions, bump_amplitudes=amplitudes,
        bump_concentrations=concentrations,
        necrosis_fraction=float(rng.uniform(0.25, 0.45)) if rng.random() < necrosis_probability else 0.0,
        oedema_mm=float(rng.uniform(2.0, 6.0)) if rng.random() < 0.4 else 0.0,
    )
    return replace(shape, radius_mm=size_mm / shape.longest_diameter_mm())


def _sample_benign(rng, radii, offset, tumor_ball, reference_centre):
    present = rng.random() < 0.3
    side = rng.choice([-1.0, 1.0])
    centre = np.array([side * offset + rng.uniform(-0.4, 0.4) * radii[0], -rng.uniform(0.2, 0.6) * radii[1],
                       rng.uniform(-0.4, 0.4) * radii[2]])
    radius = float(rng.uniform(2.5, 5.0))
    too_close = (np.linalg.norm(centre - tumor_ball[0]) < tumor_ball[1] + radius + 10.0
                 or np.linalg.norm(centre - reference_centre) < REFERENCE_RADIUS_MM + radius + 10.0)
    if not present or too_close:
        return None
    return centre, radius


def grid_points(grid: Grid) -> np.ndarray:
    """Physical (x, y, z) of every voxel centre of ``grid`` in numpy (z, y, x) order, ``(n, 3)`` float64."""
    axes = [o + s * np.arange(n) for o, s, n in zip(grid.origin, grid.spacing, grid.size)]
    z, y, x = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    return np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1)
