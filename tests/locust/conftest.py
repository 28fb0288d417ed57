"""Locust test fixtures: the integration suite's session mosquitto, plus helpers to run locust headless."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

_HERE = Path(__file__).resolve().parent
ROOT = _HERE.parents[1]
LOCUST = str(Path(sys.executable).parent / "locust")
sys.path.insert(0, str(_HERE))

_spec = importlib.util.spec_from_file_location(
    "usp_integration_conftest", ROOT / "tests/integration/conftest.py"
)
assert _spec is not None and _spec.loader is not None
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)
usp_broker_address = _integration.usp_broker_address  # the real-mosquitto session fixture (reused)
usp_broker_url = _integration.usp_broker_url

QUIET_TASKS = ("value_change=0,value_change_burst=0,wifi_join=0,wifi_leave=0,periodic=0,bulk_data=0,"
               "reboot=0,churn=0,fault=0,idle=1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(_HERE):
            item.add_marker(pytest.mark.locust)


def locust_cmd(locustfile: str, *args: str) -> list[str]:
    return [LOCUST, "-f", str(ROOT / "locustfiles" / locustfile), "--loglevel", "WARNING", *args]


def locust_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("USP_SIM_") and k != "LOCUST_HOST"}
    env.update(extra)
    return env


def run_locust(cmd: list[str], env: dict[str, str], timeout: float = 60) -> list[dict[str, Any]]:
    """Run a headless locust with ``--json``; returns its stats list (asserts it exited cleanly)."""
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )
    assert proc.stdout.strip(), f"no JSON from locust (rc {proc.returncode}):\n{proc.stderr[-4000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-4000:]
    stats: list[dict[str, Any]] = json.loads(proc.stdout)
    return stats


def by_name(stats: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in stats}
