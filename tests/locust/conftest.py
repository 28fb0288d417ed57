"""Locust test fixtures: the integration suite's session mosquitto (helpers: locust_helpers.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
ROOT = _HERE.parents[1]
sys.path.insert(0, str(_HERE))

_spec = importlib.util.spec_from_file_location(
    "usp_integration_conftest", ROOT / "tests/integration/conftest.py"
)
assert _spec is not None and _spec.loader is not None
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)
usp_broker_address = _integration.usp_broker_address  # the real-mosquitto session fixture (reused)
usp_broker_url = _integration.usp_broker_url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(_HERE):
            item.add_marker(pytest.mark.locust)
