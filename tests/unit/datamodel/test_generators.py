"""Generators: load-time normalisation to the parameter type, cheap reproducible noise hashing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.datamodel.errors import SchemaError
from simulator.datamodel.generators import Choice, fmix, make_generator
from simulator.datamodel.loader import load_schema
from simulator.datamodel.personas import Persona
from simulator.datamodel.schema import ParamNode

HEAD = "format: 1\nobjects:\n  Device.:\n    params:\n"
REPO = Path(__file__).resolve().parents[3]


def _param(tmp_path: Path, line: str, name: str = "X") -> ParamNode:
    path = tmp_path / "g.yaml"
    path.write_text(HEAD + line, encoding="utf-8")
    node = load_schema(path).lookup(f"Device.{name}")
    assert isinstance(node, ParamNode)
    return node


def _fails(tmp_path: Path, line: str) -> SchemaError:
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + line, encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        load_schema(path)
    assert (info.value.file, info.value.line) == (str(path), 5)
    assert info.value.key_path == 'objects."Device.".params.X.default'
    return info.value


@pytest.mark.parametrize(
    ("line", "values"),
    [
        (
            "      X: {type: boolean, default: {gen: choice, values: [true, false, 1, 'TRUE']}}\n",
            ("true", "false", "true", "true"),
        ),
        ("      X: {type: string, default: {gen: choice, values: [true, null, 5]}}\n", ("true", "", "5")),
        ("      X: {type: int, default: {gen: choice, values: ['+5', ' -3 ', 007]}}\n", ("5", "-3", "7")),
        (
            "      X: {type: dateTime, default: {gen: choice, values: ['2024-01-01T01:00:00+01:00']}}\n",
            ("2024-01-01T00:00:00Z",),
        ),
        (
            "      X: {type: list<unsignedInt>, default: {gen: choice, values: [[1, 2], '3, 4']}}\n",
            ("1,2", "3,4"),
        ),
    ],
)
def test_choice_values_are_normalised_to_the_parameter_type(
    tmp_path: Path, line: str, values: tuple[str, ...]
) -> None:
    gen = _param(tmp_path, line).default
    assert isinstance(gen, Choice) and gen.values == values
    assert {gen.value(Persona(i), (), 0) for i in range(40)} <= set(values)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("      X: {type: boolean, default: {gen: choice, values: [true, maybe]}}\n", "'maybe' is invalid"),
        (
            "      X: {type: unsignedInt, range: [0, 10], default: {gen: choice, values: [1, 11]}}\n",
            "outside the range",
        ),
        (
            "      X: {type: string, enum: [Up, Down], default: {gen: choice, values: [Up, Left]}}\n",
            "'Left' is not one of",
        ),
        (
            "      X: {type: string, max_length: 3, default: {gen: faker, provider: company}}\n",
            "maximum is 3",
        ),
        (
            "      X: {type: unsignedInt, default: {gen: walk, min: -5, max: 5}}\n",
            "does not fit an unsignedInt",
        ),
        ("      X: {type: int, default: {gen: wave, min: 1, max: 5, decimals: 2}}\n", "'1.00' is invalid"),
        (
            "      X: {type: int, range: [0, 100], default: {gen: walk, min: 0, max: 101}}\n",
            "outside the range",
        ),
        (
            "      X: {type: unsignedInt, default: {gen: mac, base: '02:00:00:00:00:00'}}\n",
            "is not an unsignedInt",
        ),
        ("      X: {type: IPv6Address, default: {gen: ipv4, pool: 10.0.0.0/8}}\n", "not a valid ipv6"),
        ("      X: {type: boolean, default: {gen: now}}\n", "is not a boolean"),
        (
            "      X: {type: unsignedInt, default: {gen: template, format: '{index:03d}'}}\n",
            "'000', which is not canonical (expected '0')",
        ),
    ],
)
def test_impossible_generator_values_are_schema_errors(tmp_path: Path, line: str, reason: str) -> None:
    exc = _fails(tmp_path, line)
    assert reason in exc.reason


def test_compatible_generators_load(tmp_path: Path) -> None:
    lines = (
        "      A: {type: dateTime, default: {gen: boot_time}}\n"
        "      B: {type: unsignedInt, default: {gen: uptime, offset: -40}}\n"
        "      C: {type: MACAddress, default: {gen: mac, base: '02:00:00:00:00:00', step: 256}}\n"
        "      D: {type: decimal, default: {gen: wave, min: -1, max: 1, decimals: 3, noise: 0.1}}\n"
        "      E: {type: StatsCounter64, default: {gen: counter, rate: 1000}}\n"
        "      F: {type: int, default: {gen: walk, min: -96, max: -86}}\n"
    )
    assert _param(tmp_path, lines, "F").type.base == "int"


def test_fmix_is_a_fixed_64_bit_function() -> None:
    assert fmix(0) == 0
    assert fmix(1) == 0xD6E8FEBED11E0850  # pinned: values must not change between releases by accident
    assert all(0 <= fmix(x) < 1 << 64 for x in (1, 1 << 63, (1 << 64) - 1))


def test_walk_and_wave_values_are_pinned() -> None:
    """Changing the hashing changes every simulated curve: do it on purpose, not by accident."""
    p = Persona(5, boot_time=0)
    walk = make_generator({"gen": "walk", "min": 0, "max": 100, "interval": 60, "decimals": 3}, 11)
    wave = make_generator(
        {"gen": "wave", "min": -80, "max": -40, "period": 600, "noise": 3, "decimals": 2}, 11
    )
    assert walk.value(p, (2,), 1_700_000_123.5) == "47.592"
    assert wave.value(p, (2,), 1_700_000_123.5) == "-50.54"
    assert walk.value(p, (3,), 1_700_000_123.5) != "47.592"
    assert walk.value(Persona(6), (2,), 1_700_000_123.5) != "47.592"


_SCRIPT = """
from simulator.datamodel.generators import make_generator
from simulator.datamodel.personas import Persona
gens = [make_generator(s, 77) for s in (
    {"gen": "walk", "min": 0, "max": 1000, "decimals": 2},
    {"gen": "wave", "min": 0, "max": 10, "noise": 1, "decimals": 3},
    {"gen": "choice", "values": list("abcdefgh")},
    {"gen": "counter", "rate": 10},
)]
print([g.value(Persona(i, boot_time=0.0), (i % 3 + 1,), 1e9 + i * 7.5) for g in gens for i in range(30)])
"""


def test_generated_values_are_identical_across_processes_and_hash_seeds() -> None:
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        run = subprocess.run(
            [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, check=False, cwd=REPO
        )
        assert run.returncode == 0, run.stderr
        outputs.add(run.stdout)
    assert len(outputs) == 1
    assert len(set(eval(outputs.pop()))) > 60  # noqa: S307 - our own repr of a list of str
