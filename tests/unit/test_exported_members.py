"""The public facade stays honest: every name in simulator.__all__ resolves, and nothing else leaks."""

from __future__ import annotations

import subprocess
import sys

import simulator


def test_exported_members_all_resolve() -> None:
    for name in simulator.__all__:
        assert getattr(simulator, name) is not None, name


def test_exported_members_match_dir() -> None:
    assert sorted(dir(simulator)) == sorted(simulator.__all__)


def test_exported_members_unknown_name_is_an_attribute_error() -> None:
    try:
        simulator.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("unknown attribute did not raise")


def test_exported_members_import_is_lazy() -> None:
    """Importing the facade must not import asyncio (Locust's gevent patching comes first)."""
    code = "import sys, simulator; print('asyncio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_exported_members_table_and_all_agree() -> None:
    assert sorted(simulator._EXPORTS) == sorted(n for n in simulator.__all__ if n != "__version__")
