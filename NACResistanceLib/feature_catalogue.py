"""What every feature column is: unit, IBSI identifier, the image (and filter) it was computed on, definition.

pyradiomics columns (``[<map>_]<image type>_<class>_<feature>``) are described from their name and the
analysis parameters: the IBSI code comes from ``params/ibsi_pyradiomics.tsv`` (pyradiomics' community
mapping checked row by row against the IBSI reference manual, see Testing/Data/ibsi/README.md); units
follow the preprocessing (z-scored images: intensities in SD of the whole image). The quantitative
columns (ADC, DKI, DCE kinetics, volumes) carry the unit and definition their stage wrote; "1" is the
UCUM unit of a dimensionless value. No description holds a file path. Research use only.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MAPPING_FILE = Path(__file__).parent / "params" / "ibsi_pyradiomics.tsv"
DIMENSIONLESS = "1"
"""UCUM unit of a dimensionless value (ratios, fractions, texture features)."""

RADIOMICS_NAME = re.compile(
    r"^(?:(?P<map>[a-z0-9_]+?)_)?(?P<image_type>original|wavelet-[LH]{3}|log-sigma-[0-9-]+-mm-3D|square|squareroot|"
    r"logarithm|exponential|gradient|lbp-[0-9A-Za-z-]+)_(?P<feature_class>shape2D|shape|firstorder|glcm|glrlm|glszm|"
    r"gldm|ngtdm)_(?P<feature>[0-9A-Za-z]+)$")

MAP_IMAGES = {"adc": ("ADC map", "mm²/s"), "dki_md": ("DKI mean diffusivity map", "mm²/s"),
              "dce_ie": ("DCE initial enhancement map", "%"), "dce_pe": ("DCE peak enhancement map", "%"),
              "dce_ser": ("DCE signal enhancement ratio map", DIMENSIONLESS), "dce_ttp": ("DCE time-to-peak map", "s"),
              "dce_wash_in": ("DCE wash-in map", "%/s"), "dce_washout": ("DCE washout map", "%")}
"""Parametric maps that can feed pyradiomics (analysis.yaml radiomics_maps): name and value unit."""

SHAPE_UNITS = {"MeshVolume": "mm³", "VoxelVolume": "mm³", "SurfaceArea": "mm²", "SurfaceVolumeRatio": "mm⁻¹",
               "Maximum3DDiameter": "mm", "Maximum2DDiameterSlice": "mm", "Maximum2DDiameterColumn": "mm",
               "Maximum2DDiameterRow": "mm", "MajorAxisLength": "mm", "MinorAxisLength": "mm",
               "LeastAxisLength": "mm"}
"""Shape features with a unit; the others (sphericity, compactness, elongation, flatness) are dimensionless."""
INTENSITY_FIRST_ORDER = {"Mean", "Median", "Minimum", "Maximum", "10Percentile", "90Percentile", "Range",
                         "InterquartileRange", "MeanAbsoluteDeviation", "RobustMeanAbsoluteDeviation",
                         "RootMeanSquared", "StandardDeviation"}
"""First-order features in the unit of the image intensity."""
SQUARED_FIRST_ORDER = {"Variance", "Energy"}
UCUM = {"mm": "mm", "mm²": "mm2", "mm³": "mm3", "mm⁻¹": "/mm", "mm²/s": "mm2/s", "s": "s", "%": "%", "%/s": "%/s",
        "1": "1", "SD": "{SD}", "SD²": "{SD}2", "SD²·mm³": "{SD}2.mm3", "bits": "{bit}", "a.u.": "{arbitrary unit}",
        "a.u.²": "{arbitrary unit}2", "s/mm²": "s/mm2", "mm³·%": "mm3.%"}
"""Display unit -> UCUM code (curly braces: UCUM annotations of units UCUM has no symbol for)."""

WAVELET_BANDS = {"L": "low-pass", "H": "high-pass"}


@dataclass(frozen=True)
class FeatureDescription:
    """One row of ``feature_dictionary.csv``."""

    feature: str
    unit: str
    ibsi_code: str
    """IBSI reference-manual identifier of the feature's definition; "" when IBSI defines no such feature."""
    image: str
    """The image and filter the value was computed from (e.g. "DCE ROI phase; wavelet coif1 LLH")."""
    description: str

    @property
    def ucum(self) -> str:
        """The unit as a UCUM code (for DICOM SR)."""
        return UCUM.get(self.unit, "{" + self.unit + "}")


@lru_cache(maxsize=1)
def ibsi_mapping() -> dict[tuple[str, str], dict[str, str]]:
    """(pyradiomics class, pyradiomics feature) -> the verified mapping row."""
    with MAPPING_FILE.open(encoding="utf-8", newline="") as handle:
        return {(row["pyradiomics_class"], row["pyradiomics_feature"]): row
                for row in csv.DictReader(handle, delimiter="\t")}


def intensity_unit(map_name: str | None, normalization: str) -> str:
    """Unit of the intensities pyradiomics saw: SD of the image after z-scoring, else the source's unit."""
    if normalization == "zscore":
        return "SD"
    return MAP_IMAGES[map_name][1] if map_name in MAP_IMAGES else "a.u."


PERITUMORAL_REGION = re.compile(r"^peri(?P<outer_mm>[0-9.]+)mm$")
"""Prefix of the features of a peritumoral shell (``preprocessing.peritumoral.shell_name``)."""


def _source_image(map_name: str | None) -> str:
    """The image pyradiomics read: the ROI phase, a parametric map, the ROI phase inside a shell, or a named series."""
    if not map_name:
        return "DCE ROI phase"
    if map_name in MAP_IMAGES:
        return MAP_IMAGES[map_name][0]
    shell = PERITUMORAL_REGION.match(map_name)
    if shell:
        return f"DCE ROI phase inside the peritumoral shell ending {shell['outer_mm']} mm outside the tumour"
    return f"{map_name} series (analysis.multiparametric.series)"


