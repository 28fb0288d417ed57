"""Sans-I/O MQTT 3.1.1 / 5.0 client connection: bytes and time in, bytes and events out (TR-369 7.1)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from simulator.mqtt.codec import PacketType, decode_varint, encode_binary, encode_string, encode_varint
from simulator.mqtt.encoder import encode_connect
from simulator.mqtt.errors import MqttProtocolError, MqttStateError, ReasonCode
from simulator.mqtt.events import (
    ConnectionLost,
    Event,
)
from simulator.mqtt.inbound import Inbound
from simulator.mqtt.inflight import SUBSCRIBE, UNSUBSCRIBE
from simulator.mqtt.packets import (
    Connect,
    Disconnect,
    Subscribe,
    Subscription,
    Unsubscribe,
)
from simulator.mqtt.properties import EMPTY_PROPERTIES, Properties, encode_properties
from simulator.mqtt.settings import MqttClientSettings
from simulator.mqtt.state import ClientState
from simulator.mqtt.stream import StreamDecoder
from simulator.mqtt.wire import encode_packet

__all__ = ["ClientState", "MqttClient", "MqttClientSettings", "TopicLike"]

UserProperties = Sequence[tuple[str, str]]
TopicLike = str | tuple[str, int] | Subscription
"""A subscription request: a filter (QoS 0), ``(filter, qos)``, or a full ``Subscription``."""

_CONNECTED = ClientState.CONNECTED
_CLOSED = ClientState.CLOSED


class MqttClient(Inbound):
    """One MQTT client connection as a state machine, with no I/O and no clock.

    Drive it like this: call ``connect(now)`` and write ``data_to_send()`` to a fresh socket; feed each
    read to ``receive_data(data, now)`` and handle the returned events; after every call write
    ``data_to_send()``; close the socket once ``state`` is ``CLOSED`` (after writing). Keep one timer
    at ``next_deadline()`` and call ``on_timer(now)`` when it fires (early calls are harmless), then
    re-arm it. Report a socket closed by the peer with ``connection_lost(now)``. The same object may
    ``connect`` again after ``CLOSED``: unacknowledged QoS 1 messages are re-sent with DUP when the
    broker reports a session present (MQTT 5.0 section 4.4).
    """

    __slots__ = ()

    # ------------------------------------------------------------------------------------ commands

    def connect(self, now: float) -> None:
        """Queue CONNECT for a new network connection (MQTT 5.0 section 3.1, TR-369 R-MQTT.6-9).

        Raises:
            MqttStateError: Unless the client is ``IDLE`` or ``CLOSED``.
        """
        self._set_state(ClientState.CONNECTING)
        self._ids.drop_requests()  # acks of the previous connection's SUBSCRIBEs will never come
        s = self.settings
        self._decoder = StreamDecoder(s.protocol_version, self._decoder.maximum_packet_size)
        self._out = b""
        self._keep_alive = s.keep_alive
        self._ping_sent = None
        self._aliases = None
        packet = Connect(
            self._client_id,
            s.protocol_version,
            s.clean_start,
            s.keep_alive,
            s.username,
            s.password,
            s.will,
            EMPTY_PROPERTIES,
        )
        self._send(encode_connect(packet, _connect_properties(s) if self._v5 else None), now)
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
        # Strategy: an agent publishes to few topics with the same Response Topic and Content Type, so
        # the encoded topic + property block ("prefix") of the previous PUBLISH is reused when unchanged.
        first = 0x31 if retain and self._retain_ok else 0x30
        if (
            qos == 0
            and correlation_data is None
            and not user_properties
            and topic == self._topic
            and response_topic == self._rt
            and content_type == self._ct
        ):
            prefix = self._prefix
        else:
            head, block = self._encode_parts(
                topic, response_topic, content_type, correlation_data, user_properties
            )
            if qos:
                return self._publish_qos1(first, head, block, payload, qos, now)
            prefix = head + block
            if correlation_data is None and not user_properties:
                self._topic, self._rt, self._ct, self._prefix = topic, response_topic, content_type, prefix
        size = len(prefix) + len(payload)
        if size < 128:
            data = b"".join((bytes((first, size)), prefix, payload))
        elif size < 16384:  # two-byte Remaining Length, inlined (section 1.5.5)
            data = b"".join((bytes((first, (size & 0x7F) | 0x80, size >> 7)), prefix, payload))
        else:
            data = b"".join((bytes((first,)), encode_varint(size), prefix, payload))
        if self._server_max_packet is not None and len(data) > self._server_max_packet:
            self._too_large(len(data))
        self._out += data
        self._last_sent = now
        return None

    def _encode_parts(
        self,
        topic: str,
        response_topic: str | None,
        content_type: str | None,
        correlation_data: bytes | None,
        user_properties: UserProperties,
    ) -> tuple[bytes, bytes]:
        """Encoded Topic Name and (MQTT 5) property block of a PUBLISH."""
        if "+" in topic or "#" in topic:
            msg = f"topic name contains wildcards: {topic!r} [MQTT-3.3.2-2]"
            raise MqttProtocolError(msg, ReasonCode.TOPIC_NAME_INVALID)
        if not self._v5:
            return encode_string(topic), b""
        block = _publish_properties(response_topic, content_type, correlation_data, user_properties)
        return encode_string(topic), block

    def _too_large(self, size: int) -> None:
        msg = f"PUBLISH of {size} bytes exceeds the broker's Maximum Packet Size {self._server_max_packet}"
        raise MqttProtocolError(msg, ReasonCode.PACKET_TOO_LARGE)

    def _publish_qos1(  # noqa: PLR0917 - private hot path
        self, first: int, head: bytes, block: bytes, payload: bytes, qos: int, now: float
    ) -> int | None:
        qos = min(qos, self._max_qos)
        if qos == 0:  # clamped to the broker's Maximum QoS (TR-369 R-MQTT.19)
            data = (
                bytes((first,))
                + encode_varint(len(head) + len(block) + len(payload))
                + head
                + block
                + payload
            )
            if self._server_max_packet is not None and len(data) > self._server_max_packet:
                self._too_large(len(data))
            self._send(data, now)
            return None
        if qos != 1:
            msg = f"QoS {qos} publishing is not supported"
            raise MqttStateError(msg)
        packet_id = self._ids.allocate(b"")
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
            self._ids.release(packet_id)
            self._too_large(len(data))
        if self._ids.add_publish(packet_id, data):
            self._send(data, now)
        return packet_id

    def subscribe(self, topics: Iterable[TopicLike], now: float, user_properties: UserProperties = ()) -> int:
        """Queue SUBSCRIBE (section 3.8; TR-369 R-MQTT.15-17); ``Subscribed`` reports the result.

        Allowed while ``CONNECTING`` too (pipelined behind CONNECT, section 3.1.4): the broker handles
        it after accepting the CONNECT; if it refuses the CONNECT, the SUBSCRIBE dies with the connection.

        Args:
            topics: Filters as ``str`` (QoS 0), ``(filter, qos)`` or ``Subscription``.
            now: Current time in seconds.
            user_properties: MQTT 5 user properties (obuspa sends ``usp-endpoint-id`` here too).

        Returns:
            The packet identifier, echoed by ``Subscribed.packet_id``.
        """
        topics = tuple(topics)
        if topics and all(t.__class__ is str for t in topics):  # plain QoS 0 filters: encoded directly
            packet_id = self._reserve_id(SUBSCRIBE)
            try:
                data = self._encode_subscribe(packet_id, topics, user_properties)  # type: ignore[arg-type]
            except MqttProtocolError:
                self._ids.release(packet_id)
                raise
            self._send(data, now)
            return packet_id
        subs = tuple(
            t if isinstance(t, Subscription) else Subscription(t) if isinstance(t, str) else Subscription(*t)
            for t in topics
        )
        packet_id = self._reserve_id(SUBSCRIBE)
        packet = Subscribe(packet_id, subs, _user_props(user_properties))
        return self._send_request(packet, now)

    def _encode_subscribe(
        self, packet_id: int, topics: tuple[str, ...], user_properties: UserProperties
    ) -> bytes:
        """SUBSCRIBE of QoS 0 filters without options: the bytes ``encode_packet`` gives, built directly
        (one per connect: this keeps a connect storm off the generic packet/Properties objects)."""
        parts = [packet_id.to_bytes(2, "big")]
        if self._v5:
            props = b"".join(b"\x26" + encode_string(k) + encode_string(v) for k, v in user_properties)
            parts.append(encode_varint(len(props)) + props)
        parts.extend(encode_string(t) + b"\x00" for t in topics)
        body = b"".join(parts)
        return b"\x82" + encode_varint(len(body)) + body

    def unsubscribe(self, topics: Iterable[str], now: float, user_properties: UserProperties = ()) -> int:
        """Queue UNSUBSCRIBE (section 3.10); ``Unsubscribed`` reports the result.

        Args:
            topics: Topic filters to remove.
            now: Current time in seconds.
            user_properties: MQTT 5 user properties.

        Returns:
            The packet identifier, echoed by ``Unsubscribed.packet_id``.
        """
        packet_id = self._reserve_id(UNSUBSCRIBE)
        packet = Unsubscribe(packet_id, tuple(topics), _user_props(user_properties))
        return self._send_request(packet, now)

    def _reserve_id(self, marker: int) -> int:
        # Allowed right after CONNECT, before CONNACK: "Clients are allowed to send further Control
        # Packets immediately after sending a CONNECT" (MQTT 5.0 / 3.1.1 section 3.1.4).
        if self._state is not _CONNECTED and self._state is not ClientState.CONNECTING:
            msg = f"cannot subscribe or unsubscribe in state {self._state.name}"
            raise MqttStateError(msg)
        return self._ids.allocate(marker)

    def _send_request(self, packet: Subscribe | Unsubscribe, now: float) -> int:
        try:
            data = encode_packet(packet, self.settings.protocol_version)
        except MqttProtocolError:
            self._ids.release(packet.packet_id)
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


_CONNECT_BLOCKS: dict[tuple[int | None, int | None, int | None, int | None, bool], tuple[bytes, bytes]] = {}
"""Encoded CONNECT properties around the User Properties (identifier 0x26), per distinct settings."""


def _property_body(block: bytes) -> bytes:
    """An encoded property block without its Property Length."""
    _length, pos = decode_varint(block, 0)
    return block[pos:]


def _connect_properties(s: MqttClientSettings) -> bytes:
    """Encode the CONNECT property block (same bytes as ``encode_properties``, MQTT 5.0 3.1.2.11).

    Every agent of a fleet shares everything but its ``usp-endpoint-id`` User Property: the other
    properties (identifiers below and above 0x26) are encoded once per distinct settings.
    """
    rri = bool(s.request_response_information)
    key = (s.session_expiry_interval, s.receive_maximum, s.maximum_packet_size, s.topic_alias_maximum, rri)
    parts = _CONNECT_BLOCKS.get(key)
    if parts is None:
        before = Properties(  # identifiers 0x11, 0x19, 0x21, 0x22
            session_expiry_interval=s.session_expiry_interval,
            receive_maximum=s.receive_maximum,
            topic_alias_maximum=s.topic_alias_maximum,
            request_response_information=1 if rri else None,
        )
        after = Properties(maximum_packet_size=s.maximum_packet_size)  # identifier 0x27
        parts = (
            _property_body(encode_properties(before, PacketType.CONNECT)),
            _property_body(encode_properties(after, PacketType.CONNECT)),
        )
        if len(_CONNECT_BLOCKS) >= 64:
            _CONNECT_BLOCKS.clear()
        _CONNECT_BLOCKS[key] = parts
    users = b"".join([b"\x26" + encode_string(k) + encode_string(v) for k, v in s.user_properties])
    body = parts[0] + users + parts[1]
    return encode_varint(len(body)) + body
