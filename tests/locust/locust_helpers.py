"""Helpers of the Locust tests: run locust headless as a subprocess and read its JSON stats.

A module of its own (not ``conftest``): with the whole suite collected, ``from conftest import`` would
find another directory's conftest module first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LOCUST = str(Path(sys.executable).parent / "locust")

QUIET_TASKS = ("value_change=0,value_change_burst=0,wifi_join=0,wifi_leave=0,periodic=0,bulk_data=0,"
               "reboot=0,churn=0,fault=0,idle=1")


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
