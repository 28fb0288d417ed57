"""The built-in probe controller: sends USP requests to agents and correlates the answers by msg_id.

# Strategy: the probe is the controller side of the same stack (an ``MqttTransport`` whose "agent
# topic" is the controller topic, or any ``Transport``). Requests are pipelined: ``send`` registers
# (callback, deadline) under a fresh msg_id and writes the record; no task exists per request. The
# pending table is insertion-ordered and every request has the same timeout, so one sweeper timer
# expires requests from the front only. Notifies are answered with NotifyResp when ``send_resp`` is
# set and handed to listeners; Connect Records teach the probe each agent's reply-to topic.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from simulator.fleet.config import ControllerConfig
from simulator.fleet.metrics import Metrics
from simulator.transports.base import MqttSettings, Packet, TlsSettings, Transport, TransportError
from simulator.transports.mqtt import MqttTransport
from simulator.usp.errors import RecordNotParsedError
from simulator.usp.messages import MessageDecodeError, Msg, MsgType, decode_msg, encode_msg
from simulator.usp.records import (
    DEFAULT_RECORD_VERSION,
    RecordKind,
    decode_record,
    encode_no_session_context,
)
from simulator.usp.requests import Notify
from simulator.usp.responses import ErrorMessage, NotifyResp

__all__ = ["Notification", "Probe", "ProbeTimeoutError", "ResponseCallback", "mqtt_probe"]

logger = logging.getLogger(__name__)

ResponseCallback = Callable[["Msg | None", float], None]
"""Called with (response Msg or None on timeout, latency in seconds)."""


class ProbeTimeoutError(TimeoutError):
    """No response to a probe request within the timeout."""


@dataclass(frozen=True, slots=True)
class Notification:
    """A Notify the probe received."""

    endpoint_id: str
    msg_id: str
    notify: Notify
    received_at: float

    @property
    def kind(self) -> str:
        """Low-cardinality name: ``Notify:ValueChange``, ``Notify:Boot!``..."""
        n = self.notify.notification
        name = getattr(n, "event_name", None)
        if name:  # "Boot!" on the wire; tolerate agents that drop the "!" (events always end in "!")
            return f"Notify:{name.rstrip('!')}!"
        return f"Notify:{type(n).__name__}"


class Probe:
    """A USP controller for load tests and the demo.

    Attributes:
        controller_id: our EndpointID (from_id of every request).
        transport: the connection (connected by ``connect``).
        agent_topic: maps an agent EndpointID to the topic requests are published to.
        metrics: "response" latencies per request type, "notify" counts per kind.
        agents: EndpointIDs seen (Connect Records, Notifies, responses) -> their reply-to topic or None.
        notifications: received Notifies, most recent last (bounded by ``keep_notifications``).
    """

    def __init__(
        self,
        transport: Transport,
        controller_id: str,
        agent_topic: Callable[[str], str | None],
        *,
        timeout: float = 10.0,
        metrics: Metrics | None = None,
        record_version: str = DEFAULT_RECORD_VERSION,
        keep_notifications: int = 10_000,
    ) -> None:
        """Create the probe around an unconnected transport.

        Args:
            transport: its callbacks are replaced by the probe's.
            controller_id: our EndpointID.
            agent_topic: destination for requests to one agent (None: the transport's default route).
            timeout: seconds before a request counts as unanswered.
            metrics: where latencies go (new ``Metrics`` by default).
            record_version: Record.version on our records.
            keep_notifications: how many received Notifies to keep for inspection.
        """
        self.transport = transport
        transport.on_packet = self._on_packet
        transport.on_lost = self._on_lost
        self.controller_id = controller_id
        self.agent_topic = agent_topic
        self.timeout = timeout
        self.metrics = metrics or Metrics()
        self.record_version = record_version
        self.keep_notifications = keep_notifications
        self.agents: dict[str, str | None] = {}
        self.notifications: list[Notification] = []
        self.listeners: list[Callable[[Notification], None]] = []
        self.lost: TransportError | None = None
        self._ids = itertools.count(1)
        self._pending: dict[str, tuple[ResponseCallback, float, float, str]] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._notify_waiters: list[tuple[Callable[[Notification], bool], asyncio.Future[Notification]]] = []

    async def connect(self) -> None:
        """Connect the transport.

        Raises:
            ConnectError: unreachable or refused.
        """
        await self.transport.connect()

    async def close(self) -> None:
        """Fail every pending request and close the transport."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        pending, self._pending = self._pending, {}
        for callback, _, _, _ in pending.values():
            callback(None, 0.0)
        await self.transport.close()

    @property
    def pending(self) -> int:
        """Requests in flight."""
        return len(self._pending)

    # -- requests ----------------------------------------------------------------------------------------
    def send(
        self, endpoint_id: str, body: Any, callback: ResponseCallback, timeout: float | None = None
    ) -> str:
        """Send one request and call ``callback`` with the answer (or None after the timeout).

        Args:
            endpoint_id: the agent.
            body: a request dataclass from ``simulator.usp.requests`` (Get, Set, Add...).
            callback: ``(Msg | None, latency_seconds)``.
            timeout: seconds (default: the probe's).

        Returns:
            The msg_id.

        Raises:
            TransportError: the record could not be sent.
        """
        msg_id = f"probe-{next(self._ids)}"
        payload = encode_msg(Msg.of(msg_id, body))
        record = encode_no_session_context(self.record_version, endpoint_id, self.controller_id, payload)
        destination = self.agents.get(endpoint_id) or self.agent_topic(endpoint_id)
        loop = asyncio.get_running_loop()
        now = perf_counter()
        self._pending[msg_id] = (callback, now, loop.time() + (timeout or self.timeout), type(body).__name__)
        try:
            self.transport.send(record, destination)
        except TransportError:
            del self._pending[msg_id]
            raise
        if self._sweeper is None:
            self._sweeper = loop.call_later(0.1, self._sweep)
        return msg_id

    async def request(self, endpoint_id: str, body: Any, timeout: float | None = None) -> Msg:
        """Send one request and wait for its response.

        Returns:
            The response Msg (a ``*Resp`` or an ``ErrorMessage`` body).

        Raises:
            ProbeTimeoutError: no answer in time.
            TransportError: the record could not be sent.
        """
        fut: asyncio.Future[Msg | None] = asyncio.get_running_loop().create_future()

        def done(msg: Msg | None, _latency: float) -> None:
            if not fut.done():
                fut.set_result(msg)

        self.send(endpoint_id, body, done, timeout)
        msg = await fut
        if msg is None:
            text = f"{type(body).__name__} to {endpoint_id}: no response within {timeout or self.timeout:g} s"
            raise ProbeTimeoutError(text)
        return msg

    def _sweep(self) -> None:
        self._sweeper = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        pending = self._pending
        expired = []
        for msg_id, (_, _, deadline, _) in pending.items():
            if deadline > now:
                break
            expired.append(msg_id)
        for msg_id in expired:
            callback, _, _, kind = pending.pop(msg_id)
            self.metrics.observe("response_timeout", kind, 1.0, 1)
            callback(None, 0.0)
        if pending:
            self._sweeper = loop.call_later(0.1, self._sweep)

    # -- receiving ----------------------------------------------------------------------------------------
    def _on_lost(self, exc: TransportError | None) -> None:
        if exc is not None:
            logger.warning("probe connection lost: %s", exc)
            self.lost = exc

    def _on_packet(self, packet: Packet) -> None:
        try:
            record = decode_record(packet.payload)
        except RecordNotParsedError:
            self.metrics.observe("probe_dropped", "not_parsed", 1.0, 1)
            return
        sender = record.from_id
        if record.kind is RecordKind.MQTT_CONNECT:
            self.agents[sender] = record.subscribed_topic or packet.reply_to
            self.metrics.observe("agent_connect", "MQTTConnect")
            return
        if record.kind is RecordKind.WEBSOCKET_CONNECT:
            self.agents.setdefault(sender, None)
            self.metrics.observe("agent_connect", "WebSocketConnect")
            return
        if record.kind is not RecordKind.NO_SESSION_CONTEXT:
            self.metrics.observe("agent_record", record.kind.name)
            return
        try:
            msg = decode_msg(record.payload)
        except MessageDecodeError:
            self.metrics.observe("probe_dropped", "msg_not_parsed", 1.0, 1)
            return
        if packet.reply_to and self.agents.get(sender) is None:
            self.agents[sender] = packet.reply_to
        body = msg.body
        if isinstance(body, Notify):
            self._on_notify(sender, msg, body, packet.reply_to)
            return
        entry = self._pending.pop(msg.msg_id, None)
        if entry is None:
            self.metrics.observe("probe_dropped", "unsolicited", 1.0, 1)
            return
        callback, sent_at, _, kind = entry
        latency = perf_counter() - sent_at
        error = body.err_code if isinstance(body, ErrorMessage) else 0
        self.metrics.observe("response", kind, latency, error)
        callback(msg, latency)

    def _on_notify(self, sender: str, msg: Msg, notify: Notify, reply_to: str | None) -> None:
        loop = asyncio.get_running_loop()
        note = Notification(sender, msg.msg_id, notify, loop.time())
        self.metrics.observe("notify", note.kind)
        if notify.send_resp:
            resp = encode_msg(Msg(msg.msg_id, MsgType.NOTIFY_RESP, NotifyResp(notify.subscription_id)))
            record = encode_no_session_context(self.record_version, sender, self.controller_id, resp)
            try:
                self.transport.send(record, reply_to or self.agents.get(sender) or self.agent_topic(sender))
            except TransportError as exc:
                logger.warning("probe cannot answer Notify from %s: %s", sender, exc)
        self.notifications.append(note)
        if len(self.notifications) > self.keep_notifications:
            del self.notifications[: len(self.notifications) // 2]
        for listener in self.listeners:
            try:
                listener(note)
            except Exception:
                logger.exception("notification listener failed")
        if self._notify_waiters:
            keep = []
            for predicate, fut in self._notify_waiters:
                if fut.done():
                    continue
                if predicate(note):
                    fut.set_result(note)
                else:
                    keep.append((predicate, fut))
            self._notify_waiters = keep

    async def wait_notification(
        self, predicate: Callable[[Notification], bool], timeout: float, *, include_past: bool = True
    ) -> Notification:
        """Wait for a Notify matching ``predicate`` (already received ones count when ``include_past``).

        Raises:
            ProbeTimeoutError: none arrived in time.
        """
        if include_past:
            for note in self.notifications:
                if predicate(note):
                    return note
        fut: asyncio.Future[Notification] = asyncio.get_running_loop().create_future()
        self._notify_waiters.append((predicate, fut))
        try:
            async with asyncio.timeout(timeout):
                return await fut
        except TimeoutError:
            msg = f"no matching notification within {timeout:g} s"
            raise ProbeTimeoutError(msg) from None


def mqtt_probe(
    controller: ControllerConfig,
    host: str,
    port: int,
    *,
    protocol_version: int = 5,
    tls: TlsSettings | None = None,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 10.0,
    metrics: Metrics | None = None,
) -> Probe:
    """A probe on MQTT that receives on the controller topic (responses and agent-initiated records).

    Args:
        controller: the scenario's controller section (EndpointID, topic templates).
        host: broker host.
        port: broker port.
        protocol_version: 5 or 4 (3.1.1).
        tls: TLS settings for mqtts.
        username: broker user name.
        password: broker password.
        timeout: request timeout in seconds.
        metrics: where latencies go.

    Returns:
        An unconnected Probe.
    """
    settings = MqttSettings(
        host=host,
        port=port,
        endpoint_id=controller.endpoint_id,
        agent_topic=controller.controller_topic,
        controller_topic=None,
        protocol_version=protocol_version,
        client_id=f"{controller.endpoint_id}-probe-{os.getpid()}-{next(_PROBE_IDS)}",
        username=username,
        password=password,
        tls=tls,
        keep_alive=60,
        publish_qos=0,
    )
    transport = MqttTransport(settings, _ignore)
    return Probe(
        transport, controller.endpoint_id, controller.agent_topic_for, timeout=timeout, metrics=metrics
    )


_PROBE_IDS = itertools.count(1)


def _ignore(_packet: Packet) -> None:
    """Placeholder until the Probe attaches its callback."""
