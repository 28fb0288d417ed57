"""``uspsim demo``: a local broker, N home-gateway agents and the probe controller, end to end.

Everything runs on 127.0.0.1: mosquitto on a free port when the binary is installed, otherwise our
embedded broker in-process. The probe onboards every agent (the Oktopus five-leaf Get), exercises
every request type on a sample, subscribes, and checks that ValueChange and Boot! notifications come
back. The result is a latency report and a PASS/FAIL checklist; the exit status is 0 only when every
check passed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from simulator.agent.operate import CommandOptions
from simulator.fleet.config import BrokerConfig, ControllerConfig, GroupConfig, ScenarioConfig, find_datamodel
from simulator.fleet.localbroker import LocalBroker, local_broker
from simulator.fleet.metrics import Stats
from simulator.fleet.probe import Notification, Probe, mqtt_probe
from simulator.fleet.runner import Fleet, FleetStatus
from simulator.usp.messages import Msg
from simulator.usp.requests import (
    Add,
    CreateObject,
    CreateParamSetting,
    Delete,
    Event,
    Get,
    GetInstances,
    GetSupportedDM,
    GetSupportedProtocol,
    Operate,
    Set,
    UpdateObject,
    UpdateParamSetting,
    ValueChange,
)
from simulator.usp.responses import (
    AddOperationSuccess,
    AddResp,
    DeleteOperationSuccess,
    DeleteResp,
    ErrorMessage,
    GetInstancesResp,
    GetResp,
    GetSupportedDMResp,
    GetSupportedProtocolResp,
    OperateResp,
    SetOperationSuccess,
    SetResp,
)

__all__ = ["ONBOARDING_PATHS", "Check", "DemoResult", "run_demo"]

ONBOARDING_PATHS = tuple(
    f"Device.DeviceInfo.{leaf}"
    for leaf in ("Manufacturer", "ModelName", "SoftwareVersion", "SerialNumber", "ProductClass")
)
"""What Oktopus asks every new device (controllers.md, onboarding step 2)."""

_WRITABLE = "Device.DeviceInfo.ProvisioningCode"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the checklist."""

    name: str
    passed: bool
    detail: str = ""


@dataclass
class DemoResult:
    """What the demo measured."""

    broker: str = ""
    profile: str = ""
    agents: int = 0
    connected: int = 0
    ramp_seconds: float = 0.0
    total_seconds: float = 0.0
    checks: list[Check] = field(default_factory=list)
    fleet_stats: Stats = field(default_factory=Stats)
    probe_stats: Stats = field(default_factory=Stats)

    @property
    def passed(self) -> bool:
        """True when there were checks and all of them passed."""
        return bool(self.checks) and all(c.passed for c in self.checks)


def demo_scenario(agents: int, broker: LocalBroker, profile: str) -> ScenarioConfig:
    """The demo's scenario: one group of ``agents`` on the local broker, generic controller profile."""
    group = GroupConfig(
        "demo",
        profile,
        agents,
        "os::012345-SIM{index:06d}",
        "mqtt",
        max(broker.versions),
        spawn_rate=3000.0,
        ws_url="",
    )
    controller = ControllerConfig(endpoint_id="proto::uspsim-demo", boot_subscription=False)
    return ScenarioConfig(
        "demo", "<uspsim demo>", BrokerConfig(broker.url, broker.host, broker.port), controller, (group,)
    )


def _sub_row(sub_id: str, notif_type: str, reference: str, *, persistent: bool) -> CreateObject:
    # Recipient is filled in by the agent with the creating controller (TR-181 2.16+).
    values = {
        "Enable": "true",
        "ID": sub_id,
        "NotifType": notif_type,
        "ReferenceList": reference,
        "NotifRetry": "true",
        "Persistent": "true" if persistent else "false",
    }
    return CreateObject(
        "Device.LocalAgent.Subscription.", tuple(CreateParamSetting(k, v, True) for k, v in values.items())
    )


def _ok(msg: Msg, kind: type) -> bool:
    return isinstance(msg.body, kind)


def _set_ok(msg: Msg) -> bool:
    return isinstance(msg.body, SetResp) and all(
        isinstance(r.oper_status, SetOperationSuccess) for r in msg.body.updated_obj_results
    )


def _get_ok(msg: Msg) -> bool:
    body = msg.body
    return isinstance(body, GetResp) and all(r.err_code == 0 for r in body.req_path_results)


def _instances_ok(msg: Msg) -> bool:
    body = msg.body
    return isinstance(body, GetInstancesResp) and len(body.req_path_results[0].curr_insts) >= 3


def _delete_ok(msg: Msg) -> bool:
    body = msg.body
    return isinstance(body, DeleteResp) and isinstance(
        body.deleted_obj_results[0].oper_status, DeleteOperationSuccess
    )


