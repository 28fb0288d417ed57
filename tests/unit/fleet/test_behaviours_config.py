"""``behaviours:`` and ``faults:`` scenario sections: parsed into specs, mistakes named by file/line/key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from simulator.agent.faults import FaultKind
from simulator.fleet.behaviours.spec import AgentSelection, Rate
from simulator.fleet.config import ConfigError, load_scenario

ROOT = Path(__file__).resolve().parents[3]

HEAD = """
name: t
groups:
  - profile: home-gateway
    count: 10
"""


def load(write_scenario: Callable[[str], Path], tail: str):  # type: ignore[no-untyped-def]
    return load_scenario(write_scenario(HEAD + tail))


def test_behaviours_config_parses_every_kind(write_scenario: Callable[[str], Path]) -> None:
    sc = load(write_scenario, """
behaviours:
  - {kind: boot_storm, start: 5, ramp: 10, downtime: 2}
  - {kind: churn, rate: 0.5, distribution: uniform, jitter: 0.2, abrupt: 0.3, downtime: 1, downtime_max: 4,
     start: 1, stop: 60, agents: {share: 0.5}}
  - {kind: reboot, rate: 0.01, agents: {count: 3}}
  - {kind: value_change, rate: 2, params: [Device.WiFi.Radio.1.Channel], values: ["1", "6", "11"]}
  - {kind: periodic_notify, interval: 60}
  - {kind: wifi_clients, rate: 1, leave_rate: 0.5, max_clients: 4, access_points: [1, 2],
     agents: {indexes: "0-4,7"}}
  - {kind: bulk_data, interval: 300, protocol: HTTP, url: "http://127.0.0.1:8080/bulk"}
  - {kind: firmware_campaign, start: 30, ramp: 60, version: 6.0.0, agents: {share: 0.1}}
faults:
  - {kind: late, rate: 0.05, delay: 11, jitter: 1, messages: [Get, Set]}
  - {kind: omit_onboarding, rate: 1, mode: missing, leaves: [SerialNumber], agents: {indexes: [3]}}
