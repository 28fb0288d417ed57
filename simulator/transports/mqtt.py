"""MQTT MTP driver: one asyncio connection per agent over the sans-I/O ``simulator.mqtt`` client (TR-369 7.1).

# Strategy: ``MqttTransport`` *is* the ``asyncio.Protocol`` (no wrapper object per connection). Bytes
# from the socket go straight into ``MqttClient.receive_data``; received PUBLISHes become ``Packet``
# tuples handed to the plain ``on_packet`` callback, so no task or future exists per message. One
# ``TimerHandle`` follows ``client.next_deadline()``: sends only move the keep-alive deadline later,
# so the handle is re-armed only when it fires (an early firing is harmless) or when CONNACK may
# have moved the deadline earlier (Server Keep Alive). Futures exist only while ``connect()``,
# ``drain()`` or ``close()`` is waiting, which keeps an idle connection to a few hundred bytes here.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TYPE_CHECKING, cast

from simulator.mqtt import (
    ClientState,
    Connected,
    ConnectionLost,
    ConnectionRefused,
    Disconnected,
    Event,
    MessageReceived,
    MqttClient,
    MqttError,
    ProtocolViolation,
    Subscribed,
)
from simulator.transports.base import (
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    DestinationError,
    LostCallback,
    MqttSettings,
    Packet,
    PacketCallback,
    SendTimeoutError,
    TransportError,
    TransportState,
)

if TYPE_CHECKING:
    from simulator.mqtt.events import UserProperties


class _Subscribing:
    """SUBSCRIBE requests of one connect in progress (dropped once the transport is connected)."""

    __slots__ = ("early", "granted", "refused_code", "requests")

    def __init__(self, early: tuple[str, ...]) -> None:
        self.early = early
        """Filters pipelined behind CONNECT."""
        self.requests: dict[int, tuple[str, ...]] = {}
        """Packet id -> filters of each SUBSCRIBE whose SUBACK is due."""
        self.granted: set[str] = set()
        self.refused_code: int | None = None

__all__ = [
    "REPLY_TO_MARKER",
    "USP_CONTENT_TYPES",
    "MqttTransport",
    "encode_reply_to_topic",
    "parse_reply_to_topic",
]

logger = logging.getLogger(__name__)

REPLY_TO_MARKER = "/reply-to="
"""MQTT 3.1.1 convention: ``<dest-topic>/reply-to=<reply-to topic with "/" as "%2F">`` (TR-369 R-MQTT.22)."""

USP_CONTENT_TYPES = frozenset({"usp.msg", "application/vnd.bbf.usp.msg"})
"""MQTT 5 Content Types accepted on receive (TR-369 7.1 "Receiving")."""

_IDLE = TransportState.IDLE
_CONNECTING = TransportState.CONNECTING
_CONNECTED = TransportState.CONNECTED
_CLOSING = TransportState.CLOSING
_CLOSED = TransportState.CLOSED
_CLIENT_CLOSED = ClientState.CLOSED
_SLICE = 64
"""Received messages handled per loop iteration and connection (fairness under a flood)."""


def encode_reply_to_topic(destination: str, reply_to: str) -> str:
    """Build an MQTT 3.1.1 PUBLISH topic carrying our reply-to topic (TR-369 7.1 PUBLISH).

    Example: ``("usp/controller", "usp/agent/a1")`` -> ``"usp/controller/reply-to=usp%2Fagent%2Fa1"``.
    """
    return f"{destination}{REPLY_TO_MARKER}{reply_to.replace('/', '%2F')}"


def parse_reply_to_topic(topic: str) -> tuple[str, str | None]:
    """Split a 3.1.1 topic into ``(destination, reply_to)``; ``reply_to`` is ``None`` without the suffix.

    The text after the *last* ``/reply-to=`` is the reply-to topic with ``%2F`` (either case) turned
    back into ``/``. An empty reply-to counts as absent.
    """
    index = topic.rfind(REPLY_TO_MARKER)
    if index < 0:
        return topic, None
    reply_to = topic[index + len(REPLY_TO_MARKER) :]
    if not reply_to:
        return topic[:index], None
    return topic[:index], reply_to.replace("%2F", "/").replace("%2f", "/")


class MqttTransport(asyncio.Protocol):
    """One agent's MQTT connection, behaving as obuspa does (TR-369 7.1, controllers.md).

    * CONNECT: client id = ``client_id`` or the EndpointID; MQTT 5 adds ``usp-endpoint-id`` as the
      **first** user property and Request Response Information = 1 (R-MQTT.8, [TP] 11.2/11.8).
    * Subscribes (one SUBSCRIBE, with ``usp-endpoint-id`` on v5) to the agent topic (``<topic>/#`` on
      3.1.1), every CONNACK ``subscribe-topic`` and the Response Information topic (R-MQTT.15-17).
    * Every PUBLISH carries our reply-to topic: Response Topic + Content Type ``usp.msg`` on v5,
      the ``/reply-to=`` suffix on 3.1.1 (R-MQTT.18-27).

    ``connect()`` returns once the SUBACK arrived; reconnecting is the driver's decision (call
    ``connect()`` again with ``settings.retry_delay`` pauses). Not thread-safe: one event loop.
    """

    __slots__ = (
        "_client",
        "_closed_waiter",
        "_corked",
        "_drain_waiter",
        "_error",
        "_expired",
        "_filters",
        "_loop",
        "_paused",
        "_ready",
        "_reply_to",
        "_response_information",
        "_state",
        "_subs",
        "_subscribe_topics",
        "_timer",
        "_transport",
        "_v5",
        "on_lost",
        "on_packet",
        "settings",
    )

    def __init__(
        self, settings: MqttSettings, on_packet: PacketCallback, on_lost: LostCallback | None = None
    ) -> None:
        """Create an unconnected transport.

        Args:
            settings: Broker, identity, topics and timeouts.
            on_packet: Called with each received ``Packet`` (from the event loop, never concurrently).
            on_lost: Called once when a connected transport ends: a ``TransportError`` if unexpected,
                ``None`` after ``close()`` / ``abort()``.
        """
        self.settings = settings
        self.on_packet = on_packet
        self.on_lost = on_lost
        self._v5 = settings.protocol_version == 5
        self._client = MqttClient(settings.client_settings())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport: asyncio.Transport | None = None
        self._state = _IDLE
        self._timer: asyncio.TimerHandle | None = None
        self._ready: asyncio.Future[None] | None = None
        self._closed_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._error: TransportError | None = None
        self._paused = False
        self._corked = False
        self._expired = False
        self._reply_to: str | None = settings.agent_topic
        self._response_information: str | None = None
        self._subscribe_topics: tuple[str, ...] = ()
        self._filters: tuple[str, ...] = ()
        self._subs: _Subscribing | None = None

    # ------------------------------------------------------------------------------------ introspection

    @property
    def state(self) -> TransportState:
        """Current lifecycle state."""
        return self._state

    @property
    def reply_to(self) -> str | None:
        """Our reply-to topic: CONNACK Response Information if given, else the agent topic."""
        return self._reply_to

    @property
    def response_information(self) -> str | None:
        """CONNACK Response Information (``MQTT.Client.{i}.ResponseInformation``, R-MQTT.15)."""
        return self._response_information

    @property
    def subscribe_topics(self) -> tuple[str, ...]:
        """CONNACK ``subscribe-topic`` user property values of the last connection (Oktopus)."""
        return self._subscribe_topics

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """Topic filters granted by the broker on the last connection."""
        return self._filters

    @property
    def client_id(self) -> str:
        """Client id in use (assigned by the broker when configured empty, then reused: [TP] 11.4/11.5)."""
        return self._client.client_id

    @property
    def protocol_version(self) -> int:
        """4 (MQTT 3.1.1) or 5."""
        return self.settings.protocol_version

    @property
    def writable(self) -> bool:
        """False while the socket's write buffer is above its high-water mark (await ``drain``)."""
        return not self._paused

    # ------------------------------------------------------------------------------------ commands

    async def connect(self) -> None:
        """Open TCP (or TLS), send CONNECT, wait for CONNACK and the SUBACK.

        Raises:
            ConnectError: Unreachable (``refused`` False) or refused by CONNACK / no granted
                subscription (``refused`` True, ``reason_code`` set).
            ConnectTimeoutError: Not done within ``settings.connect_timeout``.
        """
        if self._state is _CONNECTING or self._state is _CONNECTED:
            msg = f"connect() while {self._state.name}"
            raise RuntimeError(msg)
        s = self.settings
        loop = self._loop = asyncio.get_running_loop()
        if self._transport is not None:  # the previous connection is still winding down
            self._transport.abort()
            await self._wait_closed(s.close_timeout)
        self._state = _CONNECTING
        self._error = None
        self._paused = False
        ready = self._ready = loop.create_future()
        context = s.ssl_context
        if context is None and s.tls is not None:
            context = s.tls.make_context()
        hostname = s.tls.server_hostname if context is not None and s.tls is not None else None
        # One TimerHandle (a bound method, no closure) instead of an ``asyncio.timeout`` context per
        # connect, with the same semantics: on expiry the task is cancelled and that cancellation
        # becomes TimeoutError; a cancellation from outside still propagates.
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()
        self._expired = False
        handle = loop.call_at(loop.time() + s.connect_timeout, self._expire_connect, task)
        try:
            try:
                try:
                    if context is None:
                        await loop.create_connection(lambda: self, s.host, s.port)
                    else:
                        await loop.create_connection(
                            lambda: self, s.host, s.port, ssl=context, server_hostname=hostname or s.host
                        )
                except ssl.SSLCertVerificationError as exc:
                    # permanent: retrying cannot make the certificate valid
                    detail = exc.verify_message or exc.reason or str(exc)
                    msg = (
                        f"TLS certificate verification of MQTT broker {s.host}:{s.port} failed: {detail} "
                        "(give the CA that signed it: broker.tls.ca / --ca; --insecure skips verification)"
                    )
                    raise ConnectError(msg, refused=True, reason=msg) from exc
                except (OSError, ssl.CertificateError) as exc:
                    msg = f"cannot reach MQTT broker {s.host}:{s.port}: {exc}"
                    raise ConnectError(msg, reason=str(exc) or type(exc).__name__) from exc
                await ready
            except asyncio.CancelledError:
                if self._expired:
                    self._expired = False
                    if task.uncancel() <= cancelling:
                        raise TimeoutError from None
                raise
            finally:
                handle.cancel()
                if self._expired:  # expired as the connect completed: drop the pending cancellation
                    self._expired = False
                    task.uncancel()
        except TimeoutError:
            self._fail_connect()
            msg = f"MQTT connect to {s.host}:{s.port} took more than {s.connect_timeout:g} s"
            raise ConnectTimeoutError(msg) from None
        except BaseException:
            self._fail_connect()
            raise
        finally:
            self._ready = None

    def _expire_connect(self, task: asyncio.Task[None]) -> None:
        self._expired = True
        task.cancel()

    def send(self, payload: bytes, destination: str | None = None) -> None:
        """Publish one record (R-MQTT.18-27), never blocking.

        Args:
            payload: The encoded USP Record.
            destination: The request's reply-to topic; ``None`` for ``settings.controller_topic``.

        Raises:
            ConnectionLostError: Not connected.
            SendTimeoutError: The broker stopped reading and ``max_write_buffer`` is exceeded.
            DestinationError: No destination, an invalid topic, or a packet too large for the broker.
        """
        transport = self._transport
        if self._state is not _CONNECTED or transport is None:
            msg = f"cannot send: MQTT transport is {self._state.name}"
            raise ConnectionLostError(msg)
        if self._paused and transport.get_write_buffer_size() > self.settings.max_write_buffer:
            msg = f"broker not reading: over {self.settings.max_write_buffer} bytes buffered"
            raise SendTimeoutError(msg)
        topic = destination or self.settings.controller_topic
        if not topic:
            msg = "no destination: neither a reply-to nor a controller topic is configured"
            raise DestinationError(msg)
        client = self._client
        assert self._loop is not None
        try:
            if self._v5:
                client.publish(
                    topic,
                    payload,
                    self.settings.publish_qos,
                    self._loop.time(),
                    response_topic=self._reply_to,
                    content_type=self.settings.content_type,
                )
            else:
                reply_to = self._reply_to
                if reply_to:
                    topic = encode_reply_to_topic(topic, reply_to)
                client.publish(topic, payload, self.settings.publish_qos, self._loop.time())
        except MqttError as exc:
            msg = f"cannot publish to {topic!r}: {exc}"
            raise DestinationError(msg) from exc
        if not self._corked:
            transport.write(client.data_to_send())

    def cork(self) -> None:
        """Hold the records ``send`` queues until ``uncork`` (one socket write for a burst of sends)."""
        self._corked = True

    def uncork(self) -> None:
        """Write what ``send`` queued since ``cork`` in one socket write."""
        self._corked = False
        transport = self._transport
        if transport is not None and self._state is _CONNECTED:
            out = self._client.data_to_send()
            if out:
                transport.write(out)

    def publish_raw(
        self, topic: str, payload: bytes, qos: int = 0, *, retain: bool = False,
        content_type: str | None = None,
    ) -> None:
        """Publish a non-USP payload (a Bulk Data report, TP-469 10.13): no Response Topic, no reply-to.

        QoS 2 is sent as QoS 1 (our client publishes QoS 0 and 1 only); ``content_type`` is an MQTT 5
        property and is dropped on 3.1.1.

        Raises:
            ConnectionLostError: Not connected.
            DestinationError: An invalid topic or a packet too large for the broker.
        """
        transport = self._transport
        if self._state is not _CONNECTED or transport is None:
            msg = f"cannot publish: MQTT transport is {self._state.name}"
            raise ConnectionLostError(msg)
        assert self._loop is not None
        try:
            self._client.publish(
                topic,
                payload,
                min(qos, 1),
                self._loop.time(),
                content_type=content_type if self._v5 else None,
                retain=retain,
            )
        except MqttError as exc:
            msg = f"cannot publish to {topic!r}: {exc}"
            raise DestinationError(msg) from exc
        transport.write(self._client.data_to_send())

    async def drain(self, timeout: float) -> None:
        """Wait until the socket's write buffer falls below its low-water mark.

        Raises:
            SendTimeoutError: Still full after ``timeout`` seconds.
            ConnectionLostError: The connection ended meanwhile.
        """
        if not self._paused:
            return
        assert self._loop is not None
        if self._drain_waiter is None:
            self._drain_waiter = self._loop.create_future()
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._drain_waiter)
        except TimeoutError:
            msg = f"broker did not read our data within {timeout:g} s"
            raise SendTimeoutError(msg) from None

    async def close(self, graceful: bool = True) -> None:
        """Send DISCONNECT (when ``graceful``) and close; aborts after ``settings.close_timeout``."""
        transport = self._transport
        if self._state is _CONNECTING:
            if self._ready is not None and not self._ready.done():
                self._ready.set_exception(ConnectError("closed while connecting"))
            self._fail_connect()
        elif self._state is _CONNECTED:
            self._state = _CLOSING
            self._cancel_timer()
            if transport is not None:
                if graceful and self._client.state is ClientState.CONNECTED:
                    assert self._loop is not None
                    self._client.disconnect(self._loop.time())
                    transport.write(self._client.data_to_send())
                    transport.close()
                else:
                    transport.abort()
        if self._transport is not None and not await self._wait_closed(self.settings.close_timeout):
            transport = self._transport  # connection_lost may have run while the wait timed out
            if transport is not None:
                transport.abort()
                await self._wait_closed(1.0)

    def abort(self) -> None:
        """Drop the connection at once (no DISCONNECT: the broker publishes our Will)."""
        if self._state is _CONNECTED:
            self._state = _CLOSING
        self._cancel_timer()
        if self._transport is not None:
            self._transport.abort()

    async def _wait_closed(self, timeout: float) -> bool:
        if self._transport is None:
            return True
        assert self._loop is not None
        if self._closed_waiter is None:
            self._closed_waiter = self._loop.create_future()
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._closed_waiter)
        except TimeoutError:
            return False
        return True

    def _fail_connect(self) -> None:
        self._state = _CLOSED
        self._subs = None
        self._cancel_timer()
        if self._transport is not None:
            self._transport.abort()

    # ------------------------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send CONNECT on the fresh socket."""
        transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        assert self._loop is not None
        self._transport = transport
        if self._state is not _CONNECTING:  # connect() gave up while the socket was opening
            transport.abort()
            return
        client = self._client
        now = self._loop.time()
        client.connect(now)
        # Pipelined: SUBSCRIBE to what is known before CONNACK goes in the same write as CONNECT
        # (MQTT 5.0 / 3.1.1 section 3.1.4), saving a round trip per connect; CONNACK-dependent topics
        # (subscribe-topic, Response Information) follow the CONNACK as before.
        subs = self._subs = _Subscribing(self._early_filters())
        if subs.early:
            subs.requests[client.subscribe(subs.early, now, self._subscribe_properties())] = subs.early
        transport.write(client.data_to_send())
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Feed the client; deliver messages; write what it queued; close when it closed."""
        loop = self._loop
        assert loop is not None
        client = self._client
        events = client.receive_data(data, loop.time())
        if len(events) > _SLICE:
            self._deliver_slices(events, 0)
            return
        for event in events:
            if type(event) is MessageReceived:
                self._deliver(event)
            else:
                self._on_event(event)
        self._flush()

    def _deliver_slices(self, events: list[Event], start: int) -> None:
        """Handle a large read ``_SLICE`` events per loop iteration, reading paused meanwhile.

        A controller flooding one agent fills each read with thousands of requests; handling them in
        one callback would stall every other connection on the loop. Pausing the socket meanwhile
        pushes the flood back onto TCP and the broker (whose own queue limits drop it), so the
        simulator holds at most one read's worth of events per connection.
        """
        transport = self._transport
        if transport is None or self._state is _CLOSED:
            return  # connection gone: the rest of the read is dropped with it
        end = start + _SLICE
        for event in events[start:end]:
            if type(event) is MessageReceived:
                self._deliver(event)
            else:
                self._on_event(event)
        self._flush()
        transport = self._transport
        if transport is None:
            return
        if end < len(events):
            transport.pause_reading()
            assert self._loop is not None
            self._loop.call_soon(self._deliver_slices, events, end)
        else:
            transport.resume_reading()

    def _flush(self) -> None:
        client = self._client
        out = client.data_to_send()
        transport = self._transport
        if transport is not None:
            if out:
                transport.write(out)
            if client.state is _CLIENT_CLOSED and not transport.is_closing():
                transport.close()

    def eof_received(self) -> bool | None:
        """The broker half-closed: let asyncio close the socket (``connection_lost`` follows)."""
        return None

    def pause_writing(self) -> None:
        """The socket buffer passed its high-water mark."""
        self._paused = True

    def resume_writing(self) -> None:
        """The socket buffer drained below its low-water mark."""
        self._paused = False
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        """Settle the connection: fail ``connect()``, or report ``on_lost`` once."""
        loop = self._loop
        assert loop is not None
        self._transport = None
        self._subs = None
        self._cancel_timer()
        self._client.connection_lost(loop.time())
        error = self._error
        state = self._state
        self._state = _CLOSED
        ready = self._ready
        if ready is not None and not ready.done():
            if not isinstance(error, ConnectError):
                detail = f"{error}" if error is not None else f"{exc or 'closed by the broker'}"
                error = ConnectError(f"connection lost before the MQTT session was up: {detail}")
            ready.set_exception(error)
        for waiter in (self._drain_waiter, self._closed_waiter):
            if waiter is not None and not waiter.done():
                if waiter is self._drain_waiter:
                    waiter.set_exception(ConnectionLostError("connection closed while draining"))
                    waiter.exception()  # mark retrieved: nobody may be waiting any more
                else:
                    waiter.set_result(None)
        self._drain_waiter = self._closed_waiter = None
        if state is _CONNECTED or state is _CLOSING:
            if state is _CLOSING:
                error = None
            elif error is None:
                error = ConnectionLostError(f"MQTT connection lost: {exc or 'closed by the broker'}")
            if self.on_lost is not None:
                try:
                    self.on_lost(error)
                except Exception:
                    logger.exception("x on_lost callback failed for %s", self._client.client_id)

    # ------------------------------------------------------------------------------------ events

    def _deliver(self, event: MessageReceived) -> None:
        publish = event.publish
        if self._v5:
            props = publish.properties
            content_type = props.content_type
            if content_type is not None and content_type not in USP_CONTENT_TYPES:
                logger.debug("< dropped PUBLISH on %s: content type %r", publish.topic, content_type)
                return
            reply_to = props.response_topic
            if reply_to is None:
                reply_to = parse_reply_to_topic(publish.topic)[1]
        else:
            reply_to = parse_reply_to_topic(publish.topic)[1]
        try:
            self.on_packet(Packet(publish.payload, reply_to))
        except Exception:
            logger.exception("x on_packet callback failed for %s", self._client.client_id)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Connected):
            self._on_connected(event)
        elif isinstance(event, Subscribed):
            self._on_subscribed(event)
        elif isinstance(event, ConnectionRefused):
            code = event.reason_code
            msg = f"MQTT broker refused the connection: {event.reason} (code {code})"
            self._set_error(ConnectError(msg, refused=True, reason=event.reason, reason_code=code))
        elif isinstance(event, Disconnected):
            detail = f" ({event.reason_string})" if event.reason_string else ""
            msg = f"MQTT broker sent DISCONNECT 0x{event.reason_code:02X}{detail}"
            self._set_error(ConnectionLostError(msg))
        elif isinstance(event, ProtocolViolation):
            msg = f"MQTT protocol violation: {event.error}"
            self._set_error(ConnectionLostError(msg))
        elif isinstance(event, ConnectionLost):
            self._set_error(ConnectionLostError(f"MQTT connection lost: {event.reason}"))
            if self._transport is not None:
                self._transport.abort()

    def _set_error(self, error: TransportError) -> None:
        if self._error is None:
            self._error = error

    def _early_filters(self) -> tuple[str, ...]:
        """Filters known before CONNACK: configured subscriptions, then the agent topic."""
        filters: list[str] = []
        for topic in (*self.settings.subscriptions, self._agent_filter()):
            if topic and topic not in filters:
                filters.append(topic)
        return tuple(filters)

    def _agent_filter(self) -> str | None:
        agent_topic = self.settings.agent_topic
        if not agent_topic:
            return None
        # 3.1.1: controllers publish to <agent-topic>/reply-to=...; "<t>/#" also matches "<t>".
        return agent_topic if self._v5 else f"{agent_topic}/#"

    def _subscribe_properties(self) -> UserProperties:
        if self._v5 and self.settings.endpoint_id:
            return (("usp-endpoint-id", self.settings.endpoint_id),)
        return ()

    def _on_connected(self, event: Connected) -> None:
        assert self._loop is not None
        self._response_information = event.response_information
        self._subscribe_topics = event.subscribe_topics
        if event.response_information:
            self._reply_to = event.response_information
        else:
            self._reply_to = self.settings.agent_topic
        filters: list[str] = []
        for topic in (*self.settings.subscriptions, *self._subscribe_topics, event.response_information):
            if topic and topic not in filters:
                filters.append(topic)
        wanted = self._agent_filter()
        if wanted and not event.response_information and wanted not in filters:
            filters.append(wanted)
        if not filters:
            msg = "nothing to subscribe to: no agent topic, subscribe-topic or Response Information"
            self._set_error(ConnectError(msg, refused=True, reason="no subscription"))
            self._client.disconnect(self._loop.time())  # [TP] 11.10
            return
        subs = self._subs
        if subs is None:  # not connecting any more
            return
        now = self._loop.time()
        early = subs.early
        # The order the filters are reported in: the pipelined ones first, then the others.
        self._filters = (*(f for f in early if f in filters), *(f for f in filters if f not in early))
        late = tuple(f for f in filters if f not in early)
        if late:
            subs.requests[self._client.subscribe(late, now, self._subscribe_properties())] = late
        unwanted = [f for f in early if f not in filters]
        if unwanted:  # Response Information replaces the agent topic, which went out before CONNACK
            self._client.unsubscribe(unwanted, now, self._subscribe_properties())
        self._arm()  # Server Keep Alive may have moved the deadline earlier

    def _on_subscribed(self, event: Subscribed) -> None:
        ready = self._ready
        subs = self._subs
        if ready is None or ready.done() or self._state is not _CONNECTING or subs is None:
            return
        requested = subs.requests.pop(event.packet_id, None)
        if requested is None:
            return
        for f, code in zip(requested, event.reason_codes, strict=False):
            if code < 0x80:
                subs.granted.add(f)
            elif subs.refused_code is None:
                subs.refused_code = code
        if subs.requests:
            return  # another SUBACK is due
        self._subs = None
        granted = tuple(f for f in self._filters if f in subs.granted)
        if not granted:
            assert self._loop is not None
            msg = f"the broker refused every subscription {self._filters!r}"
            refused = subs.refused_code
            self._set_error(ConnectError(msg, refused=True, reason="subscribe refused", reason_code=refused))
            self._client.disconnect(self._loop.time())  # [TP] 11.11
            return
        self._filters = granted
        self._state = _CONNECTED
        ready.set_result(None)

    # ------------------------------------------------------------------------------------ timer

    def _arm(self) -> None:
        deadline = self._client.next_deadline()
        timer = self._timer
        if deadline is None:
            self._cancel_timer()
            return
        if timer is not None:
            if timer.when() <= deadline:
                return
            timer.cancel()
        assert self._loop is not None
        self._timer = self._loop.call_at(deadline, self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        assert self._loop is not None
        client = self._client
        for event in client.on_timer(self._loop.time()):
            self._on_event(event)
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        out = client.data_to_send()
        if out:
            transport.write(out)
        self._arm()
