"""The layers of docs/architecture.md, checked: imports point one way only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "kanri"

# layer -> the kanri packages it may import ("kanri" alone: the package root, for __version__)
ALLOWED: dict[str, set[str]] = {
    "domain": {"domain"},
    "drivers": {"domain", "drivers"},
    "store": {"domain", "store"},
    "engine": {"domain", "drivers", "store", "engine", "settings"},
    "api": {"kanri", "api", "engine", "domain"},
    "cli": {"kanri", "cli", "domain", "settings"},
    "lab": {"lab"},
}
# The commands that run a manager or a lab in this process, rather than talk to one.
RUNNERS = {
    "cli/serve.py": {"api", "engine", "drivers"},
    "cli/demo.py": {"api", "engine", "lab"},
    "cli/lab.py": {"lab"},
}


def _kanri_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "kanri":
                found.add(parts[1] if len(parts) > 1 else "kanri")
    return found


def _third_party(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"kanri"}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_one_way(layer: str) -> None:
    wrong = []
    for path in sorted((SRC / layer).rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        allowed = ALLOWED[layer] | RUNNERS.get(rel, set())
        extra = _kanri_imports(path) - allowed
        if extra:
            wrong.append(f"{rel} imports kanri.{', kanri.'.join(sorted(extra))}")
    assert not wrong, "\n".join(wrong)


def test_the_domain_uses_only_the_standard_library() -> None:
    used = {p.name: _third_party(p) for p in (SRC / "domain").rglob("*.py")}
    assert {name: libs for name, libs in used.items() if libs} == {}
