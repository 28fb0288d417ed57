"""The README's pytest-plugin snippet runs as written (architecture.md B8: executable docs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_howto_readme_has_a_plugin_example() -> None:
    assert any("usp_fleet" in block for block in _python_blocks())


def test_howto_readme_plugin_example_passes(pytester: pytest.Pytester) -> None:
    (block,) = [b for b in _python_blocks() if "usp_fleet" in b]
    pytester.makepyfile(test_readme_example=block)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--usp-agents", "3")
    result.assert_outcomes(passed=1)
