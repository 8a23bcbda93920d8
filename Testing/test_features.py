"""features.extract: the 851-feature parameter file, provenance, parameter validation, no leaked global state."""

from __future__ import annotations

import collections
import logging

import pytest
import SimpleITK as sitk
import yaml

from NACResistanceLib.errors import ConfigError, ImageError
from NACResistanceLib.features import SEED_PARAMS, extract, params_hash
from NACResistanceLib.preprocessing import preprocess

EXPECTED_PER_CLASS = {"shape": 14, "firstorder": 18, "glcm": 24, "glrlm": 16, "glszm": 16, "gldm": 14, "ngtdm": 5}
WAVELET_BANDS = ("LLH", "LHL", "LHH", "HLL", "HLH", "HHL", "HHH", "LLL")


@pytest.fixture(scope="module")
def breast1(request):
    data = request.config.rootpath / "Testing" / "Data" / "pyradiomics"
    image = sitk.ReadImage(str(data / "breast1_image.nrrd"))
    mask = sitk.ReadImage(str(data / "breast1_label.nrrd"))
    return preprocess(image, mask, source="breast1_image.nrrd", mask_source="breast1_label.nrrd")


@pytest.fixture(scope="module")
def seed_features(breast1):
    return extract(breast1.image, breast1.mask, SEED_PARAMS, preprocessing_steps=breast1.steps)


def test_seed_params_give_851_features_per_class(seed_features):
    counts = collections.Counter(tuple(name.split("_")[:2]) for name in seed_features)
    for feature_class, n in EXPECTED_PER_CLASS.items():
        assert counts[("original", feature_class)] == n, feature_class
        for band in WAVELET_BANDS:
            expected = 0 if feature_class == "shape" else n
            assert counts[(f"wavelet-{band}", feature_class)] == expected, (band, feature_class)
    assert sum(counts.values()) == 851 == 14 + 18 + 75 + 744
    assert all(isinstance(v, float) for v in seed_features.values())


def test_resources_params_ship_the_same_file(request):
    shipped = request.config.rootpath / "Resources" / "params" / "seed_851.yaml"
    assert shipped.read_text() == SEED_PARAMS.read_text()


def test_provenance(seed_features, breast1):
    import radiomics

    from NACResistanceLib import __version__

    provenance = seed_features.provenance
    assert provenance["pyradiomics_version"] == radiomics.__version__
    assert provenance["library_version"] == __version__
    assert provenance["image_hash_sha1"] == sitk.Hash(breast1.image)
    assert provenance["mask_hash_sha1"] == sitk.Hash(breast1.mask)
    assert provenance["params_sha256"] == params_hash(yaml.safe_load(SEED_PARAMS.read_text()))
    assert [s["step"] for s in provenance["preprocessing_steps"]] == ["crop", "resample", "zscore", "gaussian"]


def test_params_as_dict_equal_the_file(breast1, seed_features):
    params = yaml.safe_load(SEED_PARAMS.read_text())
    params["imageType"] = {"Original": {}}
    from_dict = extract(breast1.image, breast1.mask, params)
    assert len(from_dict) == 107
    for name, value in from_dict.items():
        assert value == seed_features[name]


def test_invalid_params_name_the_file(tmp_path, breast1):
    path = tmp_path / "bad.yaml"
    path.write_text("setting:\n  binWidth: wide\nimageType:\n  Original: {}\n")
    with pytest.raises(ConfigError, match=r"invalid pyradiomics parameters .*bad\.yaml"):
        extract(breast1.image, breast1.mask, path)
    path.write_text("settings:\n  binWidth: 1\n")
    with pytest.raises(ConfigError, match=r"pyradiomics parameters: unknown section\(s\) \['settings'\] in pyradiomics parameters .*bad\.yaml"):
        extract(breast1.image, breast1.mask, path)


def test_pyradiomics_global_settings_do_not_leak(breast1):
    import radiomics

    coordinate = sitk.ProcessObject.GetGlobalDefaultCoordinateTolerance()
    direction = sitk.ProcessObject.GetGlobalDefaultDirectionTolerance()
    radiomics_logger = logging.getLogger("radiomics")
    before = [(h, h.level) for h in radiomics_logger.handlers], radiomics_logger.level
    pykwalify_handlers = list(logging.getLogger("pykwalify.core").handlers)
    params = {"setting": {"geometryTolerance": 0.5, "binWidth": 0.05}, "imageType": {"Original": {}},
              "featureClass": {"firstorder": None}}
    assert len(extract(breast1.image, breast1.mask, params)) == 18
    assert sitk.ProcessObject.GetGlobalDefaultCoordinateTolerance() == coordinate != 0.5
    assert sitk.ProcessObject.GetGlobalDefaultDirectionTolerance() == direction != 0.5
    assert ([(h, h.level) for h in radiomics_logger.handlers], radiomics_logger.level) == before
    assert logging.getLogger("pykwalify.core").handlers == pykwalify_handlers
    assert radiomics.handler in radiomics_logger.handlers  # pyradiomics' own state is left as it was


def test_mask_file_with_segment_name(tmp_path, data_dir):
    label_map = sitk.ReadImage(str(data_dir / "pyradiomics" / "breast1_label.nrrd"))
    label_map.SetMetaData("Segment0_Name", "tumor")
    label_map.SetMetaData("Segment0_LabelValue", "1")
    label_map.SetMetaData("Segment0_Layer", "0")
    segmentation = tmp_path / "breast1.seg.nrrd"
    sitk.WriteImage(label_map, str(segmentation))
    image = data_dir / "pyradiomics" / "breast1_image.nrrd"
    params = {"setting": {"binWidth": 25}, "imageType": {"Original": {}}, "featureClass": {"firstorder": None}}
    by_name = extract(image, segmentation, params, label="tumor")
    by_value = extract(sitk.ReadImage(str(image)), label_map, params, label=1)
    assert dict(by_name) == dict(by_value)
    assert by_name["original_firstorder_Mean"] == pytest.approx(131.12587412587413, rel=1e-12)  # baseline_firstorder.csv
    with pytest.raises(ConfigError, match=r"label must be an integer label value for an in-memory mask, got 'tumor'"):
        extract(sitk.ReadImage(str(image)), label_map, params, label="tumor")


def test_label_absent_from_an_in_memory_mask(breast1):
    params = {"setting": {"binWidth": 0.05}, "imageType": {"Original": {}}, "featureClass": {"firstorder": None}}
    with pytest.raises(ImageError, match=r"pyradiomics could not extract label 2: .*Label \(2\) not present in mask"):
        extract(breast1.image, breast1.mask, params, label=2)
