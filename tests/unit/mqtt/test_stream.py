"""Stream decoder: arbitrary chunking, bounded buffering, and hypothesis fuzzing of the decoder."""

from __future__ import annotations

import pytest
from fixtures import FIXTURES
from hypothesis import given
from hypothesis import strategies as st

from simulator.mqtt.errors import MqttProtocolError, ReasonCode
from simulator.mqtt.packets import Packet, PingResp, Publish
from simulator.mqtt.properties import Properties
from simulator.mqtt.stream import StreamDecoder
from simulator.mqtt.wire import encode_packet

V5_STREAM = b"".join(f[3] for f in FIXTURES if f[1] == 5 and not f[0].startswith("connect-v4"))
V4_STREAM = b"".join(f[3] for f in FIXTURES if f[1] == 4)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


def feed_chunks(decoder: StreamDecoder, chunks: list[bytes]) -> list[Packet]:
    packets: list[Packet] = []
    for chunk in chunks:
        packets.extend(decoder.feed(chunk))
    return packets


def test_byte_at_a_time_equals_one_read() -> None:
    whole = StreamDecoder(5).feed(V5_STREAM)
    decoder = StreamDecoder(5)
    assert feed_chunks(decoder, [V5_STREAM[i : i + 1] for i in range(len(V5_STREAM))]) == whole
    assert decoder.buffered == 0
    assert len(whole) == sum(1 for f in FIXTURES if f[1] == 5)


def test_partial_packet_is_kept_until_complete() -> None:
    data = encode_packet(Publish("t", b"x" * 300), 5)
    decoder = StreamDecoder(5)
    assert decoder.feed(data[:1]) == []
    assert decoder.feed(data[1:2]) == []  # first byte of a two-byte remaining length
    assert decoder.feed(data[2:100]) == []
    assert decoder.buffered == 100
    assert decoder.feed(data[100:] + b"\xd0") == [Publish("t", b"x" * 300)]
    assert decoder.feed(b"\x00") == [PingResp()]


def test_oversized_packet_rejected_from_its_header_before_buffering() -> None:
    decoder = StreamDecoder(5, maximum_packet_size=100)
    assert decoder.feed(encode_packet(Publish("t", b"x" * 90), 5)) != []
    with pytest.raises(MqttProtocolError) as info:
        decoder.feed(encode_packet(Publish("t", b"x" * 200), 5)[:4])
    assert info.value.reason_code == ReasonCode.PACKET_TOO_LARGE


def test_error_carries_packets_decoded_before_it() -> None:
    good = encode_packet(Publish("a", b"1"), 5) + encode_packet(PingResp(), 5)
    with pytest.raises(MqttProtocolError) as info:
        StreamDecoder(5).feed(good + b"\x00\x00")
    assert info.value.packets == (Publish("a", b"1"), PingResp())


# ------------------------------------------------------------------------------------------ hypothesis

texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00+#"), max_size=20)
pairs = st.lists(st.tuples(texts, texts), max_size=3).map(tuple)


@st.composite
def publishes(draw: st.DrawFn) -> Publish:
    qos = draw(st.integers(0, 2))
    props = Properties(
        content_type=draw(st.none() | texts),
        response_topic=draw(st.none() | texts.filter(bool)),
        correlation_data=draw(st.none() | st.binary(max_size=10)),
        user_properties=draw(pairs),
        message_expiry_interval=draw(st.none() | st.integers(0, 2**32 - 1)),
        subscription_identifiers=tuple(draw(st.lists(st.integers(1, 268_435_455), max_size=2))),
    )
    return Publish(
        draw(texts.filter(bool)),
        draw(st.binary(max_size=300)),
        qos,
        draw(st.booleans()),
        draw(st.booleans()) if qos else False,
        draw(st.integers(1, 65535)) if qos else None,
        props,
    )


@given(st.lists(publishes(), min_size=1, max_size=5), st.lists(st.integers(0, 10_000), max_size=8))
def test_publish_round_trip_with_any_chunking(packets: list[Publish], cuts: list[int]) -> None:
    stream = b"".join(encode_packet(p, 5) for p in packets)
    assert feed_chunks(StreamDecoder(5), split(stream, cuts)) == packets


def check_only_packets_or_protocol_error(version: int, chunks: list[bytes]) -> None:
    decoder = StreamDecoder(version, maximum_packet_size=4096)
    packets: list[Packet] = []
    try:
        for chunk in chunks:
            packets.extend(decoder.feed(chunk))
    except MqttProtocolError as exc:
        assert 0x80 <= exc.reason_code <= 0xA2
        packets.extend(exc.packets)  # type: ignore[arg-type]
    check_reencodes(version, packets)


def check_reencodes(version: int, packets: list[Packet]) -> None:
    for packet in packets:
        # Whatever decodes is a valid packet: it re-encodes and decodes to itself.
        assert StreamDecoder(version).feed(encode_packet(packet, version)) == [packet]


@given(st.sampled_from([4, 5]), st.lists(st.binary(max_size=64), max_size=8))
def test_fuzz_arbitrary_bytes(version: int, chunks: list[bytes]) -> None:
    check_only_packets_or_protocol_error(version, chunks)


@given(
    st.sampled_from([4, 5]),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
    st.lists(st.integers(0, 10_000), max_size=6),
    st.integers(0, 10_000),
)
def test_fuzz_mutated_valid_packets(
    version: int, mutations: list[tuple[int, int]], cuts: list[int], truncate: int
) -> None:
    data = bytearray(V5_STREAM if version == 5 else V4_STREAM)
    for where, value in mutations:
        data[where % len(data)] = value
    data = data[: len(data) - truncate % 40]
    check_only_packets_or_protocol_error(version, split(bytes(data), cuts))


@given(st.sampled_from(FIXTURES), st.integers(0, 300), st.binary(min_size=1, max_size=4))
def test_fuzz_insertions_in_each_fixture(
    fixture: tuple[str, int, Packet, bytes], at: int, junk: bytes
) -> None:
    data = fixture[3]
    at %= len(data)
    check_only_packets_or_protocol_error(fixture[1], [data[:at] + junk + data[at:]])
