"""Encode MQTT control packets to bytes for protocol versions 4 (3.1.1) and 5 (5.0)."""

from __future__ import annotations

from simulator.mqtt.codec import (
    PacketType,
    encode_binary,
    encode_string,
    encode_varint,
)
from simulator.mqtt.errors import MqttProtocolError, ReasonCode
from simulator.mqtt.packets import (
    Auth,
    ConnAck,
    Connect,
    Disconnect,
    Packet,
    PingReq,
    PingResp,
    PubAck,
    PubComp,
    Publish,
    PubRec,
    PubRel,
    SubAck,
    Subscribe,
    UnsubAck,
    Unsubscribe,
)
from simulator.mqtt.properties import (
    EMPTY_PROPERTIES,
    Properties,
    encode_properties,
)

__all__ = ["encode_packet", "encode_publish"]

_PROTOCOL = ReasonCode.PROTOCOL_ERROR


def _frame(first_byte: int, body: bytes) -> bytes:
    """Prefix ``body`` with the fixed header (section 2.1): type/flags byte and Remaining Length."""
    return bytes((first_byte,)) + encode_varint(len(body)) + body


def _check_topic_name(topic: str) -> None:
    if "+" in topic or "#" in topic:
        msg = f"topic name contains wildcards: {topic!r} [MQTT-3.3.2-2]"
        raise MqttProtocolError(msg, ReasonCode.TOPIC_NAME_INVALID)


def encode_publish(  # noqa: PLR0917 - positional on purpose: hot send path
    topic: str,
    payload: bytes,
    qos: int,
    retain: bool,
    dup: bool,
    packet_id: int | None,
    properties_block: bytes | None,
) -> bytes:
    """Encode PUBLISH from its parts (the client's hot send path; section 3.3).

    Args:
        topic: Topic Name, no wildcards.
        payload: Application message.
        qos: 0, 1 or 2.
        retain: RETAIN flag.
        dup: DUP flag (only with QoS > 0, [MQTT-3.3.1-2]).
        packet_id: Required for QoS > 0.
        properties_block: Encoded property block for MQTT 5 (``None`` on MQTT 3.1.1).
    """
    _check_topic_name(topic)
    head = encode_string(topic)
    if qos:
        if not packet_id or packet_id > 0xFFFF:
            msg = f"QoS {qos} PUBLISH needs a packet identifier 1..65535"
            raise MqttProtocolError(msg, _PROTOCOL)
        head += packet_id.to_bytes(2, "big")
    elif dup:
        msg = "DUP must be 0 for QoS 0 [MQTT-3.3.1-2]"
        raise MqttProtocolError(msg, _PROTOCOL)
    if properties_block is not None:
        head += properties_block
    size = len(head) + len(payload)
    first = 0x30 | (dup << 3) | (qos << 1) | retain
    if size < 128:
        return bytes((first, size)) + head + payload
    return bytes((first,)) + encode_varint(size) + head + payload


def _ack_body(packet_id: int, reason_code: int, props: Properties, version: int, packet_type: int) -> bytes:
    body = packet_id.to_bytes(2, "big")
    if version == 5 and (reason_code or props is not EMPTY_PROPERTIES):
        body += bytes((reason_code,))
        if props is not EMPTY_PROPERTIES:
            body += encode_properties(props, packet_type)
    return body


def encode_connect(p: Connect, properties_block: bytes | None = None) -> bytes:
    """Encode CONNECT; ``properties_block`` (an encoded MQTT 5 property block, Property Length
    included) replaces ``p.properties`` when given (the client caches most of it per settings)."""
    return _encode_connect(p, properties_block)


def _encode_connect(p: Connect, properties_block: bytes | None = None) -> bytes:
    v5 = p.protocol_version == 5
    if p.protocol_version not in (4, 5):
        msg = f"unsupported protocol version {p.protocol_version}"
        raise MqttProtocolError(msg, ReasonCode.UNSUPPORTED_PROTOCOL_VERSION)
    flags = 0x02 if p.clean_start else 0
    payload = encode_string(p.client_id)
    if p.will is not None:
        will = p.will
        _check_topic_name(will.topic)
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
        if v5:
            payload += encode_properties(will.properties, PacketType.WILL)
        payload += encode_string(will.topic) + encode_binary(will.payload)
    if p.username is not None:
        flags |= 0x80
        payload += encode_string(p.username)
    if p.password is not None:
        if p.username is None and not v5:
            msg = "MQTT 3.1.1 forbids a password without a user name [MQTT-3.1.2-22]"
            raise MqttProtocolError(msg, _PROTOCOL)
        flags |= 0x40
        payload += encode_binary(p.password)
    if not 0 <= p.keep_alive <= 0xFFFF:
        msg = f"keep alive out of range: {p.keep_alive}"
        raise MqttProtocolError(msg, _PROTOCOL)
    header = b"\x00\x04MQTT" + bytes((p.protocol_version, flags)) + p.keep_alive.to_bytes(2, "big")
    if v5:
        if properties_block is None:
            properties_block = encode_properties(p.properties, PacketType.CONNECT)
        header += properties_block
    return _frame(0x10, header + payload)


