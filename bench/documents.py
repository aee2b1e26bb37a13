"""Documents: certificates and attendance lists. Not benchmarked yet.

Says which of the two the app has (it looks at the app's routes, so this stays true as the
app grows), that no timing is taken yet, and exits 0, so the benchmarks can be run as a
whole. Once both exist, this is where generating them for a full event gets timed.

    python -m bench.documents [--json out.json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``symposium`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

KINDS = {
    "certificates": ("certificate",),
    "attendance lists": ("attendance", "participants/print", "participants.csv"),
}


def available() -> dict[str, list[str]]:
    """For each kind of document, the app's routes that produce one (empty: not there yet)."""
    from symposium import create_app

    with tempfile.TemporaryDirectory(prefix="bench-docs-") as tmp:
        app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": "sqlite://"}, instance_path=tmp)
        rules = [rule.rule for rule in app.url_map.iter_rules()]
    return {kind: [r for r in rules if any(w in r for w in words)] for kind, words in KINDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", metavar="PATH", help="also write the status as JSON here")
    args = parser.parse_args(argv)
    found = available()
    missing = [kind for kind, routes in found.items() if not routes]
    present = [kind for kind, routes in found.items() if routes]
    lines = []
    if missing:
        lines.append(f"documents: {' and '.join(missing)} are not there yet; nothing to measure.")
    for kind in present:
        lines.append(
            f"documents: the app has {kind} ({', '.join(found[kind])}), "
            "but this benchmark does not time them yet."
        )
    message = "\n".join(lines)
    print(message)
    result: dict[str, Any] = {
        "benchmark": "documents",
        "status": "not implemented",
        "routes": found,
        "message": message,
    }
    common.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
