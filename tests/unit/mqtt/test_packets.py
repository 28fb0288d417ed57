"""Packet codec: byte-exact fixtures for every packet kind, round trips and decode-time validation."""

from __future__ import annotations

import contextlib

import pytest
from fixtures import FIXTURES, h, pk

from simulator.mqtt.errors import MqttProtocolError, ReasonCode
from simulator.mqtt.packets import (
    Auth,
    ConnAck,
    Connect,
    Disconnect,
    Packet,
    PubAck,
    Publish,
    SubAck,
    Subscribe,
    Subscription,
    UnsubAck,
)
from simulator.mqtt.properties import Properties
from simulator.mqtt.stream import StreamDecoder
from simulator.mqtt.wire import decode_packet, encode_packet

IDS = [f[0] for f in FIXTURES]


def decode_one(data: bytes, version: int) -> Packet:
    packets = StreamDecoder(version).feed(data)
    assert len(packets) == 1
    return packets[0]


@pytest.mark.parametrize(("name", "version", "packet", "expected"), FIXTURES, ids=IDS)
def test_packet_encodes_to_exact_bytes(name: str, version: int, packet: Packet, expected: bytes) -> None:
    assert encode_packet(packet, version).hex(" ") == expected.hex(" ")


@pytest.mark.parametrize(("name", "version", "packet", "expected"), FIXTURES, ids=IDS)
def test_packet_decodes_from_exact_bytes(name: str, version: int, packet: Packet, expected: bytes) -> None:
    assert decode_one(expected, version) == packet


def test_every_packet_kind_has_a_fixture() -> None:
    kinds = {type(f[2]).__name__ for f in FIXTURES}
    assert kinds == {
        "Connect", "ConnAck", "Publish", "PubAck", "PubRec", "PubRel", "PubComp", "Subscribe",
        "SubAck", "Unsubscribe", "UnsubAck", "PingReq", "PingResp", "Disconnect", "Auth",
    }  # fmt: skip


def test_v4_encoding_drops_v5_only_fields() -> None:
    """MQTT 3.1.1 has no properties or ack reason codes (3.1.1 chapter 3)."""
    props = Properties(content_type="usp.msg")
    assert encode_packet(Publish("a", b"", properties=props), 4) == h("30 03 0001", b"a")
    assert encode_packet(PubAck(1, 0x10), 4) == h("40 02 0001")
    assert encode_packet(Disconnect(0x81), 4) == h("e0 00")
    assert encode_packet(UnsubAck(1, (0,)), 4) == h("b0 02 0001")


def test_user_properties_keep_order_and_duplicates() -> None:
    pairs = (("usp-endpoint-id", "os::1"), ("b", "2"), ("usp-endpoint-id", "dup"), ("a", "1"))
    packet = Connect("x", properties=Properties(user_properties=pairs))
    decoded = decode_one(encode_packet(packet), 5)
    assert isinstance(decoded, Connect)
    assert decoded.properties.user_properties == pairs
    assert decoded.properties.get_user_property("usp-endpoint-id") == "os::1"


