"""MQTT MTP on gevent: the sans-I/O ``simulator.mqtt`` client over one gevent socket (TR-369 7.1).

The gevent twin of ``simulator.transports.mqtt.MqttTransport`` (architecture.md B1.2, B10 rule 2): same
CONNECT (``usp-endpoint-id`` first user property on MQTT 5), same subscriptions (agent topic, CONNACK
``subscribe-topic``, Response Information) and same reply-to handling, for Locust processes, which must
never start an asyncio loop (B4).

# Strategy: ``connect()`` blocks the calling greenlet (a Locust user's) until the SUBACK, reading the
# socket itself. Then one reader greenlet per connection blocks in ``recv`` and hands each received
# PUBLISH to ``on_packet`` synchronously, so an answer is written before the next read. MQTT keep-alive
# is one libev timer per connection re-armed from ``client.next_deadline()``; its callback runs in the
# hub and therefore never writes itself: it spawns a short greenlet. Writes from several greenlets (the
# reader answering, the user's tasks sending Notifies, timer greenlets) go through one semaphore, since a
# gevent socket refuses two greenlets waiting to write at once.
"""

from __future__ import annotations

import logging
import socket as _stdsocket
import ssl
import time
from collections.abc import Callable

import gevent
import gevent.lock
import gevent.socket

from simulator.mqtt import (
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
    MqttSettings,
    Packet,
    TransportError,
)
from simulator.transports.mqtt import USP_CONTENT_TYPES, encode_reply_to_topic, parse_reply_to_topic

__all__ = ["GeventMqttConnection"]

logger = logging.getLogger(__name__)

_READ_SIZE = 65536


