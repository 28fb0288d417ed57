"""Decode MQTT control packets from bytes for protocol versions 4 (3.1.1) and 5 (5.0)."""

from __future__ import annotations

from collections.abc import Callable

from simulator.mqtt.codec import (
    PacketType,
    decode_binary,
    decode_string,
    u16,
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
    Subscription,
    UnsubAck,
    Unsubscribe,
    Will,
    make_publish,
)
from simulator.mqtt.properties import (
    EMPTY_PROPERTIES,
    decode_properties,
    decode_publish_properties,
)

__all__ = ["decode_packet", "decode_publish"]


_MALFORMED = ReasonCode.MALFORMED_PACKET
_PROTOCOL = ReasonCode.PROTOCOL_ERROR

# Reason codes each MQTT 5 packet may carry (section 2.4, table 2-6); anything else is malformed.
_CONNACK_V5 = frozenset(
    {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97}
    | {0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F}
)
_PUBACK_V5 = frozenset({0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99})
_PUBREL_V5 = frozenset({0x00, 0x92})
_SUBACK_V5 = frozenset({0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2})
_SUBACK_V3 = frozenset({0x00, 0x01, 0x02, 0x80})  # MQTT 3.1.1 section 3.9.3
_UNSUBACK_V5 = frozenset({0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91})
_DISCONNECT_V5 = frozenset(
    {0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95}
    | {0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2}
)
_AUTH_V5 = frozenset({0x00, 0x18, 0x19})


def _malformed(message: str) -> MqttProtocolError:
    return MqttProtocolError(message, _MALFORMED)


_Decoder = Callable[[int, bytes, int], Packet]


def _end(body: bytes, pos: int) -> None:
    if pos != len(body):
        msg = f"{len(body) - pos} unexpected trailing bytes"
        raise _malformed(msg)


def _packet_id(body: bytes, pos: int) -> int:
    pid = u16(body, pos)
    if pid == 0:
        msg = "packet identifier 0 [MQTT-2.2.1-3]"
        raise _malformed(msg)
    return pid


def decode_publish(flags: int, body: bytes, version: int) -> Publish:
    qos = (flags >> 1) & 0x03
    if qos == 3:
        msg = "PUBLISH QoS 3 [MQTT-3.3.1-4]"
        raise _malformed(msg)
    dup = bool(flags & 0x08)
    if dup and not qos:
        msg = "DUP set on a QoS 0 PUBLISH [MQTT-3.3.1-2]"
        raise _malformed(msg)
    try:
        pos = 2 + ((body[0] << 8) | body[1])
        topic = body[2:pos].decode()
    except (IndexError, UnicodeDecodeError):
        topic, pos = decode_string(body, 0)  # raises the precise error
    if pos > len(body) or "\x00" in topic:
        topic, pos = decode_string(body, 0)  # raises the precise error
    if "+" in topic or "#" in topic:
        msg = f"topic name contains wildcards: {topic!r} [MQTT-3.3.2-2]"
        raise MqttProtocolError(msg, ReasonCode.TOPIC_NAME_INVALID)
    packet_id = None
    if qos:
        packet_id = _packet_id(body, pos)
        pos += 2
    props = EMPTY_PROPERTIES
    if version == 5:
        if pos < len(body) and body[pos] == 0:
            pos += 1
        else:
            props, pos = decode_publish_properties(body, pos)
        if not topic and props.topic_alias is None:
            msg = "empty topic name without a topic alias [MQTT-3.3.2-1]"
            raise MqttProtocolError(msg, _PROTOCOL)
    elif not topic:
        msg = "empty topic name [MQTT-4.7.3-1]"
        raise _malformed(msg)
    return make_publish(topic, body[pos:], qos, bool(flags & 0x01), dup, packet_id, props)


def _decode_ack(flags: int, body: bytes, version: int, ptype: int, allowed: frozenset[int]) -> Packet:
    pid = _packet_id(body, 0)
    reason = 0
    props = EMPTY_PROPERTIES
    if version == 5 and len(body) > 2:
        reason = body[2]
        if reason not in allowed:
            msg = f"reason code 0x{reason:02X} not valid in packet type {ptype}"
            raise _malformed(msg)
        if len(body) > 3:
            props, pos = decode_properties(body, 3, ptype)
            _end(body, pos)
    elif len(body) != 2:
        msg = f"packet type {ptype} must have remaining length 2"
        raise _malformed(msg)
    cls: type[PubAck | PubRec | PubRel | PubComp] = _ACK_CLASSES[ptype]
    return cls(pid, reason, props)


_ACK_CLASSES: dict[int, type[PubAck | PubRec | PubRel | PubComp]] = {
    4: PubAck,
    5: PubRec,
    6: PubRel,
    7: PubComp,
}


