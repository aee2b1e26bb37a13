"""The layout stays what docs/architecture.md says: no import cycles, small modules, and a
README whose layout section names every package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from symposium.config import ROOT

PACKAGE = ROOT / "symposium"
MAX_SERVICE_LINES = 550
# The app factory imports its blueprints and CLI inside create_app(), as Flask apps do.
INNER_IMPORTS_ALLOWED = {"symposium"}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, known: set[str]) -> tuple[set[str], set[str]]:
    """(module-level, inside functions) imports of symposium modules."""
    tree = ast.parse(path.read_text())
    top, inner = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        hits = {t for t in targets if t in known}
        (top if node in tree.body else inner).update(hits)
    return top, inner


def test_no_import_cycles_and_no_imports_hidden_in_functions() -> None:
    known = modules()
    graph = {}
    for name, path in known.items():
        top, inner = imports(path, set(known))
        graph[name] = {t for t in top if t != name and not name.startswith(t + ".")}
        if name not in INNER_IMPORTS_ALLOWED:
            assert not inner - {name}, f"{name} imports {inner} inside a function"

    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                cycle = [*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for name in graph:
        if name not in state:
            visit(name, [name])


def test_service_modules_stay_small() -> None:
    for path in (PACKAGE / "services").rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= MAX_SERVICE_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


def test_readme_layout_names_every_package() -> None:
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^(symposium/[\w/]*)", layout, re.M))
    packages = {
        str(p.parent.relative_to(ROOT)) + "/"
        for p in PACKAGE.rglob("__init__.py")
        if "migrations" not in p.parts
    } | {"symposium/migrations/", "symposium/translations/"}
    assert packages == listed


def test_tests_mirror_the_service_features() -> None:
    features = {p.name for p in (PACKAGE / "services").iterdir() if (p / "__init__.py").exists()}
    folders = {p.name for p in (ROOT / "tests").iterdir() if (p / "__init__.py").exists()}
    # accounts are tested through the back-office that manages them; folders that test across
    # features (browser/, bench/, faults/: see the README's Layout) may be there besides
    assert features - {"accounts"} <= folders
