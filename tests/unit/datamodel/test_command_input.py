"""validate_command_input: Operate input arguments (R-OPR.5 missing/bad -> 7027, R-OPR.6, R-OPR.7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.datamodel import validate_command_input
from simulator.datamodel.loader import load_schema
from simulator.datamodel.personas import Persona
from simulator.datamodel.schema import CommandNode
from simulator.usp.errors import ErrorCode, InvalidCommandArgumentsError

PROFILE = """\
format: 1
objects:
  Device.:
    commands:
      Ping():
        async: true
        input:
          Host: {type: string, mandatory: true, max_length: 16}
          Count: {type: unsignedInt, range: [1, 100], default: 3}
          Protocol: {type: string, enum: [Any, IPv4, IPv6], default: Any}
          Verbose: {type: boolean, default: true}
          Size: unsignedInt
          Tag: {type: string, default: {gen: template, format: "agent-{index}"}}
          TimeWindow.{i}.Start: {type: unsignedInt, mandatory: true}
          TimeWindow.{i}.Mode: {type: string, enum: [Immediately, WhenIdle], default: WhenIdle}
          TimeWindow.{i}.Note: string
          AutoRestart.Enable: {type: boolean, mandatory: true}
          AutoRestart.Delay: {type: unsignedInt, default: 10}
"""


@pytest.fixture(scope="module")
def ping(tmp_path_factory: pytest.TempPathFactory) -> CommandNode:
    path: Path = tmp_path_factory.mktemp("cmd") / "cmd.yaml"
    path.write_text(PROFILE, encoding="utf-8")
    node = load_schema(path).lookup("Device.Ping()")
    assert isinstance(node, CommandNode)
    return node


def _error(ping: CommandNode, args: dict[str, str]) -> InvalidCommandArgumentsError:
    with pytest.raises(InvalidCommandArgumentsError) as info:
        validate_command_input(ping, args)
    assert info.value.code == ErrorCode.INVALID_COMMAND_ARGS == 7027
    return info.value


def test_defaults_fill_omitted_optional_arguments_only_when_declared(ping: CommandNode) -> None:
    out = validate_command_input(ping, {"Host": "192.0.2.1"})
    # Size has no declared default: it is not invented; Tag's generator default needs a persona
    assert out == {"Host": "192.0.2.1", "Count": "3", "Protocol": "Any", "Verbose": "true"}


def test_generator_default_is_evaluated_with_a_persona(ping: CommandNode) -> None:
    out = validate_command_input(ping, {"Host": "h"}, persona=Persona(42), now=5.0)
    assert out["Tag"] == "agent-42"


def test_given_values_are_canonicalised_and_unknown_arguments_dropped(ping: CommandNode) -> None:
    given = {"Host": "h", "Count": " 07 ", "Verbose": "0", "Bogus": "x", "TimeWindow.1.Bogus": "y"}
    out = validate_command_input(ping, given)
    assert out == {"Host": "h", "Count": "7", "Verbose": "false", "Protocol": "Any"}
    assert given["Count"] == " 07 "  # the request map is not modified


def test_missing_mandatory_argument_names_it(ping: CommandNode) -> None:
    exc = _error(ping, {"Count": "5"})
    assert "missing mandatory input argument 'Host'" in exc.message


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("Count", "abc", "is not an unsignedInt"),
        ("Count", "101", "outside the range"),
        ("Protocol", "IPX", "is not one of"),
        ("Verbose", "yes", "is not a boolean"),
        ("Host", "x" * 17, "maximum is 16"),
        ("TimeWindow.2.Start", "-1", "does not fit an unsignedInt"),
    ],
)
def test_bad_values_name_the_argument_and_the_reason(
    ping: CommandNode, name: str, value: str, why: str
) -> None:
    exc = _error(ping, {"Host": "h", "TimeWindow.2.Mode": "WhenIdle", name: value})
    assert f"input argument {name!r}" in exc.message and why in exc.message


def test_multi_instance_argument_objects_are_checked_per_used_instance(ping: CommandNode) -> None:
    out = validate_command_input(
        ping,
        {
            "Host": "h",
            "TimeWindow.1.Start": "5",
            "TimeWindow.10.Start": "9",
            "TimeWindow.10.Mode": "Immediately",
        },
    )
    assert out["TimeWindow.1.Mode"] == "WhenIdle" and out["TimeWindow.10.Mode"] == "Immediately"
    assert "TimeWindow.1.Note" not in out  # no declared default
    exc = _error(ping, {"Host": "h", "TimeWindow.1.Start": "5", "TimeWindow.3.Mode": "WhenIdle"})
    assert "'TimeWindow.3.Start'" in exc.message


def test_single_instance_argument_object_is_required_only_when_used(ping: CommandNode) -> None:
    out = validate_command_input(ping, {"Host": "h"})
    assert not any(k.startswith("AutoRestart.") for k in out)
    exc = _error(ping, {"Host": "h", "AutoRestart.Delay": "5"})
    assert "'AutoRestart.Enable'" in exc.message
    out = validate_command_input(ping, {"Host": "h", "AutoRestart.Enable": "1"})
    assert out["AutoRestart.Enable"] == "true" and out["AutoRestart.Delay"] == "10"


def test_command_without_input_accepts_anything(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("format: 1\nobjects:\n  Device.:\n    commands:\n      Reboot(): {}\n", encoding="utf-8")
    node = load_schema(path).lookup("Device.Reboot()")
    assert isinstance(node, CommandNode)
    assert validate_command_input(node, {"Cause": "x"}) == {}
