"""Transport contract shared by every MTP driver: Packet, settings, the Transport protocol and its errors.

Exception hierarchy::

    TransportError                 root of every transport fault (see note below)
    ├── ConnectError               the connection could not be set up; ``refused`` tells why
    │   └── ConnectTimeoutError    no TCP/TLS/CONNACK/handshake within the connect timeout
    ├── ConnectionLostError        an established connection ended without us closing it
    ├── SendTimeoutError           the peer does not read: the write buffer stayed full
    └── DestinationError           one record cannot be sent where asked (bad topic, too large)

``TransportError`` derives from ``Exception`` rather than ``SimulatorError``: that root lives in
``simulator.datamodel.errors`` and transports must not import the data model (architecture.md B3).
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple, Protocol, runtime_checkable

from simulator.mqtt import MqttClientSettings
from simulator.usp.retry import retry_delay

__all__ = [
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionLostError",
    "DestinationError",
    "LostCallback",
    "MqttSettings",
    "Packet",
    "PacketCallback",
    "SendTimeoutError",
    "TlsSettings",
    "Transport",
    "TransportError",
    "TransportState",
    "WebSocketSettings",
    "is_retryable",
]


class Packet(NamedTuple):
    """One received USP Record and where the answer goes.

    A ``NamedTuple`` rather than a frozen dataclass: it is built once per received message on the
    hot path, and tuple construction is several times cheaper.
    """

    payload: bytes
    """The encoded USP Record."""
    reply_to: str | None
    """Where a response must go: the MQTT Response Topic / decoded ``reply-to=``; ``None`` on sessions."""


PacketCallback = Callable[[Packet], None]
LostCallback = Callable[["TransportError | None"], None]


class TransportState(Enum):
    """Lifecycle of one transport connection."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CLOSING = "closing"
    CLOSED = "closed"


# ------------------------------------------------------------------------------------------- errors


class TransportError(Exception):
    """Root of every transport fault (mapped at the edge from OSError, TimeoutError, websockets...)."""


