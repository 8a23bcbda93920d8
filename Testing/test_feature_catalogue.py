"""Every feature column described: unit, IBSI identifier checked against the IBSI manual, image, no file paths.

References: the IBSI reference manual's identifiers (Testing/Data/ibsi/ibsi_manual_identifiers.tsv, copied
from the manual's source with attribution) and the 851 columns pyradiomics computes with the seed parameters.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from NACResistanceLib.cohort.runner import feature_dictionary
from NACResistanceLib.config import load_analysis_config
from NACResistanceLib.feature_catalogue import MAPPING_FILE, describe, ibsi_mapping

DATA = Path(__file__).parent / "Data" / "ibsi"
WAVELET_BANDS = ["LLL", "LLH", "LHL", "LHH", "HLL", "HLH", "HHL", "HHH"]


def _tsv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def seed_feature_names() -> list[str]:
    """The 851 columns of the seed parameter file: shape on the original image, the rest on 9 images."""
    from radiomics import getFeatureClasses

    classes = getFeatureClasses()
    enabled = {c: [n for n, deprecated in classes[c].getFeatureNames().items() if not deprecated]
               for c in ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")}
    names = [f"original_shape_{n}" for n in enabled["shape"]]
    for image in ["original"] + [f"wavelet-{b}" for b in WAVELET_BANDS]:
        names += [f"{image}_{c}_{n}" for c in enabled if c != "shape" for n in enabled[c]]
    return names


def test_every_mapped_code_is_the_manuals_code_for_that_feature():
    manual = {(r["ibsi_family"], r["ibsi_feature"]): r["ibsi_code"] for r in _tsv(DATA / "ibsi_manual_identifiers.tsv")}
    rows = _tsv(MAPPING_FILE)
    coded = [r for r in rows if r["ibsi_code"]]
    assert len(coded) >= 95
    for row in coded:
        assert manual[(row["ibsi_family"], row["ibsi_feature"])] == row["ibsi_code"], row
    assert MAPPING_FILE.read_bytes() == (DATA / "ibsi_pyradiomics_verified.tsv").read_bytes()


@pytest.mark.parametrize(("name", "code"), [("original_glcm_Idm", "WF0Z"), ("original_glcm_Idmn", "1QCO"),
                                            ("original_glcm_Idn", "NDRX"), ("original_glcm_Id", "IB1Z"),
                                            ("original_glszm_LowGrayLevelZoneEmphasis", "XMSY"),
                                            ("original_glszm_ZoneEntropy", "GU8N"),
                                            ("original_glszm_SmallAreaLowGrayLevelEmphasis", "5RAI"),
                                            ("original_firstorder_Kurtosis", ""), ("original_firstorder_Mean", "Q4LE")])
def test_rows_the_community_mapping_got_wrong_are_corrected(name, code):
    assert describe(name).ibsi_code == code


def test_the_851_seed_columns_all_have_a_unit_an_image_and_pyradiomics_names_match_the_mapping():
    names = seed_feature_names()
    assert len(names) == 851
    mapping = ibsi_mapping()
    analysis = load_analysis_config().to_dict()
    for name in names:
        row = describe(name, analysis=analysis)
        assert row.unit and row.image, name
        image, feature_class, feature = name.split("_", 2)
        assert (feature_class, feature) in mapping, name  # every computed feature is in the verified table
    units = {n: describe(n, analysis=analysis).unit for n in names}
    assert units["original_shape_MeshVolume"] == "mm³" and units["original_shape_SurfaceArea"] == "mm²"
    assert units["original_shape_Maximum3DDiameter"] == "mm" and units["original_shape_Sphericity"] == "1"
    assert units["original_firstorder_Mean"] == "SD" and units["wavelet-HHH_firstorder_Variance"] == "SD²"
    assert units["original_glcm_Contrast"] == "1" and units["original_firstorder_Entropy"] == "bits"
    assert "wavelet coif1" in describe("wavelet-LLH_glrlm_RunEntropy").image


def _names(entry: dict) -> dict[str, tuple[str, str]]:
    """A cache entry's feature names with their (unit, description), as the cohort table writer collects them."""
    return {n: (entry["units"].get(n, ""), entry["descriptions"].get(n, "")) for n in entry["features"]}


def test_dictionary_has_every_column_described_and_no_file_paths():
    paths = "pyradiomics, /data/cohort/P001/dce/phase_02.nii.gz"
    entry = {"features": {"original_firstorder_Mean": 0.1, "tumor_volume_mm3": 1000.0, "adc_mean": 1e-3,
                          "adc_rADC": 0.8, "dce_ttp_mean": 120.0, "dce_pe_mean": 150.0,
                          "adc_original_glcm_Idm": 0.3},
             "units": {"tumor_volume_mm3": "mm³", "adc_mean": "mm²/s", "dce_ttp_mean": "s", "dce_pe_mean": "%"},
             "descriptions": {"original_firstorder_Mean": paths, "adc_original_glcm_Idm": paths,
                              "adc_mean": r"mean ADC of C:\data\P001\dwi.nii.gz"}}
    table = feature_dictionary(_names(entry), load_analysis_config().to_dict()).set_index("feature")
    assert list(table.columns) == ["unit", "ibsi_code", "image", "description"]
    assert (table["unit"] != "").all()
    assert table.loc["adc_rADC", "unit"] == "1" and table.loc["dce_ttp_mean", "unit"] == "s"
    assert table.loc["adc_original_glcm_Idm", "image"] == "ADC map; no filter"
    assert not table["description"].str.contains("P001|nii").any()


def test_feature_dictionary_of_a_real_table_is_read_back(tmp_path):
    entry = {"features": {"original_shape_VoxelVolume": 5.0}, "units": {}, "descriptions": {}}
    table = feature_dictionary(_names(entry))
    table.to_csv(tmp_path / "d.csv", index=False)
    back = pd.read_csv(tmp_path / "d.csv", keep_default_na=False)
    assert back.loc[0, "ibsi_code"] == "YEKZ" and back.loc[0, "unit"] == "mm³"
