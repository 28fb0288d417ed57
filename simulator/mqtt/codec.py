"""MQTT wire primitives: variable byte integers, UTF-8 strings and binary data (MQTT 5.0 section 1.5)."""

from __future__ import annotations

from enum import IntEnum

from simulator.mqtt.errors import MqttProtocolError, ReasonCode

__all__ = [
    "MAX_REMAINING_LENGTH",
    "PacketType",
    "decode_binary",
    "decode_string",
    "decode_varint",
    "encode_binary",
    "encode_string",
    "encode_varint",
    "u16",
]

MAX_REMAINING_LENGTH = 268_435_455
"""Largest value a four-byte variable byte integer holds (MQTT 5.0 section 1.5.5)."""

_MALFORMED = ReasonCode.MALFORMED_PACKET


class PacketType(IntEnum):
    """MQTT control packet types: the high nibble of the fixed header (MQTT 5.0 section 2.1.2)."""

    WILL = 0  # not a packet: selects the Will Properties set (MQTT 5.0 section 3.1.3.2)
    CONNECT = 1
    CONNACK = 2
    PUBLISH = 3
    PUBACK = 4
    PUBREC = 5
    PUBREL = 6
    PUBCOMP = 7
    SUBSCRIBE = 8
    SUBACK = 9
    UNSUBSCRIBE = 10
    UNSUBACK = 11
    PINGREQ = 12
    PINGRESP = 13
    DISCONNECT = 14
    AUTH = 15


_SMALL_VARINTS = tuple(bytes((i,)) for i in range(128))


def encode_varint(value: int) -> bytes:
    """Encode a variable byte integer (MQTT 5.0 section 1.5.5, 3.1.1 section 2.2.3).

    Args:
        value: 0 .. 268,435,455.

    Returns:
        One to four bytes.

    Raises:
        MqttProtocolError: If the value is out of range.
    """
    if 0 <= value < 128:
        return _SMALL_VARINTS[value]
    if value < 0 or value > MAX_REMAINING_LENGTH:
        msg = f"variable byte integer out of range: {value}"
        raise MqttProtocolError(msg, _MALFORMED)
    out = bytearray()
    while True:
        digit = value & 0x7F
        value >>= 7
        if value:
            out.append(digit | 0x80)
        else:
            out.append(digit)
            return bytes(out)


def decode_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode a variable byte integer at ``buf[pos]``.

    Args:
        buf: The packet body.
        pos: Offset of the first byte.

    Returns:
        ``(value, offset after the integer)``.

    Raises:
        MqttProtocolError: 0x81 if truncated or longer than four bytes ([MQTT-1.5.5-1]).
    """
    value = 0
    shift = 0
    end = len(buf)
    for i in range(pos, pos + 4):
        if i >= end:
            msg = "truncated variable byte integer"
            raise MqttProtocolError(msg, _MALFORMED)
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i + 1
        shift += 7
    msg = "variable byte integer longer than four bytes"
    raise MqttProtocolError(msg, _MALFORMED)


def u16(buf: bytes, pos: int) -> int:
    """Read a Two Byte Integer (big endian) at ``buf[pos]``, raising 0x81 if truncated."""
    if pos + 2 > len(buf):
        msg = "truncated two byte integer"
        raise MqttProtocolError(msg, _MALFORMED)
    return (buf[pos] << 8) | buf[pos + 1]


def encode_string(text: str) -> bytes:
    """Encode a UTF-8 Encoded String with its two-byte length (MQTT 5.0 section 1.5.4).

    Raises:
        MqttProtocolError: 0x81 if the text contains U+0000, lone surrogates, or exceeds 65,535 bytes
            ([MQTT-1.5.4-1], [MQTT-1.5.4-2]).
    """
    try:
        data = text.encode()
    except UnicodeEncodeError:
        msg = "string is not valid UTF-8 (lone surrogate)"
        raise MqttProtocolError(msg, _MALFORMED) from None
    if len(data) > 0xFFFF:
        msg = f"string longer than 65535 bytes ({len(data)})"
        raise MqttProtocolError(msg, _MALFORMED)
    if b"\x00" in data:
        msg = "string contains U+0000"
        raise MqttProtocolError(msg, _MALFORMED)
    return len(data).to_bytes(2, "big") + data


def decode_string(buf: bytes, pos: int) -> tuple[str, int]:
    """Decode a UTF-8 Encoded String at ``buf[pos]``.

    Returns:
        ``(text, offset after the string)``.

    Raises:
        MqttProtocolError: 0x81 if truncated, not well-formed UTF-8 or containing U+0000.
    """
    try:
        end = pos + 2 + ((buf[pos] << 8) | buf[pos + 1])
        # Python's strict decoder rejects surrogates and overlong forms ([MQTT-1.5.4-1]).
        text = buf[pos + 2 : end].decode()
    except IndexError:
        msg = "truncated UTF-8 string"
        raise MqttProtocolError(msg, _MALFORMED) from None
    except UnicodeDecodeError:
        msg = "ill-formed UTF-8 string"
        raise MqttProtocolError(msg, _MALFORMED) from None
    if end > len(buf):
        msg = "truncated UTF-8 string"
        raise MqttProtocolError(msg, _MALFORMED)
    if "\x00" in text:
        msg = "UTF-8 string contains U+0000 [MQTT-1.5.4-2]"
        raise MqttProtocolError(msg, _MALFORMED)
    return text, end


def encode_binary(data: bytes) -> bytes:
    """Encode Binary Data with its two-byte length (MQTT 5.0 section 1.5.6)."""
    if len(data) > 0xFFFF:
        msg = f"binary data longer than 65535 bytes ({len(data)})"
        raise MqttProtocolError(msg, _MALFORMED)
    return len(data).to_bytes(2, "big") + bytes(data)


def decode_binary(buf: bytes, pos: int) -> tuple[bytes, int]:
    """Decode Binary Data at ``buf[pos]``; returns ``(data, offset after it)``."""
    end = pos + 2 + u16(buf, pos)
    if end > len(buf):
        msg = "truncated binary data"
        raise MqttProtocolError(msg, _MALFORMED)
    return bytes(buf[pos + 2 : end]), end
