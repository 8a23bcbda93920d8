"""Regenerate the file lists of the Slicer CMake files from what is on disk.

A Slicer extension packages only the files its CMake lists name, so every library module, data file
and module resource must be listed. Run this after adding, removing or renaming a file:

    python tools/update_cmake_lists.py           # rewrite the lists
    python tools/update_cmake_lists.py --check   # exit 1 and show the difference if they are stale

Each list sits between ``# BEGIN generated: <block>`` and ``# END generated: <block>`` lines; the
rest of each CMake file is left as written. The output is sorted, so it does not depend on the order
in which the file system returns names. ``Testing/test_slicer_module.py`` fails when the lists and
the disk disagree.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = "NACResistanceLib"
MODULE = "NACResistance"
IGNORED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
IGNORED_SUFFIXES = {".pyc", ".pyo"}


def _files(folder: Path) -> list[Path]:
    """Every file below ``folder`` except caches, compiled Python, hidden files and CMakeLists.txt."""
    found = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if (path.is_file() and path.name != "CMakeLists.txt" and path.suffix not in IGNORED_SUFFIXES
                and not IGNORED_PARTS.intersection(relative.parts)
                and not any(part.startswith(".") for part in relative.parts)):
            found.append(relative)
    return sorted(found, key=lambda p: p.as_posix())


def expected_blocks(root: Path = ROOT) -> dict[tuple[str, str], list[str]]:
    """``(CMake file relative to root, block name) -> sorted list of entries`` from the disk."""
    library = _files(root / LIBRARY)
    resources = _files(root / MODULE / "Resources")
    return {
        (f"{LIBRARY}/CMakeLists.txt", "scripts"): [p.as_posix() for p in library if p.suffix == ".py"],
        (f"{LIBRARY}/CMakeLists.txt", "resources"): [p.as_posix() for p in library if p.suffix != ".py"],
        (f"{MODULE}/CMakeLists.txt", "resources"): [f"Resources/{p.as_posix()}" for p in resources],
    }


def _block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?P<head>^[ \t]*# BEGIN generated: {re.escape(name)}[^\n]*\n)(?P<body>.*?)"
        rf"(?P<tail>^[ \t]*# END generated: {re.escape(name)}[^\n]*$)",
        re.MULTILINE | re.DOTALL,
    )


def listed_entries(text: str, name: str) -> list[str]:
    """The entries currently listed in block ``name`` of a CMake file's text."""
    match = _block_pattern(name).search(text)
    if match is None:
        raise ValueError(f"no '# BEGIN generated: {name}' ... '# END generated: {name}' block")
    return [line.strip() for line in match.group("body").splitlines() if line.strip()]


def render_block(text: str, name: str, entries: list[str]) -> str:
    """``text`` with block ``name`` replaced by ``entries``, indented like its BEGIN line."""
    match = _block_pattern(name).search(text)
    if match is None:
        raise ValueError(f"no '# BEGIN generated: {name}' ... '# END generated: {name}' block")
    indent = re.match(r"[ \t]*", match.group("head")).group(0)
    body = "".join(f"{indent}{entry}\n" for entry in entries)
    return text[: match.start("body")] + body + text[match.end("body"):]


def regenerated(root: Path = ROOT) -> dict[str, str]:
    """``CMake file -> its text with every generated block rewritten from the disk``."""
    texts: dict[str, str] = {}
    for (cmake_file, name), entries in expected_blocks(root).items():
        text = texts.get(cmake_file, (root / cmake_file).read_text(encoding="utf-8"))
        texts[cmake_file] = render_block(text, name, entries)
    return texts


def stale_files(root: Path = ROOT) -> dict[str, str]:
    """``CMake file -> regenerated text`` for every CMake file whose lists differ from the disk."""
    return {f: t for f, t in regenerated(root).items() if t != (root / f).read_text(encoding="utf-8")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale lists (exit 1), write nothing")
    args = parser.parse_args(argv)
    stale = stale_files()
    for cmake_file, text in stale.items():
        if args.check:
            print(f"{cmake_file}: file list is stale; run: python tools/update_cmake_lists.py")
        else:
            (ROOT / cmake_file).write_text(text, encoding="utf-8")
            print(f"{cmake_file}: file list updated")
    return 1 if (stale and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