def _decode_connect(flags: int, body: bytes, version: int) -> Connect:
    name, pos = decode_string(body, 0)
    if name != "MQTT" or pos + 4 > len(body):
        msg = f"unsupported protocol name {name!r}"
        raise MqttProtocolError(msg, ReasonCode.UNSUPPORTED_PROTOCOL_VERSION)
    level, cflags = body[pos], body[pos + 1]
    if level not in (4, 5):
        msg = f"unsupported protocol level {level}"
        raise MqttProtocolError(msg, ReasonCode.UNSUPPORTED_PROTOCOL_VERSION)
    if cflags & 0x01:
        msg = "CONNECT reserved flag set [MQTT-3.1.2-3]"
        raise _malformed(msg)
    keep_alive = u16(body, pos + 2)
    pos += 4
    props = EMPTY_PROPERTIES
    if level == 5:
        props, pos = decode_properties(body, pos, PacketType.CONNECT)
    client_id, pos = decode_string(body, pos)
    will = None
    will_qos = (cflags >> 3) & 0x03
    if cflags & 0x04:
        if will_qos == 3:
            msg = "will QoS 3 [MQTT-3.1.2-14]"
            raise _malformed(msg)
        will_props = EMPTY_PROPERTIES
        if level == 5:
            will_props, pos = decode_properties(body, pos, PacketType.WILL)
        will_topic, pos = decode_string(body, pos)
        will_payload, pos = decode_binary(body, pos)
        will = Will(will_topic, will_payload, will_qos, bool(cflags & 0x20), will_props)
    elif will_qos or cflags & 0x20:
        msg = "will QoS/retain set without will flag [MQTT-3.1.2-13]"
        raise _malformed(msg)
    username = password = None
    if cflags & 0x80:
        username, pos = decode_string(body, pos)
    elif cflags & 0x40 and level == 4:
        msg = "password flag without user name flag [MQTT-3.1.2-22]"
        raise _malformed(msg)
    if cflags & 0x40:
        password, pos = decode_binary(body, pos)
    _end(body, pos)
    return Connect(client_id, level, bool(cflags & 0x02), keep_alive, username, password, will, props)


def _decode_connack(flags: int, body: bytes, version: int) -> ConnAck:
    if len(body) < 2:
        msg = "CONNACK too short"
        raise _malformed(msg)
    ack_flags, reason = body[0], body[1]
    if ack_flags & 0xFE:
        msg = "CONNACK reserved flags set [MQTT-3.2.2-1]"
        raise _malformed(msg)
    props = EMPTY_PROPERTIES
    if version == 5:
        if reason not in _CONNACK_V5:
            msg = f"reason code 0x{reason:02X} not valid in CONNACK"
            raise _malformed(msg)
        props, pos = decode_properties(body, 2, PacketType.CONNACK)
        _end(body, pos)
    else:
        if reason > 5:
            msg = f"CONNACK return code {reason} is reserved"
            raise _malformed(msg)
        _end(body, 2)
    if ack_flags and reason:
        msg = "session present with a non-zero CONNACK code [MQTT-3.2.2-4]"
        raise MqttProtocolError(msg, _PROTOCOL)
    return ConnAck(bool(ack_flags), reason, props)


def _decode_subscribe(flags: int, body: bytes, version: int) -> Subscribe:
    pid = _packet_id(body, 0)
    pos = 2
    props = EMPTY_PROPERTIES
    if version == 5:
        props, pos = decode_properties(body, pos, PacketType.SUBSCRIBE)
    subs = []
    while pos < len(body):
        topic_filter, pos = decode_string(body, pos)
        if pos >= len(body):
            msg = "missing subscription options"
            raise _malformed(msg)
        options = body[pos]
        pos += 1
        reserved = 0xC0 if version == 5 else 0xFC
        if options & reserved or options & 0x03 == 3 or (options >> 4) & 0x03 == 3:
            msg = f"invalid subscription options 0x{options:02X} [MQTT-3.8.3-5]"
            raise _malformed(msg)
        subs.append(
            Subscription(
                topic_filter,
                options & 0x03,
                bool(options & 0x04),
                bool(options & 0x08),
                (options >> 4) & 0x03,
            )
        )
    if not subs:
        msg = "SUBSCRIBE without topic filters [MQTT-3.8.3-3]"
        raise MqttProtocolError(msg, _PROTOCOL)
    return Subscribe(pid, tuple(subs), props)


def _decode_unsubscribe(flags: int, body: bytes, version: int) -> Unsubscribe:
    pid = _packet_id(body, 0)
    pos = 2
    props = EMPTY_PROPERTIES
    if version == 5:
        props, pos = decode_properties(body, pos, PacketType.UNSUBSCRIBE)
    filters = []
    while pos < len(body):
        topic_filter, pos = decode_string(body, pos)
        filters.append(topic_filter)
    if not filters:
        msg = "UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]"
        raise MqttProtocolError(msg, _PROTOCOL)
    return Unsubscribe(pid, tuple(filters), props)


