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
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from simulator.agent.operate import CommandOptions
from simulator.datamodel.errors import SimulatorError
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
from simulator.fleet.probe import Notification, Probe, mqtt_probe
from simulator.fleet.runner import Fleet, FleetStatus
from simulator.usp.messages import Msg
from simulator.usp.requests import (
    Add,
    CreateObject,
    CreateParamSetting,
    Delete,
    Get,
    GetInstances,
    GetSupportedDM,
    Operate,
    Set,
    UpdateObject,
    UpdateParamSetting,
)
from simulator.usp.responses import (
    AddResp,
    DeleteResp,
    GetInstancesResp,
    GetResp,
    GetSupportedDMResp,
    OperateResp,
    SetResp,
)

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

T = TypeVar("T")

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


class SandboxError(SimulatorError):
    """The sandbox's loop thread is not running, or a cross-thread call timed out."""


class FleetStartError(SandboxError):
    """Not every agent of a fleet connected in time."""


class UnexpectedResponseError(SandboxError):
    """An agent answered with an ErrorMessage (or another unexpected message type).

    Attributes:
        msg: the response Msg.
        err_code: the ErrorMessage's err_code (0 for other unexpected types).
    """

    def __init__(self, text: str, msg: Msg) -> None:
        super().__init__(text)
        self.msg = msg
        self.err_code: int = getattr(msg.body, "err_code", 0)


