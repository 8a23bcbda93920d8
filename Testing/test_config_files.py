from __future__ import annotations

import pytest

from NACResistanceLib.config.files import defaults_with_overrides, merge_overrides, read_yaml_mapping
from NACResistanceLib.errors import ConfigError


def test_merge_overrides_recurses_and_names_unknown_nested_keys():
    defaults = {"a": 1, "section": {"b": 2, "c": 3}}
    merge_overrides(defaults, {"section": {"c": 30}}, "user.yaml", "analysis")
    assert defaults == {"a": 1, "section": {"b": 2, "c": 30}}
    with pytest.raises(ConfigError, match=r"unknown analysis key\(s\) \['section.x'\] in user.yaml"):
        merge_overrides(defaults, {"section": {"x": 0}}, "user.yaml", "analysis")
    with pytest.raises(ConfigError, match="study key section in a.yaml must be a mapping, got 5"):
        merge_overrides(defaults, {"section": 5}, "a.yaml", "study")


def test_read_yaml_mapping_refuses_a_list_and_names_the_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"preprocessing file {path} must hold a mapping"):
        read_yaml_mapping(path, "preprocessing")
    path.write_text("binWidth: 0.05\nname: Überschrift\n", encoding="utf-8")
    assert read_yaml_mapping(path, "preprocessing") == {"binWidth": 0.05, "name": "Überschrift"}


def test_defaults_with_overrides_reads_a_file_and_labels_it(tmp_path):
    defaults = tmp_path / "defaults.yaml"
    defaults.write_text("a: 1\nsection:\n  b: 2\n", encoding="utf-8")
    user = tmp_path / "user.yaml"
    user.write_text("section:\n  b: 5\n", encoding="utf-8")
    assert defaults_with_overrides(defaults, user, "analysis") == ({"a": 1, "section": {"b": 5}}, str(user))
    assert defaults_with_overrides(defaults, None, "analysis") == ({"a": 1, "section": {"b": 2}}, "<dict>")
