"""Fixtures for the fleet tests: scenario files in tmp_path and a memory-transport network."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from fleet_helpers import MemoryNetwork


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[[str], Path]:
    """Write a scenario file (dedented) and return its path."""

    def write(text: str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write


@pytest.fixture
def network() -> MemoryNetwork:
    """A fresh memory network."""
    return MemoryNetwork()
