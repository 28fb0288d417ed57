"""simulator.mqtt stays sans-I/O (architecture.md B1/B3): no event loop, sockets, threads or clocks."""

from __future__ import annotations

import ast
from pathlib import Path

import simulator.mqtt

FORBIDDEN = {"asyncio", "socket", "threading", "time", "select", "selectors", "ssl", "uvloop", "gevent"}


def test_mqtt_package_imports_no_io_or_clock_modules() -> None:
    root = Path(simulator.mqtt.__file__).parent
    offenders = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert len(list(root.glob("*.py"))) >= 8
    assert offenders == []
