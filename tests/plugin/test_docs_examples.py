"""Every example in docs/pytest-plugin.md runs: files are extracted from the page and run with pytester."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "pytest-plugin.md"
_BLOCK = re.compile(r"<!-- example: (?P<name>[\w-]+)/(?P<file>[\w.]+) -->\n```python\n(?P<code>.*?)```", re.S)

EXPECTED = {"basics": 5, "custom": 2, "asyncio": 2, "controller": 1}
"""Example -> number of tests it must pass."""


def examples() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for m in _BLOCK.finditer(DOC.read_text()):
        found[m["name"]][m["file"]] = m["code"]
    return dict(found)


def test_docs_examples_all_listed() -> None:
    assert set(examples()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_docs_example_runs(plugin_tester: pytest.Pytester, name: str) -> None:
    for filename, code in examples()[name].items():
        plugin_tester.path.joinpath(filename).write_text(code)
    plugin_tester.syspathinsert()
    result = plugin_tester.runpytest("-q")
    result.assert_outcomes(passed=EXPECTED[name])
