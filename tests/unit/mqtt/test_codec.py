"""Wire primitives: variable byte integers (MQTT 5.0 section 1.5.5) and UTF-8 strings (1.5.4)."""

from __future__ import annotations

import pytest

from simulator.mqtt.codec import (
    decode_binary,
    decode_string,
    decode_varint,
    encode_binary,
    encode_string,
    encode_varint,
)
from simulator.mqtt.errors import MqttProtocolError, ReasonCode
from simulator.mqtt.packets import Publish
from simulator.mqtt.stream import StreamDecoder
from simulator.mqtt.wire import encode_packet

# MQTT 5.0 section 1.5.5, table 1-1: the boundaries of each encoded size.
VARINTS = [
    (0, "00"),
    (127, "7f"),
    (128, "8001"),
    (16_383, "ff7f"),
    (16_384, "808001"),
    (2_097_151, "ffff7f"),
    (2_097_152, "80808001"),
    (268_435_455, "ffffff7f"),
]


@pytest.mark.parametrize(("value", "hexbytes"), VARINTS)
def test_varint_boundaries_encode_and_decode(value: int, hexbytes: str) -> None:
    encoded = bytes.fromhex(hexbytes)
    assert encode_varint(value) == encoded
    assert decode_varint(encoded + b"\x99", 0) == (value, len(encoded))


@pytest.mark.parametrize("value", [-1, 268_435_456])
def test_varint_out_of_range_is_rejected(value: int) -> None:
    with pytest.raises(MqttProtocolError) as info:
        encode_varint(value)
    assert info.value.reason_code == ReasonCode.MALFORMED_PACKET


@pytest.mark.parametrize("data", ["ffffffff7f", "ffffffff", "80", ""])
def test_varint_five_bytes_or_truncated_is_malformed(data: str) -> None:
    with pytest.raises(MqttProtocolError) as info:
        decode_varint(bytes.fromhex(data), 0)
    assert info.value.reason_code == 0x81


@pytest.mark.parametrize("remaining", [0, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152])
def test_remaining_length_edges_through_the_stream_decoder(remaining: int) -> None:
    """A PUBLISH whose Remaining Length sits exactly on each boundary decodes from a stream."""
    if remaining == 0:
        data = b"\xd0\x00"  # PINGRESP: the only way to have Remaining Length 0 here
    else:
        payload = b"p" * (remaining - 5)  # topic "a/b" = 5 bytes on MQTT 3.1.1
        data = encode_packet(Publish("a/b", payload), 4)
    assert data[1:].startswith(encode_varint(remaining))
    decoder = StreamDecoder(4, maximum_packet_size=4_000_000)
    packets = decoder.feed(data[:3]) + decoder.feed(data[3:])
    assert len(packets) == 1
    assert decoder.buffered == 0


def test_remaining_length_max_announced_is_rejected_as_too_large() -> None:
    decoder = StreamDecoder(5, maximum_packet_size=1024)
    with pytest.raises(MqttProtocolError) as info:
        decoder.feed(b"\x30\xff\xff\xff\x7f")
    assert info.value.reason_code == ReasonCode.PACKET_TOO_LARGE


def test_remaining_length_five_bytes_is_malformed_in_stream() -> None:
    decoder = StreamDecoder(5, maximum_packet_size=1 << 30)
    with pytest.raises(MqttProtocolError) as info:
        decoder.feed(b"\x30\xff\xff\xff\xff\x7f")
    assert info.value.reason_code == ReasonCode.MALFORMED_PACKET


def test_string_round_trip_with_multibyte_characters() -> None:
    text = "usp/agent/é€😀"
    encoded = encode_string(text)
    assert encoded[:2] == len(text.encode()).to_bytes(2, "big")
    assert decode_string(encoded, 0) == (text, len(encoded))


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "x" * 65_536])
def test_string_encoding_rejects_nul_surrogates_and_oversize(text: str) -> None:
    """[MQTT-1.5.4-1], [MQTT-1.5.4-2] and the 65,535-byte limit."""
    with pytest.raises(MqttProtocolError):
        encode_string(text)


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x03a\x00b",  # U+0000
        b"\x00\x02\xc3\x28",  # invalid continuation byte
        b"\x00\x03\xed\xa0\x80",  # UTF-8 encoded surrogate U+D800
        b"\x00\x02\xc0\x80",  # overlong NUL
        b"\x00\x05abc",  # truncated
        b"\x00",  # truncated length
    ],
)
def test_string_decoding_rejects_ill_formed_utf8(data: bytes) -> None:
    with pytest.raises(MqttProtocolError) as info:
        decode_string(data, 0)
    assert info.value.reason_code == 0x81


def test_binary_round_trip_and_limits() -> None:
    assert decode_binary(encode_binary(b"\x00\xff"), 0) == (b"\x00\xff", 4)
    with pytest.raises(MqttProtocolError):
        encode_binary(b"x" * 65_536)
    with pytest.raises(MqttProtocolError):
        decode_binary(b"\x00\x04ab", 0)