""")
    kinds = [b.kind for b in sc.behaviours]
    assert kinds == ["boot_storm", "churn", "reboot", "value_change", "periodic_notify", "wifi_clients",
                     "bulk_data", "firmware_campaign"]
    churn = sc.behaviours[1]
    assert churn.rate == Rate(0.5, "uniform", 0.2)
    assert (churn.start, churn.stop, churn.agents) == (1.0, 60.0, AgentSelection(share=0.5))
    assert churn.opt("abrupt") == 0.3
    assert sc.behaviours[0].rate is None
    assert sc.behaviours[0].opt("cause") == "LocalReboot"  # default
    assert sc.behaviours[5].agents.indexes == ((0, 5), (7, 8))
    assert sc.behaviours[5].opt("access_points") == (1, 2)
    late, omit = sc.faults
    assert late.spec.kind is FaultKind.LATE
    assert (late.spec.rate, late.spec.delay, late.spec.jitter) == (0.05, 11.0, 1.0)
    assert late.spec.messages == {"Get", "Set"}
    assert omit.spec.leaves == ("SerialNumber",)
    assert omit.agents.indexes == ((3, 4),)


def test_behaviours_config_defaults_to_none(write_scenario: Callable[[str], Path]) -> None:
    sc = load(write_scenario, "")
    assert sc.behaviours == ()
    assert sc.faults == ()


@pytest.mark.parametrize(
    ("tail", "line", "key", "reason"),
    [
        ("behaviours:\n  - {kind: tsunami}\n", 6, "behaviours[0].kind", "expected one of boot_storm"),
        ("behaviours:\n  - {kind: churn}\n", 6, "behaviours[0].rate", "churn needs rate"),
        ("behaviours:\n  - kind: churn\n    rate: 1\n    speed: 2\n", 8, "behaviours[0].speed",
         "unknown key"),
        ("behaviours:\n  - kind: boot_storm\n    rate: 1\n", 7, "behaviours[0].rate", "unknown key"),
        ("behaviours:\n  - kind: churn\n    rate: 0\n", 7, "behaviours[0].rate", "must be > 0"),
        ("behaviours:\n  - kind: churn\n    rate: 1\n    distribution: normal\n", 8,
         "behaviours[0].distribution", "poisson or uniform"),
        ("behaviours:\n  - kind: churn\n    rate: 1\n    start: 5\n    stop: 5\n", 9, "behaviours[0].stop",
         "must be after start"),
        ("behaviours:\n  - kind: churn\n    rate: 1\n    agents: {share: 1.5}\n", 8,
         "behaviours[0].agents.share", "fraction"),
        ("behaviours:\n  - kind: churn\n    rate: 1\n    agents: {indexes: 'a-b'}\n", 8,
         "behaviours[0].agents.indexes", "expected index ranges"),
        ("behaviours:\n  - kind: churn\n    rate: 1\n    agents: {indexes: '12'}\n", 8,
         "behaviours[0].agents.indexes", "beyond the fleet"),
        ("behaviours:\n  - kind: churn\n    rate: 1\n    agents: {share: 0.5, count: 2}\n", 8,
         "behaviours[0].agents.count", "not both"),
        ("behaviours:\n  - kind: value_change\n    rate: 1\n    params: [Device.WiFi.]\n", 8,
         "behaviours[0].params", "full parameter path"),
        ("behaviours:\n  - kind: value_change\n    rate: 1\n", 6, "behaviours[0].params", "needs params"),
        ("behaviours:\n  - kind: periodic_notify\n    interval: 0\n", 7, "behaviours[0].interval", ">= 1"),
        ("behaviours:\n  - kind: bulk_data\n    interval: 5\n    protocol: HTTP\n", 8, "behaviours[0].url",
         "needs url"),
        ("behaviours:\n  - kind: firmware_campaign\n    url: http://x/fw.bin\n", 7, "behaviours[0].url",
         "{version}"),
        ("behaviours:\n  - kind: firmware_campaign\n    mode: push\n", 7, "behaviours[0].mode",
         "agent, offer"),
        ("behaviours: {kind: churn}\n", 5, "behaviours", "expected a list"),
        ("faults:\n  - {kind: slow, rate: 1}\n", 6, "faults[0].kind", "expected one of late"),
        ("faults:\n  - {kind: late}\n", 6, "faults[0].rate", "needs rate"),
        ("faults:\n  - kind: late\n    rate: 2\n", 7, "faults[0].rate", "probability"),
        ("faults:\n  - kind: error\n    rate: 1\n    error_code: 404\n", 8, "faults[0].error_code",
         ">= 7000"),
        ("faults:\n  - kind: error\n    rate: 1\n    error_code: 8000\n", 8, "faults[0].error_code",
         "7000-7999"),
        ("faults:\n  - kind: error\n    rate: 1\n    messages: [Notify]\n", 8, "faults[0].messages",
         "request types"),
        ("faults:\n  - kind: omit_onboarding\n    rate: 1\n    leaves: [UpTime]\n", 8, "faults[0].leaves",
         "SerialNumber"),
        ("faults:\n  - kind: omit_onboarding\n    rate: 1\n    mode: lost\n", 8, "faults[0].mode", "missing"),
    ],
)
def test_behaviours_config_errors_name_file_line_and_key(
    write_scenario: Callable[[str], Path], tail: str, line: int, key: str, reason: str | None
) -> None:
    with pytest.raises(ConfigError) as info:
        load(write_scenario, tail)
    text = str(info.value)
    assert f"scenario.yaml:{line}: {key}:" in text, text
    if reason:
        assert reason in text, text


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_behaviours_config_shipped_scenarios_load(path: Path) -> None:
    sc = load_scenario(path)
    assert sc.total_agents > 0


def test_behaviours_config_shipped_behaviour_scenarios_exist() -> None:
    names = {p.name for p in (ROOT / "scenarios").glob("*.yaml")}
    assert {"sandbox.yaml", "oktopus-onboarding-storm.yaml", "churn-soak.yaml", "firmware-campaign.yaml",
            "faults.yaml", "ci-small.yaml"} <= names
    assert {f.spec.kind for f in load_scenario(ROOT / "scenarios" / "faults.yaml").faults} == set(FaultKind)
