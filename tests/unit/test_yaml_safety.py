"""YAML inputs are data only (issue 8): safe loaders, clear file:line: key errors, before any connection.

Scenario files (``fleet.config``) and data-model profiles (``datamodel.loader``) are both loaded with
SafeLoader subclasses; a ``!!python/...`` tag is refused with an error naming the file and line, and
nothing is executed. Value generators are a closed set. A scenario needing more file descriptors than
RLIMIT_NOFILE allows is refused up front with the ``ulimit -n`` fix.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from simulator.datamodel.errors import SchemaError
from simulator.datamodel.loader import load_schema
from simulator.fleet.config import ConfigError, load_scenario
from simulator.fleet.limits import FD_RESERVE, check_fd_limit, fd_limits

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "datamodels" / "minimal.yaml"

SCENARIO = """\
name: t
broker:
  url: mqtt://127.0.0.1:1
controller:
  profile: generic
groups:
  - name: g
    profile: {profile}
    count: {count}
    endpoint_id: "os::012345-T{{index:06d}}"
"""

EVIL = [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:os.system ['touch {marker}']",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:collections.OrderedDict {{}}",
]


def _scenario(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sc.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("tag", EVIL)
def test_yaml_python_tag_in_scenario_is_refused(tmp_path: Path, tag: str) -> None:
    marker = tmp_path / "pwned"
    text = SCENARIO.format(profile=MINIMAL, count=1).replace("name: t", f"name: {tag.format(marker=marker)}")
    path = _scenario(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_scenario(str(path))
    assert str(path) in str(info.value) and ":1" in str(info.value)
    assert "python" in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("tag", EVIL)
def test_yaml_python_tag_in_datamodel_is_refused(tmp_path: Path, tag: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "dm.yaml"
    path.write_text(
        f"format: 1\nextends: {MINIMAL}\nobjects:\n  Device.DeviceInfo.:\n    params:\n"
        f"      X: {tag.format(marker=marker)}\n"
    )
    with pytest.raises(SchemaError) as info:
        load_schema(path)
    assert str(path) in str(info.value) and ":6" in str(info.value)
    assert not marker.exists()


def test_yaml_unknown_value_generator_is_refused(tmp_path: Path) -> None:
    """Value generators are a closed set: ``gen: eval`` is an error naming the key, not a hook."""
    path = tmp_path / "dm.yaml"
    path.write_text(
        f"format: 1\nextends: {MINIMAL}\nobjects:\n  Device.DeviceInfo.:\n    params:\n"
        "      X: {type: string, default: {gen: eval, expr: \"__import__('os')\"}}\n"
    )
    with pytest.raises(SchemaError) as info:
        load_schema(path)
    text = str(info.value)
    assert str(path) in text and "gen" in text and "eval" in text


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", "empty"),
        ("- just\n- a list\n", "mapping"),
        ("name: t\nbroker:\n\turl: x\n", ":3"),
        ("name: [unclosed\n", ":"),
    ],
)
def test_yaml_broken_scenario_names_file_and_line(tmp_path: Path, text: str, where: str) -> None:
    path = _scenario(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_scenario(str(path))
    assert str(path) in str(info.value)
    assert where in str(info.value) or where in ("empty", "mapping")


def test_yaml_scenario_with_broken_profile_fails_at_load(tmp_path: Path) -> None:
    """A group's profile with an error fails when the scenario loads, naming the profile file and key."""
    dm = tmp_path / "dm.yaml"
    dm.write_text(
        f"format: 1\nextends: {MINIMAL}\nobjects:\n  Device.DeviceInfo.:\n    params:\n"
        "      X: {type: nosuchtype}\n"
    )
    path = _scenario(tmp_path, SCENARIO.format(profile=dm, count=1))
    with pytest.raises((ConfigError, SchemaError)) as info:
        from simulator.fleet.runner import Fleet

        Fleet(load_scenario(str(path)))  # profiles load in the constructor, before any connection
    assert str(dm) in str(info.value) and ":6" in str(info.value)


def test_yaml_scenario_unknown_profile_names_key(tmp_path: Path) -> None:
    path = _scenario(tmp_path, SCENARIO.format(profile="no-such-profile", count=1))
    with pytest.raises(ConfigError) as info:
        load_scenario(str(path))
    assert "groups[0].profile" in str(info.value) and ":8" in str(info.value)


# -- file descriptors ------------------------------------------------------------------------------


def test_fd_limit_check_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("simulator.fleet.limits.fd_limits", lambda: (256, 4096))
    check_fd_limit(256 - FD_RESERVE, source="x.yaml")
    with pytest.raises(ConfigError) as info:
        check_fd_limit(1000, source="x.yaml")
    text = str(info.value)
    assert "x.yaml" in text and "ulimit -n 1064" in text and "256" in text
    monkeypatch.setattr("simulator.fleet.limits.fd_limits", lambda: (256, 512))
    with pytest.raises(ConfigError, match="hard limit is 512"):
        check_fd_limit(1000, source="x.yaml")


@pytest.mark.skipif(fd_limits() is None, reason="no RLIMIT_NOFILE on this platform")
def test_fd_limit_cli_refuses_before_connecting(tmp_path: Path) -> None:
    """``uspsim run`` with 1,000 agents under ``ulimit -n 200``: exit 2, says ``ulimit -n``, opens nothing."""
    path = _scenario(tmp_path, SCENARIO.format(profile=MINIMAL, count=1000))
    code = textwrap.dedent(
        f"""
        import resource, sys
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, hard))
        from simulator.integrations.cli import main
        sys.exit(main(["run", {str(path)!r}]))
        """
    )
    cmd = [sys.executable, "-c", code]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "ulimit -n" in proc.stderr and "1000 agents" in proc.stderr and str(path) in proc.stderr
    assert "cannot reach" not in proc.stdout + proc.stderr  # refused before the broker preflight