# -- the loop thread ---------------------------------------------------------------------------------------
class LoopThread:
    """One daemon thread running ``asyncio.run``; coroutines are submitted from other threads.

    Attributes:
        failure: the exception that ended the loop, if it crashed.
    """

    def __init__(self, name: str = "usp-sim-loop") -> None:
        """Create (not start) the thread."""
        self.name = name
        self.failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while the loop accepts work."""
        return self._thread is not None and self._thread.is_alive() and self._loop is not None

    def start(self, timeout: float = 10.0) -> None:
        """Start the thread and wait until its loop runs.

        Raises:
            SandboxError: the loop did not start within ``timeout``.
        """
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._loop is None:
            msg = f"{self.name}: event loop did not start within {timeout:g} s ({self.failure!r})"
            raise SandboxError(msg)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # the thread's boundary: kept for the caller
            self.failure = exc
        finally:
            self._loop = None
            self._ready.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        await self._stop.wait()

    def _submit(self, coro: Coroutine[Any, Any, T]) -> Any:
        if threading.current_thread() is self._thread:
            coro.close()
            msg = "a sandbox call was made from inside its own loop thread (it would deadlock)"
            raise SandboxError(msg)
        loop = self._loop
        if loop is None or not self.running:
            coro.close()
            msg = f"{self.name}: the event loop is not running" + (
                f" (it failed: {self.failure!r})" if self.failure else ""
            )
            raise SandboxError(msg)
        return asyncio.run_coroutine_threadsafe(coro, loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` on the loop and block until it returns (or ``timeout`` seconds).

        Raises:
            SandboxError: the loop is not running, or the call timed out (the coroutine is cancelled).
        """
        fut = self._submit(coro)
        try:
            return fut.result(timeout)  # type: ignore[no-any-return]
        except TimeoutError:
            fut.cancel()
            msg = f"sandbox call timed out after {timeout:g} s"
            raise SandboxError(msg) from None

    async def arun(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Like ``run`` but awaited from another event loop (pytest-asyncio tests)."""
        fut = self._submit(coro)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), timeout)
        except TimeoutError:
            fut.cancel()
            msg = f"sandbox call timed out after {timeout:g} s"
            raise SandboxError(msg) from None

    def call(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """Run a plain function inside the loop thread (to read loop-owned objects safely)."""

        async def inner() -> T:
            return fn()

        return self.run(inner(), timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop (pending tasks are cancelled by ``asyncio.run``) and join the thread."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(timeout)


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


# -- the synchronous probe ---------------------------------------------------------------------------------
def _paths(paths: str | Iterable[str]) -> tuple[str, ...]:
    return (paths,) if isinstance(paths, str) else tuple(paths)


def _kind(kind: str) -> str:
    return kind if kind.startswith("Notify:") else f"Notify:{kind}"


class SyncProbe:
    """A synchronous facade over the built-in probe controller (``simulator.fleet.probe.Probe``).

    Every method blocks the calling thread (never the sandbox loop) until the agent answers. Methods
    that return a ``*Resp`` raise ``UnexpectedResponseError`` when the agent answers with an
    ``ErrorMessage``; per-path errors (``GetResp`` ``err_code``, partial Set/Add/Delete) are returned.

    Attributes:
        controller_id: the probe's EndpointID.
        timeout: default seconds per request.
    """

    def __init__(self, sandbox: Sandbox, probe: Probe) -> None:
        """Wrap a connected probe; use ``Sandbox.probe``."""
        self._sandbox = sandbox
        self._probe = probe
        self.controller_id = probe.controller_id
        self.timeout = probe.timeout

    def __repr__(self) -> str:
        return f"<SyncProbe {self.controller_id}>"

    # -- raw ----------------------------------------------------------------------------------------------
    def request(self, endpoint_id: str, body: Any, timeout: float | None = None) -> Msg:
        """Send any request dataclass (``simulator.usp.requests``) and return the response Msg.

        Raises:
            ProbeTimeoutError: no answer within ``timeout``.
        """
        t = timeout or self.timeout
        return self._sandbox.loop.run(self._probe.request(endpoint_id, body, t), t + 5.0)

    async def arequest(self, endpoint_id: str, body: Any, timeout: float | None = None) -> Msg:
        """``request`` awaited from an async test (the test's loop keeps running meanwhile)."""
        t = timeout or self.timeout
        return await self._sandbox.loop.arun(self._probe.request(endpoint_id, body, t), t + 5.0)

    def _expect(self, endpoint_id: str, body: Any, kind: type[T], timeout: float | None) -> T:
        msg = self.request(endpoint_id, body, timeout)
        if not isinstance(msg.body, kind):
            detail = getattr(msg.body, "err_msg", "") or type(msg.body).__name__
            code = getattr(msg.body, "err_code", None)
            text = f"{type(body).__name__} to {endpoint_id}: expected {kind.__name__}, got " + (
                f"ErrorMessage {code} {detail}" if code is not None else detail
            )
            raise UnexpectedResponseError(text, msg)
        return msg.body

    # -- the request types ---------------------------------------------------------------------------------
    def get(
        self, endpoint_id: str, paths: str | Iterable[str], max_depth: int = 0, timeout: float | None = None
    ) -> GetResp:
        """Get: parameter/object paths or search expressions."""
        return self._expect(endpoint_id, Get(_paths(paths), max_depth), GetResp, timeout)

    def get_values(
        self, endpoint_id: str, paths: str | Iterable[str], timeout: float | None = None
    ) -> dict[str, str]:
        """Get, flattened to ``{full parameter path: value}`` (paths that failed are left out)."""
        resp = self.get(endpoint_id, paths, timeout=timeout)
        return {
            f"{res.resolved_path}{name}": value
            for req in resp.req_path_results
            for res in req.resolved_path_results
            for name, value in res.result_params.items()
        }

    def set(
        self,
        endpoint_id: str,
        values: Mapping[str, str],
        *,
        allow_partial: bool = False,
        timeout: float | None = None,
    ) -> SetResp:
        """Set ``{"Device.Obj.Param": "value", ...}`` (grouped into one UpdateObject per object)."""
        objs: dict[str, list[UpdateParamSetting]] = {}
        for path, value in values.items():
            obj, _, param = path.rpartition(".")
            objs.setdefault(f"{obj}.", []).append(UpdateParamSetting(param, str(value), True))
        body = Set(allow_partial, tuple(UpdateObject(o, tuple(s)) for o, s in objs.items()))
        return self._expect(endpoint_id, body, SetResp, timeout)

    def add(
        self,
        endpoint_id: str,
        obj_path: str,
        values: Mapping[str, str] | None = None,
        *,
        allow_partial: bool = False,
        timeout: float | None = None,
    ) -> AddResp:
        """Add one instance of ``obj_path`` (a table path ending in ``.``) with ``values``."""
        settings = tuple(CreateParamSetting(k, str(v), True) for k, v in (values or {}).items())
        body = Add(allow_partial, (CreateObject(obj_path, settings),))
        return self._expect(endpoint_id, body, AddResp, timeout)

    def delete(
        self,
        endpoint_id: str,
        paths: str | Iterable[str],
        *,
        allow_partial: bool = False,
        timeout: float | None = None,
    ) -> DeleteResp:
        """Delete instances (paths or search expressions)."""
        return self._expect(endpoint_id, Delete(allow_partial, _paths(paths)), DeleteResp, timeout)

    def operate(
        self,
        endpoint_id: str,
        command: str,
        args: Mapping[str, str] | None = None,
        *,
        command_key: str = "",
        send_resp: bool = True,
        timeout: float | None = None,
    ) -> OperateResp:
        """Operate ``Device.Reboot()`` and friends."""
        body = Operate(command, command_key, send_resp, dict(args or {}))
        return self._expect(endpoint_id, body, OperateResp, timeout)

    def gsdm(
        self,
        endpoint_id: str,
        paths: str | Iterable[str],
        *,
        first_level_only: bool = False,
        timeout: float | None = None,
    ) -> GetSupportedDMResp:
        """GetSupportedDM with commands, events and parameters."""
        body = GetSupportedDM(_paths(paths), first_level_only, True, True, True)
        return self._expect(endpoint_id, body, GetSupportedDMResp, timeout)

    def instances(
        self,
        endpoint_id: str,
        paths: str | Iterable[str],
        *,
        first_level_only: bool = False,
        timeout: float | None = None,
    ) -> GetInstancesResp:
        """GetInstances."""
        body = GetInstances(_paths(paths), first_level_only)
        return self._expect(endpoint_id, body, GetInstancesResp, timeout)

    # -- notifications -----------------------------------------------------------------------------------
    def _matcher(
        self, kind: str | None, endpoint_id: str | None, predicate: Callable[[Notification], bool] | None
    ) -> Callable[[Notification], bool]:
        want = _kind(kind) if kind else None

        def match(note: Notification) -> bool:
            return (
                (want is None or note.kind == want)
                and (endpoint_id is None or note.endpoint_id == endpoint_id)
                and (predicate is None or predicate(note))
            )

        return match

    def wait_notification(
        self,
        kind: str | None = None,
        timeout: float = 10.0,
        *,
        endpoint_id: str | None = None,
        predicate: Callable[[Notification], bool] | None = None,
    ) -> Notification:
        """Wait for a Notify (already received ones count, since the last ``clear``).

        Args:
            kind: "ValueChange", "Boot!", "ObjectCreation", "OperationComplete", "Event"... or None for any.
            timeout: seconds.
            endpoint_id: only from this agent.
            predicate: an extra condition on the ``Notification``.

        Raises:
            ProbeTimeoutError: none arrived in time.
        """
        match = self._matcher(kind, endpoint_id, predicate)
        return self._sandbox.loop.run(self._probe.wait_notification(match, timeout), timeout + 5.0)

    async def await_notification(
        self,
        kind: str | None = None,
        timeout: float = 10.0,
        *,
        endpoint_id: str | None = None,
        predicate: Callable[[Notification], bool] | None = None,
    ) -> Notification:
        """``wait_notification`` awaited from an async test."""
        match = self._matcher(kind, endpoint_id, predicate)
        return await self._sandbox.loop.arun(self._probe.wait_notification(match, timeout), timeout + 5.0)

    @property
    def notifications(self) -> list[Notification]:
        """Notifies received since the last ``clear`` (a copy)."""
        return self._sandbox.loop.call(lambda: list(self._probe.notifications))

    @property
    def agents(self) -> dict[str, str | None]:
        """EndpointIDs the probe has heard from -> their reply-to topic (a copy)."""
        return self._sandbox.loop.call(lambda: dict(self._probe.agents))

    def clear(self) -> None:
        """Forget received notifications (the per-test reset)."""
        self._sandbox.loop.call(self._probe.notifications.clear)

    def check(self) -> None:
        """Re-raise a lost probe connection."""
        lost = self._probe.lost
        if lost is not None:
            self._probe.lost = None
            raise lost


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
