"""Scenario loading: valid files, and ConfigError naming file, line and key path for every mistake."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from simulator.fleet.config import ConfigError, load_scenario

GOOD = """
name: lab
duration: 5
spawn_rate: 200
broker:
  url: mqtt://127.0.0.1:1999
  username: "{endpoint_id}"
  password: "pw-{index}"
controller:
  profile: oktopus
groups:
  - name: a
    profile: minimal
    count: 3
    endpoint_id: "os::012345-A{index:04d}"
  - name: b
    profile: home-gateway
    count: 2
    endpoint_id: "os::012345-B{index:04d}"
    spawn_rate: 5
"""


def test_config_loads_every_section(write_scenario: Callable[[str], Path]) -> None:
    sc = load_scenario(write_scenario(GOOD))
    assert sc.name == "lab" and sc.duration == 5
    assert (sc.broker.host, sc.broker.port, sc.broker.tls) == ("127.0.0.1", 1999, None)
    assert sc.broker.username == "{endpoint_id}"
    assert sc.controller.endpoint_id == "oktopusController"
    assert sc.controller.agent_topic_for("x") == "oktopus/usp/v1/agent/x"
    assert [g.count for g in sc.groups] == [3, 2]
    assert [g.first_index for g in sc.groups] == [0, 3]
    assert sc.groups[0].spawn_rate == 200 and sc.groups[1].spawn_rate == 5
    assert sc.groups[1].endpoint_id_of(3) == "os::012345-B0003"
    assert sc.groups[0].profile.endswith("datamodels/minimal.yaml")
    assert sc.total_agents == 5


def test_config_with_agents_scales_and_renumbers(write_scenario: Callable[[str], Path]) -> None:
    sc = load_scenario(write_scenario(GOOD)).with_agents(50)
    assert sc.total_agents == 50
    assert [g.first_index for g in sc.groups] == [0, sc.groups[0].count]


def test_config_with_broker_override(write_scenario: Callable[[str], Path]) -> None:
    sc = load_scenario(write_scenario(GOOD)).with_broker("mqtts://broker.example:8884")
    assert (sc.broker.host, sc.broker.port) == ("broker.example", 8884)
    assert sc.broker.tls is not None and not sc.broker.tls.insecure


def test_config_embedded_default(write_scenario: Callable[[str], Path]) -> None:
    sc = load_scenario(write_scenario("groups:\n  - count: 1\n"))
    assert sc.broker.embedded and sc.controller.profile == "generic"


@pytest.mark.parametrize(
    ("text", "line", "key", "reason"),
    [
        ("groups:\n  - count: 1\n    colour: red\n", 3, "groups[0].colour", "unknown key"),
        ("brokr: {}\ngroups: [{count: 1}]\n", 1, "brokr", "unknown key"),
        ("broker:\n  url: http://x\ngroups: [{count: 1}]\n", 2, "broker.url", "expected mqtt://"),
        ("groups:\n  - count: 0\n", 2, "groups[0].count", "integer >= 1"),
        ("groups:\n  - count: many\n", 2, "groups[0].count", "integer >= 1"),
        ("groups:\n  - profile: nope\n", 2, "groups[0].profile", "not found"),
        ("groups:\n  - endpoint_id: 'SIM{idx}'\n", 2, "groups[0].endpoint_id", "unknown template field"),
        ("groups:\n  - endpoint_id: 'SIM-fixed'\n", 2, "groups[0].endpoint_id", "must contain {index}"),
        ("groups:\n  - mtp: coap\n", 2, "groups[0].mtp", "expected mqtt or websocket"),
        ("groups:\n  - mqtt_version: 3\n", 2, "groups[0].mqtt_version", "expected 5 or 3.1.1"),
        (
            "controller: {profile: oktopus}\ngroups:\n  - mqtt_version: 3.1.1\n",
            3,
            "groups[0].mqtt_version",
            "MQTT 5",
        ),
        (
            "controller:\n  profile: tr069\ngroups: [{count: 1}]\n",
            2,
            "controller.profile",
            "unknown controller profile",
        ),
        (
            "controller:\n  agent_topic: usp/agents\ngroups: [{count: 1}]\n",
            2,
            "controller.agent_topic",
            "must contain {endpoint_id}",
        ),
        (
            "broker:\n  url: mqtt://h:1\n  tls: {insecure: true}\ngroups: [{count: 1}]\n",
            3,
            "broker.tls",
            "mqtts://",
        ),
        (
            "broker:\n  url: mqtts://h:1\n  tls:\n    ca: /no/such/ca.pem\ngroups: [{count: 1}]\n",
            4,
            "broker.tls.ca",
            "file not found",
        ),
        (
            "broker:\n  url: mqtts://h:1\n  tls: {insecure: maybe}\ngroups: [{count: 1}]\n",
            3,
            "broker.tls.insecure",
            "true or false",
        ),
        (
            "broker:\n  username: '{user}'\ngroups: [{count: 1}]\n",
            2,
            "broker.username",
            "unknown template field",
        ),
        ("groups: []\n", 1, "groups", "non-empty list"),
        ("groups:\n  - {count: 1}\n  - {count: 1}\n", 3, "groups[1].endpoint_id", "same template"),
        ("duration: -1\ngroups: [{count: 1}]\n", 1, "duration", ">= 0"),
    ],
)
def test_config_error_names_file_line_and_key(
    write_scenario: Callable[[str], Path], text: str, line: int, key: str, reason: str
) -> None:
    path = write_scenario(text)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    err = info.value
    assert (err.file, err.line, err.key_path) == (str(path), line, key)
    assert reason in err.reason
    assert str(err).startswith(f"{path}:{line}: {key}: ")


def test_config_yaml_syntax_error_has_line(write_scenario: Callable[[str], Path]) -> None:
    path = write_scenario("groups:\n  - count: 1\n   bad: [\n")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.line >= 2 and "YAML syntax error" in info.value.reason


def test_config_duplicate_key(write_scenario: Callable[[str], Path]) -> None:
    path = write_scenario("name: a\nname: b\ngroups: [{count: 1}]\n")
    with pytest.raises(ConfigError, match="duplicate key") as info:
        load_scenario(path)
    assert info.value.line == 2


def test_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read scenario"):
        load_scenario(tmp_path / "missing.yaml")


def test_config_with_agents_rejects_zero(write_scenario: Callable[[str], Path]) -> None:
    with pytest.raises(ConfigError, match="--agents"):
        load_scenario(write_scenario(GOOD)).with_agents(0)


@pytest.mark.parametrize("name", ["sandbox", "demo", "oktopus"])
def test_shipped_scenarios_load(name: str) -> None:
    root = Path(__file__).resolve().parents[3]
    sc = load_scenario(root / "scenarios" / f"{name}.yaml")
    assert sc.total_agents >= 10
