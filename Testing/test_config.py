"""The typed configuration layer (issue "Parameters as content").

References: the shipped YAML defaults; SHA-256 of canonical JSON computed here independently of the
library; the values and ranges each key documents in params/*.yaml.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path

import pytest
import yaml
from light_cohort import LIGHT_PARAMS

from NACResistanceLib.cli import main as cli_main
from NACResistanceLib.cohort import cache
from NACResistanceLib.config import (
    SEED_PARAMS,
    AnalysisConfig,
    DceOptions,
    DiffusionOptions,
    PreprocessingConfig,
    ValidationSettings,
    load_analysis_config,
    load_preprocessing_config,
    load_radiomics_parameters,
    load_study_config,
)
from NACResistanceLib.config.files import PARAMS_DIR
from NACResistanceLib.config.records import (
    features_parameters,
    read_parameters_record,
    require_same_parameters,
    write_parameters_text,
)
from NACResistanceLib.errors import ConfigError


def _sha256_of(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- defaults in one place
def test_every_dataclass_field_has_no_default_of_its_own():
    for cls in (AnalysisConfig, DiffusionOptions, DceOptions, PreprocessingConfig, ValidationSettings):
        for field in dataclasses.fields(cls):
            if field.name == "source":
                continue
            assert field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING, (cls, field)


def test_loaded_defaults_equal_the_yaml_files():
    analysis = yaml.safe_load((PARAMS_DIR / "analysis.yaml").read_text(encoding="utf-8"))
    loaded = load_analysis_config().to_dict()
    assert loaded["diffusion"]["min_signal"] == analysis["diffusion"]["min_signal"]
    assert loaded["dce"] == {k: (None if v is None else float(v)) for k, v in analysis["dce"].items()}
    seed = yaml.safe_load(SEED_PARAMS.read_text(encoding="utf-8"))
    assert loaded["radiomics_params"] == {"sha256": _sha256_of(seed), "content": seed}
    preprocessing = yaml.safe_load((PARAMS_DIR / "preprocessing.yaml").read_text(encoding="utf-8"))
    assert loaded["preprocessing"]["gaussian_sigma_mm"] == preprocessing["gaussian_sigma_mm"] == 1.0
    study = yaml.safe_load((PARAMS_DIR / "study.yaml").read_text(encoding="utf-8"))
    assert load_study_config().to_dict()["validation"]["cv_folds"] == study["validation"]["cv_folds"] == 10


# ----------------------------------------------------------------------------- types and ranges, one test per kind
BAD_VALUES = [
    # (kind, YAML text, key named, value shown, allowed range shown)
    ("analysis", "diffusion:\n  min_signal: true\n", "diffusion.min_signal", "True", "a number >= 0"),
    ("analysis", "dce:\n  early_time_s: -5\n", "dce.early_time_s", "-5", "a number > 0 s"),
    ("analysis", "diffusion:\n  adc_method: fast\n", "diffusion.adc_method", "'fast'", "one of 'wls', 'ols', 'nls'"),
    ("analysis", "radiomics_maps: [adc, pe]\n", "radiomics_maps", "['adc', 'pe']", "'dce_pe'"),
    ("analysis", "diffusion:\n  adc_bvalue_range: [1000, 0]\n", "diffusion.adc_bvalue_range", "[1000, 0]", "low < high"),
    ("preprocessing", "gaussian_sigma_mm: -1\n", "gaussian_sigma_mm", "-1", "a number >= 0 mm"),
    ("preprocessing", "min_roi_voxels: 2.5\n", "min_roi_voxels", "2.5", "a whole number >= 1"),
    ("preprocessing", "n4: 'yes'\n", "n4", "'yes'", "true or false"),
    ("preprocessing", "resample_spacing_mm: [1, 1]\n", "resample_spacing_mm", "[1, 1]", "a list of 3 values"),
    ("study", "validation:\n  cv_folds: 0.5\n", "validation.cv_folds", "0.5", "a whole number >= 2"),
    ("study", "validation:\n  level: 1.5\n", "validation.level", "1.5", "a number > 0 and < 1"),
    ("study", "split_date: 2023-13-45\n", "split_date", "'2023-13-45'", "YYYY-MM-DD"),
    ("study", "resistance:\n  min_rcb_class: RCB-2\n", "resistance.min_rcb_class", "'RCB-2'", "'RCB-II'"),
    ("study", "models:\n  clinical_candidates: [age]\n", "models.clinical_candidates", "['age']", "'age_years'"),
]


@pytest.mark.parametrize("kind, text, key, value, allowed", BAD_VALUES, ids=[row[2] for row in BAD_VALUES])
def test_a_wrong_type_or_range_names_file_key_value_and_allowed_range(tmp_path, kind, text, key, value, allowed):
    path = _write(tmp_path / f"my_{kind}.yaml", text)
    loader = {"analysis": load_analysis_config, "preprocessing": load_preprocessing_config,
              "study": load_study_config}[kind]
    with pytest.raises(ConfigError) as error:
        loader(path)
    message = str(error.value)
    assert str(path) in message and f"{kind} key {key} = {value}" in message and allowed in message, message


def test_a_bad_value_in_a_referenced_preprocessing_file_names_that_file(tmp_path):
    prep = _write(tmp_path / "prep.yaml", "gaussian_sigma_mm: fast\n")
    analysis = _write(tmp_path / "analysis.yaml", "preprocessing: prep.yaml\n")
    with pytest.raises(ConfigError, match=re.escape(f"{prep}: preprocessing key gaussian_sigma_mm = 'fast'")):
        load_analysis_config(analysis)


def test_pyradiomics_file_errors_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown section\(s\) \['settings'\]"):
        load_radiomics_parameters(_write(tmp_path / "r.yaml", "settings: {binWidth: 1}\n"))
    with pytest.raises(ConfigError, match="section setting .* must be a mapping"):
        load_radiomics_parameters(_write(tmp_path / "r.yaml", "setting: 5\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_analysis_config({"radiomics_params": str(tmp_path / "missing.yaml")})
    stored = load_radiomics_parameters("seed").to_dict()
    stored["content"]["setting"]["binWidth"] = 1.0
    with pytest.raises(ConfigError, match="does not match its content"):
        load_radiomics_parameters(stored)


def test_stepwise_entry_must_be_below_removal(tmp_path):
    path = _write(tmp_path / "study.yaml", "models:\n  p_enter: 0.2\n  p_remove: 0.1\n")
    with pytest.raises(ConfigError, match=r"models.p_enter = 0.2 .*below models.p_remove"):
        load_study_config(path)


# ----------------------------------------------------------------------------- referenced files become content
def test_referenced_files_are_held_as_content_and_round_trip_without_them(tmp_path):
    params = _write(tmp_path / "my_params.yaml", LIGHT_PARAMS.read_text(encoding="utf-8"))
    prep = _write(tmp_path / "prep.yaml", "gaussian_sigma_mm: 2.0\n")
    analysis = _write(tmp_path / "analysis.yaml", "radiomics_params: my_params.yaml\npreprocessing: prep.yaml\n")
    config = load_analysis_config(analysis)
    plain = config.to_dict()
    text = json.dumps(plain)
    assert str(tmp_path) not in text and "my_params" not in text and "prep.yaml" not in text
    assert plain["radiomics_params"]["content"] == yaml.safe_load(params.read_text(encoding="utf-8"))
    assert plain["radiomics_params"]["sha256"] == _sha256_of(plain["radiomics_params"]["content"])
    assert plain["preprocessing"]["gaussian_sigma_mm"] == 2.0
    assert config.sha256 == _sha256_of(plain)
    for path in (params, prep, analysis):
        path.unlink()
    assert load_analysis_config(plain) == config and load_analysis_config(plain).sha256 == config.sha256


def test_editing_a_referenced_file_changes_the_hash_and_touching_it_does_not(tmp_path):
    params = _write(tmp_path / "my_params.yaml", LIGHT_PARAMS.read_text(encoding="utf-8"))
    analysis = _write(tmp_path / "analysis.yaml", "radiomics_params: my_params.yaml\n")
    before = load_analysis_config(analysis).sha256
    os.utime(params, (1_000_000_000, 1_000_000_000))
    assert load_analysis_config(analysis).sha256 == before
    _write(params, params.read_text(encoding="utf-8").replace("binWidth: 0.25", "binWidth: 0.5"))
    after = load_analysis_config(analysis)
    assert after.sha256 != before and after.radiomics_params.parameters["setting"]["binWidth"] == 0.5


def test_cache_key_follows_the_content_of_referenced_files(tmp_path):
    params = _write(tmp_path / "my_params.yaml", LIGHT_PARAMS.read_text(encoding="utf-8"))
    analysis = _write(tmp_path / "analysis.yaml", "radiomics_params: my_params.yaml\n")
    image = _write(tmp_path / "dce.nrrd", "not read here, only hashed")
    row = {"patient_id": "P1", "timepoint": "baseline", "dce_phases": image.name}
    key = cache.exam_key(row, tmp_path, load_analysis_config(analysis).to_dict())
    os.utime(params, (1_000_000_000, 1_000_000_000))
    assert cache.exam_key(row, tmp_path, load_analysis_config(analysis).to_dict()) == key
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (moved / "renamed.yaml").write_text(params.read_text(encoding="utf-8"), encoding="utf-8")
    relocated = _write(moved / "analysis.yaml", "radiomics_params: renamed.yaml\n")
    assert cache.exam_key(row, tmp_path, load_analysis_config(relocated).to_dict()) == key
    _write(params, params.read_text(encoding="utf-8").replace("binWidth: 0.25", "binWidth: 0.1"))
    assert cache.exam_key(row, tmp_path, load_analysis_config(analysis).to_dict()) != key


# ----------------------------------------------------------------------------- records beside results
def test_parameters_record_round_trips_and_detects_edits(tmp_path):
    config = load_analysis_config({"radiomics_params": str(LIGHT_PARAMS)})
    record = _write(tmp_path / "analysis_parameters.json", write_parameters_text(config))
    assert read_parameters_record(record) == config
    assert features_parameters(_write(tmp_path / "features.csv", "patient_id\n")) == config
    edited = json.loads(record.read_text())
    edited["analysis"]["preprocessing"]["gaussian_sigma_mm"] = 2.0
    record.write_text(json.dumps(edited))
    with pytest.raises(ConfigError, match="edited after extraction"):
        read_parameters_record(record)
    record.unlink()
    with pytest.raises(ConfigError, match="has no analysis_parameters.json beside it"):
        features_parameters(tmp_path / "features.csv")


def test_other_parameters_are_refused_naming_the_differing_keys():
    model = load_analysis_config()
    other = load_analysis_config({"preprocessing": {"gaussian_sigma_mm": 2.0}, "dce": {"early_time_s": 120}})
    with pytest.raises(ConfigError) as error:
        require_same_parameters(model, other, expected_label="model m.json", actual_label="feature table f.csv")
    message = str(error.value)
    assert "feature table f.csv was extracted with other analysis parameters than model m.json" in message
    assert "preprocessing.gaussian_sigma_mm: 1.0 -> 2.0" in message and "dce.early_time_s: 150.0 -> 120.0" in message
    require_same_parameters(model, load_analysis_config(model.to_dict()), expected_label="a", actual_label="b")


# ----------------------------------------------------------------------------- nacresistance config
def test_config_show_prints_the_effective_configuration_and_its_hash(tmp_path, capsys):
    params = _write(tmp_path / "p.yaml", LIGHT_PARAMS.read_text(encoding="utf-8"))
    analysis = _write(tmp_path / "a.yaml", f"radiomics_params: {params.name}\ndce:\n  early_time_s: 120\n")
    assert cli_main(["config", "show", str(analysis)]) == 0
    out = capsys.readouterr().out
    expected = load_analysis_config(analysis)
    assert f"# sha256: {expected.sha256}" in out
    shown = yaml.safe_load(out)
    assert shown == expected.to_dict() and shown["dce"]["early_time_s"] == 120.0
    assert cli_main(["config", "show", "--kind", "study"]) == 0
    assert f"# sha256: {load_study_config().sha256}" in capsys.readouterr().out


def test_config_diff_lists_differing_keys_of_files_folders_and_models(tmp_path, capsys):
    a = _write(tmp_path / "a.yaml", "dce:\n  early_time_s: 120\n")
    b = _write(tmp_path / "b.yaml", "preprocessing:\n  gaussian_sigma_mm: 2\n")
    assert cli_main(["config", "diff", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "2 analysis key(s) differ" in out
    assert "dce.early_time_s: 120.0 -> 150.0" in out and "preprocessing.gaussian_sigma_mm: 1.0 -> 2.0" in out
    folder = tmp_path / "features"
    folder.mkdir()
    _write(folder / "analysis_parameters.json", write_parameters_text(load_analysis_config(a)))
    assert cli_main(["config", "diff", str(a), str(folder)]) == 0
    assert "same analysis parameters" in capsys.readouterr().out
    study = _write(tmp_path / "s.yaml", "validation:\n  cv_folds: 5\n")
    assert cli_main(["config", "diff", str(a), str(study)]) == 2
    assert "cannot compare analysis parameters" in capsys.readouterr().err
