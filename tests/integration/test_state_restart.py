"""`uspsim run --state DIR` as a subprocess on mosquitto: acknowledged changes survive SIGKILL, SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.fleet.config import load_scenario
from simulator.fleet.probe import Probe, ProbeTimeoutError, mqtt_probe
from simulator.usp.requests import (
    Add,
    CreateObject,
    CreateParamSetting,
    Delete,
    Get,
    Set,
    UpdateObject,
    UpdateParamSetting,
)
from simulator.usp.responses import AddResp, DeleteResp, GetResp, SetResp

ROOT = Path(__file__).resolve().parents[2]
SUB = "Device.LocalAgent.Subscription."
ADOPT = "MaxSubscriptionChangeAdoptionTime"
EID = "os::012345-ST{index:04d}"

pytestmark = pytest.mark.mqtt


def write_scenario(tmp_path: Path, broker_url: str, prefix: str, count: int = 2) -> Path:
    path = tmp_path / "state.yaml"
    path.write_text(
        f"name: state\nbroker: {{url: '{broker_url}'}}\n"
        f"controller: {{endpoint_id: 'proto::state-{prefix[-12:]}', "
        f"agent_topic: '{prefix}/agent/{{endpoint_id}}', controller_topic: '{prefix}/controller'}}\n"
        f"groups:\n  - profile: minimal\n    count: {count}\n"
        f"    endpoint_id: '{EID}'\n"
    )
    return path


def start(scenario: Path, state: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator.integrations.cli",
            "--no-color",
            "run",
            str(scenario),
            "--duration",
            "0",
            "--state",
            str(state),
            *extra,
        ],
        cwd=ROOT,
        start_new_session=True,  # its own process group: SIGKILL reaches --processes workers too
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def sub_row(ident: str, persistent: bool) -> CreateObject:
    values = {
        "ID": ident,
        "Enable": "true",
        "NotifType": "Event",
        "ReferenceList": "Device.Boot!",
        "Persistent": "true" if persistent else "false",
    }
    return CreateObject(SUB, tuple(CreateParamSetting(k, v, True) for k, v in values.items()))


async def wait_up(probe: Probe, eid: str, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with contextlib.suppress(ProbeTimeoutError):
            await probe.request(eid, Get(("Device.LocalAgent.EndpointID",)), timeout=0.5)
            return
        assert loop.time() < deadline, f"{eid} did not answer within {timeout} s"


async def values(probe: Probe, eid: str, *paths: str) -> dict[str, str]:
    msg = await probe.request(eid, Get(paths))
    assert isinstance(msg.body, GetResp)
    out: dict[str, str] = {}
    for req in msg.body.req_path_results:
        for res in req.resolved_path_results:
            out.update({res.resolved_path + k: v for k, v in res.result_params.items()})
    return out


async def make_changes(probe: Probe, eid: str) -> None:
    """Every change is acknowledged (its response received) before the process is killed."""
    setting = UpdateObject("Device.LocalAgent.", (UpdateParamSetting(ADOPT, "61", True),))
    assert isinstance((await probe.request(eid, Set(False, (setting,)))).body, SetResp)
    added = await probe.request(eid, Add(False, (sub_row("keep", True), sub_row("lose", False))))
    assert isinstance(added.body, AddResp)
    extra = await probe.request(eid, Add(False, (sub_row("gone", True),)))
    assert isinstance(extra.body, AddResp)
    path = extra.body.created_obj_results[0].oper_status.instantiated_path  # type: ignore[union-attr]
    assert isinstance((await probe.request(eid, Delete(False, (path,)))).body, DeleteResp)


async def check_restored(probe: Probe, eid: str, other: str) -> None:
    got = await values(probe, eid, "Device.LocalAgent." + ADOPT, SUB + "*.ID", SUB + "*.Persistent")
    assert got["Device.LocalAgent." + ADOPT] == "61"
    ids = {k: v for k, v in got.items() if k.endswith(".ID")}
    assert "keep" in ids.values() and "lose" not in ids.values() and "gone" not in ids.values()
    keep = next(k for k, v in ids.items() if v == "keep")
    assert keep == SUB + "2.ID"  # same instance number as before the restart (R-ARC.8)
    untouched = await values(probe, other, "Device.LocalAgent." + ADOPT)
    assert untouched["Device.LocalAgent." + ADOPT] == "5"


def stop(proc: subprocess.Popen[str], sig: signal.Signals) -> str:
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_state_survives_restart(
    tmp_path: Path, usp_broker_url: str, usp_topic_prefix: str, sig: signal.Signals
) -> None:
    scenario_path = write_scenario(tmp_path, usp_broker_url, usp_topic_prefix)
    scenario = load_scenario(str(scenario_path))
    state = tmp_path / "state"
    eid, other = EID.format(index=0), EID.format(index=1)

    async def session(check: bool) -> None:
        probe = mqtt_probe(scenario.controller, scenario.broker.host, scenario.broker.port, timeout=5.0)
        await probe.connect()
        try:
            await wait_up(probe, eid)
            await wait_up(probe, other)
            if check:
                await check_restored(probe, eid, other)
            else:
                await make_changes(probe, eid)
        finally:
            await probe.close()

    first = start(scenario_path, state)
    try:
        asyncio.run(session(check=False))
    finally:
        out = stop(first, sig)
    if sig is signal.SIGTERM:
        assert first.returncode == 0, out
    second = start(scenario_path, state)
    try:
        asyncio.run(session(check=True))
    finally:
        out = stop(second, signal.SIGTERM)
    assert "Traceback" not in out, out


def test_state_survives_sigkill_with_processes(
    tmp_path: Path, usp_broker_url: str, usp_topic_prefix: str
) -> None:
    """--processes 2: each worker keeps its shard in its own file; SIGKILL of every process loses nothing."""
    scenario_path = write_scenario(tmp_path, usp_broker_url, usp_topic_prefix, count=4)
    scenario = load_scenario(str(scenario_path))
    state = tmp_path / "state"
    eids = [EID.format(index=i) for i in range(4)]  # shards (0, 2) and (2, 2)
    changed = (eids[0], eids[3])  # one agent in each worker

    async def session(check: bool) -> None:
        probe = mqtt_probe(scenario.controller, scenario.broker.host, scenario.broker.port, timeout=5.0)
        await probe.connect()
        try:
            for eid in eids:
                await wait_up(probe, eid, timeout=30.0)
            for eid, other in zip(changed, (eids[1], eids[2]), strict=True):
                if check:
                    await check_restored(probe, eid, other)
                else:
                    await make_changes(probe, eid)
        finally:
            await probe.close()

    first = start(scenario_path, state, "--processes", "2")
    try:
        asyncio.run(session(check=False))
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # parent and both workers at once, as a crash would
        first.communicate(timeout=20)
    files = sorted(p.name for p in state.glob("*.sqlite3"))
    assert files == ["agents-0-2.sqlite3", "agents-2-2.sqlite3"], files
    second = start(scenario_path, state, "--processes", "2")
    try:
        asyncio.run(session(check=True))
    finally:
        out = stop(second, signal.SIGTERM)
    assert second.returncode == 0, out
    assert "Traceback" not in out, out
