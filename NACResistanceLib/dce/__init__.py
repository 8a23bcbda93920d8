"""DCE quantification: time-intensity curves, semi-quantitative kinetic maps, functional tumour volume,
pharmacokinetic (Tofts, extended Tofts, Patlak) fits with population or measured AIFs.

Phases are on the LAST axis of numpy arrays; times in s from the pre-contrast phase.
"""

from __future__ import annotations

from .aif import GEORGIOU_2019, POPULATION_AIFS, georgiou_blood, parker_blood, plasma_concentration
from .curves import phase_array, roi_curve, time_intensity_curves
from .ftv import FunctionalTumorVolume, functional_tumor_volume
from .kinetics import CURVE_TYPES, KineticsFit, KineticsModel
from .pk import Aif, PkFit, PkModel
from .signal import concentration_from_signal, spgr_signal, t1_from_variable_flip_angles
from .tofts import MODELS, PARKER_2006, extended_tofts, model_concentration, parker_aif

__all__ = [
    "CURVE_TYPES",
    "GEORGIOU_2019",
    "MODELS",
    "PARKER_2006",
    "POPULATION_AIFS",
    "Aif",
    "PkFit",
    "PkModel",
    "concentration_from_signal",
    "georgiou_blood",
    "model_concentration",
    "parker_blood",
    "plasma_concentration",
    "spgr_signal",
    "t1_from_variable_flip_angles",
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
