"""Sans-I/O MQTT 3.1.1 / 5.0 client connection: bytes and time in, bytes and events out (TR-369 7.1)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from simulator.mqtt.codec import encode_binary, encode_string, encode_varint
from simulator.mqtt.errors import MqttProtocolError, MqttStateError, ReasonCode, reason_name
from simulator.mqtt.events import (
    Connected,
    ConnectionLost,
    ConnectionRefused,
    Disconnected,
    Event,
    ProtocolViolation,
    PublishAcknowledged,
    Subscribed,
    Unsubscribed,
    make_message_received,
)
from simulator.mqtt.packets import (
    Auth,
    ConnAck,
    Connect,
    Disconnect,
    Packet,
    PingResp,
    PubAck,
    Publish,
    PubRel,
    SubAck,
    Subscribe,
    Subscription,
    UnsubAck,
    Unsubscribe,
    Will,
)
from simulator.mqtt.properties import EMPTY_PROPERTIES, Properties
from simulator.mqtt.stream import DEFAULT_MAXIMUM_PACKET_SIZE, StreamDecoder
from simulator.mqtt.wire import encode_packet

__all__ = ["ClientState", "MqttClient", "MqttClientSettings", "TopicLike"]

UserProperties = Sequence[tuple[str, str]]
TopicLike = str | tuple[str, int] | Subscription
"""A subscription request: a filter (QoS 0), ``(filter, qos)``, or a full ``Subscription``."""


class ClientState(Enum):
    """Connection states; every transition is listed in ``_TRANSITIONS``."""

    IDLE = "idle"  # constructed, connect() not called yet
    CONNECTING = "connecting"  # CONNECT queued, waiting for CONNACK
    CONNECTED = "connected"  # CONNACK accepted
    CLOSED = "closed"  # refused, disconnected, timed out or violated; connect() may start again


_TRANSITIONS: dict[ClientState, frozenset[ClientState]] = {
    ClientState.IDLE: frozenset({ClientState.CONNECTING}),
    ClientState.CONNECTING: frozenset({ClientState.CONNECTED, ClientState.CLOSED}),
    ClientState.CONNECTED: frozenset({ClientState.CLOSED}),
    ClientState.CLOSED: frozenset({ClientState.CONNECTING}),
}
_CONNECTED = ClientState.CONNECTED
_CLOSED = ClientState.CLOSED
_SUBSCRIBE, _UNSUBSCRIBE = 8, 10  # markers for non-PUBLISH packet ids awaiting an ack


@dataclass(frozen=True, slots=True)
class MqttClientSettings:
    """Static configuration of one client (TR-181 ``Device.MQTT.Client.{i}`` mapped by the driver).

    Attributes:
        client_id: Client Identifier; empty on MQTT 5 lets the broker assign one ([TP] 11.4).
        protocol_version: 4 (MQTT 3.1.1) or 5 (MQTT 5.0).
        keep_alive: CONNECT Keep Alive in seconds (0 disables keep-alive).
        ping_ratio: Send PINGREQ after ``keep_alive * ping_ratio`` seconds without sending anything.
            The default 0.75 meets [TP] 11.7 (PINGREQ within 45 s for Keep Alive 60); 1.0 is the
            latest the spec allows (MQTT 5.0 section 3.1.2.10).
        ping_timeout: Seconds to wait for PINGRESP before ``ConnectionLost``; default: the keep-alive.
        connect_timeout: Seconds to wait for CONNACK before ``ConnectionLost``; ``None`` waits forever.
        clean_start: Clean Start / Clean Session flag.
        username: User Name.
        password: Password.
        will: Will Message.
        user_properties: CONNECT user properties, ordered (Oktopus reads the first: ``usp-endpoint-id``).
        session_expiry_interval: MQTT 5 Session Expiry Interval.
        request_response_information: MQTT 5 Request Response Information = 1 (TR-369 R-MQTT.8).
        receive_maximum: MQTT 5 Receive Maximum we announce.
        maximum_packet_size: Largest packet we accept (announced on MQTT 5, enforced on both).
        topic_alias_maximum: Topic aliases the broker may use towards us (MQTT 5).
    """

    client_id: str = ""
    protocol_version: int = 5
    keep_alive: int = 60
    ping_ratio: float = 0.75
    ping_timeout: float | None = None
    connect_timeout: float | None = None
    clean_start: bool = True
    username: str | None = None
    password: bytes | None = None
    will: Will | None = None
    user_properties: tuple[tuple[str, str], ...] = ()
    session_expiry_interval: int | None = None
    request_response_information: bool = False
    receive_maximum: int | None = None
    maximum_packet_size: int | None = None
    topic_alias_maximum: int | None = None


class MqttClient:
    """One MQTT client connection as a state machine, with no I/O and no clock.

    Drive it like this: call ``connect(now)`` and write ``data_to_send()`` to a fresh socket; feed each
    read to ``receive_data(data, now)`` and handle the returned events; after every call write
    ``data_to_send()``; close the socket once ``state`` is ``CLOSED`` (after writing). Keep one timer
    at ``next_deadline()`` and call ``on_timer(now)`` when it fires (early calls are harmless), then
    re-arm it. Report a socket closed by the peer with ``connection_lost(now)``. The same object may
    ``connect`` again after ``CLOSED``: unacknowledged QoS 1 messages are re-sent with DUP when the
    broker reports a session present (MQTT 5.0 section 4.4).
    """

    __slots__ = (
        "_aliases",
        "_awaiting",
        "_client_id",
        "_decoder",
        "_inflight",
        "_keep_alive",
        "_last_sent",
        "_max_qos",
        "_next_id",
        "_out",
        "_ping_sent",
        "_props_block",
        "_props_key",
        "_queued",
        "_retain_ok",
        "_send_maximum",
        "_server_max_packet",
        "_started",
        "_state",
        "_topic",
        "_topic_head",
        "_v5",
        "settings",
    )

    def __init__(self, settings: MqttClientSettings) -> None:
        """Create an idle client.

        Args:
            settings: Static configuration, shareable between reconnects.
        """
        if settings.protocol_version not in (4, 5):
            msg = f"protocol_version must be 4 or 5, not {settings.protocol_version}"
            raise MqttStateError(msg)
        self.settings = settings
        self._v5 = settings.protocol_version == 5
        self._state = ClientState.IDLE
        self._decoder = StreamDecoder(
            settings.protocol_version, settings.maximum_packet_size or DEFAULT_MAXIMUM_PACKET_SIZE
        )
        self._out = b""
        self._client_id = settings.client_id
        self._keep_alive = settings.keep_alive
        self._last_sent = self._started = 0.0
        self._ping_sent: float | None = None
        self._next_id = 1
        self._awaiting: dict[int, bytes | int] | None = None  # packet id -> PUBLISH bytes or marker
        self._queued: list[int] | None = None  # QoS 1 ids waiting for the broker's Receive Maximum
        self._inflight = 0
        self._aliases: dict[int, str] | None = None
        self._send_maximum = 65535
        self._max_qos = 2
        self._retain_ok = True
        self._server_max_packet: int | None = None
        self._topic = ""
        self._topic_head = b""
        self._props_key: tuple[str | None, str | None] = (None, None)
        self._props_block = b"\x00"

    # ----------------------------------------------------------------------------------- introspection

    @property
    def state(self) -> ClientState:
        """Current connection state."""
        return self._state

    @property
    def client_id(self) -> str:
        """The client id in use: configured, or assigned by the broker and then reused ([TP] 11.5)."""
        return self._client_id

    @property
    def keep_alive(self) -> int:
        """Effective keep-alive: the CONNACK Server Keep Alive if sent, else ours (section 3.2.2.3.14)."""
        return self._keep_alive

    @property
    def ping_outstanding(self) -> bool:
        """True between sending PINGREQ and receiving PINGRESP."""
        return self._ping_sent is not None

    @property
    def inflight(self) -> int:
        """QoS 1 messages sent and not yet acknowledged (queued ones excluded)."""
        return self._inflight

    def _set_state(self, new: ClientState) -> None:
        if new not in _TRANSITIONS[self._state]:
            msg = f"cannot go from {self._state.name} to {new.name}"
            raise MqttStateError(msg)
        self._state = new

    def _send(self, data: bytes, now: float) -> None:
        self._out += data
        self._last_sent = now

    # ------------------------------------------------------------------------------------ commands

    def connect(self, now: float) -> None:
        """Queue CONNECT for a new network connection (MQTT 5.0 section 3.1, TR-369 R-MQTT.6-9).

        Raises:
            MqttStateError: Unless the client is ``IDLE`` or ``CLOSED``.
        """
        self._set_state(ClientState.CONNECTING)
        s = self.settings
        self._decoder = StreamDecoder(s.protocol_version, self._decoder.maximum_packet_size)
        self._out = b""
        self._keep_alive = s.keep_alive
        self._ping_sent = None
        self._aliases = None
        self._inflight = 0
        props = EMPTY_PROPERTIES
        if self._v5:
            props = Properties(
                session_expiry_interval=s.session_expiry_interval,
                receive_maximum=s.receive_maximum,
                maximum_packet_size=s.maximum_packet_size,
                topic_alias_maximum=s.topic_alias_maximum,
                request_response_information=1 if s.request_response_information else None,
                user_properties=tuple(s.user_properties),
            )
            if props == EMPTY_PROPERTIES:
                props = EMPTY_PROPERTIES
        packet = Connect(
            self._client_id,
            s.protocol_version,
            s.clean_start,
            s.keep_alive,
            s.username,
            s.password,
            s.will,
            props,
        )
        self._send(encode_packet(packet), now)
        self._started = now

    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int,
        now: float,
        *,
        response_topic: str | None = None,
        content_type: str | None = None,
        correlation_data: bytes | None = None,
        user_properties: UserProperties = (),
        retain: bool = False,
    ) -> int | None:
        """Queue PUBLISH (section 3.3; TR-369 R-MQTT.18-27).

        QoS is clamped to the broker's Maximum QoS and RETAIN dropped when Retain Available is 0. MQTT 5
        properties are ignored on 3.1.1. QoS 1 messages beyond the broker's Receive Maximum wait in
        order and go out as acknowledgements free the window.

        Args:
            topic: Topic Name (no wildcards).
            payload: Application message, e.g. an encoded USP Record.
            qos: 0 or 1.
            now: Current time in seconds.
            response_topic: MQTT 5 Response Topic (the agent's reply-to topic).
            content_type: MQTT 5 Content Type (``usp.msg``).
            correlation_data: MQTT 5 Correlation Data.
            user_properties: MQTT 5 user properties, ordered.
            retain: RETAIN flag.

        Returns:
            The packet identifier for QoS 1 (match it with ``PublishAcknowledged``), else ``None``.

        Raises:
            MqttStateError: If not connected, for QoS 2, or when all 65,535 packet ids are in use.
            MqttProtocolError: If the topic or a property is invalid, or the packet exceeds the
                broker's Maximum Packet Size.
        """
        if self._state is not _CONNECTED:
            msg = f"cannot publish in state {self._state.name}"
            raise MqttStateError(msg)
        # Strategy: an agent publishes to few topics with the same Response Topic and Content Type,
        # so the encoded topic and property block of the previous PUBLISH are reused when unchanged.
        if topic != self._topic:
            if "+" in topic or "#" in topic:
                msg = f"topic name contains wildcards: {topic!r} [MQTT-3.3.2-2]"
                raise MqttProtocolError(msg, ReasonCode.TOPIC_NAME_INVALID)
            self._topic_head = encode_string(topic)
            self._topic = topic
        head = self._topic_head
        if self._v5:
            if correlation_data is None and not user_properties:
                key = (response_topic, content_type)
                if key != self._props_key:
                    self._props_block = _publish_properties(response_topic, content_type, None, ())
                    self._props_key = key
                block = self._props_block
            else:
                block = _publish_properties(response_topic, content_type, correlation_data, user_properties)
        else:
            block = b""
        first = 0x31 if retain and self._retain_ok else 0x30
        if qos:
            return self._publish_qos1(first, head, block, payload, qos, now)
        size = len(head) + len(block) + len(payload)
        if size < 128:
            data = bytes((first, size)) + head + block + payload
        else:
            data = bytes((first,)) + encode_varint(size) + head + block + payload
        if self._server_max_packet is not None and len(data) > self._server_max_packet:
            self._too_large(len(data))
        self._out += data
        self._last_sent = now
        return None

    def _too_large(self, size: int) -> None:
        msg = f"PUBLISH of {size} bytes exceeds the broker's Maximum Packet Size {self._server_max_packet}"
        raise MqttProtocolError(msg, ReasonCode.PACKET_TOO_LARGE)

    def _publish_qos1(  # noqa: PLR0917 - private hot path
        self, first: int, head: bytes, block: bytes, payload: bytes, qos: int, now: float
    ) -> int | None:
        qos = min(qos, self._max_qos)
        if qos == 0:
            size = len(head) + len(block) + len(payload)
            self._send(bytes((first,)) + encode_varint(size) + head + block + payload, now)
            return None
        if qos != 1:
            msg = f"QoS {qos} publishing is not supported"
            raise MqttStateError(msg)
        packet_id = self._allocate_id()
        size = len(head) + 2 + len(block) + len(payload)
        data = (
            bytes((first | 0x02,))
            + encode_varint(size)
            + head
            + packet_id.to_bytes(2, "big")
            + block
            + payload
        )
        if self._server_max_packet is not None and len(data) > self._server_max_packet:
            self._too_large(len(data))
        self._awaiting_map()[packet_id] = data
        if self._inflight < self._send_maximum:
            self._inflight += 1
            self._send(data, now)
        else:
            if self._queued is None:
                self._queued = []
            self._queued.append(packet_id)
        return packet_id

    def subscribe(self, topics: Iterable[TopicLike], now: float, user_properties: UserProperties = ()) -> int:
        """Queue SUBSCRIBE (section 3.8; TR-369 R-MQTT.15-17); ``Subscribed`` reports the result.

        Args:
            topics: Filters as ``str`` (QoS 0), ``(filter, qos)`` or ``Subscription``.
            now: Current time in seconds.
            user_properties: MQTT 5 user properties (obuspa sends ``usp-endpoint-id`` here too).

        Returns:
            The packet identifier, echoed by ``Subscribed.packet_id``.
        """
        subs = tuple(
            t if isinstance(t, Subscription) else Subscription(t) if isinstance(t, str) else Subscription(*t)
            for t in topics
        )
        packet_id = self._reserve_id(_SUBSCRIBE)
        packet = Subscribe(packet_id, subs, _user_props(user_properties))
        return self._send_request(packet, now)

    def unsubscribe(self, topics: Iterable[str], now: float, user_properties: UserProperties = ()) -> int:
        """Queue UNSUBSCRIBE (section 3.10); ``Unsubscribed`` reports the result.

        Args:
            topics: Topic filters to remove.
            now: Current time in seconds.
            user_properties: MQTT 5 user properties.

        Returns:
            The packet identifier, echoed by ``Unsubscribed.packet_id``.
        """
        packet_id = self._reserve_id(_UNSUBSCRIBE)
        packet = Unsubscribe(packet_id, tuple(topics), _user_props(user_properties))
        return self._send_request(packet, now)

    def _reserve_id(self, marker: int) -> int:
        if self._state is not _CONNECTED:
            msg = f"cannot subscribe or unsubscribe in state {self._state.name}"
            raise MqttStateError(msg)
        packet_id = self._allocate_id()
        self._awaiting_map()[packet_id] = marker
        return packet_id

    def _send_request(self, packet: Subscribe | Unsubscribe, now: float) -> int:
        try:
            data = encode_packet(packet, self.settings.protocol_version)
        except MqttProtocolError:
            self._release_id(packet.packet_id)
            raise
        self._send(data, now)
        return packet.packet_id

    def disconnect(self, now: float, reason_code: int = 0) -> None:
        """Queue DISCONNECT and close (section 3.14); a no-op unless connecting or connected.

        Args:
            now: Current time in seconds.
            reason_code: MQTT 5 reason code (0 Normal disconnection, 0x04 Disconnect with Will Message).
        """
        if self._state is _CONNECTED or self._state is ClientState.CONNECTING:
            self._send(encode_packet(Disconnect(reason_code), self.settings.protocol_version), now)
            self._set_state(_CLOSED)

    def data_to_send(self) -> bytes:
        """Return and clear the bytes queued for the network."""
        out = self._out
        self._out = b""
        return out

    def connection_lost(self, now: float) -> list[Event]:
        """Tell the client the transport closed; returns ``[ConnectionLost]`` if that was unexpected."""
        if self._state is _CONNECTED or self._state is ClientState.CONNECTING:
            self._set_state(_CLOSED)
            return [ConnectionLost("connection closed by peer")]
        return []

    # ------------------------------------------------------------------------------------ timers

    def next_deadline(self) -> float | None:
        """When ``on_timer`` must next run: keep-alive, PINGRESP or CONNACK deadline; ``None`` for none."""
        state = self._state
        if state is _CONNECTED:
            if self._ping_sent is not None:
                return self._ping_sent + self._ping_timeout()
            if not self._keep_alive:
                return None
            return self._last_sent + self._keep_alive * self.settings.ping_ratio
        if state is ClientState.CONNECTING and self.settings.connect_timeout is not None:
            return self._started + self.settings.connect_timeout
        return None

    def _ping_timeout(self) -> float:
        timeout = self.settings.ping_timeout
        return float(self._keep_alive) if timeout is None else timeout

    def on_timer(self, now: float) -> list[Event]:
        """Run due timers: send PINGREQ when idle (section 3.1.2.10), detect PINGRESP/CONNACK timeouts.

        Returns:
            ``[ConnectionLost]`` when a deadline passed (the client is then ``CLOSED``), else ``[]``.
        """
        state = self._state
        if state is _CONNECTED:
            if self._ping_sent is not None:
                if now >= self._ping_sent + self._ping_timeout():
                    self._set_state(_CLOSED)
                    return [ConnectionLost(f"no PINGRESP within {self._ping_timeout():g} s")]
            elif self._keep_alive and now >= self._last_sent + self._keep_alive * self.settings.ping_ratio:
                self._send(b"\xc0\x00", now)
                self._ping_sent = now
        elif state is ClientState.CONNECTING:
            timeout = self.settings.connect_timeout
            if timeout is not None and now >= self._started + timeout:
                self._set_state(_CLOSED)
                return [ConnectionLost(f"no CONNACK within {timeout:g} s")]
        return []

    # ------------------------------------------------------------------------------------ receiving

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Process bytes read from the network.

        Never raises for bad input: a malformed packet or protocol error yields ``ProtocolViolation``,
        queues DISCONNECT with the reason code on MQTT 5 (section 4.13) and closes the client.

        Args:
            data: Bytes as read (any chunking).
            now: Current time in seconds.

        Returns:
            Events in arrival order.
        """
        state = self._state
        if state is not _CONNECTED and state is not ClientState.CONNECTING:
            return []
        events: list[Event] = []
        try:
            packets = self._decoder.feed(data)
        except MqttProtocolError as exc:
            try:
                self._handle(exc.packets, now, events)  # type: ignore[arg-type]
            except MqttProtocolError as inner:
                exc = inner
            if self._state is not _CLOSED:
                self._violation(exc, now, events)
            return events
        if (
            len(packets) == 1
            and type(packet := packets[0]) is Publish
            and state is _CONNECTED
            and not packet.qos
            and packet.properties.topic_alias is None
        ):
            # Hot path: one QoS 0 message per read (TR-369 request or response).
            events.append(make_message_received(packet))
            return events
        try:
            self._handle(packets, now, events)
        except MqttProtocolError as exc:
            self._violation(exc, now, events)
        return events

    def _handle(self, packets: Sequence[Packet], now: float, events: list[Event]) -> None:
        for packet in packets:
            if self._state is _CLOSED:
                return
            if type(packet) is Publish and self._state is _CONNECTED:
                self._on_publish(packet, now, events)
            else:
                self._on_packet(packet, now, events)

    def _on_publish(self, packet: Publish, now: float, events: list[Event]) -> None:
        if packet.properties is not EMPTY_PROPERTIES and packet.properties.topic_alias is not None:
            packet = self._resolve_alias(packet)
        qos = packet.qos
        if qos:
            pid = packet.packet_id
            assert pid is not None
            # QoS 1: PUBACK at once (section 4.3.2); QoS 2: PUBREC, then PUBCOMP on PUBREL (4.3.3).
            self._send((b"\x40\x02" if qos == 1 else b"\x50\x02") + pid.to_bytes(2, "big"), now)
        events.append(make_message_received(packet))

    def _resolve_alias(self, packet: Publish) -> Publish:
        alias = packet.properties.topic_alias
        assert alias is not None
        if alias > (self.settings.topic_alias_maximum or 0):
            msg = f"topic alias {alias} above our Topic Alias Maximum [MQTT-3.3.2-9]"
            raise MqttProtocolError(msg, ReasonCode.TOPIC_ALIAS_INVALID)
        if self._aliases is None:
            self._aliases = {}
        if packet.topic:
            self._aliases[alias] = packet.topic
            return packet
        topic = self._aliases.get(alias)
        if topic is None:
            msg = f"unknown topic alias {alias} [MQTT-3.3.2-8]"
            raise MqttProtocolError(msg, ReasonCode.PROTOCOL_ERROR)
        return Publish(
            topic, packet.payload, packet.qos, packet.retain, packet.dup, packet.packet_id, packet.properties
        )

    def _on_packet(self, packet: Packet, now: float, events: list[Event]) -> None:
        if self._state is ClientState.CONNECTING:
            if not isinstance(packet, ConnAck):
                msg = f"expected CONNACK, got {type(packet).__name__} [MQTT-3.2.0-1]"
                raise MqttProtocolError(msg, ReasonCode.PROTOCOL_ERROR)
            self._on_connack(packet, now, events)
        elif isinstance(packet, PubAck):
            self._on_puback(packet, now, events)
        elif isinstance(packet, PingResp):
            self._ping_sent = None
        elif isinstance(packet, SubAck | UnsubAck):
            marker = _SUBSCRIBE if isinstance(packet, SubAck) else _UNSUBSCRIBE
            if self._awaiting is None or self._awaiting.get(packet.packet_id) != marker:
                msg = f"{type(packet).__name__} for unknown packet id {packet.packet_id}"
                raise MqttProtocolError(msg, ReasonCode.PROTOCOL_ERROR)
            self._release_id(packet.packet_id)
            event = Subscribed if marker == _SUBSCRIBE else Unsubscribed
            events.append(event(packet.packet_id, packet.reason_codes, packet.properties))
        elif isinstance(packet, PubRel):
            self._send(b"\x70\x02" + packet.packet_id.to_bytes(2, "big"), now)
        elif isinstance(packet, Disconnect) and self._v5:
            self._set_state(_CLOSED)
            props = packet.properties
            events.append(Disconnected(packet.reason_code, True, props.reason_string, props.server_reference))
        elif isinstance(packet, Auth):
            msg = "AUTH received but enhanced authentication was not requested (MQTT 5.0 section 4.12)"
            raise MqttProtocolError(msg, ReasonCode.PROTOCOL_ERROR)
        else:
            msg = f"a client must not receive {type(packet).__name__}"
            raise MqttProtocolError(msg, ReasonCode.PROTOCOL_ERROR)

    def _on_connack(self, connack: ConnAck, now: float, events: list[Event]) -> None:
        code = connack.reason_code
        if code:  # 3.1.1 return codes 1-5; MQTT 5 codes >= 0x80 (0 is the only success)
            self._set_state(_CLOSED)
            version = self.settings.protocol_version
            events.append(ConnectionRefused(code, reason_name(code, version), connack))
            return
        self._set_state(_CONNECTED)
        props = connack.properties
        if props is not EMPTY_PROPERTIES:
            if props.assigned_client_identifier:
                self._client_id = props.assigned_client_identifier
            if props.server_keep_alive is not None:
                self._keep_alive = props.server_keep_alive
            self._send_maximum = props.receive_maximum or 65535
            self._max_qos = 2 if props.maximum_qos is None else props.maximum_qos
            self._retain_ok = props.retain_available != 0
            self._server_max_packet = props.maximum_packet_size
        else:
            self._send_maximum, self._max_qos, self._retain_ok, self._server_max_packet = 65535, 2, True, None
        self._restore_session(connack.session_present, now)
        events.append(Connected(connack))

    def _restore_session(self, session_present: bool, now: float) -> None:
        awaiting = self._awaiting
        queued = self._queued or []
        self._queued = None
        if not awaiting:
            return
        if not session_present:
            # No session on the broker: discard ours ([MQTT-3.2.2-5] in 5.0, [MQTT-3.2.2-4] in 3.1.1).
            self._awaiting = None
            return
        # Re-send unacknowledged PUBLISH with DUP=1 and the original ids ([MQTT-4.4.0-1]), then the
        # never-sent queued ones; acks for SUBSCRIBE/UNSUBSCRIBE of the old connection will never come.
        publishes: dict[int, bytes | int] = {
            pid: data for pid, data in awaiting.items() if isinstance(data, bytes)
        }
        self._awaiting = publishes or None
        never_sent = set(queued)
        for pid, data in publishes.items():
            if pid not in never_sent and isinstance(data, bytes):
                publishes[pid] = bytes((data[0] | 0x08,)) + data[1:]
        for pid in [pid for pid in publishes if pid not in never_sent] + queued:
            if self._inflight < self._send_maximum:
                self._inflight += 1
                data = publishes[pid]
                assert isinstance(data, bytes)
                self._send(data, now)
            else:
                self._queued = [*(self._queued or []), pid]

    def _on_puback(self, puback: PubAck, now: float, events: list[Event]) -> None:
        awaiting = self._awaiting
        pid = puback.packet_id
        if awaiting is None or not isinstance(awaiting.get(pid), bytes) or pid in (self._queued or ()):
            return  # unknown id (e.g. a duplicate ack after a resend): nothing to release
        self._release_id(pid)
        self._inflight -= 1
        events.append(PublishAcknowledged(pid, puback.reason_code))
        if self._queued:
            next_pid = self._queued.pop(0)
            if not self._queued:
                self._queued = None
            data = self._awaiting[next_pid] if self._awaiting else b""
            assert isinstance(data, bytes)
            self._inflight += 1
            self._send(data, now)

    def _violation(self, exc: MqttProtocolError, now: float, events: list[Event]) -> None:
        if self._v5:
            code = exc.reason_code if exc.reason_code >= 0x80 else ReasonCode.PROTOCOL_ERROR
            if code == ReasonCode.UNSUPPORTED_PROTOCOL_VERSION:
                code = ReasonCode.PROTOCOL_ERROR  # 0x84 is not a DISCONNECT reason code
            self._send(encode_packet(Disconnect(code), 5), now)
        # MQTT 3.1.1 has no error DISCONNECT: just close, so the broker still publishes the Will.
        if self._state is not _CLOSED:
            self._set_state(_CLOSED)
        events.append(ProtocolViolation(exc))

    # ------------------------------------------------------------------------------------ packet ids

    def _awaiting_map(self) -> dict[int, bytes | int]:
        if self._awaiting is None:
            self._awaiting = {}
        return self._awaiting

    def _allocate_id(self) -> int:
        """Next free packet id in 1..65535, skipping ids still awaiting an ack ([MQTT-2.2.1-3])."""
        pid = self._next_id
        awaiting = self._awaiting
        if awaiting:
            if len(awaiting) >= 65535:
                msg = "all 65535 packet identifiers are in use"
                raise MqttStateError(msg)
            while pid in awaiting:
                pid = pid % 65535 + 1
        self._next_id = pid % 65535 + 1
        return pid

    def _release_id(self, pid: int) -> None:
        awaiting = self._awaiting
        if awaiting is not None:
            awaiting.pop(pid, None)
            if not awaiting:
                self._awaiting = None


def _user_props(user_properties: UserProperties) -> Properties:
    return Properties(user_properties=tuple(user_properties)) if user_properties else EMPTY_PROPERTIES


def _publish_properties(
    response_topic: str | None,
    content_type: str | None,
    correlation_data: bytes | None,
    user_properties: UserProperties,
) -> bytes:
    """Encode PUBLISH properties in identifier order (same bytes as ``encode_properties``)."""
    body = b""
    if content_type is not None:
        body += b"\x03" + encode_string(content_type)
    if response_topic is not None:
        if "+" in response_topic or "#" in response_topic:
            msg = "response topic contains wildcards [MQTT-3.3.2-14]"
            raise MqttProtocolError(msg, ReasonCode.PROTOCOL_ERROR)
        body += b"\x08" + encode_string(response_topic)
    if correlation_data is not None:
        body += b"\x09" + encode_binary(correlation_data)
    for key, value in user_properties:
        body += b"\x26" + encode_string(key) + encode_string(value)
    return encode_varint(len(body)) + body
