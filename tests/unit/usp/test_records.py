"""USP Record encode/decode: every record type, open enums, and 7100 for undecodable bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.usp import (
    DEFAULT_RECORD_VERSION,
    DEFAULT_SUPPORTED_VERSIONS,
    ErrorCode,
    MQTTVersion,
    PayloadSARState,
    PayloadSecurity,
    Record,
    RecordKind,
    RecordNotParsedError,
    SessionContext,
    STOMPVersion,
    decode_record,
    encode_disconnect,
    encode_mqtt_connect,
    encode_no_session_context,
    encode_record,
    encode_session_context,
    encode_stomp_connect,
    encode_uds_connect,
    encode_websocket_connect,
)

AGENT = "os::012345-SIM0001"
CTRL = "proto::ctrl"


def test_records_defaults_match_obuspa() -> None:
    assert DEFAULT_RECORD_VERSION == "1.3"
    assert DEFAULT_SUPPORTED_VERSIONS == "1.0,1.1,1.2,1.3"


def test_records_no_session_context_round_trip() -> None:
    rec = decode_record(encode_no_session_context("1.3", AGENT, CTRL, b"\x0a\x00payload"))
    assert rec == Record("1.3", AGENT, CTRL, RecordKind.NO_SESSION_CONTEXT, b"\x0a\x00payload")
    assert rec.payload_security is PayloadSecurity.PLAINTEXT


def test_records_mqtt_connect_round_trip() -> None:
    rec = decode_record(encode_mqtt_connect("1.3", CTRL, AGENT, MQTTVersion.V5, "usp/agent/SIM0001"))
    assert rec.kind is RecordKind.MQTT_CONNECT
    assert (rec.to_id, rec.from_id) == (CTRL, AGENT)
    assert (rec.mqtt_version, rec.subscribed_topic) == (MQTTVersion.V5, "usp/agent/SIM0001")
    assert rec.payload == b""
    v311 = decode_record(encode_mqtt_connect("1.3", CTRL, AGENT, MQTTVersion.V3_1_1, "t"))
    assert v311.mqtt_version is MQTTVersion.V3_1_1


def test_records_websocket_and_uds_connect_round_trip() -> None:
    assert decode_record(encode_websocket_connect("1.3", CTRL, AGENT)) == Record(
        "1.3", CTRL, AGENT, RecordKind.WEBSOCKET_CONNECT
    )
    assert decode_record(encode_uds_connect("1.4", CTRL, AGENT)) == Record(
        "1.4", CTRL, AGENT, RecordKind.UDS_CONNECT
    )


def test_records_stomp_connect_round_trip() -> None:
    rec = decode_record(encode_stomp_connect("1.3", CTRL, AGENT, "/queue/agent"))
    assert (rec.kind, rec.stomp_version, rec.subscribed_destination) == (
        RecordKind.STOMP_CONNECT,
        STOMPVersion.V1_2,
        "/queue/agent",
    )


def test_records_disconnect_round_trip() -> None:
    """R-E2E.6a: a session context is refused with a DisconnectRecord carrying 7106."""
    data = encode_disconnect(
        "1.3", CTRL, AGENT, "Session Context not supported", ErrorCode.SESSION_CONTEXT_NOT_ALLOWED
    )
    rec = decode_record(data)
    assert (rec.kind, rec.reason, rec.reason_code) == (
        RecordKind.DISCONNECT,
        "Session Context not supported",
        7106,
    )
    assert b"\x15\xc2\x1b\x00\x00" in data  # fixed32 7106, wire type 5


def test_records_session_context_round_trip() -> None:
    data = encode_session_context("1.3", AGENT, CTRL, b"msg", session_id=9, sequence_id=2, expected_id=3)
    rec = decode_record(data)
    assert rec.kind is RecordKind.SESSION_CONTEXT
    assert rec.payload == b"msg"
    assert rec.session == SessionContext(9, 2, 3, 0, PayloadSARState.NONE, PayloadSARState.NONE, (b"msg",))


@pytest.mark.parametrize(
    "record",
    [
        Record("1.3", "a", "b", RecordKind.NO_SESSION_CONTEXT, b"p", PayloadSecurity.TLS12, b"mac", b"cert"),
        Record(
            "1.3",
            "a",
            "b",
            RecordKind.SESSION_CONTEXT,
            b"xy",
            session=SessionContext(
                1, 2, 3, 4, PayloadSARState.INPROCESS, PayloadSARState.COMPLETE, (b"x", b"y")
            ),
        ),
        Record("1.3", "a", "b", RecordKind.WEBSOCKET_CONNECT),
        Record("1.3", "a", "b", RecordKind.MQTT_CONNECT, mqtt_version=MQTTVersion.V5, subscribed_topic="t"),
        Record("1.3", "a", "b", RecordKind.STOMP_CONNECT, subscribed_destination="/d"),
        Record("1.3", "a", "b", RecordKind.DISCONNECT, reason="bye", reason_code=7105),
        Record("1.3", "a", "b", RecordKind.UDS_CONNECT),
        Record("1.3", "a", "b", RecordKind.NONE),
    ],
    ids=lambda r: r.kind.name,
)
def test_records_encode_record_round_trips_every_kind(record: Record) -> None:
    assert decode_record(encode_record(record)) == record


def test_records_unknown_enum_values_stay_ints() -> None:
    """proto3 enums are open: an unknown payload_security reaches the agent (which answers 7104)."""
    data = b"\x0a\x031.3\x20\x07" + b"\x52\x02\x08\x09"  # payload_security=7, mqtt_connect{version=9}
    rec = decode_record(data)
    assert rec.payload_security == 7 and not isinstance(rec.payload_security, PayloadSecurity)
    assert rec.mqtt_version == 9


def test_records_empty_bytes_decode_as_kind_none() -> None:
    """b'' is a valid (all-default) protobuf message: kind NONE, which the agent drops (1.4 step 4)."""
    assert decode_record(b"") == Record("", "", "", RecordKind.NONE)


@pytest.mark.parametrize(
    "data",
    [b"\xff", b"\x0a\x10short", b"\x3a\x05\x12\x09abc", b"\x0a\x02\xc3\x28", b"\x0c"],
    ids=["bad-tag", "truncated", "truncated-inner", "invalid-utf8", "end-group"],
)
def test_records_garbage_raises_record_not_parsed(data: bytes) -> None:
    with pytest.raises(RecordNotParsedError) as info:
        decode_record(data)
    assert info.value.code == ErrorCode.RECORD_NOT_PARSED


@pytest.mark.parametrize("data", ["text", None, 12, [1, 2]], ids=["str", "none", "int", "list"])
def test_records_non_bytes_raise_record_not_parsed(data: object) -> None:
    with pytest.raises(RecordNotParsedError):
        decode_record(data)  # type: ignore[arg-type]


def test_records_accepts_bytearray_and_memoryview() -> None:
    data = encode_no_session_context("1.3", AGENT, CTRL, b"x")
    assert decode_record(bytearray(data)).payload == b"x"
    assert decode_record(memoryview(data)).payload == b"x"


@given(st.binary(max_size=300))
def test_records_arbitrary_bytes_raise_only_record_not_parsed(data: bytes) -> None:
    try:
        rec = decode_record(data)
    except RecordNotParsedError:
        return
    assert isinstance(rec, Record)


@given(st.text(max_size=20), st.text(max_size=20), st.text(max_size=20), st.binary(max_size=50))
def test_records_no_session_context_round_trip_property(
    version: str, to_id: str, from_id: str, payload: bytes
) -> None:
    rec = decode_record(encode_no_session_context(version, to_id, from_id, payload))
    assert (rec.version, rec.to_id, rec.from_id, rec.payload) == (version, to_id, from_id, payload)
