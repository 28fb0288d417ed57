"""USP Record <-> bytes: the outer envelope every MTP carries (TR-369 "Record", usp-record-1-4.proto)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass
from enum import IntEnum
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from simulator.usp import fastwire as _fastwire
from simulator.usp._pb import usp_record_1_4_pb2 as _pb
from simulator.usp.errors import RecordNotParsedError

__all__ = [
    "DEFAULT_RECORD_VERSION",
    "DEFAULT_SUPPORTED_VERSIONS",
    "MQTTVersion",
    "PayloadSARState",
    "PayloadSecurity",
    "Record",
    "RecordKind",
    "STOMPVersion",
    "SessionContext",
    "decode_record",
    "encode_disconnect",
    "encode_mqtt_connect",
    "encode_no_session_context",
    "encode_record",
    "encode_session_context",
    "encode_stomp_connect",
    "encode_uds_connect",
    "encode_websocket_connect",
]

DEFAULT_RECORD_VERSION = "1.3"
"""Record.version we send, as obuspa does (usp-protocol.md section 0)."""

DEFAULT_SUPPORTED_VERSIONS = "1.0,1.1,1.2,1.3"
"""Versions advertised in GetSupportedProtocolResp and OnBoardRequest (obuspa's string)."""

_Record: Any = _pb.Record
_NoSession: Any = _pb.NoSessionContextRecord
_Session: Any = _pb.SessionContextRecord
_WsConnect: Any = _pb.WebSocketConnectRecord
_MqttConnect: Any = _pb.MQTTConnectRecord
_StompConnect: Any = _pb.STOMPConnectRecord
_Disconnect: Any = _pb.DisconnectRecord
_UdsConnect: Any = _pb.UDSConnectRecord


class RecordKind(IntEnum):
    """Which member of the Record.record_type oneof is set; the value is its field number."""

    NONE = 0
    NO_SESSION_CONTEXT = 7
    SESSION_CONTEXT = 8
    WEBSOCKET_CONNECT = 9
    MQTT_CONNECT = 10
    STOMP_CONNECT = 11
    DISCONNECT = 12
    UDS_CONNECT = 13


class PayloadSecurity(IntEnum):
    """Record.PayloadSecurity."""

    PLAINTEXT = 0
    TLS12 = 1


class MQTTVersion(IntEnum):
    """MQTTConnectRecord.MQTTVersion."""

    V3_1_1 = 0
    V5 = 1


class STOMPVersion(IntEnum):
    """STOMPConnectRecord.STOMPVersion."""

    V1_2 = 0


class PayloadSARState(IntEnum):
    """SessionContextRecord.PayloadSARState."""

    NONE = 0
    BEGIN = 1
    INPROCESS = 2
    COMPLETE = 3


@dataclass(frozen=True, slots=True)
class SessionContext:
    """The fields of a SessionContextRecord (E2E session context; we only ever refuse it, R-E2E.6a)."""

    session_id: int = 0
    sequence_id: int = 0
    expected_id: int = 0
    retransmit_id: int = 0
    payload_sar_state: PayloadSARState | int = PayloadSARState.NONE
    payloadrec_sar_state: PayloadSARState | int = PayloadSARState.NONE
    payloads: tuple[bytes, ...] = ()


_EXTRA_NAMES = (
    "mac_signature", "sender_cert", "mqtt_version", "subscribed_topic", "stomp_version",
    "subscribed_destination", "reason", "reason_code", "session",
)
_FIELD_NAMES = ("version", "to_id", "from_id", "kind", "payload", "payload_security", *_EXTRA_NAMES)
_NO_EXTRA: tuple[Any, ...] = (
    b"", b"", MQTTVersion.V3_1_1, "", STOMPVersion.V1_2, "", "", 0, None,
)


def _extra_field(index: int, doc: str) -> Any:
    default = _NO_EXTRA[index]

    def get(self: tuple[Any, ...]) -> Any:
        extra = self[6]
        return default if extra is None else extra[index]

    return property(get, doc=doc)


def _lazy_payload(self: tuple[Any, ...]) -> bytes:
    payload: bytes | None = self[4]
    if payload is None:  # decoded by decode_record_msg: parse the payload bytes out on first use
        holder: list[bytes] = self[7]
        if len(holder) == 1:
            holder.append(_Record.FromString(holder[0]).no_session_context.payload)
        payload = holder[1]
    return payload


class Record(tuple):  # type: ignore[type-arg]
    """A decoded USP Record: immutable, hashable, compared by value (like a frozen dataclass).

    Enum-typed fields hold the IntEnum member when the value is known and the raw int otherwise
    (proto3 enums are open), so the agent can answer 7104 for values it does not accept.

    Built for speed on the receive path: a tuple subclass (one C-level allocation per decode) whose
    rarely-set fields live in one inner tuple (None when all default). ``payload`` of a Record that came
    from ``decode_record_msg`` is extracted from the raw bytes on first access. Construct it with the
    same arguments as before (positional or keyword); its tuple layout is private.
    """

    __slots__ = ()
    __match_args__ = (
        "version", "to_id", "from_id", "kind", "payload", "payload_security", "mac_signature",
        "sender_cert", "mqtt_version", "subscribed_topic", "stomp_version", "subscribed_destination",
        "reason", "reason_code", "session",
    )

    if TYPE_CHECKING:
        version: str
        to_id: str
        from_id: str
        kind: RecordKind
        payload: bytes
        payload_security: PayloadSecurity | int
        mac_signature: bytes
        sender_cert: bytes
        mqtt_version: MQTTVersion | int
        subscribed_topic: str
        stomp_version: STOMPVersion | int
        subscribed_destination: str
        reason: str
        reason_code: int
        session: SessionContext | None
    else:
        version = property(itemgetter(0), doc="Record.version.")
        to_id = property(itemgetter(1), doc="Endpoint ID of the receiver.")
        from_id = property(itemgetter(2), doc="Endpoint ID of the sender.")
        kind = property(itemgetter(3), doc="Which record_type oneof member is set.")
        payload = property(
            _lazy_payload,
            doc="The serialised usp.Msg: no_session_context.payload, or the session payloads joined.",
        )
        payload_security = property(itemgetter(5), doc="Record.payload_security.")
        mac_signature = _extra_field(0, "Record.mac_signature.")
        sender_cert = _extra_field(1, "Record.sender_cert.")
        mqtt_version = _extra_field(2, "MQTTConnectRecord.version (kind MQTT_CONNECT only).")
        subscribed_topic = _extra_field(
            3, "MQTTConnectRecord.subscribed_topic: the sender's reply-to topic (kind MQTT_CONNECT only)."
        )
        stomp_version = _extra_field(4, "STOMPConnectRecord.version (kind STOMP_CONNECT only).")
        subscribed_destination = _extra_field(
            5, "STOMPConnectRecord.subscribed_destination (kind STOMP_CONNECT only)."
        )
        reason = _extra_field(6, "DisconnectRecord.reason (kind DISCONNECT only).")
        reason_code = _extra_field(7, "DisconnectRecord.reason_code, fixed32 (kind DISCONNECT only).")
        session = _extra_field(8, "The session context fields (kind SESSION_CONTEXT only).")

    def __new__(  # noqa: PLR0917 (the positional order of the former dataclass is API)
        cls,
        version: str,
        to_id: str,
        from_id: str,
        kind: RecordKind,
        payload: bytes = b"",
        payload_security: PayloadSecurity | int = PayloadSecurity.PLAINTEXT,
        mac_signature: bytes = b"",
        sender_cert: bytes = b"",
        mqtt_version: MQTTVersion | int = MQTTVersion.V3_1_1,
        subscribed_topic: str = "",
        stomp_version: STOMPVersion | int = STOMPVersion.V1_2,
        subscribed_destination: str = "",
        reason: str = "",
        reason_code: int = 0,
        session: SessionContext | None = None,
    ) -> Record:
        extra: tuple[Any, ...] | None = (
            mac_signature, sender_cert, mqtt_version, subscribed_topic, stomp_version,
            subscribed_destination, reason, reason_code, session,
        )
        if extra == _NO_EXTRA:
            extra = None
        return _new(cls, (version, to_id, from_id, kind, payload, payload_security, extra, None))

    def _fields(self) -> tuple[Any, ...]:
        extra = self[6]
        return (*self[:4], self.payload, self[5], *(_NO_EXTRA if extra is None else extra))

    def __eq__(self, other: object) -> bool:
        if type(other) is not Record:
            return NotImplemented
        return self._fields() == other._fields()

    def __ne__(self, other: object) -> bool:
        if type(other) is not Record:
            return NotImplemented
        return self._fields() != other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={v!r}" for n, v in zip(_FIELD_NAMES, self._fields(), strict=True))
        return f"Record({args})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        return self._fields()

    def __setattr__(self, name: str, value: object) -> None:
        msg = f"cannot assign to field {name!r}"
        raise FrozenInstanceError(msg)

    def __delattr__(self, name: str) -> None:
        msg = f"cannot delete field {name!r}"
        raise FrozenInstanceError(msg)


_new = tuple.__new__


def _record_from_envelope(pb: Any, src: bytes) -> Record:
    """The Record of a usp_envelope.Record holding one no_session_context Msg (decode_record_msg)."""
    security = pb.payload_security
    mac = pb.mac_signature
    cert = pb.sender_cert
    extra = None if not (mac or cert) else (mac, cert, *_NO_EXTRA[2:])
    return _new(Record, (
        pb.version, pb.to_id, pb.from_id, RecordKind.NO_SESSION_CONTEXT, None,
        _PLAINTEXT if not security else _open_enum(PayloadSecurity, security), extra, [src],
    ))


def _get_record(version: str, to_id: str, from_id: str, src: bytes) -> Record:
    """The Record of a canonical Get request Record (``fastwire.parse_get_record``): payload read lazily."""
    return _new(Record, (version, to_id, from_id, RecordKind.NO_SESSION_CONTEXT, None, _PLAINTEXT, None,
                         [src]))


def _open_enum(enum_cls: type[IntEnum], value: int) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        return value


_KIND_BY_NAME: dict[str | None, RecordKind] = {
    None: RecordKind.NONE,
    "no_session_context": RecordKind.NO_SESSION_CONTEXT,
    "session_context": RecordKind.SESSION_CONTEXT,
    "websocket_connect": RecordKind.WEBSOCKET_CONNECT,
    "mqtt_connect": RecordKind.MQTT_CONNECT,
    "stomp_connect": RecordKind.STOMP_CONNECT,
    "disconnect": RecordKind.DISCONNECT,
    "uds_connect": RecordKind.UDS_CONNECT,
}
_PLAINTEXT = PayloadSecurity.PLAINTEXT


def decode_record(data: bytes) -> Record:
    """Parse the bytes of one USP Record.

    Args:
        data: the MTP frame payload (bytes, bytearray or memoryview).

    Returns:
        The decoded Record. A Record whose oneof is unset decodes with kind NONE (the caller drops it).

    Raises:
        RecordNotParsedError: whatever is wrong with ``data`` (7100); no other exception escapes.
    """
    try:
        pb = _Record.FromString(data)
    except Exception as exc:  # DecodeError for bad bytes, TypeError for a non-buffer: all are "not parsed"
        msg = f"USP Record could not be parsed: {exc}"
        raise RecordNotParsedError(msg) from exc
    kind = _KIND_BY_NAME[pb.WhichOneof("record_type")]
    security = pb.payload_security
    sec: PayloadSecurity | int = _PLAINTEXT if not security else _open_enum(PayloadSecurity, security)
    mac = pb.mac_signature
    cert = pb.sender_cert
    if kind is RecordKind.NO_SESSION_CONTEXT:
        extra = None if not (mac or cert) else (mac, cert, *_NO_EXTRA[2:])
        return _new(Record, (pb.version, pb.to_id, pb.from_id, kind, pb.no_session_context.payload, sec,
                             extra, None))
    fields: dict[str, Any] = {"mac_signature": mac, "sender_cert": cert}
    if kind is RecordKind.MQTT_CONNECT:
        mc = pb.mqtt_connect
        fields["mqtt_version"] = _open_enum(MQTTVersion, mc.version)
        fields["subscribed_topic"] = mc.subscribed_topic
    elif kind is RecordKind.STOMP_CONNECT:
        sc = pb.stomp_connect
        fields["stomp_version"] = _open_enum(STOMPVersion, sc.version)
        fields["subscribed_destination"] = sc.subscribed_destination
    elif kind is RecordKind.DISCONNECT:
        fields["reason"] = pb.disconnect.reason
        fields["reason_code"] = pb.disconnect.reason_code
    elif kind is RecordKind.SESSION_CONTEXT:
        s = pb.session_context
        payloads = tuple(s.payload)
        fields["payload"] = b"".join(payloads)
        fields["session"] = SessionContext(
            s.session_id, s.sequence_id, s.expected_id, s.retransmit_id,
            _open_enum(PayloadSARState, s.payload_sar_state),
            _open_enum(PayloadSARState, s.payloadrec_sar_state),
            payloads,
        )
    return Record(pb.version, pb.to_id, pb.from_id, kind, payload_security=sec, **fields)


def _serialize(pb: Any) -> bytes:
    data: bytes = pb.SerializeToString()
    return data


def encode_no_session_context(version: str, to_id: str, from_id: str, payload: bytes) -> bytes:
    """Encode the ordinary Record: a serialised usp.Msg in ``no_session_context`` (field 7).

    Args:
        version: Record.version, e.g. DEFAULT_RECORD_VERSION.
        to_id: endpoint ID of the receiver.
        from_id: endpoint ID of the sender.
        payload: the serialised Msg (R-E2E.26: must not be empty).

    Returns:
        The serialised Record.
    """
    if type(payload) is bytes and type(version) is str and type(to_id) is str and type(from_id) is str:
        try:
            return _fastwire.encode_no_session_context(version, to_id, from_id, payload)
        except UnicodeError:  # a lone surrogate: let protobuf raise its own error
            pass
    return _serialize(_Record(
        version=version, to_id=to_id, from_id=from_id, no_session_context=_NoSession(payload=payload),
    ))


def encode_session_context(
    version: str,
    to_id: str,
    from_id: str,
    payload: bytes,
    *,
    session_id: int = 1,
    sequence_id: int = 1,
    expected_id: int = 1,
    retransmit_id: int = 0,
    payload_security: PayloadSecurity = PayloadSecurity.PLAINTEXT,
) -> bytes:
    """Encode a SessionContextRecord carrying one unsegmented payload (only tests send these).

    Args:
        version: Record.version.
        to_id: endpoint ID of the receiver.
        from_id: endpoint ID of the sender.
        payload: the serialised Msg.
        session_id: SessionContextRecord.session_id.
        sequence_id: SessionContextRecord.sequence_id.
        expected_id: SessionContextRecord.expected_id.
        retransmit_id: SessionContextRecord.retransmit_id.
        payload_security: Record.payload_security.

    Returns:
        The serialised Record.
    """
    return _serialize(_Record(
        version=version, to_id=to_id, from_id=from_id, payload_security=int(payload_security),
        session_context=_Session(
            session_id=session_id, sequence_id=sequence_id, expected_id=expected_id,
            retransmit_id=retransmit_id, payload=[payload],
        ),
    ))


def encode_websocket_connect(version: str, to_id: str, from_id: str) -> bytes:
    """Encode a WebSocketConnectRecord (R-MTP.6, sent first on every new WebSocket connection).

    Args:
        version: Record.version.
        to_id: the Controller's endpoint ID.
        from_id: our endpoint ID.

    Returns:
        The serialised Record.
    """
    return _serialize(_Record(version=version, to_id=to_id, from_id=from_id, websocket_connect=_WsConnect()))


def encode_uds_connect(version: str, to_id: str, from_id: str) -> bytes:
    """Encode a UDSConnectRecord (1.3+, UNIX domain socket MTP).

    Args:
        version: Record.version.
        to_id: the peer's endpoint ID.
        from_id: our endpoint ID.

    Returns:
        The serialised Record.
    """
    return _serialize(_Record(version=version, to_id=to_id, from_id=from_id, uds_connect=_UdsConnect()))


def encode_mqtt_connect(
    version: str, to_id: str, from_id: str, mqtt_version: MQTTVersion | int, subscribed_topic: str
) -> bytes:
    """Encode an MQTTConnectRecord (R-MTP.6, sent after every MQTT (re)connect).

    Args:
        version: Record.version.
        to_id: the Controller's endpoint ID.
        from_id: our endpoint ID.
        mqtt_version: MQTTVersion.V3_1_1 or MQTTVersion.V5.
        subscribed_topic: our exact reply-to topic (no wildcards).

    Returns:
        The serialised Record.
    """
    return _serialize(_Record(
        version=version, to_id=to_id, from_id=from_id,
        mqtt_connect=_MqttConnect(version=int(mqtt_version), subscribed_topic=subscribed_topic),
    ))


def encode_stomp_connect(
    version: str, to_id: str, from_id: str, subscribed_destination: str,
    stomp_version: STOMPVersion | int = STOMPVersion.V1_2,
) -> bytes:
    """Encode a STOMPConnectRecord.

    Args:
        version: Record.version.
        to_id: the Controller's endpoint ID.
        from_id: our endpoint ID.
        subscribed_destination: the STOMP destination we are subscribed to.
        stomp_version: STOMPVersion (only V1_2 exists).

    Returns:
        The serialised Record.
    """
    return _serialize(_Record(
        version=version, to_id=to_id, from_id=from_id,
        stomp_connect=_StompConnect(
            version=int(stomp_version), subscribed_destination=subscribed_destination
        ),
    ))


def encode_disconnect(version: str, to_id: str, from_id: str, reason: str, reason_code: int) -> bytes:
    """Encode a DisconnectRecord (R-MTP.7; reason_code 7106 refuses a session context, R-E2E.6a).

    Args:
        version: Record.version.
        to_id: the peer's endpoint ID.
        from_id: our endpoint ID.
        reason: free text.
        reason_code: fixed32, normally an ErrorCode from 7100-7106.

    Returns:
        The serialised Record.
    """
    return _serialize(_Record(
        version=version, to_id=to_id, from_id=from_id,
        disconnect=_Disconnect(reason=reason, reason_code=int(reason_code)),
    ))


def encode_record(record: Record) -> bytes:
    """Encode any Record dataclass (the inverse of decode_record; the specific encoders are faster).

    Args:
        record: the Record to serialise; fields that do not belong to ``record.kind`` are ignored.

    Returns:
        The serialised Record.
    """
    kind = record.kind
    fields: dict[str, Any] = {
        "version": record.version, "to_id": record.to_id, "from_id": record.from_id,
        "payload_security": int(record.payload_security),
        "mac_signature": record.mac_signature, "sender_cert": record.sender_cert,
    }
    if kind is RecordKind.NO_SESSION_CONTEXT:
        fields["no_session_context"] = _NoSession(payload=record.payload)
    elif kind is RecordKind.SESSION_CONTEXT:
        s = record.session or SessionContext(payloads=(record.payload,))
        fields["session_context"] = _Session(
            session_id=s.session_id, sequence_id=s.sequence_id, expected_id=s.expected_id,
            retransmit_id=s.retransmit_id, payload_sar_state=int(s.payload_sar_state),
            payloadrec_sar_state=int(s.payloadrec_sar_state), payload=list(s.payloads),
        )
    elif kind is RecordKind.WEBSOCKET_CONNECT:
        fields["websocket_connect"] = _WsConnect()
    elif kind is RecordKind.MQTT_CONNECT:
        fields["mqtt_connect"] = _MqttConnect(
            version=int(record.mqtt_version), subscribed_topic=record.subscribed_topic
        )
    elif kind is RecordKind.STOMP_CONNECT:
        fields["stomp_connect"] = _StompConnect(
            version=int(record.stomp_version), subscribed_destination=record.subscribed_destination
        )
    elif kind is RecordKind.DISCONNECT:
        fields["disconnect"] = _Disconnect(reason=record.reason, reason_code=record.reason_code)
    elif kind is RecordKind.UDS_CONNECT:
        fields["uds_connect"] = _UdsConnect()
    return _serialize(_Record(**fields))
