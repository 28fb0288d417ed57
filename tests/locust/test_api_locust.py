"""``locustfiles/oktopus_api.py`` against the Oktopus stand-in (oktopus_standin.py) and live agents."""

from __future__ import annotations

import csv
import subprocess
import time
from pathlib import Path

from locust_helpers import QUIET_TASKS, by_name, locust_cmd, locust_env, run_locust
from oktopus_standin import OktopusStandIn
from probe_thread import ProbeThread


def test_oktopus_api_locust_checks_answers_belong_to_requests(usp_broker_address: tuple[str, int]) -> None:
    """Set-then-Get and identity Gets through the REST API: every answer matches, no failures."""
    host, port = usp_broker_address
    probe = ProbeThread(host, port, profile="oktopus", timeout=5.0)
    standin = OktopusStandIn(probe)
    env = locust_env(USP_SIM_TASK_WEIGHTS=QUIET_TASKS, USP_SIM_WAIT_MIN="5", USP_SIM_WAIT_MAX="5")
    agents = subprocess.Popen(
        locust_cmd("fleet.py", "--headless", "-u", "6", "-r", "6", "-t", "14s", "--only-summary",
                   "--usp-broker", f"mqtt://{host}:{port}", "--usp-controller-profile", "oktopus",
                   "--usp-endpoint-template", "os::012345-LT3{index:06d}"),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while len(probe.probe.agents) < 6 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(probe.probe.agents) == 6
        cmd = locust_cmd("oktopus_api.py", "--headless", "-u", "4", "-r", "4", "-t", "6s", "--json",
                         "--only-summary", "--host", standin.url)
        stats = by_name(run_locust(cmd, locust_env()))
    finally:
        _, err = agents.communicate(timeout=30)
        standin.close()
        probe.close()
    assert "Traceback" not in err, err[-3000:]
    for name in ("login", "devices", "set", "get:check", "instances", "parameters"):
        assert stats[name]["num_requests"] > 0, name
    failures = {n: s["num_failures"] for n, s in stats.items()}
    assert not any(failures.values()), failures
    assert standin.requests >= stats["set"]["num_requests"] + stats["get:check"]["num_requests"]


def test_oktopus_api_locust_reports_timeouts_separately(
    usp_broker_address: tuple[str, int], tmp_path: Path
) -> None:
    """A listed device that never answers is counted as ``timeout (504)`` (Locust's failures CSV)."""
    host, port = usp_broker_address
    probe = ProbeThread(host, port, profile="oktopus", timeout=1.0)
    standin = OktopusStandIn(probe, request_timeout=1.0)
    probe.probe.agents["os::012345-GONE000001"] = None  # listed, but no agent answers: 504
    try:
        cmd = locust_cmd("oktopus_api.py", "--headless", "-u", "1", "-r", "1", "-t", "5s", "--json",
                         "--only-summary", "--host", standin.url, "--csv", str(tmp_path / "api"))
        stats = by_name(run_locust(cmd, locust_env()))
    finally:
        standin.close()
        probe.close()
    with (tmp_path / "api_failures.csv").open() as fh:
        failures = {row["Error"] for row in csv.DictReader(fh)}
    assert failures and all("timeout (504)" in f for f in failures), failures
    errors = {s["name"]: s["num_failures"] for s in stats.values()}
    assert stats["login"]["num_failures"] == 0
    assert sum(errors.values()) > 0


def test_oktopus_api_locust_reports_offline_devices_as_503(
    usp_broker_address: tuple[str, int], tmp_path: Path
) -> None:
    """A listed device the controller reports offline is counted as ``offline (503)``, not as a timeout."""
    host, port = usp_broker_address
    probe = ProbeThread(host, port, profile="oktopus", timeout=1.0)
    standin = OktopusStandIn(probe, request_timeout=1.0)
    standin.offline.add("os::012345-OFF0000001")  # listed, but the controller says it is offline
    try:
        cmd = locust_cmd("oktopus_api.py", "--headless", "-u", "1", "-r", "1", "-t", "5s", "--json",
                         "--only-summary", "--host", standin.url, "--csv", str(tmp_path / "api"))
        stats = by_name(run_locust(cmd, locust_env()))
    finally:
        standin.close()
        probe.close()
    with (tmp_path / "api_failures.csv").open() as fh:
        failures = {row["Error"] for row in csv.DictReader(fh)}
    assert failures and all("offline (503)" in f for f in failures), failures
    assert stats["login"]["num_failures"] == 0 and stats["devices"]["num_failures"] == 0
    assert standin.requests == 0  # nothing reached the agents' broker
    assert sum(s["num_failures"] for s in stats.values()) > 0
