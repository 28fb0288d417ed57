"""Sandbox: a broker, fleets and probe controllers on a background event loop, driven synchronously.

This is the runtime behind the pytest plugin (``simulator.integrations.pytest_plugin``), usable on its
own from any synchronous code. Everything asynchronous lives in ONE daemon thread that runs
``asyncio.run`` (architecture.md B4, the pytest-httpserver pattern); callers hand it coroutines with
``asyncio.run_coroutine_threadsafe`` and always wait with a timeout. The caller's own event loop, if
any (pytest-asyncio), is never touched, so sync and async tests both work.

# Strategy: handles (``FleetHandle``, ``SyncProbe``, ``AgentHandle``) never touch asyncio objects from
# the caller's thread; every read or write of a ``Fleet``/``Probe`` runs inside the loop thread via
# ``LoopThread.run``/``arun``. Background failures are recorded by the fleet (``Fleet.errors``) and by
# the probe (``Probe.lost``) and re-raised by ``check()`` (architecture.md B7.8).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

from simulator.agent.operate import CommandOptions
from simulator.fleet.config import (
    PROFILES,
    BrokerConfig,
    ControllerConfig,
    GroupConfig,
    ScenarioConfig,
    find_datamodel,
    parse_broker_url,
)
from simulator.fleet.localbroker import local_broker
from simulator.fleet.mtp import tls_settings
from simulator.fleet.probe import Probe, mqtt_probe
from simulator.fleet.runner import Fleet, FleetStatus
from simulator.integrations.loopthread import LoopThread, SandboxError
from simulator.integrations.syncprobe import SyncProbe, UnexpectedResponseError

__all__ = [
    "ONBOARDING_PATHS",
    "TEST_COMMAND_OPTIONS",
    "AgentHandle",
    "BrokerInfo",
    "FleetHandle",
    "FleetStartError",
    "LoopThread",
    "Sandbox",
    "SandboxError",
    "SyncProbe",
    "UnexpectedResponseError",
    "controller_config",
]

ONBOARDING_PATHS = tuple(
    f"Device.DeviceInfo.{leaf}"
    for leaf in ("Manufacturer", "ModelName", "SoftwareVersion", "SerialNumber", "ProductClass")
)
"""The five DeviceInfo leaves a controller (Oktopus) reads from every new device."""

TEST_COMMAND_OPTIONS = CommandOptions(
    boot_delay=0.5,
    reconnect_delay=0.2,
    download_time=1.0,
    validate_time=0.2,
    diagnostic_time=0.5,
    selftest_time=0.5,
    install_time=0.5,
    default_async_time=0.2,
)
"""Command durations for tests: a Reboot() is back in half a second instead of 30."""


class FleetStartError(SandboxError):
    """Not every agent of a fleet connected in time."""


# -- broker ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BrokerInfo:
    """The broker the sandbox's fleets use.

    Attributes:
        url: ``mqtt://host:port`` (or ``mqtts://``).
        host: host name or address.
        port: TCP port.
        kind: "embedded", "mosquitto" or "external".
        versions: MQTT protocol levels it is known to speak (4 = 3.1.1, 5).
    """

    url: str
    host: str
    port: int
    kind: str
    versions: frozenset[int] = frozenset({4, 5})


# -- fleets --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FleetSpec:
    """Everything that identifies one fleet (the factory's cache key)."""

    count: int
    profile: str
    endpoint_id: str
    first_index: int
    mqtt_version: int
    controller: ControllerConfig
    broker_url: str
    spawn_rate: float
    seed: int
    command_options: CommandOptions


class FleetHandle:
    """A running fleet, driven from the test's thread.

    Attributes:
        spec: what was asked for.
        scenario: the generated scenario (one group).
        broker_url: where the agents connect.
        controller_id: the EndpointID the agents accept requests from and send Notifies to.
        controller_topic: where agents publish (responses, Notifies, Connect Records).
        endpoint_ids: the agents' EndpointIDs, in index order.
    """

    def __init__(self, sandbox: Sandbox, spec: FleetSpec, scenario: ScenarioConfig) -> None:
        """Wrap (not start) a fleet; use ``Sandbox.fleet``."""
        self._sandbox = sandbox
        self.spec = spec
        self.scenario = scenario
        self.broker_url = spec.broker_url
        self.controller_id = scenario.controller.endpoint_id
        self.controller_topic = scenario.controller.controller_topic
        group = scenario.groups[0]
        first = spec.first_index
        self.endpoint_ids = [group.endpoint_id_of(i) for i in range(first, first + spec.count)]
        self._fleet: Fleet | None = None
        self._retired: list[Fleet] = []
        self.used = False

    def __len__(self) -> int:
        return self.spec.count

    def __iter__(self) -> Any:
        return iter(self.endpoint_ids)

    def __repr__(self) -> str:
        return f"<FleetHandle {self.spec.count} agents {self.endpoint_ids[:1]}... on {self.broker_url}>"

    @property
    def fleet(self) -> Fleet | None:
        """The underlying ``Fleet`` (loop-thread object: read it only through ``Sandbox.loop.call``)."""
        return self._fleet

    def agent_topic(self, endpoint_id: str) -> str:
        """The topic one agent subscribes to (where a controller publishes requests)."""
        return self.scenario.controller.agent_topic_for(endpoint_id)

    def probe(self, timeout: float = 10.0) -> SyncProbe:
        """The probe controller that matches this fleet's controller (EndpointID and topics)."""
        return self._sandbox.probe(
            self.broker_url, self.scenario.controller, mqtt_version=self.spec.mqtt_version, timeout=timeout
        )

    def agent(self, index: int = 0) -> AgentHandle:
        """A handle on the ``index``-th agent of this fleet."""
        return AgentHandle(self, index)

    def _new_fleet(self) -> Fleet:
        host, port = self.scenario.broker.host, self.scenario.broker.port
        return Fleet(
            self.scenario,
            host=host,
            port=port,
            shard=(self.spec.first_index, self.spec.count),
            command_options=self.spec.command_options,
        )

    async def _start(self, timeout: float) -> FleetStatus:
        fleet = self._new_fleet()
        self._fleet = fleet
        await fleet.start()
        st = await fleet.wait_connected(timeout)
        if st.connected < st.total:
            cause = fleet.errors[0][1] if fleet.errors else fleet.last_connect_error()
            msg = (
                f"only {st.connected}/{st.total} agents connected to {self.broker_url} within {timeout:g} s"
                f" (failed {st.failed}, waiting {st.waiting}){f': {cause}' if cause else ''}"
            )
            raise FleetStartError(msg)
        return st

    async def _stop(self, timeout: float) -> None:
        fleet, self._fleet = self._fleet, None
        if fleet is not None:
            self._retired.append(fleet)
            await fleet.stop(timeout)

    def start(self, timeout: float = 30.0) -> FleetStatus:
        """Build the agents and wait until every one is connected.

        Raises:
            FleetStartError: not all agents connected within ``timeout`` seconds.
        """
        self._sandbox._ensure()
        return self._sandbox.loop.run(self._start(timeout), timeout + 10.0)

    def stop(self, timeout: float = 5.0) -> None:
        """Graceful stop (DisconnectRecord + MQTT DISCONNECT); errors stay recorded for ``check``."""
        self._sandbox.loop.run(self._stop(timeout), timeout + 10.0)

    def restart(self, timeout: float = 30.0) -> FleetStatus:
        """Fresh agents: stop, rebuild (initial data model, new Connect Records and Boot!), start.

        Failures recorded by the stopped agents are checked first.
        """
        self.check()

        async def both() -> FleetStatus:
            await self._stop(5.0)
            return await self._start(timeout)

        return self._sandbox.loop.run(both(), timeout + 20.0)

    async def arestart(self, timeout: float = 30.0) -> FleetStatus:
        """``restart`` awaited from an async test."""
        self.check()

        async def both() -> FleetStatus:
            await self._stop(5.0)
            return await self._start(timeout)

        return await self._sandbox.loop.arun(both(), timeout + 20.0)

    def status(self) -> FleetStatus:
        """Agents per state right now."""
        fleet = self._fleet
        if fleet is None:
            return FleetStatus(self.spec.count, 0, 0, 0, 0)
        return self._sandbox.loop.call(fleet.status)

    def wait_connected(self, timeout: float = 30.0) -> FleetStatus:
        """Wait until every agent is connected again (e.g. after a Reboot()); returns the status."""
        fleet = self._fleet
        if fleet is None:
            return self.status()
        return self._sandbox.loop.run(fleet.wait_connected(timeout), timeout + 10.0)

    @property
    def errors(self) -> list[tuple[str, BaseException]]:
        """(EndpointID, exception) recorded by the agents' drivers, oldest first."""
        fleets = [*self._retired, *([self._fleet] if self._fleet else [])]
        return [e for f in fleets for e in list(f.errors)]

    def check(self) -> None:
        """Re-raise the first failure an agent recorded in the background (architecture.md B7.8)."""
        errors = self.errors
        if errors:
            self._retired.clear()
            if self._fleet is not None:
                self._fleet.errors.clear()
            eid, exc = errors[0]
            msg = f"agent {eid} failed in the background: {exc!r}"
            raise SandboxError(msg) from exc


class AgentHandle:
    """One agent of a fleet: its EndpointID and direct (out-of-band) reads of its data model."""

    def __init__(self, fleet: FleetHandle, index: int) -> None:
        """Wrap the ``index``-th agent of ``fleet``."""
        self.fleet = fleet
        self.index = index
        self.endpoint_id = fleet.endpoint_ids[index]

    def __repr__(self) -> str:
        return f"<AgentHandle {self.endpoint_id}>"

    def value(self, path: str) -> str:
        """Read one parameter straight from the agent's data model (no USP message is sent)."""

        def read() -> str:
            fleet = self.fleet.fleet
            if fleet is None:
                msg = f"{self.endpoint_id}: the fleet is not running"
                raise SandboxError(msg)
            driver = next(d for d in fleet.drivers if d.endpoint_id == self.endpoint_id)
            now = driver.now()
            return driver.agent.ctx.datamodel.get_value(path, now)

        return self.fleet._sandbox.loop.call(read)

    def restart(self, timeout: float = 30.0) -> FleetStatus:
        """Restart the agent's fleet (fresh state)."""
        return self.fleet.restart(timeout)


# -- the sandbox --------------------------------------------------------------------------------
def controller_config(
    controller_profile: str = "generic",
    *,
    controller_id: str | None = None,
    agent_topic: str | None = None,
    controller_topic: str | None = None,
    send_connect_record: bool | None = None,
    boot_subscription: bool | None = None,
    **_ignored: Any,
) -> ControllerConfig:
    """A controller section from a profile (``generic``, ``oktopus``, ``openusp``...) plus overrides.

    Extra keyword arguments (other fleet options) are ignored, so a fleet's option dict can be passed.

    Raises:
        SandboxError: unknown profile.
    """
    if controller_profile not in PROFILES:
        msg = f"unknown controller profile {controller_profile!r}; expected one of {', '.join(PROFILES)}"
        raise SandboxError(msg)
    p = PROFILES[controller_profile]
    return ControllerConfig(
        profile=controller_profile,
        endpoint_id=controller_id or p.endpoint_id,
        agent_topic=agent_topic or p.agent_topic,
        controller_topic=controller_topic or p.controller_topic,
        ws_url=p.ws_url,
        mqtt_version=p.mqtt_version,
        send_connect_record=p.send_connect_record if send_connect_record is None else send_connect_record,
        boot_subscription=p.boot_subscription if boot_subscription is None else boot_subscription,
    )


class Sandbox:
    """Owns the loop thread and everything on it: broker, fleets (cached by spec), probes.

    Attributes:
        loop: the background loop thread.
        broker: the broker started by ``start_broker`` (None when only an external URL is used).
    """

    def __init__(self) -> None:
        """Create; the loop thread starts on first use."""
        self.loop = LoopThread()
        self.broker: BrokerInfo | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._fleets: dict[FleetSpec, FleetHandle] = {}
        self._probes: dict[tuple[str, str, str, int, str], SyncProbe] = {}
        self._index_lock = threading.Lock()
        self._next_first = 0

    def _ensure(self) -> None:
        if not self.loop.running:
            self.loop.start()

    def start_broker(self, spec: str = "embedded", startup_timeout: float = 15.0) -> BrokerInfo:
        """Start (or describe) the broker.

        Args:
            spec: "embedded" (ours, in the loop thread), "mosquitto" (a local mosquitto on a free port,
                falling back to embedded when not installed) or ``mqtt://host:port`` (external).
            startup_timeout: seconds.

        Raises:
            ConfigError: ``spec`` is none of these.
        """
        if self.broker is not None:
            return self.broker
        if spec not in ("embedded", "mosquitto"):
            host, port, _tls = parse_broker_url(spec, "--usp-broker/USP_SIM_BROKER_URL", 0, "broker")
            self.broker = BrokerInfo(spec, host, port, "external")
            return self.broker
        self._ensure()

        async def enter() -> BrokerInfo:
            stack = contextlib.AsyncExitStack()
            local = await stack.enter_async_context(
                local_broker(prefer=spec, startup_timeout=startup_timeout)
            )
            self._stack = stack
            return BrokerInfo(local.url, local.host, local.port, local.kind, local.versions)

        self.broker = self.loop.run(enter(), startup_timeout + 10.0)
        return self.broker

    def _allocate(self, count: int) -> int:
        with self._index_lock:
            first = self._next_first
            self._next_first += count
            return first

    def fleet(
        self,
        broker_url: str,
        count: int = 10,
        *,
        profile: str = "minimal",
        endpoint_id: str | None = None,
        mqtt_version: int = 5,
        controller_profile: str = "generic",
        controller_id: str | None = None,
        agent_topic: str | None = None,
        controller_topic: str | None = None,
        send_connect_record: bool | None = None,
        boot_subscription: bool | None = None,
        spawn_rate: float = 1000.0,
        seed: int = 0,
        command_options: CommandOptions | None = None,
        start: bool = True,
        connect_timeout: float = 30.0,
    ) -> FleetHandle:
        """The fleet for these options: started on first request, the same handle afterwards.

        Without ``endpoint_id`` every new fleet gets its own range of agent indexes (so EndpointIDs and
        serial numbers never collide); with a template, indexes start at 0.

        Raises:
            ConfigError: the profile is not found or an option is invalid.
            FleetStartError: agents did not connect in time.
        """
        path = find_datamodel(profile)
        if path is None:
            msg = f"data-model profile {profile!r} not found (datamodels/<name>.yaml or a file path)"
            raise SandboxError(msg)
        if count < 1:
            msg = f"count must be >= 1, got {count}"
            raise SandboxError(msg)
        controller = controller_config(
            controller_profile,
            controller_id=controller_id,
            agent_topic=agent_topic,
            controller_topic=controller_topic,
            send_connect_record=send_connect_record,
            boot_subscription=boot_subscription,
        )
        options = command_options or TEST_COMMAND_OPTIONS
        key = FleetSpec(
            count,
            str(path),
            endpoint_id or "",
            -1,
            mqtt_version,
            controller,
            broker_url,
            spawn_rate,
            seed,
            options,
        )
        handle = self._fleets.get(key)
        if handle is not None:
            return handle
        first = 0 if endpoint_id else self._allocate(count)
        template = endpoint_id or "os::012345-SIM{index:06d}"
        spec = dataclasses.replace(key, endpoint_id=template, first_index=first)
        host, port, tls = parse_broker_url(broker_url, "usp_broker_url", 0, "broker")
        scenario = ScenarioConfig(
            "pytest",
            "<pytest>",
            BrokerConfig(broker_url, host, port, tls),
            controller,
            (GroupConfig("pytest", str(path), count, template, "mqtt", mqtt_version, spawn_rate, "", first),),
            seed=seed,
        )
        handle = FleetHandle(self, spec, scenario)
        self._fleets[key] = handle
        if start:
            self._ensure()
            handle.start(connect_timeout)
        return handle

    def probe(
        self, broker_url: str, controller: ControllerConfig, *, mqtt_version: int = 5, timeout: float = 10.0
    ) -> SyncProbe:
        """The connected probe controller for ``controller`` (one per controller identity and broker)."""
        c = controller
        key = (broker_url, c.endpoint_id, c.controller_topic, mqtt_version, c.agent_topic)
        found = self._probes.get(key)
        if found is not None:
            return found
        self._ensure()
        host, port, tls = parse_broker_url(broker_url, "usp_broker_url", 0, "broker")

        async def connect() -> Probe:
            probe = mqtt_probe(
                controller,
                host,
                port,
                protocol_version=mqtt_version,
                tls=tls_settings(tls) if tls is not None else None,
                timeout=timeout,
            )
            await probe.connect()
            return probe

        sync = SyncProbe(self, self.loop.run(connect(), timeout + 10.0))
        self._probes[key] = sync
        return sync

    def close(self, timeout: float = 10.0) -> None:
        """Stop every fleet, close the probes and the broker, stop the loop thread.

        Raises:
            SandboxError: an agent failed in the background (after everything was closed).
        """
        handles = list(self._fleets.values())
        probes = list(self._probes.values())
        self._fleets.clear()
        self._probes.clear()
        if self.loop.running:

            async def shutdown() -> None:
                await asyncio.gather(*(h._stop(timeout) for h in handles), return_exceptions=True)
                for p in probes:
                    with contextlib.suppress(Exception):
                        await p._probe.close()
                if self._stack is not None:
                    stack, self._stack = self._stack, None
                    await stack.aclose()

            try:
                self.loop.run(shutdown(), timeout + 15.0)
            finally:
                self.loop.stop(timeout)
        for h in handles:
            h.check()