class GeventMqttConnection:
    """One agent's MQTT connection on gevent (see the module docstring).

    Attributes:
        settings: broker, identity, topics and timeouts (built by ``simulator.fleet.mtp.mqtt_settings``).
        on_packet: called in the reader greenlet with each received ``Packet``.
        on_lost: called once when an established connection ends without ``close()``.
        connected: True between a successful ``connect()`` and the end of the connection.
    """

    __slots__ = (
        "_client",
        "_filters",
        "_reader",
        "_reply_to",
        "_sock",
        "_timer",
        "_v5",
        "_wlock",
        "connected",
        "on_lost",
        "on_packet",
        "settings",
    )

    def __init__(
        self,
        settings: MqttSettings,
        on_packet: Callable[[Packet], None],
        on_lost: Callable[[TransportError], None] | None = None,
    ) -> None:
        """Create an unconnected connection."""
        self.settings = settings
        self.on_packet = on_packet
        self.on_lost = on_lost
        self._v5 = settings.protocol_version == 5
        self._client = MqttClient(settings.client_settings())
        self._sock: gevent.socket.socket | None = None
        self._reader: gevent.Greenlet | None = None
        self._timer: object | None = None
        self._wlock = gevent.lock.Semaphore()
        self._reply_to: str | None = settings.agent_topic
        self._filters: tuple[str, ...] = ()
        self.connected = False

    @property
    def reply_to(self) -> str | None:
        """Our reply-to topic: CONNACK Response Information if given, else the agent topic."""
        return self._reply_to

    # -- connect ------------------------------------------------------------------------------------------
    def connect(self) -> None:
        """Open TCP (or TLS), CONNECT, wait for CONNACK and SUBACK; then start the reader greenlet.

        Raises:
            ConnectError: unreachable, refused by CONNACK, or no subscription granted.
            ConnectTimeoutError: not done within ``settings.connect_timeout``.
        """
        s = self.settings
        deadline = time.monotonic() + s.connect_timeout
        try:
            sock = gevent.socket.create_connection((s.host, s.port), timeout=s.connect_timeout)
        except TimeoutError:
            msg = f"MQTT connect to {s.host}:{s.port} took more than {s.connect_timeout:g} s"
            raise ConnectTimeoutError(msg) from None
        except OSError as exc:
            msg = f"cannot reach MQTT broker {s.host}:{s.port}: {exc}"
            raise ConnectError(msg, reason=str(exc) or type(exc).__name__) from exc
        sock.setsockopt(_stdsocket.IPPROTO_TCP, _stdsocket.TCP_NODELAY, 1)
        try:
            context = s.ssl_context or (s.tls.make_context() if s.tls is not None else None)
            if context is not None:
                hostname = (s.tls.server_hostname if s.tls is not None else None) or s.host
                sock = context.wrap_socket(sock, server_hostname=hostname)
            self._sock = sock
            self._handshake(sock, deadline)
        except BaseException:
            self._sock = None
            sock.close()
            raise
        sock.settimeout(None)
        self.connected = True
        self._reader = gevent.spawn(self._read_loop, sock)
        self._arm()

    def _handshake(self, sock: gevent.socket.socket, deadline: float) -> None:
        client = self._client
        client.connect(time.monotonic())
        sock.sendall(client.data_to_send())
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                msg = f"no CONNACK/SUBACK from {self.settings.host}:{self.settings.port} in time"
                raise ConnectTimeoutError(msg)
            sock.settimeout(left)
            try:
                data = sock.recv(_READ_SIZE)
            except TimeoutError:
                continue
            except (OSError, ssl.SSLError) as exc:
                msg = f"connection lost before the MQTT session was up: {exc}"
                raise ConnectError(msg) from exc
            if not data:
                msg = "connection closed by the broker before the MQTT session was up"
                raise ConnectError(msg)
            done = False
            for event in client.receive_data(data, time.monotonic()):
                done = self._handshake_event(event) or done
            out = client.data_to_send()
            if out:
                sock.sendall(out)
            if done:
                return

    def _handshake_event(self, event: Event) -> bool:
        if isinstance(event, Connected):
            self._subscribe(event)
            return False
        if isinstance(event, Subscribed):
            granted = tuple(f for f, c in zip(self._filters, event.reason_codes, strict=False) if c < 0x80)
            if not granted:
                msg = f"the broker refused every subscription {self._filters!r}"
                raise ConnectError(msg, refused=True, reason="subscribe refused")
            self._filters = granted
            return True
        if isinstance(event, ConnectionRefused):
            msg = f"MQTT broker refused the connection: {event.reason} (code {event.reason_code})"
            raise ConnectError(msg, refused=True, reason=event.reason, reason_code=event.reason_code)
        if isinstance(event, Disconnected | ProtocolViolation | ConnectionLost):
            msg = f"MQTT session failed while connecting: {event}"
            raise ConnectError(msg)
        if type(event) is MessageReceived:  # a request racing our SUBACK: deliver it once we are up
            gevent.spawn_later(0, self._deliver, event)
        return False

    def _subscribe(self, event: Connected) -> None:
        s = self.settings
        self._reply_to = event.response_information or s.agent_topic
        filters: list[str] = []
        for topic in (*s.subscriptions, *event.subscribe_topics, event.response_information):
            if topic and topic not in filters:
                filters.append(topic)
        if s.agent_topic and not event.response_information:
            wanted = s.agent_topic if self._v5 else f"{s.agent_topic}/#"
            if wanted not in filters:
                filters.append(wanted)
        if not filters:
            msg = "nothing to subscribe to: no agent topic, subscribe-topic or Response Information"
            raise ConnectError(msg, refused=True, reason="no subscription")
        self._filters = tuple(filters)
        props = (("usp-endpoint-id", s.endpoint_id),) if self._v5 and s.endpoint_id else ()
        self._client.subscribe(self._filters, time.monotonic(), props)

    # -- traffic ------------------------------------------------------------------------------------------
    def send(self, payload: bytes, destination: str | None = None) -> None:
        """Publish one record to ``destination`` (a request's reply-to) or the controller topic.

        Raises:
            ConnectionLostError: not connected (or the write failed).
            DestinationError: no destination or an invalid topic.
        """
        if not self.connected or self._sock is None:
            msg = "cannot send: MQTT connection is down"
            raise ConnectionLostError(msg)
        topic = destination or self.settings.controller_topic
        if not topic:
            msg = "no destination: neither a reply-to nor a controller topic is configured"
            raise DestinationError(msg)
        client = self._client
        try:
            if self._v5:
                client.publish(
                    topic,
                    payload,
                    self.settings.publish_qos,
                    time.monotonic(),
                    response_topic=self._reply_to,
                    content_type=self.settings.content_type,
                )
            else:
                if self._reply_to:
                    topic = encode_reply_to_topic(topic, self._reply_to)
                client.publish(topic, payload, self.settings.publish_qos, time.monotonic())
        except MqttError as exc:
            msg = f"cannot publish to {topic!r}: {exc}"
            raise DestinationError(msg) from exc
        self._flush()

    def _flush(self) -> None:
        sock = self._sock
        out = self._client.data_to_send()
        if not out or sock is None:
            return
        try:
            with self._wlock:
                sock.sendall(out)
        except OSError as exc:
            self._lost(ConnectionLostError(f"MQTT write failed: {exc}"))
            msg = f"MQTT write failed: {exc}"
            raise ConnectionLostError(msg) from exc

    def _read_loop(self, sock: gevent.socket.socket) -> None:
        client = self._client
        error: TransportError | None = None
        try:
            while True:
                try:
                    data = sock.recv(_READ_SIZE)
                except OSError as exc:
                    error = ConnectionLostError(f"MQTT connection lost: {exc}")
                    break
                if not data:
                    error = ConnectionLostError("MQTT connection lost: closed by the broker")
                    break
                for event in client.receive_data(data, time.monotonic()):
                    if type(event) is MessageReceived:
                        self._deliver(event)
                    elif isinstance(event, Disconnected | ProtocolViolation | ConnectionLost):
                        error = ConnectionLostError(f"MQTT session ended: {event}")
                if error is not None:
                    break
                try:
                    self._flush()
                except ConnectionLostError:
                    return
        except gevent.GreenletExit:
            return
        self._reader = None
        self._lost(error)

    def _deliver(self, event: MessageReceived) -> None:
        publish = event.publish
        if self._v5:
            props = publish.properties
            if props.content_type is not None and props.content_type not in USP_CONTENT_TYPES:
                return
            reply_to = props.response_topic
            if reply_to is None:
                reply_to = parse_reply_to_topic(publish.topic)[1]
        else:
            reply_to = parse_reply_to_topic(publish.topic)[1]
        try:
            self.on_packet(Packet(publish.payload, reply_to))
        except Exception:
            logger.exception("x on_packet failed for %s", self.settings.endpoint_id)

    # -- keep-alive ---------------------------------------------------------------------------------------
    def _arm(self) -> None:
        deadline = self._client.next_deadline()
        if deadline is None or not self.connected:
            return
        loop = gevent.get_hub().loop
        timer = loop.timer(max(0.0, deadline - time.monotonic()))
        self._timer = timer
        timer.start(self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self.connected:
            gevent.spawn(self._keep_alive)

    def _keep_alive(self) -> None:
        if not self.connected:
            return
        events = self._client.on_timer(time.monotonic())
        if events:
            self._lost(ConnectionLostError(f"MQTT keep-alive failed: {events[0]}"))
            return
        try:
            self._flush()
        except ConnectionLostError:
            return
        self._arm()

    # -- teardown -----------------------------------------------------------------------------------------
    def _lost(self, error: TransportError | None) -> None:
        if not self.connected:
            return
        self._teardown()
        if error is not None and self.on_lost is not None:
            try:
                self.on_lost(error)
            except Exception:
                logger.exception("x on_lost failed for %s", self.settings.endpoint_id)

    def _teardown(self) -> None:
        self.connected = False
        timer = self._timer
        if timer is not None:
            self._timer = None
            timer.stop()  # type: ignore[attr-defined]
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        self._client.connection_lost(time.monotonic())
        reader, self._reader = self._reader, None
        if reader is not None and reader is not gevent.getcurrent():
            reader.kill(block=False)

    def close(self, graceful: bool = True) -> None:
        """Send DISCONNECT when ``graceful`` (else the broker publishes our Will) and close the socket."""
        if not self.connected:
            return
        if graceful and self._sock is not None:
            self._client.disconnect(time.monotonic())
            try:
                self._flush()
            except ConnectionLostError:
                return
        self._teardown()
