"""AgentDriver: one sans-I/O Agent on one Transport, executing its Actions on the asyncio loop.

# Strategy: the connection lifecycle is ONE state machine (``DriverState`` + ``TRANSITIONS``); every
# change goes through ``_set``, which rejects moves the table does not list. A driver owns no task
# while it is idle or connected: received records arrive through the transport's ``on_packet``
# callback, agent timers are ``loop.call_at`` handles keyed by ``Timer``, and a reconnect is a timer
# that starts one short-lived connect task. Failures are caught at this boundary (``_guard``), logged
# with the EndpointID, counted, and handed to ``on_error`` for ``Fleet.check()``; they never escape
# into the event loop or other agents.
"""

from __future__ import annotations

import asyncio
import logging
import random
from asyncio import get_running_loop
from collections.abc import Callable
from enum import Enum
from time import perf_counter
from typing import TYPE_CHECKING, Any

from simulator.agent.actions import (
    CancelTimer,
    Connect,
    Disconnect,
    HttpPost,
    MqttPublish,
    Observe,
    Schedule,
    Send,
    Timer,
)
from simulator.fleet.httppost import post
from simulator.transports.base import (
    ConnectError,
    ConnectionLostError,
    Packet,
    Transport,
    TransportError,
    is_retryable,
)
from simulator.usp.records import MQTTVersion

if TYPE_CHECKING:
    from simulator.agent.actions import Action
    from simulator.agent.agent import Agent
    from simulator.fleet.metrics import EventHook

__all__ = [
    "ANSWERS", "MAX_RECORD_RATE", "RECORD_BURST", "TRANSITIONS", "AgentDriver", "DriverState", "RetryDelay",
]

logger = logging.getLogger(__name__)

MAX_RECORD_RATE = 1000.0
"""Records per second one agent accepts (sustained); more are dropped unprocessed and counted as
``dropped_record``/``overload``. A real CPE answers tens per second: this only stops floods."""
RECORD_BURST = 2000.0
"""Records one agent accepts at once above the sustained rate (a pipelined burst)."""

ANSWERS = frozenset({
    "GetResp", "SetResp", "AddResp", "DeleteResp", "OperateResp", "GetSupportedDMResp", "GetInstancesResp",
    "GetSupportedProtocolResp", "NotifyResp", "RegisterResp", "DeregisterResp", "Error",
})
"""Send ``msg_type`` values of answers: counted by the ``request`` observation, not as ``sent``."""

RetryDelay = Callable[[int, random.Random], float]
"""``(attempt, rng) -> seconds``: the agent's ConnectRetry* back-off (``MqttSettings.retry_delay``)."""


