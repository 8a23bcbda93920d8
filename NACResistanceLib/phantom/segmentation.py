"""Reader outlines: the tumour, a contralateral reference ROI, and an optional second reader.

* Reader 1 outlines the viable enhancing tumour on the DCE grid and leaves out the necrotic core
  (as the seed's radiologists did).
* The reference ROI is a sphere of radius 10 mm in fibroglandular tissue of the contralateral breast
  (about 260 DWI voxels: enough to estimate its kurtosis from b <= 1000 within ~11%).
* Reader 2 (reproducibility) outlines the same tumour with a boundary that differs smoothly from the
  truth: the normalised radius is scaled by ``1 − bias + 0.07·f(p)`` where ``f`` is a random field
  (correlation length 5 mm) and ``bias ~ U(−0.03, 0.06)`` is the reader's tendency to draw larger
  outlines. This gives Dice coefficients of about 0.85-0.92 with reader 1, typical of manual breast
  tumour outlines.
"""

from __future__ import annotations

import numpy as np

from .anatomy import REFERENCE_RADIUS_MM, Anatomy
from .fields import random_field
from .tissues import AIR, CHEST_WALL, FIBROGLANDULAR, NECROSIS, TUMOR

TUMOR_LABEL, REFERENCE_LABEL = 1, 2
"""Label values of the segmentation files."""
SEGMENT_NAMES = {TUMOR_LABEL: "tumor", REFERENCE_LABEL: "reference"}
"""Segment name of each label value."""
UNDRAWABLE = (AIR, CHEST_WALL, NECROSIS)
"""Tissues reader 2 never includes in the tumour outline."""


def reader_one(anatomy: Anatomy, points: np.ndarray, tissues: np.ndarray) -> np.ndarray:
    """Label map (1 tumour, 2 reference, 0 elsewhere) of reader 1 on the grid of ``points``; ``(n,)`` uint8."""
    labels = np.zeros(len(points), dtype=np.uint8)
    labels[tissues == TUMOR] = TUMOR_LABEL
    box = np.flatnonzero(np.all(np.abs(points - anatomy.reference_centre) < REFERENCE_RADIUS_MM, axis=1))
    near = np.linalg.norm(points[box] - anatomy.reference_centre, axis=1) < REFERENCE_RADIUS_MM
    labels[box[near & (tissues[box] == FIBROGLANDULAR)]] = REFERENCE_LABEL
    return labels


def reader_two(anatomy: Anatomy, points: np.ndarray, tissues: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Label map of reader 2: a perturbed tumour outline, the same reference ROI; ``(n,)`` uint8."""
    labels = reader_one(anatomy, points, tissues)
    labels[labels == TUMOR_LABEL] = 0
    field = random_field(rng, 5.0, 24)
    bias = rng.uniform(-0.03, 0.06)
    tumor = anatomy.tumor
    box = np.flatnonzero(np.all(np.abs(points - tumor.centre) < tumor.extent_mm * 1.2, axis=1))
    rho = tumor.normalised_radius(points[box]) * (1.0 - bias + 0.07 * field(points[box]))
    drawable = ~np.isin(tissues[box], UNDRAWABLE) & (labels[box] == 0)
    labels[box[(rho < 1.0) & drawable]] = TUMOR_LABEL
    return labels
