"""Single-pass Record + Msg codec (usp-envelope.proto): always exactly what the two-pass API gives."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_messages import ALL_MSGS
from test_wire_fields import REQ, RESP, entry, ld, msg_bytes, v

from simulator.usp import (
    Get,
    GetResp,
    MessageDecodeError,
    Msg,
    MsgType,
    PayloadSecurity,
    Record,
    RecordKind,
    RecordNotParsedError,
    RequestedPathResult,
    ResolvedPathResult,
    decode_msg,
    decode_record,
    decode_record_msg,
    encode_msg,
    encode_no_session_context,
    encode_record_msg,
    get_request,
    get_request_record,
    get_resp,
    get_resp_record,
)

AGENT = "os::012345-SIM00000001"
CTRL = "proto::controller-1"
GET_MSG = msg_bytes("g-1", int(MsgType.GET), REQ, 1, ld(1, "Device.DeviceInfo."))


def two_pass(data: bytes) -> tuple[Record, Msg | None]:
    """The reference: decode_record, then decode_msg for a no_session_context Record (None on error)."""
    record = decode_record(data)
    if record.kind is not RecordKind.NO_SESSION_CONTEXT:
        return record, None
    try:
        return record, decode_msg(record.payload)
    except MessageDecodeError:
        return record, None


def assert_same(data: bytes) -> None:
    try:
        expected = two_pass(data)
    except RecordNotParsedError as exc:
        with pytest.raises(RecordNotParsedError) as info:
            decode_record_msg(data)
        assert str(info.value) == str(exc)
        return
    record, msg = decode_record_msg(data)
    assert (record, msg) == expected
    assert record.payload == expected[0].payload  # the lazy payload, explicitly
    assert record.kind is expected[0].kind


def rec(*fields: bytes) -> bytes:
    return ld(1, "1.3") + ld(2, AGENT) + ld(3, CTRL) + b"".join(fields)


# --- hand-assembled bytes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        rec(ld(7, ld(2, GET_MSG))),  # the ordinary Record
        ld(7, ld(2, GET_MSG)) + ld(1, "1.3") + ld(3, CTRL) + ld(2, AGENT),  # fields out of order
        rec(v(4, 1), ld(5, b"mac"), ld(6, b"cert"), ld(7, ld(2, GET_MSG))),  # TLS12 + MAC + cert
        rec(v(4, 9), ld(7, ld(2, GET_MSG))),  # unknown payload_security stays an int
        rec(ld(7, ld(2, GET_MSG)), ld(99, b"x")),  # unknown Record field
        rec(ld(7, ld(2, GET_MSG + ld(15, b"zz")))),  # unknown Msg field
        rec(ld(7, ld(2, msg_bytes("m", int(MsgType.GET_RESP), RESP, 2, ld(1, ld(1, "Device.")))))),
        rec(ld(7, ld(2, msg_bytes("m", int(MsgType.GET), RESP, 8, ld(1, "s"))))),  # R-MSG.10 mismatch
        rec(ld(7, ld(2, ld(1, ld(1, "m"))))),  # header only: empty body
    ],
    ids=["plain", "out-of-order", "security", "open-enum", "unknown-record-field", "unknown-msg-field",
         "getresp", "inconsistent", "no-body"],
)
def test_envelope_valid_records_decode_identically(data: bytes) -> None:
    assert_same(data)
    record, msg = decode_record_msg(data)
    assert record.kind is RecordKind.NO_SESSION_CONTEXT
    assert msg is not None


@pytest.mark.parametrize(
    "data",
    [
        rec(ld(7, b"")),  # no payload field at all
        rec(ld(7, ld(2, b""))),  # empty payload
        rec(ld(7, ld(2, b"\xff\xff"))),  # garbage payload
        rec(ld(7, ld(2, ld(2, ld(1, ld(1, ld(1, "Device."))))))),  # a Msg without header
        rec(ld(7, ld(2, ld(1, ld(1, b"\xc3\x28"))))),  # invalid UTF-8 msg_id
        rec(ld(7, v(2, 5))),  # payload with the wrong wire type: an unknown field
        rec(ld(7, ld(2, GET_MSG), ld(2, msg_bytes("n", 3, RESP, 8, ld(1, "s"))))),  # payload twice
        rec(ld(7, ld(2, GET_MSG)), ld(7, ld(2, msg_bytes("n", 1, REQ, 1, ld(1, "X."))))),  # nsc twice
        rec(ld(7, ld(2, b"\xff")), ld(7, ld(2, GET_MSG))),  # garbage, then the real one (last wins)
        rec(ld(7, ld(2, GET_MSG)), ld(8, v(1, 1), ld(7, b"p"))),  # then session_context: it wins
        rec(ld(8, ld(7, b"p")), ld(7, ld(2, GET_MSG))),  # session_context, then nsc: nsc wins
        rec(ld(10, v(1, 1), ld(2, "t"))),  # mqtt_connect
        rec(ld(9, b"")),  # websocket_connect
        rec(),  # no record_type
        b"",
        rec(ld(10, ld(2, b"\xc3\x28")), ld(7, ld(2, GET_MSG))),  # broken mqtt_connect before nsc
        rec(ld(7, ld(2, GET_MSG)))[:-1],  # truncated
        b"\xff",
        rec(ld(3, b"\xc3\x28"), ld(7, ld(2, GET_MSG))),  # invalid UTF-8 from_id
    ],
    ids=["no-payload", "empty-payload", "garbage-payload", "no-header", "bad-utf8-msg", "wrong-wire-type",
         "payload-twice", "nsc-twice", "garbage-then-valid", "then-session", "session-then-nsc", "mqtt",
         "websocket", "none", "empty", "broken-mqtt-then-nsc", "truncated", "bad-tag", "bad-utf8-record"],
)
def test_envelope_unusual_records_match_two_pass(data: bytes) -> None:
    assert_same(data)


def test_envelope_garbage_payload_gives_no_msg_and_decode_msg_explains() -> None:
    record, msg = decode_record_msg(rec(ld(7, ld(2, b"\xff\xff"))))
    assert msg is None and record.payload == b"\xff\xff"
    with pytest.raises(MessageDecodeError):
        decode_msg(record.payload)


def test_envelope_non_no_session_context_gives_no_msg() -> None:
    record, msg = decode_record_msg(rec(ld(12, ld(1, "bye"), b"\x15\xc3\x1b\x00\x00")))
    assert msg is None
    assert (record.kind, record.reason, record.reason_code) == (RecordKind.DISCONNECT, "bye", 7107)


def test_envelope_accepts_bytearray_and_memoryview_and_copies_them() -> None:
    data = encode_no_session_context("1.3", AGENT, CTRL, GET_MSG)
    buf = bytearray(data)
    record, msg = decode_record_msg(buf)
    buf[:] = b"\x00" * len(buf)  # the caller reuses its receive buffer before reading the payload
    assert record.payload == GET_MSG and msg == decode_msg(GET_MSG)
    assert decode_record_msg(memoryview(data)) == two_pass(data)


@pytest.mark.parametrize("data", ["text", None, 12], ids=["str", "none", "int"])
def test_envelope_non_bytes_raise_record_not_parsed(data: object) -> None:
    with pytest.raises(RecordNotParsedError):
        decode_record_msg(data)  # type: ignore[arg-type]


# --- encoding is byte-identical to the two-pass API ----------------------------------------------


@pytest.mark.parametrize("msg", ALL_MSGS, ids=range(len(ALL_MSGS)))
def test_envelope_encode_record_msg_is_byte_identical(msg: Msg) -> None:
    fast = encode_record_msg("1.3", CTRL, AGENT, msg)
    assert fast == encode_no_session_context("1.3", CTRL, AGENT, encode_msg(msg))
    assert decode_record_msg(fast)[1] == msg


def test_envelope_builders_are_byte_identical() -> None:
    paths = ("Device.DeviceInfo.", "Device.Time.CurrentLocalTime")
    assert get_request_record("1.3", AGENT, CTRL, "g", paths, max_depth=2) == encode_no_session_context(
        "1.3", AGENT, CTRL, get_request("g", paths, 2)
    )
    typed = (
        RequestedPathResult("Device.X.", resolved_path_results=(
            ResolvedPathResult("Device.X.1.", {"A": "1", "B": ""}), ResolvedPathResult("Device.X.2.", {}),
        )),
        RequestedPathResult("Device.Nope.", 7026, "no such object"),
        RequestedPathResult("Device.Empty."),
    )
    plain = (
        ("Device.X.", [("Device.X.1.", {"A": "1", "B": ""}), ("Device.X.2.", {})]),
        typed[1],
        ("Device.Empty.", ()),
    )
    expected = encode_no_session_context("1.3", CTRL, AGENT, get_resp("g", typed))
    assert get_resp_record("1.3", CTRL, AGENT, "g", typed) == expected
    assert get_resp_record("1.3", CTRL, AGENT, "g", plain) == expected
    assert decode_record_msg(expected)[1] == Msg("g", MsgType.GET_RESP, GetResp(typed))


def test_envelope_empty_get_resp_still_has_the_body() -> None:
    data = get_resp_record("1.3", CTRL, AGENT, "g", ())
    assert data == encode_no_session_context("1.3", CTRL, AGENT, get_resp("g", ()))
    assert decode_record_msg(data)[1] == Msg("g", MsgType.GET_RESP, GetResp(()))


# --- the Record class stays a value object -------------------------------------------------------


def test_envelope_record_is_immutable_and_a_value() -> None:
    record = decode_record_msg(rec(v(4, 1), ld(5, b"m"), ld(7, ld(2, GET_MSG))))[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.version = "x"  # type: ignore[misc]
    built = Record("1.3", AGENT, CTRL, RecordKind.NO_SESSION_CONTEXT, GET_MSG, PayloadSecurity.TLS12, b"m")
    assert record == built and hash(record) == hash(built)
    assert record != Record("1.3", AGENT, CTRL, RecordKind.NO_SESSION_CONTEXT, GET_MSG)
    assert pickle.loads(pickle.dumps(record)) == record == copy.deepcopy(record)
    assert repr(built).startswith("Record(version='1.3', to_id=")
    assert not hasattr(record, "__dict__")


# --- property: arbitrary bytes, and arbitrary Records built from valid parts ---------------------


@given(st.binary(max_size=300))
def test_envelope_arbitrary_bytes_match_two_pass(data: bytes) -> None:
    assert_same(data)


_GETRESP = ld(1, ld(1, "D."), ld(4, ld(1, "D."), entry(2, "k", "v")))
_chunks = st.sampled_from([
    ld(1, "1.3"), ld(2, AGENT), ld(3, CTRL), v(4, 1), ld(5, b"m"), ld(6, b"c"),
    ld(7, ld(2, GET_MSG)), ld(7, ld(2, b"")), ld(7, b""), ld(7, ld(2, b"\x0a")),
    ld(7, ld(2, msg_bytes("r", 2, RESP, 2, _GETRESP))),
    ld(8, ld(7, b"p")), ld(9, b""), ld(10, ld(2, "t")), ld(12, ld(1, "r")), ld(13, b""), ld(99, b"?"),
    b"\xff", ld(2, b"\xc3\x28"),
])


@given(st.lists(_chunks, max_size=8))
def test_envelope_assembled_records_match_two_pass(chunks: list[bytes]) -> None:
    assert_same(b"".join(chunks))


@given(st.text(max_size=20), st.text(max_size=20), st.text(max_size=20), st.text(max_size=20),
       st.lists(st.text(max_size=30), max_size=4))
def test_envelope_get_round_trip_property(
    version: str, to_id: str, from_id: str, msg_id: str, paths: list[str]
) -> None:
    data = get_request_record(version, to_id, from_id, msg_id, paths)
    assert data == encode_no_session_context(version, to_id, from_id, get_request(msg_id, paths))
    record, msg = decode_record_msg(data)
    assert (record.version, record.to_id, record.from_id) == (version, to_id, from_id)
    assert msg == Msg(msg_id, MsgType.GET, Get(tuple(paths)))