class ConnectError(TransportError):
    """Setting up the connection failed.

    Attributes:
        refused: True when the peer answered and said no (CONNACK failure code, HTTP rejection,
            missing subprotocol); False when it could not be reached (DNS, TCP, TLS, reset).
        reason: Short text: the CONNACK reason name, the HTTP status, or the OS error.
        reason_code: The MQTT CONNACK code or HTTP status when ``refused``; else ``None``.
    """

    def __init__(
        self, message: str, *, refused: bool = False, reason: str = "", reason_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.refused = refused
        self.reason = reason or message
        self.reason_code = reason_code


class ConnectTimeoutError(ConnectError):
    """No connection (TCP, TLS, CONNACK + SUBACK, or WebSocket handshake) within the connect timeout."""


class ConnectionLostError(TransportError):
    """An established connection ended without our ``close()``: reset, keep-alive, server DISCONNECT."""


class SendTimeoutError(TransportError):
    """The peer stopped reading: the write buffer stayed above its limit past the send timeout."""


class DestinationError(TransportError):
    """This record cannot go to this destination (invalid topic, too large for the broker); not retryable."""


# Refusals worth retrying: the server is busy rather than saying "never" (MQTT 3.1.1 return code 3,
# MQTT 5 0x80 unspecified, 0x88 unavailable, 0x89 busy, 0x8B shutting down, 0x97 quota, 0x9F rate;
# HTTP 429 and 5xx for WebSocket upgrades).
_TRANSIENT_REFUSALS = frozenset({3, 0x80, 0x88, 0x89, 0x8B, 0x97, 0x9F, 429, 500, 502, 503, 504})


def is_retryable(exc: BaseException) -> bool:
    """Classify a failure for the driver's reconnect policy (architecture.md B7.5).

    Args:
        exc: What ``connect()``, ``send()`` or the loss callback reported.

    Returns:
        True for network faults, timeouts and transient refusals (server busy or unavailable);
        False for permanent refusals (bad credentials, not authorised, banned, wrong protocol) and for
        anything that is not a ``TransportError`` (a bug must not be retried away).
    """
    if not isinstance(exc, TransportError) or isinstance(exc, DestinationError):
        return False
    if isinstance(exc, ConnectError) and exc.refused:
        return exc.reason_code in _TRANSIENT_REFUSALS
    return True


# ------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """TLS for an MTP connection. Server verification is ON unless ``insecure`` is set.

    Attributes:
        ca_file: PEM bundle of trusted CAs; ``None`` uses the system store.
        cert_file: Client certificate (PEM) for mutual TLS.
        key_file: Client private key (PEM); defaults to ``cert_file``.
        insecure: Skip certificate and host name verification (lab brokers with self-signed certs).
        server_hostname: Name to verify and send as SNI; ``None`` uses the host.
    """

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False
    server_hostname: str | None = None

    def make_context(self) -> ssl.SSLContext:
        """Build a client ``SSLContext`` (TLS >= 1.2, TR-369 R-MQTT.3). Share it between agents."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.cert_file:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """One agent's MQTT client, mapped by the driver from ``Device.MQTT.Client.{i}`` (TR-369 7.1).

    Attributes:
        host: Broker host.
        port: Broker port (1883, or 8883 with TLS).
        endpoint_id: The agent's EndpointID: first CONNECT user property ``usp-endpoint-id`` (Oktopus).
        agent_topic: ``ResponseTopicConfigured``: the topic the agent subscribes to and advertises as
            its reply-to topic unless the broker returns Response Information.
        controller_topic: ``Controller.{i}.MTP.{j}.MQTT.Topic``: destination of agent-initiated records.
        protocol_version: 5 (MQTT 5.0) or 4 (MQTT 3.1.1).
        client_id: Client Identifier; empty means the EndpointID (obuspa default).
        username: User Name (Oktopus with auth: the EndpointID).
        password: Password.
        keep_alive: KeepAliveTime in seconds.
        tls: TLS settings, or ``None`` for plain TCP.
        ssl_context: A prebuilt context to share across thousands of agents (overrides ``tls``).
        connect_user_properties: Extra CONNECT user properties, sent after ``usp-endpoint-id``.
        subscriptions: Extra ``MQTT.Client.{i}.Subscription.{j}.Topic`` filters (R-MQTT.15 item 1).
        publish_qos: ``LocalAgent.MTP.{i}.MQTT.PublishQoS`` (0 or 1).
        content_type: MQTT 5 Content Type on every PUBLISH ([TP] 11.15).
        connect_timeout: Seconds for TCP + TLS + CONNACK + SUBACK.
        close_timeout: Seconds a graceful close may take before the socket is aborted.
        max_write_buffer: Bytes buffered for a slow broker before ``send`` raises ``SendTimeoutError``.
        connect_retry_time: ``ConnectRetryTime`` (m, seconds).
        connect_retry_multiplier: ``ConnectRetryIntervalMultiplier`` (k, permille).
        connect_retry_max_interval: ``ConnectRetryMaxInterval`` (seconds).
        jitter: Draw the delay uniformly inside the retry window (TR-369); False uses its lower bound.
    """

    host: str
    port: int = 1883
    endpoint_id: str = ""
    agent_topic: str | None = None
    controller_topic: str | None = None
    protocol_version: int = 5
    client_id: str = ""
    username: str | None = None
    password: str | None = None
    keep_alive: int = 60
    tls: TlsSettings | None = None
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)
    connect_user_properties: tuple[tuple[str, str], ...] = ()
    subscriptions: tuple[str, ...] = ()
    publish_qos: int = 0
    content_type: str = "usp.msg"
    connect_timeout: float = 10.0
    close_timeout: float = 5.0
    max_write_buffer: int = 8 * 1024 * 1024
    connect_retry_time: float = 5.0
    connect_retry_multiplier: int = 2000
    connect_retry_max_interval: float = 30720.0
    jitter: bool = True

    def __post_init__(self) -> None:
        """Reject impossible values at load time (architecture.md B7.7)."""
        if self.protocol_version not in (4, 5):
            msg = f"MQTT protocol_version must be 4 or 5, not {self.protocol_version}"
            raise ValueError(msg)
        if self.publish_qos not in (0, 1):
            msg = f"publish_qos must be 0 or 1, not {self.publish_qos}"
            raise ValueError(msg)

    def retry_delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds before reconnect ``attempt`` (1-based), from the ConnectRetry* parameters (R-MQTT.10)."""
        if not self.jitter:
            rng = _LowerBound()
        return retry_delay(
            attempt,
            self.connect_retry_time,
            self.connect_retry_multiplier,
            rng,
            self.connect_retry_max_interval,
        )

    def client_settings(self) -> MqttClientSettings:
        """The sans-I/O client's CONNECT settings, as obuspa sends them (R-MQTT.9, controllers.md).

        ClientId = the configured one or the EndpointID; on MQTT 5 ``usp-endpoint-id`` is the FIRST user
        property (Oktopus identifies the device by it) and Request Response Information is set.
        """
        v5 = self.protocol_version == 5
        props = self.connect_user_properties
        if v5 and self.endpoint_id:
            props = (("usp-endpoint-id", self.endpoint_id), *props)
        return MqttClientSettings(
            client_id=self.client_id or self.endpoint_id,
            protocol_version=self.protocol_version,
            keep_alive=self.keep_alive,
            username=self.username,
            password=None if self.password is None else self.password.encode(),
            user_properties=props if v5 else (),
            request_response_information=v5,
        )


@dataclass(frozen=True, slots=True)
class WebSocketSettings:
    """One agent's WebSocket client MTP, from ``Controller.{i}.MTP.{j}.WebSocket.*`` (TR-369 7.2).

    Attributes:
        url: ``ws://host:port/path`` or ``wss://...``, without the ``eid`` query (added for you).
        endpoint_id: The agent's EndpointID, sent as ``eid=`` in the request URI query (R-WS.10b).
        tls: TLS settings for ``wss://``; ``None`` uses default verification.
        ssl_context: A prebuilt shared context (overrides ``tls``).
        ping_interval: Seconds between Pings (``KeepAliveInterval``); ``None`` disables them.
        ping_timeout: Seconds to wait for the Pong before the session counts as lost.
        connect_timeout: Seconds for TCP + TLS + upgrade.
        send_timeout: Seconds one queued record may wait on a slow peer.
        close_timeout: Seconds for the Close handshake.
        max_size: Largest accepted message (USP records reach 5 MB).
        max_queue: Records queued for sending before ``send`` raises ``SendTimeoutError``.
        session_retry_min_wait: ``SessionRetryMinimumWaitInterval`` (m, seconds).
        session_retry_multiplier: ``SessionRetryIntervalMultiplier`` (k, permille).
        jitter: Draw the delay uniformly inside the retry window; False uses its lower bound.
    """

    url: str
    endpoint_id: str
    tls: TlsSettings | None = None
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)
    ping_interval: float | None = 30.0
    ping_timeout: float | None = 30.0
    connect_timeout: float = 10.0
    send_timeout: float = 30.0
    close_timeout: float = 5.0
    max_size: int = 8 * 1024 * 1024
    max_queue: int = 1024
    session_retry_min_wait: float = 5.0
    session_retry_multiplier: int = 2000
    jitter: bool = True

    def retry_delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds before session retry ``attempt`` (1-based), RW(m, k) of TR-369 7.2."""
        if not self.jitter:
            rng = _LowerBound()
        return retry_delay(attempt, self.session_retry_min_wait, self.session_retry_multiplier, rng)


class _LowerBound(random.Random):
    """An rng whose ``uniform`` returns the lower bound (no jitter)."""

    def uniform(self, a: float, b: float) -> float:
        return a


# ------------------------------------------------------------------------------------------- protocol


@runtime_checkable
class Transport(Protocol):
    """What ``fleet.driver`` needs from any MTP connection (MQTT, WebSocket, memory).

    Received records arrive through the plain callback ``on_packet(Packet)`` (no task per message);
    the end of a connection through ``on_lost(error)``, called exactly once per connection with a
    ``TransportError`` when it was not our ``close()``, or ``None`` after ``close()``/``abort()``.
    Reconnecting is the driver's decision: call ``connect()`` again on the same object.
    """

    on_packet: PacketCallback
    on_lost: LostCallback | None

    @property
    def state(self) -> TransportState:
        """Current lifecycle state."""
        ...

    @property
    def reply_to(self) -> str | None:
        """Where controllers should send to reach us (MQTT reply-to topic; ``None`` for sessions)."""
        ...

    async def connect(self) -> None:
        """Open the connection and wait until records can flow.

        Raises:
            ConnectError: Refused or unreachable (``ConnectTimeoutError`` on timeout).
        """
        ...

    def send(self, payload: bytes, destination: str | None = None) -> None:
        """Queue one record without blocking.

        Args:
            payload: The encoded USP Record.
            destination: The request's reply-to; ``None`` means the controller's configured
                topic (MQTT) or the session itself (WebSocket, memory).

        Raises:
            ConnectionLostError: When not connected.
            SendTimeoutError: When the peer stopped reading and the buffer is full.
        """
        ...

    async def drain(self, timeout: float) -> None:
        """Wait until the write buffer is below its low-water mark.

        Raises:
            SendTimeoutError: Still above it after ``timeout`` seconds.
            ConnectionLostError: The connection ended while waiting.
        """
        ...

    async def close(self, graceful: bool = True) -> None:
        """Close (MQTT DISCONNECT / WebSocket Close handshake when ``graceful``); bounded in time."""
        ...

    def abort(self) -> None:
        """Drop the connection at once, without any goodbye."""
        ...
