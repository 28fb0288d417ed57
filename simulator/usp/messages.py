"""USP Message envelope (usp.Msg) <-> bytes: header, body dispatch and call-site builders (TR-369 2.1).

# Strategy: a Msg is (msg_id, msg_type, body) where body is one typed dataclass from requests.py or
# responses.py. On decode the Body/Request/Response oneof is authoritative (R-MSG.10): ``body`` is what
# the oneof holds, ``msg_type`` is the header value as received, and the two may disagree. When a
# oneof is empty, ``body`` is None. The agent therefore answers Error 7004 (spec R-ENC.5; obuspa uses
# 7001) when ``body is None``, and dispatches on ``type(body)`` otherwise; ``Msg.consistent`` tells it
# whether the header agreed. Only bytes that are not a Msg at all, or lack the header (so msg_id cannot
# be recovered, R-MTP.5), raise MessageDecodeError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from operator import attrgetter
from typing import Any

from simulator.usp._pb import usp_envelope_pb2 as _epb
from simulator.usp._pb import usp_msg_1_4_pb2 as _pb
from simulator.usp.errors import ErrorCode, UspError
from simulator.usp.fastwire import parse_get_record
from simulator.usp.records import Record, RecordKind, _get_record, _record_from_envelope, decode_record
from simulator.usp.requests import (
    Add,
    Delete,
    Deregister,
    Get,
    GetInstances,
    GetSupportedDM,
    GetSupportedProtocol,
    Notification,
    Notify,
    Operate,
    Register,
    Set,
)
from simulator.usp.responses import (
    AddResp,
    DeleteResp,
    DeregisterResp,
    ErrorMessage,
    GetInstancesResp,
    GetResp,
    GetSupportedDMResp,
    GetSupportedProtocolResp,
    NotifyResp,
    OperateResp,
    ParamErr,
    RegisterResp,
    RequestedPathResult,
    SetResp,
)

__all__ = [
    "Body",
    "MessageDecodeError",
    "Msg",
    "MsgType",
    "PlainRequestedPathResult",
    "Request",
    "Response",
    "decode_msg",
    "decode_record_msg",
    "encode_msg",
    "encode_record_msg",
    "error_message",
    "get_request",
    "get_request_record",
    "get_resp",
    "get_resp_record",
    "msg_type_of",
    "notify_request",
    "notify_resp",
]

_Msg: Any = _pb.Msg
_Envelope: Any = _epb.Record


class MsgType(IntEnum):
    """usp.Header.MsgType."""

    ERROR = 0
    GET = 1
    GET_RESP = 2
    NOTIFY = 3
    SET = 4
    SET_RESP = 5
    OPERATE = 6
    OPERATE_RESP = 7
    ADD = 8
    ADD_RESP = 9
    DELETE = 10
    DELETE_RESP = 11
    GET_SUPPORTED_DM = 12
    GET_SUPPORTED_DM_RESP = 13
    GET_INSTANCES = 14
    GET_INSTANCES_RESP = 15
    NOTIFY_RESP = 16
    GET_SUPPORTED_PROTO = 17
    GET_SUPPORTED_PROTO_RESP = 18
    REGISTER = 19
    REGISTER_RESP = 20
    DEREGISTER = 21
    DEREGISTER_RESP = 22


Request = (
    Get | GetSupportedDM | GetInstances | Set | Add | Delete | Operate | Notify | GetSupportedProtocol
    | Register | Deregister
)
"""Every usp.Request oneof member."""

Response = (
    GetResp | GetSupportedDMResp | GetInstancesResp | SetResp | AddResp | DeleteResp | OperateResp
    | NotifyResp | GetSupportedProtocolResp | RegisterResp | DeregisterResp
)
"""Every usp.Response oneof member."""

Body = Request | Response | ErrorMessage
"""Anything a Msg body can hold."""


class MessageDecodeError(UspError):
    """Bytes that are not a usp.Msg, or a Msg without a header: msg_id is unknown, so drop (R-MTP.5)."""

    error_code = ErrorCode.MESSAGE_NOT_SUPPORTED


# (oneof field name, body class, MsgType) per Request / Response member, in field-number order.
_REQUESTS: tuple[tuple[str, Any, MsgType], ...] = (
    ("get", Get, MsgType.GET),
    ("get_supported_dm", GetSupportedDM, MsgType.GET_SUPPORTED_DM),
    ("get_instances", GetInstances, MsgType.GET_INSTANCES),
    ("set", Set, MsgType.SET),
    ("add", Add, MsgType.ADD),
    ("delete", Delete, MsgType.DELETE),
    ("operate", Operate, MsgType.OPERATE),
    ("notify", Notify, MsgType.NOTIFY),
    ("get_supported_protocol", GetSupportedProtocol, MsgType.GET_SUPPORTED_PROTO),
    ("register", Register, MsgType.REGISTER),
    ("deregister", Deregister, MsgType.DEREGISTER),
)
_RESPONSES: tuple[tuple[str, Any, MsgType], ...] = (
    ("get_resp", GetResp, MsgType.GET_RESP),
    ("get_supported_dm_resp", GetSupportedDMResp, MsgType.GET_SUPPORTED_DM_RESP),
    ("get_instances_resp", GetInstancesResp, MsgType.GET_INSTANCES_RESP),
    ("set_resp", SetResp, MsgType.SET_RESP),
    ("add_resp", AddResp, MsgType.ADD_RESP),
    ("delete_resp", DeleteResp, MsgType.DELETE_RESP),
    ("operate_resp", OperateResp, MsgType.OPERATE_RESP),
    ("notify_resp", NotifyResp, MsgType.NOTIFY_RESP),
    ("get_supported_protocol_resp", GetSupportedProtocolResp, MsgType.GET_SUPPORTED_PROTO_RESP),
    ("register_resp", RegisterResp, MsgType.REGISTER_RESP),
    ("deregister_resp", DeregisterResp, MsgType.DEREGISTER_RESP),
)

_TYPE_OF: dict[type, MsgType] = {cls: mt for _, cls, mt in _REQUESTS + _RESPONSES}
_TYPE_OF[ErrorMessage] = MsgType.ERROR
# Where each body class lives inside a usp.Body (a C-level dotted attrgetter, no per-call reflection).
_TARGET: dict[type, Callable[[Any], Any]] = {cls: attrgetter(f"request.{name}") for name, cls, _ in _REQUESTS}
_TARGET.update({cls: attrgetter(f"response.{name}") for name, cls, _ in _RESPONSES})
_TARGET[ErrorMessage] = attrgetter("error")
_REQ_DECODE: dict[str, Callable[[Any], Any]] = {name: cls._from_pb for name, cls, _ in _REQUESTS}
_RESP_DECODE: dict[str, Callable[[Any], Any]] = {name: cls._from_pb for name, cls, _ in _RESPONSES}
_MSG_TYPES: dict[int, MsgType] = {int(m): m for m in MsgType}


def msg_type_of(body: Body) -> MsgType:
    """The MsgType that matches a body class (GetResp -> GET_RESP, ErrorMessage -> ERROR).

    Args:
        body: a request, response or ErrorMessage dataclass.

    Returns:
        The header msg_type a consistent Msg carries.

    Raises:
        TypeError: ``body`` is not a USP body class.
    """
    try:
        return _TYPE_OF[type(body)]
    except KeyError:
        msg = f"not a USP message body: {type(body).__name__}"
        raise TypeError(msg) from None


@dataclass(frozen=True, slots=True)
class Msg:
    """One USP Message.

    ``msg_type`` is the header value (a MsgType, or the raw int for a value this code does not know).
    ``body`` is authoritative (R-MSG.10) and None when the received oneof was empty.
    """

    msg_id: str
    msg_type: MsgType | int
    body: Body | None

    @classmethod
    def of(cls, msg_id: str, body: Body) -> Msg:
        """Build a consistent Msg whose msg_type is derived from the body class.

        Args:
            msg_id: the header msg_id.
            body: the message body.

        Returns:
            The Msg.
        """
        return cls(msg_id, msg_type_of(body), body)

    @property
    def body_type(self) -> MsgType | None:
        """The MsgType implied by the body (authoritative), or None when there is no body."""
        return None if self.body is None else _TYPE_OF[type(self.body)]

    @property
    def consistent(self) -> bool:
        """True when there is a body and the header msg_type matches it (R-MSG.10)."""
        return self.body is not None and _TYPE_OF[type(self.body)] == self.msg_type


def _serialize(pb: Any) -> bytes:
    data: bytes = pb.SerializeToString()
    return data


def _fill_msg(pb: Any, msg: Msg) -> None:
    header = pb.header
    header.msg_id = msg.msg_id
    header.msg_type = int(msg.msg_type)
    body = msg.body
    if body is None:
        pb.body.SetInParent()
    else:
        try:
            target = _TARGET[type(body)](pb.body)
        except KeyError:
            err = f"not a USP message body: {type(body).__name__}"
            raise TypeError(err) from None
        body._fill(target)
        target.SetInParent()


def encode_msg(msg: Msg) -> bytes:
    """Serialise a Msg (the payload of a no_session_context Record).

    Args:
        msg: the message; a None body encodes an empty Body (only useful to test R-MSG.10 handling).

    Returns:
        The serialised usp.Msg.

    Raises:
        TypeError: the body is not a USP body class.
    """
    pb = _Msg()
    _fill_msg(pb, msg)
    return _serialize(pb)


def _msg_from_pb(pb: Any) -> Msg:
    header = pb.header
    b = pb.body
    which = b.WhichOneof("msg_body")
    body: Body | None = None
    if which == "request":
        req = b.request
        name = req.WhichOneof("req_type")
        if name is not None:
            body = _REQ_DECODE[name](getattr(req, name))
    elif which == "response":
        resp = b.response
        name = resp.WhichOneof("resp_type")
        if name is not None:
            body = _RESP_DECODE[name](getattr(resp, name))
    elif which == "error":
        body = ErrorMessage._from_pb(b.error)
    mt: int = header.msg_type
    return Msg(header.msg_id, _MSG_TYPES.get(mt, mt), body)


def decode_msg(data: bytes) -> Msg:
    """Parse a serialised usp.Msg (see the module docstring for the R-MSG.10 rules).

    Args:
        data: the Record payload.

    Returns:
        The Msg; ``body`` is None when the Body, Request or Response oneof is empty.

    Raises:
        MessageDecodeError: ``data`` is not a Msg, or it has no header.
    """
    try:
        pb = _Msg.FromString(data)
    except Exception as exc:  # DecodeError, or TypeError for a non-buffer
        msg = f"USP Msg could not be parsed: {exc}"
        raise MessageDecodeError(msg) from exc
    if not pb.HasField("header"):
        msg = "USP Msg has no header"
        raise MessageDecodeError(msg)
    return _msg_from_pb(pb)


# --- single pass: Record + Msg in one parse / one serialise (usp-envelope.proto) -------------------


def _two_pass(data: bytes) -> tuple[Record, Msg | None]:
    record = decode_record(data)
    if record.kind is not RecordKind.NO_SESSION_CONTEXT:
        return record, None
    try:
        return record, decode_msg(record.payload)
    except MessageDecodeError:
        return record, None


def decode_record_msg(data: bytes) -> tuple[Record, Msg | None]:
    """Parse a Record and, for a no_session_context Record, its Msg: ``decode_record`` + ``decode_msg``.

    One protobuf parse in the common case (usp-envelope.proto); anything unusual (another record type,
    a payload that is empty, missing, repeated or not a Msg) falls back to the two-pass path, so the
    result is always exactly what the two separate calls give.

    Args:
        data: the MTP frame payload (bytes, bytearray or memoryview).

    Returns:
        ``(record, msg)``. ``msg`` is None when ``record.kind`` is not NO_SESSION_CONTEXT or when
        ``decode_msg(record.payload)`` raises MessageDecodeError (call it to get the error: the cold
        path, a drop per R-MTP.5).

    Raises:
        RecordNotParsedError: ``data`` is not a Record (7100), exactly as ``decode_record``.
    """
    get = parse_get_record(data)  # a canonical Get request: no protobuf at all
    if get is not None:
        version, to_id, from_id, msg_id, paths, depth, _, _ = get
        return _get_record(version, to_id, from_id, data), Msg(msg_id, _GET, Get(paths, depth))
    try:
        pb = _Envelope.FromString(data)
    except Exception:  # not a Record, or a payload that is not a Msg: let the two-pass path decide
        return _two_pass(data)
    if pb.WhichOneof("record_type") != "no_session_context":
        return _two_pass(data)
    payloads = pb.no_session_context.payload
    if len(payloads) != 1:  # absent (b"") or repeated (the bytes field keeps only the last one)
        return _two_pass(data)
    m = payloads[0]
    if not m.HasField("header"):
        return _two_pass(data)
    src = data if type(data) is bytes else bytes(data)  # the lazy Record.payload must not see reuse
    return _record_from_envelope(pb, src), _msg_from_pb(m)


def _envelope(version: str, to_id: str, from_id: str) -> tuple[Any, Any]:
    pb = _Envelope()
    pb.version = version
    pb.to_id = to_id
    pb.from_id = from_id
    return pb, pb.no_session_context.payload.add()


def encode_record_msg(version: str, to_id: str, from_id: str, msg: Msg) -> bytes:
    """Encode a Msg inside a no_session_context Record in one serialise.

    Byte-identical to ``encode_no_session_context(version, to_id, from_id, encode_msg(msg))``.

    Args:
        version: Record.version, e.g. DEFAULT_RECORD_VERSION.
        to_id: endpoint ID of the receiver.
        from_id: endpoint ID of the sender.
        msg: the message.

    Returns:
        The serialised Record.

    Raises:
        TypeError: the body is not a USP body class.
    """
    pb, m = _envelope(version, to_id, from_id)
    _fill_msg(m, msg)
    return _serialize(pb)


# --- builders: one call from values to bytes, no protobuf at the call site ------------------------


def get_request(msg_id: str, paths: Iterable[str], max_depth: int = 0) -> bytes:
    """Encode a Get request Msg.

    Args:
        msg_id: the header msg_id.
        paths: Get.param_paths.
        max_depth: Get.max_depth (0 = unlimited).

    Returns:
        The serialised Msg.
    """
    pb = _Msg()
    header = pb.header
    header.msg_id = msg_id
    header.msg_type = MsgType.GET
    get = pb.body.request.get
    get.param_paths.extend(paths)
    if max_depth:
        get.max_depth = max_depth
    get.SetInParent()
    return _serialize(pb)


def get_resp(msg_id: str, req_path_results: Iterable[RequestedPathResult]) -> bytes:
    """Encode a GetResp Msg.

    Args:
        msg_id: the request's msg_id.
        req_path_results: one RequestedPathResult per requested path, in request order.

    Returns:
        The serialised Msg.
    """
    pb = _Msg()
    header = pb.header
    header.msg_id = msg_id
    header.msg_type = MsgType.GET_RESP
    target = pb.body.response.get_resp
    GetResp(tuple(req_path_results))._fill(target)
    target.SetInParent()
    return _serialize(pb)


def get_request_record(
    version: str, to_id: str, from_id: str, msg_id: str, paths: Iterable[str], *, max_depth: int = 0
) -> bytes:
    """Encode a Get request Msg inside a no_session_context Record in one serialise.

    Byte-identical to ``encode_no_session_context(version, to_id, from_id, get_request(...))``.

    Args:
        version: Record.version.
        to_id: endpoint ID of the receiver (the agent).
        from_id: endpoint ID of the sender (the controller).
        msg_id: the header msg_id.
        paths: Get.param_paths.
        max_depth: Get.max_depth (0 = unlimited).

    Returns:
        The serialised Record.
    """
    pb, m = _envelope(version, to_id, from_id)
    header = m.header
    header.msg_id = msg_id
    header.msg_type = MsgType.GET
    get = m.body.request.get
    get.param_paths.extend(paths)
    if max_depth:
        get.max_depth = max_depth
    get.SetInParent()
    return _serialize(pb)


PlainRequestedPathResult = tuple[str, Iterable[tuple[str, Mapping[str, str]]]]
"""``(requested_path, [(resolved_path, result_params), ...])``: a successful RequestedPathResult."""


def get_resp_record(
    version: str,
    to_id: str,
    from_id: str,
    msg_id: str,
    req_path_results: Iterable[RequestedPathResult | PlainRequestedPathResult],
) -> bytes:
    """Encode a GetResp Msg inside a no_session_context Record in one serialise, without dataclasses.

    Byte-identical to ``encode_no_session_context(version, to_id, from_id, get_resp(msg_id, typed))``.

    Args:
        version: Record.version.
        to_id: endpoint ID of the receiver (the controller).
        from_id: endpoint ID of the sender (the agent).
        msg_id: the request's msg_id.
        req_path_results: one entry per requested path, in request order: a RequestedPathResult (the
            only way to carry an err_code), or the plain ``(requested_path, [(resolved_path, params),
            ...])`` of a success.

    Returns:
        The serialised Record.
    """
    pb = _Envelope()
    pb.version = version
    pb.to_id = to_id
    pb.from_id = from_id
    m = pb.no_session_context.payload.add()
    header = m.header
    header.msg_id = msg_id
    header.msg_type = _GET_RESP
    target = m.body.response.get_resp
    add = target.req_path_results.add
    empty = True
    for r in req_path_results:
        empty = False
        if r.__class__ is tuple:
            requested, resolved = r
            q = add(requested_path=requested)
        else:
            rr: Any = r
            q = add(requested_path=rr.requested_path)
            if rr.err_code:
                q.err_code = rr.err_code
            if rr.err_msg:
                q.err_msg = rr.err_msg
            resolved = [(rp.resolved_path, rp.result_params) for rp in rr.resolved_path_results]
        radd = q.resolved_path_results.add
        for path, params in resolved:
            mp = radd(resolved_path=path).result_params
            for k, v in params.items():  # item stores beat upb's map.update() and constructor kwargs
                mp[k] = v
    if empty:
        target.SetInParent()  # an add() above already marks get_resp present
    return pb.SerializeToString()  # type: ignore[no-any-return]


_GET_RESP = int(MsgType.GET_RESP)
_GET = MsgType.GET


def error_message(
    msg_id: str, code: int, msg: str, param_errs: Iterable[ParamErr] = ()
) -> bytes:
    """Encode an Error Msg (a whole-message failure; R-MSG.5 echoes the request's msg_id).

    Args:
        msg_id: the failed request's msg_id.
        code: err_code, normally an ErrorCode.
        msg: err_msg.
        param_errs: per-path details (Add/Set/Delete with allow_partial false).

    Returns:
        The serialised Msg.
    """
    return encode_msg(Msg(msg_id, MsgType.ERROR, ErrorMessage(int(code), msg, tuple(param_errs))))


def notify_request(
    msg_id: str, subscription_id: str, send_resp: bool, notification: Notification
) -> bytes:
    """Encode a Notify Msg.

    Args:
        msg_id: a new msg_id.
        subscription_id: Subscription.{i}.ID ('' for OnBoardRequest).
        send_resp: whether a NotifyResp is wanted.
        notification: one of the six notification dataclasses.

    Returns:
        The serialised Msg.
    """
    return encode_msg(Msg(msg_id, MsgType.NOTIFY, Notify(subscription_id, send_resp, notification)))


def notify_resp(msg_id: str, subscription_id: str) -> bytes:
    """Encode a NotifyResp Msg (sent by a Controller).

    Args:
        msg_id: the Notify's msg_id.
        subscription_id: the Notify's subscription_id.

    Returns:
        The serialised Msg.
    """
    return encode_msg(Msg(msg_id, MsgType.NOTIFY_RESP, NotifyResp(subscription_id)))
