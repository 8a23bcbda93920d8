"""DCE quantification: time-intensity curves, semi-quantitative kinetic maps, functional tumour volume.

Phases are on the LAST axis of numpy arrays; times in s from the pre-contrast phase.
"""

from __future__ import annotations

from .curves import phase_array, roi_curve, time_intensity_curves
from .ftv import FunctionalTumorVolume, functional_tumor_volume
from .kinetics import CURVE_TYPES, KineticsFit, KineticsModel
from .tofts import PARKER_2006, extended_tofts, parker_aif

__all__ = [
    "CURVE_TYPES",
    "PARKER_2006",
    "FunctionalTumorVolume",
    "KineticsFit",
    "KineticsModel",
    "extended_tofts",
    "functional_tumor_volume",
    "parker_aif",
    "phase_array",
    "roi_curve",
    "time_intensity_curves",
]
