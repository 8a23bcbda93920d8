"""Voxel-wise tumour parameters: per-patient means modulated by spatially correlated random fields.

With ``σ`` the patient's field strength (``Biology.field_sd``, which grows with latent heterogeneity)
and ``f1..f5`` independent unit random fields (correlation length 4 mm) evaluated at the voxel::

    Ktrans = Ktrans_patient·exp(σ·f1)          ve = clip(ve_patient·exp(0.6σ·f2), 0.05, 0.9)
    vp = clip(vp_patient·exp(σ·f3), 0.002, 0.2)  D = D_patient·exp(0.5σ·f4)
    K = clip(K_patient·exp(0.5σ·f5), 0.1, 2.5)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .biology import Biology
from .fields import RandomField, random_field

CORRELATION_MM = 4.0
"""Correlation length of the intratumoral random fields, mm."""
PARAMETERS = ("ktrans_per_min", "ve", "vp", "d_mm2_s", "kurtosis")


@dataclass(frozen=True)
class TumorFields:
    """The five unit random fields of one patient's tumour."""

    fields: tuple[RandomField, ...]

    def parameters(self, biology: Biology, points: np.ndarray) -> dict[str, np.ndarray]:
        """Parameters at ``(n, 3)`` tumour points (x, y, z mm); each value an ``(n,)`` array."""
        sigma = biology.field_sd
        f = [field(points) for field in self.fields]
        return {
            "ktrans_per_min": biology.ktrans_per_min * np.exp(sigma * f[0]),
            "ve": np.clip(biology.ve * np.exp(0.6 * sigma * f[1]), 0.05, 0.9),
            "vp": np.clip(biology.vp * np.exp(sigma * f[2]), 0.002, 0.2),
            "d_mm2_s": biology.d_mm2_s * np.exp(0.5 * sigma * f[3]),
            "kurtosis": np.clip(biology.kurtosis * np.exp(0.5 * sigma * f[4]), 0.1, 2.5),
        }


def sample_tumor_fields(rng: np.random.Generator) -> TumorFields:
    """Draw the five fields of one tumour from ``rng``."""
    return TumorFields(tuple(random_field(rng, CORRELATION_MM, 48) for _ in PARAMETERS))
