"""MQTT 5.0 properties: one immutable ``Properties`` value plus its codec (MQTT 5.0 section 2.2.2)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from simulator.mqtt.codec import (
    PacketType,
    decode_binary,
    decode_string,
    decode_varint,
    encode_binary,
    encode_string,
    encode_varint,
)
from simulator.mqtt.errors import MqttProtocolError, ReasonCode

__all__ = [
    "EMPTY_PROPERTIES",
    "Properties",
    "decode_properties",
    "decode_publish_properties",
    "encode_properties",
    "make_properties",
]

UserProperties = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, repr=False)
class Properties:
    """The properties of one packet (MQTT 5.0 section 2.2.2.2); ``None`` / ``()`` means absent.

    User properties are an ordered tuple of ``(name, value)`` pairs; names may repeat and order is kept
    (MQTT 5.0 section 3.1.2.11.8), which matters to Oktopus (first CONNECT user property
    ``usp-endpoint-id``).
    """

    payload_format_indicator: int | None = None  # 0x01
    message_expiry_interval: int | None = None  # 0x02
    content_type: str | None = None  # 0x03
    response_topic: str | None = None  # 0x08
    correlation_data: bytes | None = None  # 0x09
    subscription_identifiers: tuple[int, ...] = ()  # 0x0B (repeatable in PUBLISH only)
    session_expiry_interval: int | None = None  # 0x11
    assigned_client_identifier: str | None = None  # 0x12
    server_keep_alive: int | None = None  # 0x13
    authentication_method: str | None = None  # 0x15
    authentication_data: bytes | None = None  # 0x16
    request_problem_information: int | None = None  # 0x17
    will_delay_interval: int | None = None  # 0x18
    request_response_information: int | None = None  # 0x19
    response_information: str | None = None  # 0x1A
    server_reference: str | None = None  # 0x1C
    reason_string: str | None = None  # 0x1F
    receive_maximum: int | None = None  # 0x21
    topic_alias_maximum: int | None = None  # 0x22
    topic_alias: int | None = None  # 0x23
    maximum_qos: int | None = None  # 0x24
    retain_available: int | None = None  # 0x25
    user_properties: UserProperties = ()  # 0x26 (repeatable)
    maximum_packet_size: int | None = None  # 0x27
    wildcard_subscription_available: int | None = None  # 0x28
    subscription_identifier_available: int | None = None  # 0x29
    shared_subscription_available: int | None = None  # 0x2A

    if not TYPE_CHECKING:
        # Strategy: decoding sets only the slots of properties present on the wire (a 27-field frozen
        # __init__ costs ~5 us, measured, on the hot PUBLISH path); an unset slot raises AttributeError,
        # which lands here and reads as the default. Equality, hashing and repr all go through getattr.
        def __getattr__(self, name):
            try:
                return _DEFAULTS[name]
            except KeyError:
                raise AttributeError(name) from None

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in _NAMES if getattr(self, name) != _DEFAULTS[name]
        )
        return f"Properties({shown})"

    def get_user_property(self, name: str) -> str | None:
        """Return the value of the first user property called ``name``, or ``None``."""
        for key, value in self.user_properties:
            if key == name:
                return value
        return None


_NAMES = tuple(f.name for f in fields(Properties))
_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Properties)}
_SETTERS = {name: Properties.__dict__[name].__set__ for name in _NAMES}
_new = object.__new__

EMPTY_PROPERTIES = Properties()
"""The shared instance used for packets without properties."""


def make_properties(values: dict[str, Any]) -> Properties:
    """Build ``Properties`` quickly from ``{field name: value}`` (only present fields are stored)."""
    if not values:
        return EMPTY_PROPERTIES
    obj: Properties = _new(Properties)
    for name, value in values.items():
        _SETTERS[name](obj, value)
    return obj


# Data types (MQTT 5.0 section 2.2.2.2).
_BYTE, _U16, _U32, _VARINT, _STR, _BIN, _PAIR = range(7)

_SPEC: dict[int, tuple[str, int]] = {
    0x01: ("payload_format_indicator", _BYTE),
    0x02: ("message_expiry_interval", _U32),
    0x03: ("content_type", _STR),
    0x08: ("response_topic", _STR),
    0x09: ("correlation_data", _BIN),
    0x0B: ("subscription_identifiers", _VARINT),
    0x11: ("session_expiry_interval", _U32),
    0x12: ("assigned_client_identifier", _STR),
    0x13: ("server_keep_alive", _U16),
    0x15: ("authentication_method", _STR),
    0x16: ("authentication_data", _BIN),
    0x17: ("request_problem_information", _BYTE),
    0x18: ("will_delay_interval", _U32),
    0x19: ("request_response_information", _BYTE),
    0x1A: ("response_information", _STR),
    0x1C: ("server_reference", _STR),
    0x1F: ("reason_string", _STR),
    0x21: ("receive_maximum", _U16),
    0x22: ("topic_alias_maximum", _U16),
    0x23: ("topic_alias", _U16),
    0x24: ("maximum_qos", _BYTE),
    0x25: ("retain_available", _BYTE),
    0x26: ("user_properties", _PAIR),
    0x27: ("maximum_packet_size", _U32),
    0x28: ("wildcard_subscription_available", _BYTE),
    0x29: ("subscription_identifier_available", _BYTE),
    0x2A: ("shared_subscription_available", _BYTE),
}
_ENCODE_ORDER = tuple(sorted(_SPEC.items()))

# Which identifiers each packet may carry (MQTT 5.0 section 2.2.2.2, table 2-4).
_PUBACK_LIKE = frozenset({0x1F, 0x26})
ALLOWED: dict[int, frozenset[int]] = {
    PacketType.WILL: frozenset({0x01, 0x02, 0x03, 0x08, 0x09, 0x18, 0x26}),
    PacketType.CONNECT: frozenset({0x11, 0x15, 0x16, 0x17, 0x19, 0x21, 0x22, 0x26, 0x27}),
    PacketType.CONNACK: frozenset(
        {0x11, 0x12, 0x13, 0x15, 0x16, 0x1A, 0x1C, 0x1F, 0x21, 0x22, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A}
    ),
    PacketType.PUBLISH: frozenset({0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x23, 0x26}),
    PacketType.PUBACK: _PUBACK_LIKE,
    PacketType.PUBREC: _PUBACK_LIKE,
    PacketType.PUBREL: _PUBACK_LIKE,
    PacketType.PUBCOMP: _PUBACK_LIKE,
    PacketType.SUBSCRIBE: frozenset({0x0B, 0x26}),
    PacketType.SUBACK: _PUBACK_LIKE,
    PacketType.UNSUBSCRIBE: frozenset({0x26}),
    PacketType.UNSUBACK: _PUBACK_LIKE,
    PacketType.DISCONNECT: frozenset({0x11, 0x1C, 0x1F, 0x26}),
    PacketType.AUTH: frozenset({0x15, 0x16, 0x1F, 0x26}),
}
# Byte properties whose only legal values are 0 and 1; a different value is a Protocol Error.
_BOOLEAN_BYTES = frozenset({0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A})
# Properties where 0 is a Protocol Error (sections 3.1.2.11.3, 3.1.2.11.4, 3.3.2.3.4, 3.3.2.3.8).
_NONZERO = frozenset({0x0B, 0x21, 0x23, 0x27})
_MALFORMED = ReasonCode.MALFORMED_PACKET
_PROTOCOL = ReasonCode.PROTOCOL_ERROR


def _protocol_error(message: str) -> MqttProtocolError:
    return MqttProtocolError(message, _PROTOCOL)


def decode_properties(buf: bytes, pos: int, packet_type: int) -> tuple[Properties, int]:
    """Decode a property block (length + properties) at ``buf[pos]``.

    Args:
        buf: The packet body.
        pos: Offset of the Property Length.
        packet_type: A ``PacketType`` (``PacketType.WILL`` for will properties); selects the allowed set.

    Returns:
        ``(properties, offset after the block)``.

    Raises:
        MqttProtocolError: 0x81 for truncation, unknown or misplaced identifiers (section 2.2.2.2);
            0x82 for repeated single-valued properties and out-of-range values.
    """
    length, pos = decode_varint(buf, pos)
    if length == 0:
        return EMPTY_PROPERTIES, pos
    end = pos + length
    if end > len(buf):
        msg = "property length exceeds packet"
        raise MqttProtocolError(msg, _MALFORMED)
    block = buf[pos:end]
    allowed = ALLOWED[packet_type]
    values: dict[str, Any] = {}
    i = 0
    size = len(block)
    while i < size:
        pid = block[i]
        i += 1
        if pid not in allowed:
            msg = f"property 0x{pid:02X} not allowed in packet type {packet_type}"
            raise MqttProtocolError(msg, _MALFORMED)
        name, kind = _SPEC[pid]
        value: Any
        if kind == _STR:
            value, i = decode_string(block, i)
        elif kind == _BYTE:
            if i >= size:
                msg = "truncated byte property"
                raise MqttProtocolError(msg, _MALFORMED)
            value = block[i]
            i += 1
        elif kind in (_U16, _U32):
            width = 2 if kind == _U16 else 4
            if i + width > size:
                msg = "truncated integer property"
                raise MqttProtocolError(msg, _MALFORMED)
            value = int.from_bytes(block[i : i + width], "big")
            i += width
        elif kind == _BIN:
            value, i = decode_binary(block, i)
        elif kind == _VARINT:
            value, i = decode_varint(block, i)
        else:  # _PAIR
            key, i = decode_string(block, i)
            val, i = decode_string(block, i)
            values["user_properties"] = (*values.get("user_properties", ()), (key, val))
            continue
        if pid in _BOOLEAN_BYTES and value > 1:
            msg = f"property {name} must be 0 or 1, got {value}"
            raise _protocol_error(msg)
        if value == 0 and pid in _NONZERO:
            msg = f"property {name} must not be 0"
            raise _protocol_error(msg)
        if pid == 0x0B:
            if packet_type != PacketType.PUBLISH and name in values:
                msg = "subscription identifier repeated"
                raise _protocol_error(msg)
            values[name] = (*values.get(name, ()), value)
            continue
        if name in values:
            # e.g. "It is a Protocol Error to include the Session Expiry Interval more than once".
            msg = f"property {name} included more than once"
            raise _protocol_error(msg)
        if pid == 0x08 and ("+" in value or "#" in value):
            msg = "response topic contains wildcards [MQTT-3.3.2-14]"
            raise _protocol_error(msg)
        values[name] = value
    return make_properties(values), end


def encode_properties(props: Properties, packet_type: int | None = None) -> bytes:
    """Encode a property block: Property Length followed by the properties in identifier order.

    Args:
        props: The properties to encode.
        packet_type: When given, reject properties not allowed in that packet (0x82).

    Returns:
        The encoded block (``b"\\x00"`` when empty).

    Raises:
        MqttProtocolError: For values out of range or properties not allowed for ``packet_type``.
    """
    if props is EMPTY_PROPERTIES:
        return b"\x00"
    parts: list[bytes] = []
    allowed = ALLOWED[packet_type] if packet_type is not None else None
    for pid, (name, kind) in _ENCODE_ORDER:
        value = getattr(props, name)
        if value is None or value == ():
            continue
        if allowed is not None and pid not in allowed:
            msg = f"property {name} is not allowed in packet type {packet_type}"
            raise _protocol_error(msg)
        if kind == _PAIR:
            for key, val in value:
                parts.append(b"\x26" + encode_string(key) + encode_string(val))
            continue
        if kind == _VARINT:
            for ident in value:
                if not 0 < ident <= 268_435_455:
                    msg = f"subscription identifier out of range: {ident}"
                    raise _protocol_error(msg)
                parts.append(b"\x0b" + encode_varint(ident))
            continue
        head = bytes((pid,))
        if kind == _STR:
            parts.append(head + encode_string(value))
        elif kind == _BIN:
            parts.append(head + encode_binary(value))
        else:
            width = {_BYTE: 1, _U16: 2, _U32: 4}[kind]
            limit = 1 if pid in _BOOLEAN_BYTES else (1 << (8 * width)) - 1
            if not 0 <= value <= limit or (value == 0 and pid in _NONZERO):
                msg = f"property {name} out of range: {value}"
                raise _protocol_error(msg)
            parts.append(head + int(value).to_bytes(width, "big"))
    body = b"".join(parts)
    return encode_varint(len(body)) + body


_SET_CONTENT_TYPE = _SETTERS["content_type"]
_SET_RESPONSE_TOPIC = _SETTERS["response_topic"]
_SET_CORRELATION_DATA = _SETTERS["correlation_data"]
_SET_USER_PROPERTIES = _SETTERS["user_properties"]
_SET_TOPIC_ALIAS = _SETTERS["topic_alias"]


def decode_publish_properties(buf: bytes, pos: int) -> tuple[Properties, int]:
    """Decode PUBLISH properties, fast for the USP set (Content Type, Response Topic, Correlation Data,
    User Property); any other identifier falls back to ``decode_properties``. Same results and errors.
    """
    length = buf[pos] if pos < len(buf) else 0x80
    if length & 0x80:
        return decode_properties(buf, pos, PacketType.PUBLISH)
    start = pos + 1
    end = start + length
    if end > len(buf):
        msg = "property length exceeds packet"
        raise MqttProtocolError(msg, _MALFORMED)
    content_type = response_topic = correlation_data = None
    user: list[tuple[str, str]] | None = None
    i = start
    try:
        while i < end:
            pid = buf[i]
            if pid in (0x03, 0x08):
                j = i + 3
                i = j + ((buf[i + 1] << 8) | buf[i + 2])
                text = buf[j:i].decode()
                if "\x00" in text:
                    i = -1
                elif pid == 0x03 and content_type is None:
                    content_type = text
                elif pid == 0x08 and response_topic is None and "+" not in text and "#" not in text:
                    response_topic = text
                else:
                    i = -1
            elif pid == 0x09 and correlation_data is None:
                correlation_data, i = decode_binary(buf, i + 1)
            elif pid == 0x26:
                key, i = decode_string(buf, i + 1)
                value, i = decode_string(buf, i)
                if user is None:
                    user = []
                user.append((key, value))
            else:
                i = -1
            if i < 0 or i > end:
                break
    except (IndexError, UnicodeDecodeError, MqttProtocolError):
        i = -1
    if i != end:
        # Anything unusual (other properties, bad strings, repeats): the general decoder decides.
        return decode_properties(buf, pos, PacketType.PUBLISH)
    obj: Properties = _new(Properties)
    _SET_TOPIC_ALIAS(obj, None)  # read on every delivery: keep it off the __getattr__ path
    if content_type is not None:
        _SET_CONTENT_TYPE(obj, content_type)
    if response_topic is not None:
        _SET_RESPONSE_TOPIC(obj, response_topic)
    if correlation_data is not None:
        _SET_CORRELATION_DATA(obj, correlation_data)
    if user is not None:
        _SET_USER_PROPERTIES(obj, tuple(user))
    return obj, end
