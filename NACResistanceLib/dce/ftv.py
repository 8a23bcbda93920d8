"""Functional tumour volume (FTV) with the I-SPY thresholds.

FTV is the volume of the tumour-ROI voxels that (1) enhance by at least ``pe_threshold_pct``
(70 %) at the early phase, E(t_early) = 100·(S_early − S0)/S0, and (2) are above a grey-level
background threshold, here a pre-contrast signal S0 >= ``background_pct`` % of the largest S0 in
the ROI, which removes low-signal voxels whose relative enhancement is noise.
Hylton et al., Radiology 2012;263:663–672 (ACRIN 6657 / I-SPY 1) and Radiology 2016;279:44–55.
The background level used by the trials' software is not a single published constant; it is a
configuration value here and is reported with the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kinetics import KineticsFit


@dataclass(frozen=True)
class FunctionalTumorVolume:
    """FTV of one tumour ROI."""

    volume_mm3: float
    """FTV, mm³."""
    n_voxels: int
    """Voxels counted (count)."""
    fraction: float
    """FTV voxels / analysed ROI voxels (dimensionless); NaN when no voxel was analysed."""
    pe_threshold_pct: float
    """Early-phase enhancement threshold, %."""
    background_pct: float
    """Background threshold, % of the ROI's largest pre-contrast signal."""


def functional_tumor_volume(kinetics: KineticsFit, voxel_volume_mm3: float, *, pe_threshold_pct: float = 70.0,
                            background_pct: float = 10.0) -> FunctionalTumorVolume:
    """FTV of the analysed voxels of ``kinetics`` (the tumour ROI), voxel volume in mm³.

    With no analysed voxel (all excluded, see :meth:`KineticsModel.fit`) the FTV is 0 mm³ and the
    fraction NaN (undefined).
    """
    s0 = kinetics.samples[:, 0]
    if s0.size == 0:
        return FunctionalTumorVolume(volume_mm3=0.0, n_voxels=0, fraction=float("nan"),
                                     pe_threshold_pct=float(pe_threshold_pct), background_pct=float(background_pct))
    early = kinetics.samples[:, kinetics.model.early]
    enhancing = 100.0 * (early - s0) / s0 >= pe_threshold_pct
    above_background = s0 >= background_pct / 100.0 * s0.max()
    n = int(np.sum(enhancing & above_background))
    return FunctionalTumorVolume(volume_mm3=n * float(voxel_volume_mm3), n_voxels=n,
                                 fraction=n / len(s0), pe_threshold_pct=float(pe_threshold_pct),
                                 background_pct=float(background_pct))