class DriverState(Enum):
    """Lifecycle of one agent's MTP connection."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    WAITING = "waiting"
    DOWN = "down"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


_S = DriverState
TRANSITIONS: dict[DriverState, frozenset[DriverState]] = {
    _S.IDLE: frozenset({_S.CONNECTING, _S.STOPPED}),
    _S.CONNECTING: frozenset({_S.CONNECTED, _S.WAITING, _S.FAILED, _S.STOPPING}),
    _S.CONNECTED: frozenset({_S.WAITING, _S.DOWN, _S.STOPPING}),
    _S.WAITING: frozenset({_S.CONNECTING, _S.STOPPING}),
    _S.DOWN: frozenset({_S.CONNECTING, _S.STOPPING}),
    _S.STOPPING: frozenset({_S.STOPPED}),
    _S.FAILED: frozenset({_S.STOPPING}),
    _S.STOPPED: frozenset(),
}
"""Allowed moves: CONNECTING -> WAITING is a retryable failure, -> FAILED a permanent one; CONNECTED ->
WAITING is a lost connection or an agent-requested reconnect, -> DOWN a Disconnect without a return."""


class AgentDriver:
    """Run one Agent over one Transport.

    Attributes:
        agent: the sans-I/O agent.
        transport: its MTP connection (reused across reconnects).
        state: the current ``DriverState``.
        error: the failure that moved the driver to FAILED (or the last unexpected exception).
        connects: successful connections so far.
    """

    __slots__ = (
        "_attempt",
        "_connected_at",
        "_first_request",
        "_retry",
        "_rng",
        "_task",
        "_timers",
        "_tokens",
        "_tokens_at",
        "agent",
        "connects",
        "controller_id",
        "epoch_offset",
        "error",
        "events",
        "fault_hook",
        "mqtt_version",
        "mtp",
        "on_error",
        "retry_delay",
        "send_connect_record",
        "state",
        "transport",
    )

    def __init__(
        self,
        agent: Agent,
        transport: Transport,
        events: EventHook,
        *,
        controller_id: str | None = None,
        mtp: str = "mqtt",
        mqtt_version: int = 5,
        retry_delay: RetryDelay | None = None,
        send_connect_record: bool = True,
        epoch_offset: float = 0.0,
        rng: random.Random | None = None,
        on_error: Callable[[AgentDriver, BaseException], None] | None = None,
    ) -> None:
        """Wire the agent to the transport (nothing happens until ``start``).

        Args:
            agent: the agent.
            transport: an unconnected transport; its callbacks are replaced by the driver's.
            events: the fleet's EventHook (fired with name, kind, value, error).
            controller_id: the controller reached over this MTP; None = every enabled controller row.
            mtp: "mqtt" or "websocket" (the Connect Record type).
            mqtt_version: 5 or 4 (MQTTConnectRecord.version).
            retry_delay: reconnect back-off; default ``transport.settings.retry_delay`` when present.
            send_connect_record: send the MQTTConnect/WebSocketConnect Record after (re)connecting.
            epoch_offset: added to ``loop.time()`` to give the agent epoch seconds.
            rng: jitter source (seeded per agent for reproducible fleets).
            on_error: called with (driver, exception) for failures ``Fleet.check()`` must report.
        """
        self.agent = agent
        self.transport = transport
        transport.on_packet = self._on_packet
        transport.on_lost = self._on_lost
        self.events = events
        self.controller_id = controller_id
        self.mtp = mtp
        self.mqtt_version = mqtt_version
        settings = getattr(transport, "settings", None)
        self.retry_delay: RetryDelay = retry_delay or getattr(settings, "retry_delay", None) or _default_delay
        self.send_connect_record = send_connect_record
        self.epoch_offset = epoch_offset
        self._rng = rng
        self.on_error = on_error
        self.state = DriverState.IDLE
        self.error: BaseException | None = None
        self.connects = 0
        self._attempt = 0
        self._timers: dict[Timer, asyncio.TimerHandle] | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected_at = 0.0
        self._first_request = False
        self._tokens = RECORD_BURST
        self._tokens_at = 0.0
        self.fault_hook: Callable[[AgentDriver, list[Action]], list[Action]] | None = None
        """Scenario faults: rewrites the actions answering each received record (fleet.behaviours)."""

    @property
    def endpoint_id(self) -> str:
        """The agent's EndpointID."""
        return self.agent.endpoint_id

    def now(self) -> float:
        """Epoch seconds from the loop clock (the time base of every Agent call)."""
        return asyncio.get_running_loop().time() + self.epoch_offset

    def _set(self, new: DriverState) -> None:
        if new not in TRANSITIONS[self.state]:
            msg = f"{self.endpoint_id}: driver cannot go from {self.state.name} to {new.name}"
            raise RuntimeError(msg)
        self.state = new

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> asyncio.Task[None]:
        """Boot the agent and start connecting; returns the connect task (the ramp-up may await it)."""
        self._execute(self._guard(self.agent.start, self.now()))
        return self._spawn_connect()

    def _spawn_connect(self) -> asyncio.Task[None]:
        self._retry = None
        self._set(DriverState.CONNECTING)
        task = self._task = asyncio.get_running_loop().create_task(self._connect())
        return task

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await self.transport.connect()
        except TransportError as exc:
            self._task = None
            self._connect_failed(exc)
            return
        except Exception as exc:
            self._task = None
            self._fail(exc)
            return
        self._task = None
        if self.state is not DriverState.CONNECTING:  # stop() ran meanwhile
            self.transport.abort()
            return
        self._set(DriverState.CONNECTED)
        self._attempt = 0
        self.connects += 1
        now = loop.time()
        self.events.fire(name="connect", kind=self.mtp, value=now - started, error=0)
        self._connected_at, self._first_request = now, True
        actions = self._guard(self._mtp_up, now + self.epoch_offset)
        # The Connect Record and Boot! go out in ONE socket write (a syscall saved per connect).
        uncork = getattr(self.transport, "uncork", None)
        if uncork is None or len(actions) < 2:
            self._execute(actions)
            return
        self.transport.cork()  # type: ignore[attr-defined]
        try:
            self._execute(actions)
        finally:
            uncork()

    def _mtp_up(self, now: float, controller_id: str | None = None) -> list[Action]:
        version = MQTTVersion.V5 if self.mqtt_version == 5 else MQTTVersion.V3_1_1
        actions = self.agent.mtp_connected(
            now,
            controller_id or self.controller_id,
            mtp_kind=self.mtp,
            mqtt_version=version,
            subscribed_topic=self.transport.reply_to or "",
        )
        if not self.send_connect_record:
            actions = [a for a in actions if not (isinstance(a, Send) and a.msg_type == "Connect")]
        return actions

    def _connect_failed(self, exc: TransportError) -> None:
        refused = isinstance(exc, ConnectError) and exc.refused
        self.events.fire(
            name="connect_error", kind="refused" if refused else "unreachable", value=1.0, error=1
        )
        if self.state is not DriverState.CONNECTING:
            return
        if is_retryable(exc):
            self.error = exc
            self._set(DriverState.WAITING)
            self._schedule_reconnect()
            return
        logger.error("%s: connect refused, agent stops: %s", self.endpoint_id, exc)
        self._set(DriverState.FAILED)
        self.error = exc
        if self.on_error is not None:
            self.on_error(self, exc)

    def _schedule_reconnect(self, delay: float | None = None) -> None:
        if delay is None:
            self._attempt += 1
            if self._rng is None:  # created on the first failure only (a Random is ~2.5 KiB)
                self._rng = random.Random(hash(self.endpoint_id))
            delay = self.retry_delay(self._attempt, self._rng)
        self._retry = asyncio.get_running_loop().call_later(delay, self._reconnect)

    def _reconnect(self) -> None:
        if self.state in (DriverState.WAITING, DriverState.DOWN):
            self.events.fire(name="reconnect", kind=self.mtp, value=1.0, error=0)
            self._spawn_connect()

    def _on_lost(self, exc: TransportError | None) -> None:
        if exc is None or self.state is not DriverState.CONNECTED:
            return
        logger.info("%s: connection lost: %s", self.endpoint_id, exc)
        self.events.fire(name="connection_lost", kind=self.mtp, value=1.0, error=1)
        self._set(DriverState.WAITING)
        self._schedule_reconnect()

    async def stop(self, graceful: bool = True, timeout: float = 5.0) -> None:
        """Stop the agent: DisconnectRecord(s) and MQTT DISCONNECT when connected; cancel every timer."""
        if self.state in (DriverState.STOPPED, DriverState.STOPPING):
            return
        was_connected = self.state is DriverState.CONNECTED
        self._set(DriverState.STOPPING)
        self._cancel_timers()
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if was_connected and graceful:
            self._send_all(self._guard(self.agent.stop, self.now()))
        try:
            async with asyncio.timeout(timeout):
                await self.transport.close(graceful=graceful)
        except (TimeoutError, TransportError):
            self.transport.abort()
        self._set(DriverState.STOPPED)

    def _cancel_timers(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._timers:
            for handle in self._timers.values():
                handle.cancel()
            self._timers = None

    # -- traffic -----------------------------------------------------------------------------------------
    def _on_packet(self, packet: Packet) -> None:
        # Strategy (hot path, once per received record): one perf_counter pair times the service
        # (record received -> answer written); the loop clock is read once for the agent's ``now``
        # and the token bucket; the answer and its ``request`` observation are ONE metric event.
        start = perf_counter()
        loop_now = get_running_loop().time()
        # Token bucket: a controller flooding this agent past MAX_RECORD_RATE loses the excess here,
        # undecoded and counted, so one agent cannot take the loop from the others (issue 8).
        tokens = self._tokens + (loop_now - self._tokens_at) * MAX_RECORD_RATE
        if tokens > RECORD_BURST:  # noqa: PLR1730 - a compare is cheaper than min() on the hot path
            tokens = RECORD_BURST
        self._tokens_at = loop_now
        if tokens < 1.0:
            self._tokens = tokens
            self.events.emit("dropped_record", "overload", 1.0, 1)
            return
        self._tokens = tokens - 1.0
        if self._first_request:
            self._first_request = False
            self.events.emit("onboarding", self.mtp, loop_now - self._connected_at, 0)
        now = loop_now + self.epoch_offset
        actions = self._guard(self.agent.receive, packet.payload, now, packet.reply_to)
        if self.fault_hook is not None:
            actions = self.fault_hook(self, actions)
        self._execute(actions, start)

    def _fire_timer(self, timer: Timer) -> None:
        if self._timers is not None:
            self._timers.pop(timer, None)
        self._execute(self._guard(self.agent.fire, timer, self.now()))

    def poll(self) -> None:
        """Let the agent poll for value changes (the fleet calls this on its own slow timer)."""
        if self.state is DriverState.CONNECTED:
            self._execute(self._guard(self.agent.poll, self.now()))

    def _guard(self, call: Callable[..., list[Action]], *args: Any) -> list[Action]:
        """Run one agent call; a bug is logged with the EndpointID, counted and recorded, never raised."""
        try:
            return call(*args)
        except Exception as exc:
            logger.exception("%s: agent call %s failed", self.endpoint_id, getattr(call, "__name__", call))
            self.events.fire(name="driver_error", kind=type(exc).__name__, value=1.0, error=1)
            self.error = exc
            if self.on_error is not None:
                self.on_error(self, exc)
            return []

    def _fail(self, exc: Exception) -> None:
        logger.error("%s: driver failed", self.endpoint_id, exc_info=exc)
        self.events.fire(name="driver_error", kind=type(exc).__name__, value=1.0, error=1)
        self.error = exc
        if self.state is DriverState.CONNECTING:
            self._set(DriverState.FAILED)
        if self.on_error is not None:
            self.on_error(self, exc)

    def _execute(self, actions: list[Action], start: float | None = None) -> None:
        """Carry out ``actions``; ``start`` (perf_counter) is when the record they answer arrived.

        An answer (a Send whose ``msg_type`` is a response or an Error) fires no ``sent`` event: its
        ``request`` observation, timed here, is the one event of an answered request.
        """
        emit = self.events.emit
        for action in actions:
            cls = action.__class__
            if cls is Send:
                self._send(action)  # type: ignore[arg-type]
            elif cls is Observe:
                obs: Observe = action  # type: ignore[assignment]
                if start is not None and obs.name == "request":
                    emit("request", obs.kind, perf_counter() - start, obs.error)
                else:
                    emit(obs.name, obs.kind, obs.value, obs.error)
            elif cls is Schedule:
                self._schedule(action)  # type: ignore[arg-type]
            elif cls is CancelTimer:
                handle = self._timers.pop(action.timer, None) if self._timers else None  # type: ignore[union-attr]
                if handle is not None:
                    handle.cancel()
            elif cls is Disconnect:
                self._disconnect(action)  # type: ignore[arg-type]
            elif cls is HttpPost:
                get_running_loop().create_task(self._http_post(action))  # type: ignore[arg-type]
            elif cls is MqttPublish:
                self._publish_report(action)  # type: ignore[arg-type]
            elif cls is Connect and self.state is DriverState.CONNECTED:
                # One MTP connection serves every controller (their topics differ, not the broker):
                # a newly configured controller only needs its Connect Record and Boot! (TP-469 9.9).
                new_controller: str = action.controller_id  # type: ignore[union-attr]
                self._execute(self._guard(self._mtp_up, self.now(), new_controller))

    def _send(self, send: Send) -> None:
        try:
            self.transport.send(send.record, send.reply_to)
        except ConnectionLostError:
            self.events.emit("send_dropped", send.msg_type, 1.0, 1)
        except TransportError as exc:
            logger.warning("%s: cannot send %s: %s", self.endpoint_id, send.msg_type, exc)
            self.events.emit("send_error", send.msg_type, 1.0, 1)
        else:
            if send.msg_type not in ANSWERS:
                self.events.emit("sent", send.msg_type, 1.0, 0)

    def _send_all(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self._send(action)

    def _schedule(self, schedule: Schedule) -> None:
        timers = self._timers
        if timers is None:
            timers = self._timers = {}
        old = timers.get(schedule.timer)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        timers[schedule.timer] = loop.call_at(
            schedule.at - self.epoch_offset, self._fire_timer, schedule.timer
        )

    def _disconnect(self, action: Disconnect) -> None:
        if self.state is not DriverState.CONNECTED:
            return
        self.events.fire(name="agent_disconnect", kind=action.reason, value=1.0, error=0)
        if action.reconnect_after is None:
            self._set(DriverState.DOWN)
        else:
            self._set(DriverState.WAITING)
        asyncio.get_running_loop().create_task(self._close_then_return(action.reconnect_after))

    async def _close_then_return(self, reconnect_after: float | None) -> None:
        try:
            await self.transport.close(graceful=True)
        except TransportError:
            self.transport.abort()
        if reconnect_after is not None and self.state is DriverState.WAITING:
            self._schedule_reconnect(reconnect_after)

    def apply(self, call: Callable[..., list[Action]], *args: Any) -> None:
        """Run an agent call for a scenario behaviour and execute the actions it returns."""
        self._execute(self._guard(call, *args))

    def disconnect_now(self, reason: str, reconnect_after: float | None, *, graceful: bool = True) -> bool:
        """Scenario churn: drop a CONNECTED agent now; graceful sends DisconnectRecord + MQTT DISCONNECT.

        Returns:
            False when the driver was not connected.
        """
        if self.state is not DriverState.CONNECTED:
            return False
        self.events.fire(name="agent_disconnect", kind=reason, value=1.0, error=0)
        self._set(DriverState.WAITING if reconnect_after is not None else DriverState.DOWN)
        if graceful:
            self._send_all(self._guard(self.agent.stop, self.now()))
            asyncio.get_running_loop().create_task(self._close_then_return(reconnect_after))
            return True
        self.transport.abort()
        if reconnect_after is not None:
            self._schedule_reconnect(reconnect_after)
        return True

    def reconnect_now(self) -> None:
        """Bring a DOWN driver back (after a Disconnect action without ``reconnect_after``)."""
        if self.state is DriverState.DOWN:
            self._spawn_connect()

    async def _http_post(self, action: HttpPost) -> None:
        try:
            status = await post(action.url, action.body, action.headers, timeout=10.0, method=action.method)
        except (OSError, TimeoutError, ValueError) as exc:
            logger.info("%s: bulk data %s to %s failed: %s", self.endpoint_id, action.method, action.url, exc)
            self.events.fire(name="http_post", kind="error", value=1.0, error=1)
            ok = False
        else:
            ok = 200 <= status < 300
            self.events.fire(
                name="http_post", kind=str(status // 100) + "xx", value=1.0, error=0 if ok else status
            )
        # The agent drives HTTP.RetryEnable retries and retained failed reports from the outcome.
        self._execute(self._guard(self.agent.http_result, action.profile, ok, self.now()))

    def _publish_report(self, action: MqttPublish) -> None:
        publish = getattr(self.transport, "publish_raw", None)
        if publish is None:  # e.g. a WebSocket agent: no MQTT connection to carry the report
            self.events.emit("bulkdata_mqtt", "unsupported", 1.0, 1)
            return
        try:
            publish(action.topic, action.payload, action.qos, retain=action.retain,
                    content_type=action.content_type)
        except TransportError as exc:
            logger.info("%s: bulk data MQTT publish to %s failed: %s", self.endpoint_id, action.topic, exc)
            self.events.emit("bulkdata_mqtt", "error", 1.0, 1)
        else:
            self.events.emit("bulkdata_mqtt", "sent", 1.0, 0)


def _default_delay(attempt: int, rng: random.Random) -> float:
    """TR-369 defaults (5 s, x2, max 30720 s) for transports without settings."""
    from simulator.usp.retry import retry_delay

    return retry_delay(attempt, 5.0, 2000, rng, 30720.0)
