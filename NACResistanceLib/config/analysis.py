"""The analysis configuration: what ``analyze_exam`` computes (defaults: ``params/analysis.yaml``).

Files named inside an analysis file (``preprocessing``, ``radiomics_params``) are read when the
configuration is loaded and held as content: :meth:`AnalysisConfig.to_dict` carries no path, loads
again without the files, and its :attr:`~AnalysisConfig.sha256` changes exactly when the content does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .files import PARAMS_DIR, base_directory, defaults_with_overrides
from .hashing import parameter_hash
from .preprocessing import PreprocessingConfig, load_preprocessing_config
from .radiomics import RadiomicsParameters, load_radiomics_parameters
from .values import Converter, boolean, build_section, choice, number, optional, sequence, text

DEFAULTS_FILE = PARAMS_DIR / "analysis.yaml"
"""The one file holding every analysis default."""
MODES = ("auto", "required", "off")
RADIOMICS_MAPS = ("adc", "dki_md", "dce_ie", "dce_pe", "dce_ser", "dce_ttp", "dce_wash_in", "dce_washout")
ADC_METHODS = ("wls", "ols", "nls")
"""ADC fits: weighted log-linear, ordinary log-linear, non-linear least squares."""
RELATIVE_STATISTICS = ("mean", "median")
"""ROI statistics a relative value may use."""


@dataclass(frozen=True)
class DiffusionOptions:
    """``diffusion`` section of ``params/analysis.yaml`` (see the comments there)."""

    adc_method: str
    adc_bvalue_range: tuple[float, float]
    """Inclusive b-value range used for ADC, s/mm²."""
    min_signal: float
    percentiles: tuple[float, ...]
    robust_extreme_percentile: float
    mean_kurtosis: str
    tensor_kurtosis: str
    voxelwise_kurtosis_min_bmax: float
    """s/mm²."""
    relative_statistic: str


@dataclass(frozen=True)
class DceOptions:
    """``dce`` section of ``params/analysis.yaml`` (see the comments there)."""

    early_time_s: float
    late_time_s: float | None
    enhancement_threshold_pct: float
    curve_tolerance_pct: float
    ftv_background_pct: float
    timing_tolerance_s: float


@dataclass(frozen=True)
class PharmacokineticsOptions:
    """``pharmacokinetics`` section of ``params/analysis.yaml`` (see the comments there)."""

    mode: str
    model: str
    aif: str
    """``parker``, ``georgiou`` (population curves) or ``measured`` (the exam's arterial segment)."""
    hematocrit: float
    blood_t1_ms: float
    """Native T1 of arterial blood, ms (signal -> concentration of a measured AIF)."""
    aif_delay_range_s: tuple[float, float]
    """Bolus-arrival search range after the pre-contrast phase, s."""
    aif_delay_step_s: float
    """s."""
    t1_source: str
    """``assumed`` (``baseline_t1_ms`` everywhere) or ``map`` (the exam's T1 map, voxel by voxel)."""
    baseline_t1_ms: float
    """Assumed native T1, ms."""
    relaxivity_per_mm_s: float
    """s⁻¹·mM⁻¹."""
    max_vp_interval_s: float
    """s."""
    min_r_squared: float


@dataclass(frozen=True)
class PeritumoralOptions:
    """``peritumoral`` section of ``params/analysis.yaml`` (see the comments there)."""

    shells_mm: tuple[tuple[float, float], ...]
    """(inner, outer) distances from the tumour, mm."""
    breast_mask: str
    exclude_other_lesion: bool


@dataclass(frozen=True)
class MultiparametricOptions:
    """``multiparametric`` section of ``params/analysis.yaml`` (see the comments there)."""

    series: tuple[str, ...]
    """Names of the exam's extra series (``Exam.extra_series``) whose radiomics features are computed."""


@dataclass(frozen=True)
class AnalysisConfig:
    """What :func:`~NACResistanceLib.pipeline.analyze_exam` computes; defaults in ``params/analysis.yaml``."""

    preprocessing: PreprocessingConfig
    """Preprocessing for radiomics (content of the preprocessing file, defaults filled in)."""
    radiomics_params: RadiomicsParameters
    """pyradiomics parameters (content and SHA-256)."""
    radiomics: bool
    radiomics_maps: tuple[str, ...]
    map_margin_mm: float
    """Margin around the ROI boxes inside which maps are computed, mm."""
    diffusion: DiffusionOptions
    dce: DceOptions
    pharmacokinetics: PharmacokineticsOptions
    peritumoral: PeritumoralOptions
    multiparametric: MultiparametricOptions

    def to_dict(self) -> dict[str, Any]:
        """The whole content as plain JSON values (no file names); loads again with :func:`load_analysis_config`."""
        plain = {
            "preprocessing": self.preprocessing.to_dict(),
            "radiomics_params": self.radiomics_params.to_dict(),
            "radiomics": self.radiomics,
            "radiomics_maps": list(self.radiomics_maps),
            "map_margin_mm": self.map_margin_mm,
            "diffusion": vars(self.diffusion),
            "dce": vars(self.dce),
            "pharmacokinetics": vars(self.pharmacokinetics),
            "peritumoral": vars(self.peritumoral),
            "multiparametric": vars(self.multiparametric),
        }
        return json.loads(json.dumps(plain))

    @property
    def sha256(self) -> str:
        """SHA-256 of :meth:`to_dict` as canonical JSON: equal content, equal hash, wherever the files were."""
        return parameter_hash(self.to_dict())


_BVALUE = number(ge=0, unit="s/mm²")
DIFFUSION_SPECS: dict[str, Converter] = {
    "adc_method": choice(ADC_METHODS),
    "adc_bvalue_range": sequence(_BVALUE, length=2, check=lambda r: r[0] < r[1], check_text="[low, high] with low < high"),
    "min_signal": number(ge=0, unit="(signal units)"),
    "percentiles": sequence(number(ge=0, le=100)),
    "robust_extreme_percentile": number(ge=0, lt=50),
    "mean_kurtosis": choice(MODES),
    "tensor_kurtosis": choice(MODES),
    "voxelwise_kurtosis_min_bmax": number(gt=0, unit="s/mm²"),
    "relative_statistic": choice(RELATIVE_STATISTICS),
}
DCE_SPECS: dict[str, Converter] = {
    "early_time_s": number(gt=0, unit="s"),
    "late_time_s": optional(number(gt=0, unit="s")),
    "enhancement_threshold_pct": number(gt=0, unit="%"),
    "curve_tolerance_pct": number(ge=0, lt=100, unit="%"),
    "ftv_background_pct": number(ge=0, lt=100, unit="%"),
    "timing_tolerance_s": number(gt=0, unit="s"),
}
PK_MODELS = ("tofts", "extended_tofts", "patlak")
PK_AIFS = ("parker", "georgiou", "measured")
PK_T1_SOURCES = ("assumed", "map")
PHARMACOKINETICS_SPECS: dict[str, Converter] = {
    "mode": choice(MODES),
    "model": choice(PK_MODELS),
    "aif": choice(PK_AIFS),
    "hematocrit": number(ge=0, lt=1),
    "blood_t1_ms": number(gt=0, unit="ms"),
    "aif_delay_range_s": sequence(number(unit="s"), length=2, check=lambda r: r[0] <= r[1],
                                  check_text="[low, high] with low <= high"),
    "aif_delay_step_s": number(gt=0, unit="s"),
    "t1_source": choice(PK_T1_SOURCES),
    "baseline_t1_ms": number(gt=0, unit="ms"),
    "relaxivity_per_mm_s": number(gt=0, unit="s⁻¹·mM⁻¹"),
    "max_vp_interval_s": number(gt=0, unit="s"),
    "min_r_squared": number(le=1),
}
BREAST_MASKS = ("auto", "precontrast", "none")
_SHELL = sequence(number(ge=0, unit="mm"), length=2, check=lambda r: r[0] < r[1], check_text="[inner, outer] with inner < outer")
PERITUMORAL_SPECS: dict[str, Converter] = {
    "shells_mm": sequence(_SHELL, check=lambda shells: len({outer for _, outer in shells}) == len(shells),
                          check_text="no two shells ending at the same distance (their names peri<outer>mm)"),
    "breast_mask": choice(BREAST_MASKS),
    "exclude_other_lesion": boolean(),
}
_SERIES_NAME = re.compile(r"^[a-z][a-z0-9]*$")
MULTIPARAMETRIC_SPECS: dict[str, Converter] = {
    "series": sequence(text(), check=lambda names: len(set(names)) == len(names) and all(
        _SERIES_NAME.match(n) and not n.startswith(("dce", "adc", "dki", "pk", "peri")) for n in names),
        check_text="distinct lower-case names (letters, digits) not starting with dce, adc, dki, pk or peri"),
}
TOP_SPECS: dict[str, Converter] = {
    "radiomics": boolean(),
    "radiomics_maps": sequence(choice(RADIOMICS_MAPS), check=lambda m: len(set(m)) == len(m), check_text="no repeats"),
    "map_margin_mm": number(ge=0, unit="mm"),
}


def load_analysis_config(source: str | Path | Mapping[str, Any] | AnalysisConfig | None = None) -> AnalysisConfig:
    """Defaults of ``params/analysis.yaml`` overridden by ``source`` (YAML file, mapping, or ``None``).

    ``preprocessing`` may be ``null`` (the defaults), a YAML file name or a mapping of preprocessing keys;
    ``radiomics_params`` may be ``"seed"``, a YAML file name or a mapping (see
    :func:`~NACResistanceLib.config.radiomics.load_radiomics_parameters`). File names are relative to the
    folder of the analysis file (the current folder for a mapping). Both are read now and kept as content.

    Raises
    ------
    ConfigError
        Unknown key, wrong type or out-of-range value (file, key, value and allowed range named), or a
        referenced file that cannot be read.
    """
    if isinstance(source, AnalysisConfig):
        return source
    values, label = defaults_with_overrides(DEFAULTS_FILE, source, "analysis")
    base = base_directory(source)
    return AnalysisConfig(
        preprocessing=_preprocessing(values["preprocessing"], base, label),
        radiomics_params=_radiomics(values["radiomics_params"], base, label),
        diffusion=build_section(DiffusionOptions, DIFFUSION_SPECS, values["diffusion"], kind="analysis",
                                label=label, prefix="diffusion."),
        dce=build_section(DceOptions, DCE_SPECS, values["dce"], kind="analysis", label=label, prefix="dce."),
        pharmacokinetics=build_section(PharmacokineticsOptions, PHARMACOKINETICS_SPECS, values["pharmacokinetics"],
                                       kind="analysis", label=label, prefix="pharmacokinetics."),
        peritumoral=build_section(PeritumoralOptions, PERITUMORAL_SPECS, values["peritumoral"], kind="analysis",
                                  label=label, prefix="peritumoral."),
        multiparametric=build_section(MultiparametricOptions, MULTIPARAMETRIC_SPECS, values["multiparametric"],
                                      kind="analysis", label=label, prefix="multiparametric."),
        **build_section(dict, TOP_SPECS, values, kind="analysis", label=label),
    )


def _preprocessing(value: Any, base: Path, label: str) -> PreprocessingConfig:
    if isinstance(value, (str, Path)):
        path = Path(value) if Path(value).is_absolute() else base / value
        if not path.is_file():
            raise ConfigError(f"{label}: analysis key preprocessing names {path}, which does not exist; "
                              "give an existing preprocessing YAML file, a mapping of its keys, or null for the defaults")
        return load_preprocessing_config(path)
    if value is not None and not isinstance(value, Mapping):
        raise ConfigError(f"{label}: analysis key preprocessing = {value!r} is not allowed: expected null, "
                          "a preprocessing YAML file name or a mapping of preprocessing keys")
    try:
        return load_preprocessing_config(value)
    except ConfigError as error:
        raise ConfigError(f"{label}: analysis key preprocessing: {error}") from None


def _radiomics(value: Any, base: Path, label: str) -> RadiomicsParameters:
    try:
        return load_radiomics_parameters(value, base)
    except ConfigError as error:
        raise ConfigError(f"{label}: {error}") from None