def _decode_suback(flags: int, body: bytes, version: int) -> Packet:
    pid = _packet_id(body, 0)
    pos = 2
    props = EMPTY_PROPERTIES
    if version == 5:
        props, pos = decode_properties(body, pos, PacketType.SUBACK)
    codes = tuple(body[pos:])
    allowed = _SUBACK_V5 if version == 5 else _SUBACK_V3
    if not codes or any(c not in allowed for c in codes):
        msg = f"invalid SUBACK reason codes {codes!r}"
        raise _malformed(msg)
    return SubAck(pid, codes, props)


def _decode_unsuback(flags: int, body: bytes, version: int) -> Packet:
    pid = _packet_id(body, 0)
    if version != 5:
        _end(body, 2)
        return UnsubAck(pid)
    props, pos = decode_properties(body, 2, PacketType.UNSUBACK)
    codes = tuple(body[pos:])
    if not codes or any(c not in _UNSUBACK_V5 for c in codes):
        msg = f"invalid UNSUBACK reason codes {codes!r}"
        raise _malformed(msg)
    return UnsubAck(pid, codes, props)


def _decode_empty(cls: type[PingReq | PingResp]) -> _Decoder:
    def decode(flags: int, body: bytes, version: int) -> Packet:
        if body:
            msg = f"{cls.__name__} must have remaining length 0"
            raise _malformed(msg)
        return cls()

    return decode


def _decode_disconnect_or_auth(ptype: int, allowed: frozenset[int]) -> _Decoder:
    def decode(flags: int, body: bytes, version: int) -> Packet:
        cls = Disconnect if ptype == PacketType.DISCONNECT else Auth
        if version != 5:
            if cls is Auth:
                msg = "packet type 15 is reserved in MQTT 3.1.1"
                raise _malformed(msg)
            _end(body, 0)
            return cls()
        if not body:
            return cls()
        reason = body[0]
        if reason not in allowed:
            msg = f"reason code 0x{reason:02X} not valid in packet type {ptype}"
            raise _malformed(msg)
        props = EMPTY_PROPERTIES
        if len(body) > 1:
            props, pos = decode_properties(body, 1, ptype)
            _end(body, pos)
        return cls(reason, props)

    return decode


def _ack_decoder(ptype: int, allowed: frozenset[int]) -> _Decoder:
    return lambda flags, body, version: _decode_ack(flags, body, version, ptype, allowed)


_DECODERS: dict[int, _Decoder] = {
    1: _decode_connect,
    2: _decode_connack,
    3: decode_publish,
    4: _ack_decoder(4, _PUBACK_V5),
    5: _ack_decoder(5, _PUBACK_V5),
    6: _ack_decoder(6, _PUBREL_V5),
    7: _ack_decoder(7, _PUBREL_V5),
    8: _decode_subscribe,
    9: _decode_suback,
    10: _decode_unsubscribe,
    11: _decode_unsuback,
    12: _decode_empty(PingReq),
    13: _decode_empty(PingResp),
    14: _decode_disconnect_or_auth(14, _DISCONNECT_V5),
    15: _decode_disconnect_or_auth(15, _AUTH_V5),
}
# Fixed header flags required per packet type (section 2.1.3, [MQTT-2.1.3-1]); PUBLISH is checked apart.
_REQUIRED_FLAGS = {6: 0x02, 8: 0x02, 10: 0x02}


def decode_packet(first_byte: int, body: bytes, version: int) -> Packet:
    """Decode one packet from its first byte and its body (the bytes after the Remaining Length).

    Args:
        first_byte: Packet type (high nibble) and flags (low nibble).
        body: Exactly Remaining Length bytes.
        version: Negotiated protocol version, 4 or 5 (CONNECT brings its own).

    Returns:
        The decoded packet.

    Raises:
        MqttProtocolError: For any malformed packet or protocol error; never anything else.
    """
    ptype = first_byte >> 4
    flags = first_byte & 0x0F
    if ptype == 3:
        return decode_publish(flags, body, version)
    decoder = _DECODERS.get(ptype)
    if decoder is None:
        msg = "packet type 0 is reserved"
        raise _malformed(msg)
    if flags != _REQUIRED_FLAGS.get(ptype, 0):
        msg = f"invalid fixed header flags 0x{flags:X} for packet type {ptype} [MQTT-2.1.3-1]"
        raise _malformed(msg)
    try:
        return decoder(flags, body, version)
    except IndexError:
        # A short body indexed directly (e.g. a one-byte CONNECT tail) is a truncated packet.
        msg = "truncated packet"
        raise _malformed(msg) from None
