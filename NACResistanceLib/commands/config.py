"""``nacresistance config``: the effective configuration and its hash (``show``), or what differs (``diff``)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = ("Show a configuration as it takes effect (defaults + overrides, referenced files read) with its "
        "SHA-256, or list the keys that differ between two configurations, features folders or models.")

KINDS = ("analysis", "preprocessing", "study", "radiomics")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the effective configuration (YAML) and its sha256",
                              description="Print the effective configuration and its sha256. FILE may be a "
                                          "parameter file, a features folder or a model file; without FILE, the "
                                          "shipped defaults.")
    show.add_argument("file", nargs="?", type=Path, metavar="FILE", help="configuration, features folder or model")
    show.add_argument("--kind", choices=KINDS, help="the kind of FILE (default: read from its keys)")
    diff = actions.add_parser("diff", help="list the keys whose values differ (exit 0 same, 1 different)",
                              description="List the dotted keys whose effective values differ between A and B "
                                          "(configurations, features folders or models). Exit 0 when they are "
                                          "the same, 1 when they differ.")
    diff.add_argument("a", type=Path, metavar="A")
    diff.add_argument("b", type=Path, metavar="B")
    diff.add_argument("--kind", choices=KINDS, help="the kind of both files (default: read from their keys)")


def run(args: argparse.Namespace) -> int:
    import yaml

    from ..config.hashing import diff_parameters
    from ..config.inspect import effective
    from ..errors import ConfigError

    if args.action == "show":
        config = effective(args.file, args.kind)
        print(f"# {config.kind} configuration from {config.source} (research use only)")
        print(f"# sha256: {config.sha256}")
        print(yaml.safe_dump(config.content, sort_keys=False, allow_unicode=True), end="")
        return 0
    a, b = effective(args.a, args.kind), effective(args.b, args.kind)
    if a.kind != b.kind:
        raise ConfigError(f"cannot compare {a.kind} parameters ({a.source}) with {b.kind} parameters ({b.source})")
    rows = diff_parameters(a.content, b.content)
    if not rows:
        print(f"same {a.kind} parameters (sha256 {a.sha256})")
        return 0
    print(f"{len(rows)} {a.kind} key(s) differ between A ({a.source}, sha256 {a.sha256[:12]}) "
          f"and B ({b.source}, sha256 {b.sha256[:12]}):")
    for key, left, right in rows:
        print(f"  {key}: {_short(left)} -> {_short(right)}")
    return 1


def _short(value) -> str:
    import json

    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