def _image_text(map_name: str | None, image_type: str, wavelet: str) -> str:
    image = _source_image(map_name)
    if image_type == "original":
        return f"{image}; no filter"
    if image_type.startswith("wavelet-"):
        bands = image_type.split("-", 1)[1]
        axes = ", ".join(f"{WAVELET_BANDS[b]} along {axis}" for b, axis in zip(bands, "xyz"))
        return f"{image}; wavelet {wavelet} level 1, sub-band {bands} ({axes})"
    return f"{image}; {image_type} filter (pyradiomics)"


def _radiomics_unit(feature_class: str, feature: str, intensity: str) -> str:
    if feature_class in ("shape", "shape2D"):
        return SHAPE_UNITS.get(feature, DIMENSIONLESS)
    if feature_class == "firstorder":
        if feature in INTENSITY_FIRST_ORDER:
            return intensity
        if feature in SQUARED_FIRST_ORDER:
            return intensity + "²"
        if feature == "TotalEnergy":
            return f"{intensity}²·mm³"
        if feature == "Entropy":
            return "bits"
    return DIMENSIONLESS  # texture features, skewness, kurtosis, uniformity


def describe_radiomics(name: str, *, normalization: str = "zscore", wavelet: str = "coif1",
                       bin_width: float | None = None) -> FeatureDescription | None:
    """The description of a pyradiomics column, or None when ``name`` is not one."""
    match = RADIOMICS_NAME.match(name)
    if match is None:
        return None
    map_name, image_type = match["map"], match["image_type"]
    feature_class, feature = match["feature_class"], match["feature"]
    intensity = intensity_unit(map_name, normalization)
    row = ibsi_mapping().get((feature_class, feature), {})
    code = row.get("ibsi_code", "")
    definition = f"IBSI {row['ibsi_feature'].lower()} ({code})" if code else "pyradiomics definition"
    note = f"; {row['note']}" if row.get("note") else ""
    binned = feature_class not in ("shape", "shape2D") and (feature_class != "firstorder" or feature in
                                                             ("Entropy", "Uniformity"))
    discretisation = f"; grey levels: fixed bin width {bin_width:g} {intensity}" if binned and bin_width else ""
    region = "the peritumoral shell" if map_name and PERITUMORAL_REGION.match(map_name) else "the tumour mask"
    description = (f"pyradiomics {feature_class} {feature}: {definition}{note}{discretisation}; computed on the "
                   f"preprocessed image inside {region}")
    return FeatureDescription(name, _radiomics_unit(feature_class, feature, intensity), code,
                              _image_text(map_name, image_type, wavelet), description)


QUANTITY_IMAGES = (("adc_", "ADC map (DWI, b-values of analysis.diffusion.adc_bvalue_range)"),
                   ("dki_tensor_", "DWI; diffusion kurtosis tensor fit (DIPY)"),
                   ("dki_", "DWI; mean-signal (trace) kurtosis fit"),
                   ("dce_ftv", "DCE series; functional tumour volume"),
                   ("dce_curve_", "DCE series; BI-RADS curve type per voxel"),
                   ("dce_", "DCE series; kinetic maps"),
                   ("pk_", "DCE series (and the exam's T1 map and arterial segment when analysis.pharmacokinetics "
                           "uses them); pharmacokinetic model fit (analysis.pharmacokinetics)"),
                   ("peri", "peritumoral shell (analysis.peritumoral); mean of a parametric map"),
                   ("tumor_volume", "tumour segmentation"))


def describe_quantity(name: str, unit: str, description: str) -> FeatureDescription:
    """The description of a quantitative column from the unit and definition its stage wrote."""
    image = next((text for prefix, text in QUANTITY_IMAGES if name.startswith(prefix)), "exam images")
    return FeatureDescription(name, unit or DIMENSIONLESS, "", image, _without_paths(description))


def _without_paths(text: str) -> str:
    """A description with any file path left out (a path names a patient's files)."""
    return re.sub(r"(?:[A-Za-z]:)?[\\/][^\s,;()]*[\\/][^\s,;()]*", "<file>", text)


def describe(name: str, unit: str = "", description: str = "", *, analysis: dict | None = None) -> FeatureDescription:
    """The description of any feature column; ``analysis`` is ``AnalysisConfig.to_dict()`` (shipped defaults if None)."""
    normalization, wavelet, bin_width = _radiomics_settings(analysis)
    radiomics = describe_radiomics(name, normalization=normalization, wavelet=wavelet, bin_width=bin_width)
    return radiomics if radiomics is not None else describe_quantity(name, unit, description)


def _radiomics_settings(analysis: dict | None) -> tuple[str, str, float | None]:
    if analysis is None:
        from .config import load_analysis_config

        analysis = load_analysis_config().to_dict()
    normalization = str((analysis.get("preprocessing") or {}).get("normalization", "zscore"))
    radiomics = analysis.get("radiomics_params") or {}
    parameters = radiomics.get("content", radiomics) if isinstance(radiomics, dict) else {}
    wavelet = ((parameters.get("imageType") or {}).get("Wavelet") or {}).get("wavelet", "coif1") \
        if isinstance(parameters, dict) else "coif1"
    setting = parameters.get("setting") or {} if isinstance(parameters, dict) else {}
    return normalization, str(wavelet), setting.get("binWidth")


def dictionary_rows(names_units_descriptions, analysis: dict | None = None) -> list[FeatureDescription]:
    """Descriptions of ``(name, unit, description)`` triples, in order."""
    return [describe(name, unit, text, analysis=analysis) for name, unit, text in names_units_descriptions]