@pytest.mark.parametrize(
    ("data", "version", "reason"),
    [
        (pk(0x36, "0001", b"a", "0001"), 4, 0x81),  # QoS 3 [MQTT-3.3.1-4]
        (pk(0x38, "0001", b"a"), 4, 0x81),  # DUP on QoS 0 [MQTT-3.3.1-2]
        (pk(0x30, "0003", b"a/+"), 4, ReasonCode.TOPIC_NAME_INVALID),  # wildcard in topic name
        (pk(0x32, "0001", b"a", "0000"), 4, 0x81),  # packet id 0 [MQTT-2.2.1-3]
        (pk(0x30, "0000"), 4, 0x81),  # empty topic on 3.1.1
        (pk(0x30, "0000 00"), 5, 0x82),  # empty topic without alias on 5.0
        (pk(0x83, "0001"), 4, 0x81),  # SUBSCRIBE flags must be 0010 [MQTT-2.1.3-1]
        (pk(0x00), 5, 0x81),  # reserved packet type 0
        (pk(0xF0), 4, 0x81),  # AUTH is reserved in 3.1.1
        (pk(0xD0, "00"), 5, 0x81),  # PINGRESP with a body
        (pk(0x20, "02 00"), 4, 0x81),  # CONNACK reserved flag
        (pk(0x20, "01 05"), 4, 0x82),  # session present with a refusal
        (pk(0x20, "00 06"), 4, 0x81),  # reserved 3.1.1 return code
        (pk(0x20, "00 05 00"), 5, 0x81),  # 0x05 is not an MQTT 5 CONNACK reason code
        (pk(0x90, "0001"), 4, 0x81),  # SUBACK without reason codes
        (pk(0x90, "0001 03"), 4, 0x81),  # SUBACK code 3 is invalid
        (pk(0xB0, "0002 00"), 4, 0x81),  # 3.1.1 UNSUBACK has exactly two bytes
        (pk(0x40, "0001 05"), 5, 0x81),  # 0x05 is not a PUBACK reason code
        (pk(0x40, "00"), 5, 0x81),  # truncated packet id
        (pk(0xE0, "05"), 5, 0x81),  # 0x05 is not a DISCONNECT reason code
        (pk(0xE0, "00"), 4, 0x81),  # 3.1.1 DISCONNECT has no body
        (pk(0x10, "0004", b"MQTT", "03 02 003c 0000"), 5, 0x84),  # protocol level 3
        (pk(0x10, "0004", b"MQTT", "04 03 003c 0000"), 5, 0x81),  # CONNECT reserved flag
        (pk(0x10, "0004", b"MQTT", "04 18 003c 0000"), 5, 0x81),  # will QoS 3 without will flag
        (pk(0x10, "0004", b"MQTX", "04 02 003c 0000"), 5, 0x84),  # protocol name
        (pk(0x10, "0004", b"MQTT", "04 40 003c 0000 0000"), 4, 0x81),  # password without user name
        (pk(0x82, "0001 0000"), 4, 0x81),  # SUBSCRIBE filter without its options byte
        (pk(0x82, "0001 0001", b"a", "03"), 4, 0x81),  # subscription QoS 3
        (pk(0x82, "0001 0001", b"a", "04"), 4, 0x81),  # 3.1.1 reserved option bits
        (pk(0x82, "0001"), 4, 0x82),  # SUBSCRIBE without filters
        (pk(0xA2, "0001"), 4, 0x82),  # UNSUBSCRIBE without filters
        (pk(0x30, "0001", b"a", "05"), 5, 0x81),  # property length beyond the packet
        (pk(0x30, "0001", b"a", "01 11"), 5, 0x81),  # Session Expiry is not a PUBLISH property
        (pk(0x30, "0001", b"a", "02 01 02"), 5, 0x82),  # Payload Format Indicator 2
        (pk(0x30, "0001", b"a", "04 23 0001 23"), 5, 0x81),  # truncated repeated topic alias
        (pk(0x30, "0001", b"a", "06 23 0001 23 0001"), 5, 0x82),  # Topic Alias twice
        (pk(0x30, "0001", b"a", "03 23 0000"), 5, 0x82),  # Topic Alias 0
        (pk(0x30, "0001", b"a", "06 08 0003", b"a/#"), 5, 0x82),  # wildcard Response Topic
        (pk(0x30, "0001", b"a", "01 ff"), 5, 0x81),  # unknown property id
        (pk(0x82, "0001 04 0b 01 0b 02 0001", b"a", "00"), 5, 0x82),  # two subscription ids in SUBSCRIBE
        (pk(0x20, "00 00 03 21 0000"), 5, 0x82),  # Receive Maximum 0
        (pk(0x20, "00 00 03 24 0002"), 5, 0x81),  # Maximum QoS needs one byte: trailing garbage
        (pk(0x20, "00 00 02 24 02"), 5, 0x82),  # Maximum QoS 2 is a protocol error
    ],
)
def test_decoding_rejects_invalid_packets(data: bytes, version: int, reason: int) -> None:
    with pytest.raises(MqttProtocolError) as info:
        decode_one(data, version)
    assert info.value.reason_code == reason


def test_decoding_accepts_retain_on_qos0_with_binary_payload() -> None:
    assert decode_one(pk(0x31, "0001", b"a", "0001"), 4) == Publish("a", b"\x00\x01", retain=True)


def test_decode_packet_never_raises_index_errors_on_short_bodies() -> None:
    for first in range(256):
        for body in (b"", b"\x00", b"\x00\x04MQTT\x05"):
            for version in (4, 5):
                with contextlib.suppress(MqttProtocolError):
                    decode_packet(first, body, version)


@pytest.mark.parametrize("version", [4, 5])
def test_round_trip_of_packets_built_in_code(version: int) -> None:
    packets: list[Packet] = [
        Connect("id-é", version, False, 0, "user", b"\x00pw", None),
        ConnAck(True, 0),
        Publish("a/b/c", bytes(range(256)) * 3, 1, False, True, 65535),
        Subscribe(9, (Subscription("+/x/#", 1), Subscription("y", 0))),
        SubAck(9, (1, 0x80)),
        Disconnect(),
    ]
    stream = b"".join(encode_packet(p, version) for p in packets)
    assert StreamDecoder(version).feed(stream) == packets


def test_encoding_rejects_invalid_local_packets() -> None:
    with pytest.raises(MqttProtocolError):
        encode_packet(Publish("a/#", b""))  # wildcard topic name
    with pytest.raises(MqttProtocolError):
        encode_packet(Publish("a", b"", qos=1))  # QoS 1 without packet id
    with pytest.raises(MqttProtocolError):
        encode_packet(Publish("a", b"", dup=True))  # DUP on QoS 0
    with pytest.raises(MqttProtocolError):
        encode_packet(Connect("x", 4, password=b"p"))  # 3.1.1 password without user
    with pytest.raises(MqttProtocolError):
        encode_packet(Subscribe(1, ()))
    with pytest.raises(MqttProtocolError):
        encode_packet(Auth(), 4)
    with pytest.raises(MqttProtocolError) as info:
        encode_packet(PubAck(1, 0, Properties(content_type="x")), 5)  # not a PUBACK property
    assert info.value.reason_code == 0x82
    with pytest.raises(MqttProtocolError):
        encode_packet(Connect("x", properties=Properties(receive_maximum=0)))
