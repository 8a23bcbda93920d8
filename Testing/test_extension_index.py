"""Readiness for the Slicer Extensions Index: the checks its CI runs on a submission, run on this repository.

Reference: Slicer/ExtensionsIndex ``scripts/check_description_files.py`` (read 2026-08) and the
description-file schema ``slicer-extension-catalog-entry-schema-v1.0.1.json`` of Slicer/Slicer: the
description file is JSON with LF line ends and only the schema's keys; its name (the extension name)
equals ``project()`` of the top-level CMakeLists.txt and does not start with "Slicer", while the
repository name does; ``scm_url`` is https; the category is a known one; ``EXTENSION_ICONURL`` and
``EXTENSION_SCREENSHOTURLS`` are literal http(s) image URLs (the CI reads CMakeLists.txt as text, so a
``${VARIABLE}`` is not expanded); a licence file is at the root; the repository is at most 100 MB.
The checks that need the network or GitHub settings (URLs reachable, the ``3d-slicer-extension``
topic) are the manual items of the checklist in docs/slicer.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DESCRIPTION = ROOT / "NACResistance.json"
SCHEMA_KEYS = {"$schema", "category", "scm_url", "scm_revision", "scm_type", "build_dependencies",
               "build_subdirectory", "enabled", "tier"}
"""Properties of schema v1.0.1 (``additionalProperties: false``); required: $schema, category, scm_url."""
SCHEMA_URL = "https://raw.githubusercontent.com/Slicer/Slicer/main/Schemas/slicer-extension-catalog-entry-schema-v1.0.1.json#"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def description() -> dict:
    return json.loads(DESCRIPTION.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cmake() -> str:
    return (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")


def _repository(description: dict) -> tuple[str, str]:
    """``(owner, repository)`` of ``scm_url``."""
    parts = urllib.parse.urlsplit(description["scm_url"]).path.strip("/").split("/")
    return parts[0], re.sub(r"\.git$", "", parts[1])


def test_description_file_follows_the_schema(description):
    assert b"\r" not in DESCRIPTION.read_bytes(), "the index accepts LF line ends only"
    assert set(description) <= SCHEMA_KEYS and {"$schema", "category", "scm_url"} <= set(description)
    assert description["$schema"] == SCHEMA_URL
    assert description["tier"] in (1, 3, 5) and isinstance(description["build_dependencies"], list)
    assert all(isinstance(description[k], str) for k in ("category", "scm_url", "scm_revision", "build_subdirectory"))
    assert description["build_subdirectory"] == "."  # not a superbuild


def test_names_of_extension_project_and_repository(description, cmake):
    extension = DESCRIPTION.stem
    project = re.findall(r"project\s*\(\s*([^\s\)\n\r]+)", cmake, re.IGNORECASE)[0]
    assert project == extension == "NACResistance" and not extension.lower().startswith("slicer")
    owner, repository = _repository(description)
    assert repository.startswith("Slicer") and owner
    assert urllib.parse.urlsplit(description["scm_url"]).scheme == "https"


def test_category_is_a_known_one_and_the_same_in_cmake(description, cmake):
    """"Quantification" is in the index's ACCEPTED_EXTENSION_CATEGORIES (2026-08)."""
    assert description["category"] == "Quantification"
    assert f'set(EXTENSION_CATEGORY "{description["category"]}")' in cmake


def _expected_url_lines(description: dict) -> list[str]:
    owner, repository = _repository(description)
    raw = f"https://raw.githubusercontent.com/{owner}/{repository}/{description['scm_revision']}"
    return [f'set(EXTENSION_HOMEPAGE "https://github.com/{owner}/{repository}#readme")',
            f'set(EXTENSION_ICONURL "{raw}/Resources/Icons/NACResistance.png")',
            f'set(EXTENSION_SCREENSHOTURLS "{raw}/Resources/Screenshots/NACResistance-panel.png")']


def test_icon_and_screenshot_urls_are_literal_raw_file_urls_of_scm_url(description, cmake):
    """The index CI's own regular expressions find literal https URLs of the repository named in scm_url."""
    icon = re.findall(r'set\s*\(EXTENSION_ICONURL\s*"([^"]+)"[ ]*\)', cmake, re.IGNORECASE | re.MULTILINE)
    shots = re.findall(r'set\s*\(EXTENSION_SCREENSHOTURLS\s*"([^"]+)"\)', cmake, re.IGNORECASE | re.MULTILINE)
    assert len(icon) == 1 and len(shots) == 1
    urls = [icon[0], *shots[0].split()]
    assert all(url.startswith("https://") and "${" not in url for url in urls), urls
    missing = [line for line in _expected_url_lines(description) if line not in cmake]
    assert not missing, "CMakeLists.txt does not match scm_url of NACResistance.json; use:\n" + "\n".join(missing)
    for url in urls:
        path = ROOT / url.split(f"/{description['scm_revision']}/", 1)[1]
        assert path.is_file() and path.read_bytes()[:8] == PNG_MAGIC, f"{url}: {path} is not a PNG in the repository"


def test_licence_at_the_root_and_repository_under_100_mb():
    assert (ROOT / "LICENSE").is_file()
    try:
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the size of the tracked files cannot be measured")
    tracked = [ROOT / name for name in files.decode().split("\0") if name]
    size = sum(p.stat().st_size for p in tracked if p.is_file())
    assert size < 100 * 1024 * 1024, f"tracked files are {size / 2**20:.1f} MB (index limit 100 MB)"
