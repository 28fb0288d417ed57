"""``uspsim`` as a subprocess: the demo end to end, data-model validation, and a dead broker."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def uspsim(*args: str, timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulator.integrations.cli", "--no-color", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens there


@pytest.mark.parametrize("broker", ["auto", "embedded"])
def test_cli_demo_50_agents_passes(broker: str) -> None:
    extra = ["--embedded-broker"] if broker == "embedded" else []
    result = uspsim("demo", "--agents", "50", "--sample", "5", "-q", *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "50 agents connected" in out
    assert "onboarding Get (5 DeviceInfo leaves) answered by every agent" in out
    for line in (
        "Get",
        "Set",
        "Add",
        "Delete",
        "Operate",
        "GetSupportedDM",
        "GetInstances",
        "ValueChange notification",
        "Boot! notification after Reboot()",
    ):
        assert f"PASS  {line} on 5 agents" in out, line
    assert "FAIL" not in out
    assert "p99 ms" in out and "Round trips seen by the probe controller" in out


def test_cli_datamodel_validate_reports_file_line(tmp_path: Path) -> None:
    good = ROOT / "datamodels" / "minimal.yaml"
    broken = tmp_path / "broken.yaml"
    broken.write_text("format: 1\nname: broken\nobjects:\n  Device.:\n    params:\n      UpTime: uint\n")
    result = uspsim("datamodel", "validate", str(good), str(broken), timeout=30)
    assert result.returncode == 1
    assert f"{good}: ok" in result.stdout
    assert f"{broken}:6: " in result.stderr and "UpTime" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_datamodel_show_prints_agent_values() -> None:
    result = uspsim("datamodel", "show", "minimal", "Device.DeviceInfo.", "--index", "7", timeout=30)
    assert result.returncode == 0, result.stderr
    assert "Device.DeviceInfo." in result.stdout and "SerialNumber = SIM00000007" in result.stdout


def test_cli_run_against_dead_port_says_unreachable(tmp_path: Path) -> None:
    port = dead_port()
    scenario = tmp_path / "dead.yaml"
    scenario.write_text(
        f"broker: {{url: 'mqtt://127.0.0.1:{port}'}}\ngroups:\n  - profile: minimal\n    count: 3\n"
    )
    result = uspsim("run", str(scenario), "--duration", "1", timeout=30)
    assert result.returncode == 1
    text = result.stdout + result.stderr
    assert f"cannot reach MQTT broker 127.0.0.1:{port}" in text
    assert "Traceback" not in text


def test_cli_run_bad_scenario_exits_2(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("groups:\n  - count: -4\n")
    result = uspsim("run", str(scenario), timeout=30)
    assert result.returncode == 2
    assert f"{scenario}:2: groups[0].count:" in result.stderr
    assert "Traceback" not in result.stderr
