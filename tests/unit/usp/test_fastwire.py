"""fastwire: the hand-rolled Get request decoder and Record envelope encoder always agree with protobuf."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.usp import (
    Get,
    Msg,
    MsgType,
    RecordNotParsedError,
    decode_msg,
    decode_record,
    decode_record_msg,
    encode_msg,
    get_request_record,
)
from simulator.usp._pb import usp_record_1_4_pb2 as rpb
from simulator.usp.fastwire import encode_no_session_context, parse_get_record
from simulator.usp.records import encode_no_session_context as public_encode_no_session_context

text = st.text(max_size=200)
short = st.text(max_size=40)
paths = st.lists(st.text(max_size=300), max_size=5)
depth = st.integers(min_value=0, max_value=2**32 - 1)


def _two_pass(data: bytes) -> tuple[object, object]:
    try:
        record = decode_record(data)
    except RecordNotParsedError:
        return "not parsed", None
    try:
        return record, decode_msg(record.payload)
    except Exception:
        return record, None


@given(short, short, short, short, paths, depth)
def test_fastwire_parses_every_canonical_get(version: str, to_id: str, from_id: str, msg_id: str,
                                             param_paths: list[str], max_depth: int) -> None:
    data = get_request_record(version, to_id, from_id, msg_id, param_paths, max_depth=max_depth)
    got = parse_get_record(data)
    assert got is not None
    assert got[:6] == (version, to_id, from_id, msg_id, tuple(param_paths), max_depth)
    assert decode_msg(data[got[6]:got[7]]) == Msg(msg_id, MsgType.GET, Get(tuple(param_paths), max_depth))
    record, msg = decode_record_msg(data)
    assert (record, msg) == _two_pass(data)
    assert record.payload == data[got[6]:got[7]]


@settings(max_examples=300)
@given(st.data())
def test_fastwire_mutated_records_fall_back_or_agree(data: st.DataObject) -> None:
    base = get_request_record("1.3", "os::agent", "proto::ctrl", "m-1", ("Device.DeviceInfo.", "Device.X."),
                              max_depth=2)
    raw = bytearray(base)
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(("flip", "insert", "delete")))
        pos = data.draw(st.integers(0, len(raw) - 1))
        if op == "flip":
            raw[pos] = data.draw(st.integers(0, 255))
        elif op == "insert":
            raw.insert(pos, data.draw(st.integers(0, 255)))
        elif len(raw) > 1:
            del raw[pos]
    mutated = bytes(raw)
    got = parse_get_record(mutated)
    expected = _two_pass(mutated)
    if got is not None:  # accepted: exactly what protobuf reads
        record, msg = expected
        assert msg == Msg(got[3], MsgType.GET, Get(got[4], got[5]))
        assert (record.version, record.to_id, record.from_id) == got[:3]  # type: ignore[attr-defined]
    if expected[0] != "not parsed":
        assert decode_record_msg(mutated) == expected


def test_fastwire_refuses_non_canonical_layouts() -> None:
    msg = encode_msg(Msg("m", MsgType.GET, Get(("Device.",))))
    canonical = public_encode_no_session_context("1.3", "a", "c", msg)
    assert parse_get_record(canonical) is not None
    explicit_plaintext = rpb.Record(version="1.3", to_id="a", from_id="c")
    explicit_plaintext.no_session_context.payload = msg
    assert parse_get_record(explicit_plaintext.SerializeToString() + b"\x20\x00") is None  # field 4 last
    assert parse_get_record(bytearray(canonical)) is None  # only bytes take the fast path
    assert parse_get_record(canonical[:-1]) is None
    notify = encode_msg(Msg("m", MsgType.GET_RESP, Get(("Device.",))))  # header disagrees with the body
    assert parse_get_record(public_encode_no_session_context("1.3", "a", "c", notify)) is None
    assert parse_get_record(b"\x0a\x02\xff\xfe" + canonical[2:]) is None  # invalid UTF-8


@given(text, text, text, st.binary(max_size=400))
def test_fastwire_envelope_is_byte_identical(version: str, to_id: str, from_id: str, payload: bytes) -> None:
    expected = rpb.Record(version=version, to_id=to_id, from_id=from_id,
                          no_session_context=rpb.NoSessionContextRecord(payload=payload)).SerializeToString()
    assert encode_no_session_context(version, to_id, from_id, payload) == expected
    assert public_encode_no_session_context(version, to_id, from_id, payload) == expected
