"""Diffusion quantification: ADC, mean-signal (trace) kurtosis, kurtosis tensor, relative values.

Arrays carry the volumes on the LAST axis; b-values in s/mm²; diffusivities in mm²/s.
"""

from __future__ import annotations

from .adc import AdcFit, AdcModel, fit_adc
from .mean_kurtosis import (
    MeanKurtosisFit,
    MeanKurtosisModel,
    RoiMeanKurtosis,
    fit_mean_kurtosis,
    fit_roi_mean_kurtosis,
)
from .statistics import (
    MapStatistic,
    RelativeValue,
    described_map_statistics,
    map_statistics,
    relative_value,
    roi_values,
)
from .tensor_kurtosis import DkiFit, DkiModel, check_dki_acquisition, count_noncollinear, fit_dki

__all__ = [
    "AdcFit",
    "AdcModel",
    "DkiFit",
    "DkiModel",
    "MapStatistic",
    "MeanKurtosisFit",
    "MeanKurtosisModel",
    "RelativeValue",
    "RoiMeanKurtosis",
    "check_dki_acquisition",
    "count_noncollinear",
    "described_map_statistics",
    "fit_adc",
    "fit_dki",
    "fit_mean_kurtosis",
    "fit_roi_mean_kurtosis",
    "map_statistics",
    "relative_value",
    "roi_values",
]