def encode_packet(packet: Packet, version: int = 5) -> bytes:
    """Encode any packet to bytes.

    Args:
        packet: The packet. ``Connect`` uses its own ``protocol_version``.
        version: 4 (MQTT 3.1.1: properties and reason codes are dropped) or 5.

    Returns:
        The complete packet including the fixed header.

    Raises:
        MqttProtocolError: If a field breaks an MQTT rule (bad string, wildcard in a topic name...).
    """
    v5 = version == 5
    if isinstance(packet, Publish):
        block = encode_properties(packet.properties, PacketType.PUBLISH) if v5 else None
        return encode_publish(
            packet.topic, packet.payload, packet.qos, packet.retain, packet.dup, packet.packet_id, block
        )
    if isinstance(packet, PubAck | PubRec | PubRel | PubComp):
        first = (packet.packet_type << 4) | (0x02 if isinstance(packet, PubRel) else 0)
        return _frame(
            first,
            _ack_body(packet.packet_id, packet.reason_code, packet.properties, version, packet.packet_type),
        )
    if isinstance(packet, Connect):
        return _encode_connect(packet)
    if isinstance(packet, ConnAck):
        body = bytes((1 if packet.session_present else 0, packet.reason_code))
        if v5:
            body += encode_properties(packet.properties, PacketType.CONNACK)
        return _frame(0x20, body)
    if isinstance(packet, Subscribe):
        if not packet.subscriptions:
            msg = "SUBSCRIBE needs at least one topic filter [MQTT-3.8.3-3]"
            raise MqttProtocolError(msg, _PROTOCOL)
        parts = [packet.packet_id.to_bytes(2, "big")]
        if v5:
            parts.append(encode_properties(packet.properties, PacketType.SUBSCRIBE))
        for sub in packet.subscriptions:
            options = sub.qos
            if v5:
                options |= (sub.no_local << 2) | (sub.retain_as_published << 3) | (sub.retain_handling << 4)
            parts.append(encode_string(sub.topic_filter) + bytes((options,)))
        return _frame(0x82, b"".join(parts))
    if isinstance(packet, Unsubscribe):
        if not packet.topic_filters:
            msg = "UNSUBSCRIBE needs at least one topic filter [MQTT-3.10.3-2]"
            raise MqttProtocolError(msg, _PROTOCOL)
        parts = [packet.packet_id.to_bytes(2, "big")]
        if v5:
            parts.append(encode_properties(packet.properties, PacketType.UNSUBSCRIBE))
        parts.extend(encode_string(f) for f in packet.topic_filters)
        return _frame(0xA2, b"".join(parts))
    if isinstance(packet, SubAck | UnsubAck):
        body = packet.packet_id.to_bytes(2, "big")
        if v5:
            body += encode_properties(packet.properties, packet.packet_type)
        if v5 or isinstance(packet, SubAck):
            body += bytes(packet.reason_codes)
        return _frame(packet.packet_type << 4, body)
    if isinstance(packet, PingReq):
        return b"\xc0\x00"
    if isinstance(packet, PingResp):
        return b"\xd0\x00"
    if isinstance(packet, Disconnect | Auth):
        if not v5:
            if isinstance(packet, Auth):
                msg = "AUTH does not exist in MQTT 3.1.1"
                raise MqttProtocolError(msg, _PROTOCOL)
            return b"\xe0\x00"
        body = b""
        if packet.reason_code or packet.properties is not EMPTY_PROPERTIES:
            body = bytes((packet.reason_code,))
            if packet.properties is not EMPTY_PROPERTIES:
                body += encode_properties(packet.properties, packet.packet_type)
        return _frame(packet.packet_type << 4, body)
    msg = f"not an MQTT packet: {packet!r}"  # pragma: no cover - exhaustive above
    raise TypeError(msg)  # pragma: no cover