def _added(msg: Msg) -> str | None:
    body = msg.body
    if isinstance(body, AddResp) and body.created_obj_results:
        st = body.created_obj_results[0].oper_status
        if isinstance(st, AddOperationSuccess):
            return st.instantiated_path
    return None


async def _onboard(probe: Probe, eids: list[str], timeout: float) -> tuple[int, list[str]]:
    """Send the five-leaf Get to every agent at once (pipelined); count complete answers."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    good = 0
    bad: list[str] = []
    left = len(eids)

    def answered(eid: str) -> Callable[[Msg | None, float], None]:
        def callback(msg: Msg | None, _latency: float) -> None:
            nonlocal good, left
            body = msg.body if msg is not None else None
            if (
                isinstance(body, GetResp)
                and len(body.req_path_results) == 5
                and all(r.err_code == 0 and r.resolved_path_results for r in body.req_path_results)
            ):
                good += 1
            elif len(bad) < 5:
                bad.append(f"{eid}: {'no answer' if msg is None else type(body).__name__}")
            left -= 1
            if left == 0 and not done.done():
                done.set_result(None)

        return callback

    for eid in eids:
        probe.send(eid, Get(ONBOARDING_PATHS, 1), answered(eid), timeout)
    if eids:
        await done
    return good, bad


class _Sample:
    """The request tour run on each sampled agent; failures are collected as text."""

    def __init__(self, probe: Probe, eid: str, index: int) -> None:
        self.probe = probe
        self.eid = eid
        self.index = index
        self.failures: dict[str, str] = {}

    async def step(self, name: str, body: object, check: Callable[[Msg], bool]) -> Msg | None:
        try:
            msg = await self.probe.request(self.eid, body)
        except TimeoutError as exc:
            self.failures.setdefault(name, str(exc))
            return None
        if not check(msg):
            detail = msg.body.err_msg if isinstance(msg.body, ErrorMessage) else type(msg.body).__name__
            self.failures.setdefault(name, f"{self.eid}: unexpected answer ({detail})")
            return None
        return msg

    async def run(self, notify_timeout: float) -> None:
        s = self.step
        await s(
            "Get",
            Get(("Device.DeviceInfo.",), 2),
            _get_ok,
        )
        await s(
            "GetSupportedDM",
            GetSupportedDM(
                ("Device.DeviceInfo.",), return_params=True, return_commands=True, return_events=True
            ),
            lambda m: _ok(m, GetSupportedDMResp),
        )
        await s(
            "GetSupportedProtocol",
            GetSupportedProtocol("1.0,1.1,1.2,1.3"),
            lambda m: _ok(m, GetSupportedProtocolResp),
        )
        vc = await s(
            "Add",
            Add(False, (_sub_row("demo-vc", "ValueChange", _WRITABLE, persistent=False),)),
            lambda m: _added(m) is not None,
        )
        boot = await s(
            "Add",
            Add(False, (_sub_row("demo-boot", "Event", "Device.Boot!", persistent=True),)),
            lambda m: _added(m) is not None,
        )
        tmp = await s(
            "Add",
            Add(False, (_sub_row("demo-tmp", "Event", "Device.LocalAgent.Periodic!", persistent=False),)),
            lambda m: _added(m) is not None,
        )
        await s(
            "GetInstances",
            GetInstances(("Device.LocalAgent.Subscription.",)),
            _instances_ok,
        )
        if tmp is not None:
            path = _added(tmp) or ""
            await s(
                "Delete",
                Delete(False, (path,)),
                _delete_ok,
            )
        value = f"demo-{self.index}-{time.monotonic_ns() % 1_000_000}"
        setting = Set(
            False,
            (UpdateObject("Device.DeviceInfo.", (UpdateParamSetting("ProvisioningCode", value, True),)),),
        )
        if await s("Set", setting, _set_ok) is not None and vc is not None:
            await self.expect(
                "ValueChange notification",
                lambda n: (
                    isinstance(n.notify.notification, ValueChange)
                    and n.notify.notification.param_value == value
                ),
                notify_timeout,
            )
        if boot is None:
            return
        key = f"demo-reboot-{self.index}"
        started = asyncio.get_running_loop().time()
        if (
            await s("Operate", Operate("Device.Reboot()", key, True), lambda m: _ok(m, OperateResp))
            is not None
        ):
            await self.expect(
                "Boot! notification after Reboot()",
                lambda n: (
                    isinstance(n.notify.notification, Event)
                    and n.notify.notification.event_name == "Boot!"
                    and n.notify.notification.params.get("CommandKey") == key
                    and n.received_at >= started
                ),
                notify_timeout,
            )

    async def expect(self, name: str, predicate: Callable[[Notification], bool], timeout: float) -> None:
        try:
            await self.probe.wait_notification(lambda n: n.endpoint_id == self.eid and predicate(n), timeout)
        except TimeoutError as exc:
            self.failures.setdefault(name, f"{self.eid}: {exc}")


async def run_demo(
    agents: int = 1000,
    *,
    sample: int = 20,
    prefer: str = "mosquitto",
    profile: str | None = None,
    connect_timeout: float = 40.0,
    progress: Callable[[str, FleetStatus | None], None] | None = None,
    step: Callable[[str], Awaitable[None] | None] | None = None,
) -> DemoResult:
    """Run the whole demo and return what it measured (never raises for a failed check).

    Args:
        agents: fleet size.
        sample: agents that get the full request tour.
        prefer: "mosquitto" or "embedded".
        profile: data-model profile name or path (default home-gateway, else minimal).
        connect_timeout: seconds for every agent to connect.
        progress: called with (phase, fleet status) while ramping up.
        step: called with the name of each phase as it starts.
    """
    result = DemoResult(agents=agents)
    t0 = time.perf_counter()
    path = (
        find_datamodel(profile) if profile else (find_datamodel("home-gateway") or find_datamodel("minimal"))
    )
    if path is None:
        result.checks.append(
            Check("data-model profile found", False, f"{profile or 'home-gateway'} not found")
        )
        return result
    result.profile = Path(path).stem

    def phase(name: str) -> None:
        if step is not None:
            step(name)

    async with local_broker(prefer=prefer) as broker:
        result.broker = f"{broker.kind} on {broker.url}"
        result.checks.append(Check("broker running", True, result.broker))
        scenario = demo_scenario(agents, broker, str(path))
        probe = mqtt_probe(
            scenario.controller, broker.host, broker.port, protocol_version=max(broker.versions), timeout=10.0
        )
        await probe.connect()
        fleet = Fleet(
            scenario,
            host=broker.host,
            port=broker.port,
            command_options=CommandOptions(boot_delay=1.0, reconnect_delay=0.5),
        )
        try:
            phase("ramp-up")
            ramp0 = time.perf_counter()
            await fleet.start(lambda st: progress("ramp-up", st) if progress else None)
            st = await fleet.wait_connected(
                connect_timeout, progress=lambda s: progress("connect", s) if progress else None
            )
            result.ramp_seconds = time.perf_counter() - ramp0
            result.connected = st.connected
            result.checks.append(
                Check(
                    f"{agents} agents connected",
                    st.connected == agents,
                    f"{st.connected}/{agents} in {result.ramp_seconds:.1f} s",
                )
            )
            await _settle(lambda: len(probe.agents) >= st.connected, 3.0)
            result.checks.append(
                Check(
                    "MQTTConnect record received from every agent",
                    len(probe.agents) >= agents,
                    f"{len(probe.agents)}/{agents}",
                )
            )
            eids = [d.endpoint_id for d in fleet.drivers]
            phase("onboarding")
            good, bad = await _onboard(probe, eids, 15.0)
            result.checks.append(
                Check(
                    "onboarding Get (5 DeviceInfo leaves) answered by every agent",
                    good == agents,
                    f"{good}/{agents}" + (f"; {'; '.join(bad)}" if bad else ""),
                )
            )
            phase("request tour")
            tour = [_Sample(probe, eid, i) for i, eid in enumerate(eids[:sample])]
            await asyncio.gather(*(t.run(10.0) for t in tour))
            names = [
                "Get",
                "Set",
                "Add",
                "Delete",
                "Operate",
                "GetSupportedDM",
                "GetInstances",
                "GetSupportedProtocol",
                "ValueChange notification",
                "Boot! notification after Reboot()",
            ]
            for name in names:
                failures = [t.failures[name] for t in tour if name in t.failures]
                result.checks.append(
                    Check(
                        f"{name} on {len(tour)} agents",
                        not failures and bool(tour),
                        failures[0] if failures else f"{len(tour)}/{len(tour)}",
                    )
                )
            await _settle(lambda: fleet.status().connected == agents, 5.0)
            errors = fleet.metrics.stats.error_count("driver_error")
            result.checks.append(
                Check(
                    "no agent failures",
                    not fleet.errors and errors == 0,
                    f"{fleet.errors[0][0]}: {fleet.errors[0][1]}" if fleet.errors else "",
                )
            )
        finally:
            phase("stopping")
            await fleet.stop(timeout=5.0)
            await probe.close()
        result.fleet_stats = fleet.metrics.stats
        result.probe_stats = probe.metrics.stats
    result.total_seconds = time.perf_counter() - t0
    return result


async def _settle(condition: Callable[[], bool], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition() and loop.time() < deadline:
        await asyncio.sleep(0.05)
