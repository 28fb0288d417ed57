"""AgentDriver on the memory transport with a real Agent: lifecycle, requests, faults, stop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fleet_helpers import scenario

from simulator.agent.agent import Agent
from simulator.agent.behaviour import AgentBehaviour
from simulator.agent.context import AgentConfig
from simulator.agent.operate import CommandOptions
from simulator.datamodel.editing import DataModel
from simulator.datamodel.personas import Persona
from simulator.fleet.driver import TRANSITIONS, AgentDriver, DriverState
from simulator.fleet.metrics import Metrics
from simulator.fleet.probe import Probe
from simulator.fleet.profiles import group_schema
from simulator.transports.base import ConnectError, ConnectionLostError
from simulator.transports.memory import MemoryTransport, memory_pair
from simulator.usp.records import RecordKind, decode_record
from simulator.usp.requests import Get, Operate
from simulator.usp.responses import GetResp, OperateResp

EID = "os::012345-T0000"


def make_agent(boot_delay: float = 0.05) -> Agent:
    sc = scenario(1)
    schema = group_schema(sc, sc.groups[0], "127.0.0.1", 1883)
    model = DataModel(schema, Persona(0, EID))
    options = CommandOptions(boot_delay=boot_delay)
    return Agent(
        AgentConfig(endpoint_id=EID, strict=True), model, lambda ctx: AgentBehaviour(ctx, options=options)
    )


class Rig:
    """Driver + its agent end + the controller end with a probe."""

    def __init__(self, **driver_kw: Any) -> None:
        self.metrics = Metrics()
        self.agent_end, self.ctl_end = memory_pair("usp/agent/" + EID, "usp/controller")
        self.probe = Probe(self.ctl_end, "proto::controller", lambda _e: None, timeout=2.0)
        self.failures: list[BaseException] = []
        driver_kw.setdefault("retry_delay", lambda attempt, rng: 0.01)
        self.driver = AgentDriver(
            make_agent(),
            self.agent_end,
            self.metrics.events,
            controller_id="proto::controller",
            on_error=lambda d, e: self.failures.append(e),
            **driver_kw,
        )

    async def up(self) -> None:
        await self.ctl_end.connect()
        await self.driver.start()
        assert self.driver.state is DriverState.CONNECTED

    def kinds_sent(self) -> list[str]:
        return [decode_record(p).kind.name for p, _ in self.agent_end.sent]


async def until(cond: Any, timeout: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.005)


def test_transitions_table_covers_every_state() -> None:
    assert set(TRANSITIONS) == set(DriverState)
    assert TRANSITIONS[DriverState.STOPPED] == frozenset()
    assert DriverState.CONNECTED not in TRANSITIONS[DriverState.IDLE]


@pytest.mark.asyncio
async def test_driver_connects_sends_connect_record_and_answers_get() -> None:
    rig = Rig()
    await rig.up()
    await until(lambda: rig.agent_end.sent)
    first = decode_record(rig.agent_end.sent[0][0])
    assert first.kind is RecordKind.MQTT_CONNECT and first.subscribed_topic == "usp/agent/" + EID
    assert EID in rig.probe.agents
    msg = await rig.probe.request(EID, Get(("Device.DeviceInfo.SerialNumber",)))
    assert isinstance(msg.body, GetResp)
    assert msg.body.req_path_results[0].resolved_path_results[0].result_params == {
        "SerialNumber": "SIM00000000"
    }
    stats = rig.metrics.stats
    assert stats.count("connect", "mqtt") == 1
    assert stats.count("onboarding") == 1
    assert stats.count("request", "Get") == 1
    assert stats.histogram("request", "Get").max > 0  # service time measured by the driver, not 0.0
    await rig.driver.stop()
    assert rig.driver.state is DriverState.STOPPED
    assert rig.kinds_sent()[-1] == "DISCONNECT"  # DisconnectRecord on graceful stop (R-MTP.7)


@pytest.mark.asyncio
async def test_driver_without_connect_record() -> None:
    rig = Rig(send_connect_record=False)
    await rig.up()
    await asyncio.sleep(0.02)
    assert "MQTT_CONNECT" not in rig.kinds_sent()
    await rig.driver.stop()


@pytest.mark.asyncio
async def test_driver_reconnects_after_connection_loss() -> None:
    rig = Rig()
    await rig.up()
    rig.agent_end.disconnect(ConnectionLostError("cut"))
    assert rig.driver.state is DriverState.WAITING
    await rig.ctl_end.connect()
    await until(lambda: rig.driver.state is DriverState.CONNECTED)
    assert rig.driver.connects == 2
    assert rig.metrics.stats.count("reconnect") == 1
    assert rig.metrics.stats.count("connection_lost") == 1
    assert isinstance((await rig.probe.request(EID, Get(("Device.DeviceInfo.",), 1))).body, GetResp)
    await rig.driver.stop()


@pytest.mark.asyncio
async def test_driver_retries_retryable_connect_errors_with_backoff() -> None:
    attempts: list[int] = []
    rig = Rig(retry_delay=lambda attempt, rng: attempts.append(attempt) or 0.01)
    rig.agent_end.faults.fail_connect = ConnectError("unreachable")
    await rig.ctl_end.connect()
    await rig.driver.start()
    assert rig.driver.state is DriverState.WAITING
    await until(lambda: len(attempts) >= 3)
    assert attempts[:3] == [1, 2, 3]  # the attempt number grows: back-off windows widen
    rig.agent_end.faults.fail_connect = None
    await until(lambda: rig.driver.state is DriverState.CONNECTED)
    assert rig.metrics.stats.count("connect_error", "unreachable") >= 3
    assert not rig.failures
    await rig.driver.stop()


@pytest.mark.asyncio
async def test_driver_fails_on_permanent_refusal_and_reports_it() -> None:
    rig = Rig()
    refusal = ConnectError(
        "bad credentials", refused=True, reason="bad user name or password", reason_code=0x86
    )
    rig.agent_end.faults.fail_connect = refusal
    await rig.driver.start()
    assert rig.driver.state is DriverState.FAILED
    assert rig.failures == [refusal] and rig.driver.error is refusal
    await rig.driver.stop()
    assert rig.driver.state is DriverState.STOPPED


@pytest.mark.asyncio
async def test_driver_reboot_disconnects_and_comes_back() -> None:
    rig = Rig()
    await rig.up()
    msg = await rig.probe.request(EID, Operate("Device.Reboot()", "k1", True))
    assert isinstance(msg.body, OperateResp)
    await until(lambda: rig.driver.state is not DriverState.CONNECTED)
    assert rig.metrics.stats.count("agent_disconnect", "reboot") == 1
    await rig.ctl_end.connect()  # the memory peer saw the link go down; bring the controller end back
    await until(lambda: rig.driver.state is DriverState.CONNECTED)
    assert rig.driver.connects == 2
    await rig.driver.stop()


@pytest.mark.asyncio
async def test_driver_catches_agent_bugs_and_keeps_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = Rig()
    await rig.up()
    original = Agent.receive
    calls = {"n": 0}

    def flaky(self: Agent, data: bytes, now: float, reply_to: str | None = None) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("agent bug")
        return original(self, data, now, reply_to)

    monkeypatch.setattr(Agent, "receive", flaky)
    with pytest.raises(TimeoutError):
        await rig.probe.request(EID, Get(("Device.",), 1), timeout=0.2)
    assert isinstance(rig.failures[0], RuntimeError)
    assert rig.metrics.stats.count("driver_error", "RuntimeError") == 1
    assert isinstance((await rig.probe.request(EID, Get(("Device.DeviceInfo.",), 1))).body, GetResp)
    assert rig.driver.state is DriverState.CONNECTED
    await rig.driver.stop()


@pytest.mark.asyncio
async def test_driver_rejects_transitions_outside_the_table() -> None:
    rig = Rig()
    with pytest.raises(RuntimeError, match="cannot go from IDLE to CONNECTED"):
        rig.driver._set(DriverState.CONNECTED)


@pytest.mark.asyncio
async def test_driver_schedules_and_cancels_agent_timers(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = Rig()
    await rig.up()
    from simulator.agent.actions import CancelTimer, Schedule, Timer

    fired: list[Timer] = []
    original = Agent.fire

    def record(self: Agent, timer: Timer, now: float) -> Any:
        fired.append(timer)
        return original(self, timer, now)

    monkeypatch.setattr(Agent, "fire", record)
    now = rig.driver.now()
    rig.driver._execute(
        [
            Schedule(now + 0.02, Timer("t", (1,))),
            Schedule(now + 0.02, Timer("t", (2,))),
            CancelTimer(Timer("t", (2,))),
        ]
    )
    await asyncio.sleep(0.1)
    assert fired == [Timer("t", (1,))]
    await rig.driver.stop()


@pytest.mark.asyncio
async def test_memory_transport_type_is_accepted() -> None:
    assert isinstance(Rig().agent_end, MemoryTransport)


@pytest.mark.asyncio
async def test_driver_fires_one_metric_event_per_answered_request() -> None:
    """An answered Get is ONE ``request`` observation (kind, service time, error), no ``sent`` event;
    agent-initiated records (the MQTTConnect Record here) still count as ``sent``."""
    rig = Rig()
    seen: list[tuple[str, str]] = []
    rig.metrics.events.add_listener(lambda **kw: seen.append((kw["name"], kw["kind"])))
    await rig.up()
    await until(lambda: rig.agent_end.sent)
    seen.clear()
    for _ in range(3):
        await rig.probe.request(EID, Get(("Device.DeviceInfo.SerialNumber",)))
    assert [s for s in seen if s[0] != "onboarding"] == [("request", "Get")] * 3
    stats = rig.metrics.stats
    assert stats.count("sent", "GetResp") == 0
    assert stats.count("sent", "Connect") == 1
    hist = stats.histogram("request", "Get")
    assert hist.count == 3 and 0 < hist.max < 1.0
    await rig.driver.stop()
