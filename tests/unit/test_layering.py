"""Import direction (architecture.md B3): checked from the source, independent of import-linter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "simulator"

# Layer rank: a module may import only from packages of strictly lower rank (or its own package).
RANK = {
    "usp": 0,
    "mqtt": 0,
    "datamodel": 1,
    "agent": 2,
    "transports": 2,
    "fleet": 3,
    "integrations": 4,
}
# Siblings that must stay independent of each other even at equal or lower rank.
FORBIDDEN_PAIRS = {
    ("usp", "mqtt"), ("mqtt", "usp"), ("agent", "transports"), ("transports", "agent"),
    ("transports", "datamodel"),
}
SANS_IO = ("usp", "mqtt", "datamodel", "agent")
SANS_IO_FORBIDDEN = {"asyncio", "socket", "threading", "selectors", "websockets", "gevent", "locust",
                     "pytest", "uvloop", "time"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the module's package
                parts = path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level]
                base = ".".join(parts)
                found.append((node.lineno, f"{base}.{node.module}" if node.module else base))
            elif node.module:
                found.append((node.lineno, node.module))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_pb" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layering_imports_flow_one_way(path: Path) -> None:
    rel = path.relative_to(PACKAGE).parts
    if len(rel) < 2:
        return  # the facade simulator/__init__.py may re-export anything
    own = rel[0]
    for lineno, name in _imports(path):
        parts = name.split(".")
        if parts[0] == "simulator" and len(parts) > 1 and parts[1] in RANK and parts[1] != own:
            other = parts[1]
            assert (own, other) not in FORBIDDEN_PAIRS, f"{path}:{lineno}: {own} must not import {other}"
            assert RANK[other] < RANK[own], f"{path}:{lineno}: {own} (layer {RANK[own]}) imports {name}"


@pytest.mark.parametrize(
    "path", [p for p in _modules() if p.relative_to(PACKAGE).parts[0] in SANS_IO],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_layering_sans_io_core_has_no_io_imports(path: Path) -> None:
    for lineno, name in _imports(path):
        top = name.split(".")[0]
        assert top not in SANS_IO_FORBIDDEN, f"{path}:{lineno}: sans-I/O module imports {name}"


def test_layering_detects_a_violation(tmp_path: Path) -> None:
    """The checker itself must fail on a bad import (guards against a test that cannot fail)."""
    bad = tmp_path / "bad.py"
    bad.write_text("import asyncio\nfrom simulator.fleet import runner\n", encoding="utf-8")
    names = [n for _, n in _imports(bad)]
    assert "asyncio" in names
    assert "simulator.fleet" in names
