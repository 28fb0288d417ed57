"""How MqttClient handles received bytes: CONNACK, PUBLISH, acks, DISCONNECT and protocol errors."""

from __future__ import annotations

from collections.abc import Sequence

from simulator.mqtt.errors import MqttProtocolError, ReasonCode, reason_name
from simulator.mqtt.events import (
    Connected,
    ConnectionRefused,
    Disconnected,
    Event,
    ProtocolViolation,
    PublishAcknowledged,
    Subscribed,
    Unsubscribed,
    make_message_received,
)
from simulator.mqtt.inflight import SUBSCRIBE, UNSUBSCRIBE
from simulator.mqtt.packets import (
    Auth,
    ConnAck,
    Disconnect,
    Packet,
    PingResp,
    PubAck,
    Publish,
    PubRel,
    SubAck,
    UnsubAck,
)
from simulator.mqtt.properties import EMPTY_PROPERTIES
from simulator.mqtt.state import ClientState, ConnectionCore
from simulator.mqtt.wire import encode_packet

__all__ = ["Inbound"]

_CONNECTED = ClientState.CONNECTED
_CLOSED = ClientState.CLOSED


class Inbound(ConnectionCore):
    """The receive half of ``MqttClient`` (MQTT 5.0 chapter 4: operational behaviour)."""

    __slots__ = ()

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
            marker = SUBSCRIBE if isinstance(packet, SubAck) else UNSUBSCRIBE
            if not self._ids.holds(packet.packet_id, marker):
                msg = f"{type(packet).__name__} for unknown packet id {packet.packet_id}"
                raise MqttProtocolError(msg, ReasonCode.PROTOCOL_ERROR)
            self._ids.release(packet.packet_id)
            event = Subscribed if marker == SUBSCRIBE else Unsubscribed
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
            send_maximum = props.receive_maximum or 65535
            self._max_qos = 2 if props.maximum_qos is None else props.maximum_qos
            self._retain_ok = props.retain_available != 0
            self._server_max_packet = props.maximum_packet_size
        else:
            send_maximum, self._max_qos, self._retain_ok, self._server_max_packet = 65535, 2, True, None
        for data in self._ids.restart(connack.session_present, send_maximum):
            self._send(data, now)
        events.append(Connected(connack))

    def _on_puback(self, puback: PubAck, now: float, events: list[Event]) -> None:
        known, next_data = self._ids.acknowledge(puback.packet_id)
        if known:
            events.append(PublishAcknowledged(puback.packet_id, puback.reason_code))
        if next_data is not None:
            self._send(next_data, now)

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
