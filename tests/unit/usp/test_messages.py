"""Round trips of every USP message, the R-MSG.10 body/header rules and the call-site builders."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_wire_fields import CASES, REQ, RESP, ld, msg_bytes, v

from simulator.usp import (
    ErrorCode,
    ErrorMessage,
    Event,
    Get,
    GetResp,
    MessageDecodeError,
    Msg,
    MsgType,
    NotifyResp,
    ObjectDeletion,
    ParamErr,
    RequestedPathResult,
    ResolvedPathResult,
    UspError,
    decode_msg,
    encode_msg,
    error_message,
    get_request,
    get_resp,
    msg_type_of,
    notify_request,
    notify_resp,
)

ALL_MSGS = [c[2] for c in CASES] + [Msg("g", MsgType.GET, Get(("Device.", "Device.X.*.Y"), 1))]


@pytest.mark.parametrize("msg", ALL_MSGS, ids=[c[0] for c in CASES] + ["get"])
def test_messages_round_trip_every_type(msg: Msg) -> None:
    decoded = decode_msg(encode_msg(msg))
    assert decoded == msg
    assert decoded.consistent
    assert decoded.body_type == msg.msg_type == msg_type_of(msg.body)  # type: ignore[arg-type]


@pytest.mark.parametrize("msg", ALL_MSGS, ids=[c[0] for c in CASES] + ["get"])
def test_messages_round_trip_defaults_only(msg: Msg) -> None:
    """A body with every field at its default still round-trips, including empty oneofs."""
    body = msg.body
    assert body is not None
    defaults = {f.name: _default(f) for f in dataclasses.fields(body)}
    empty = type(body)(**defaults)
    assert decode_msg(encode_msg(Msg("d", msg.msg_type, empty))).body == empty


def _default(f: dataclasses.Field[object]) -> object:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return {"str": "", "bool": False, "int": 0}.get(str(f.type), () if "tuple" in str(f.type) else None)


def test_messages_msg_of_derives_msg_type() -> None:
    assert Msg.of("x", NotifyResp("s")).msg_type is MsgType.NOTIFY_RESP
    assert Msg.of("x", ErrorMessage(7000)).msg_type is MsgType.ERROR


def test_messages_msg_type_of_rejects_non_body() -> None:
    with pytest.raises(TypeError):
        msg_type_of("Get")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode_msg(Msg("x", MsgType.GET, ParamErr("p", 1)))  # type: ignore[arg-type]


def test_messages_dataclasses_are_frozen() -> None:
    g = Get(("Device.",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.max_depth = 3  # type: ignore[misc]
    assert not hasattr(g, "__dict__")


# --- R-MSG.10: the body oneof is authoritative ---------------------------------------------------


def test_messages_rmsg10_body_wins_over_header() -> None:
    """R-MSG.10: header says GET but the body holds a NotifyResp: body kept, flagged inconsistent."""
    data = msg_bytes("m", int(MsgType.GET), RESP, 8, ld(1, "s"))
    msg = decode_msg(data)
    assert msg.msg_type is MsgType.GET
    assert msg.body == NotifyResp("s")
    assert msg.body_type is MsgType.NOTIFY_RESP
    assert not msg.consistent


@pytest.mark.parametrize(
    "data",
    [
        ld(1, ld(1, "m") + v(2, 1)),  # no body at all
        ld(1, ld(1, "m") + v(2, 1)) + ld(2),  # empty Body oneof
        ld(1, ld(1, "m") + v(2, 1)) + ld(2, ld(REQ)),  # Request with empty req_type
        ld(1, ld(1, "m") + v(2, 2)) + ld(2, ld(RESP)),  # Response with empty resp_type
        ld(1, ld(1, "m") + v(2, 1)) + ld(2, ld(REQ, ld(99, "future"))),  # unknown request member
    ],
    ids=["no-body", "empty-body", "empty-request", "empty-response", "unknown-member"],
)
def test_messages_rmsg10_empty_oneof_gives_body_none(data: bytes) -> None:
    """R-ENC.5: the agent answers 7004 (obuspa 7001) when body is None; msg_id is still known."""
    msg = decode_msg(data)
    assert msg.msg_id == "m"
    assert msg.body is None
    assert msg.body_type is None
    assert not msg.consistent


def test_messages_unknown_msg_type_kept_as_int() -> None:
    msg = decode_msg(ld(1, ld(1, "m") + v(2, 99)))
    assert msg.msg_type == 99
    assert not isinstance(msg.msg_type, MsgType)


def test_messages_no_header_raises_message_decode_error() -> None:
    with pytest.raises(MessageDecodeError) as info:
        decode_msg(ld(2, ld(REQ, ld(1, ld(1, "Device.")))))
    assert isinstance(info.value, UspError)
    assert info.value.code == ErrorCode.MESSAGE_NOT_SUPPORTED


@pytest.mark.parametrize("data", [b"\xff\xff\xff", b"\x0a\x05ab", b"\x0b"], ids=["tag", "short", "group"])
def test_messages_garbage_raises_message_decode_error(data: bytes) -> None:
    with pytest.raises(MessageDecodeError):
        decode_msg(data)


@given(st.binary(max_size=200))
def test_messages_arbitrary_bytes_raise_only_message_decode_error(data: bytes) -> None:
    with contextlib.suppress(MessageDecodeError):
        decode_msg(data)


# --- builders ------------------------------------------------------------------------------------


def test_messages_get_request_builder_matches_typed_encoding() -> None:
    data = get_request("g-1", ["Device.DeviceInfo.", "Device.Time."], max_depth=2)
    assert data == encode_msg(Msg("g-1", MsgType.GET, Get(("Device.DeviceInfo.", "Device.Time."), 2)))
    assert decode_msg(get_request("g-2", [])).body == Get(())


def test_messages_get_resp_builder() -> None:
    results = [
        RequestedPathResult("Device.X.", 0, "", (ResolvedPathResult("Device.X.", {"A": "1", "B": ""}),)),
        RequestedPathResult("Device.Nope.", ErrorCode.INVALID_PATH, "Invalid path"),
    ]
    msg = decode_msg(get_resp("g-1", results))
    assert msg == Msg("g-1", MsgType.GET_RESP, GetResp(tuple(results)))


def test_messages_error_message_builder() -> None:
    data = error_message("s-1", ErrorCode.INVALID_ARGUMENTS, "bad", [ParamErr("Device.A", 7012, "v")])
    msg = decode_msg(data)
    assert msg == Msg("s-1", MsgType.ERROR, ErrorMessage(7004, "bad", (ParamErr("Device.A", 7012, "v"),)))
    assert isinstance(msg.body, ErrorMessage)
    assert type(msg.body.err_code) is int


def test_messages_notify_builders() -> None:
    n = decode_msg(notify_request("n-1", "sub", True, Event("Device.", "Boot!", {"Cause": "LocalReboot"})))
    assert n.msg_type is MsgType.NOTIFY
    assert n.body is not None and n.body.notification == Event("Device.", "Boot!", {"Cause": "LocalReboot"})  # type: ignore[union-attr]
    assert decode_msg(
        notify_request("n-2", "s", False, ObjectDeletion(""))
    ).body.notification == ObjectDeletion("")  # type: ignore[union-attr]
    assert decode_msg(notify_resp("n-1", "sub")) == Msg("n-1", MsgType.NOTIFY_RESP, NotifyResp("sub"))


def test_messages_msgtype_values_match_header_enum() -> None:
    from simulator.usp._pb import usp_msg_1_4_pb2 as pb

    assert {m.name: m.value for m in MsgType} == dict(pb.Header.MsgType.items())
