from . import usp_msg_1_4_pb2 as _usp_msg_1_4_pb2
from . import usp_record_1_4_pb2 as _usp_record_1_4_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Record(_message.Message):
    __slots__ = ("version", "to_id", "from_id", "payload_security", "mac_signature", "sender_cert", "no_session_context", "session_context", "websocket_connect", "mqtt_connect", "stomp_connect", "disconnect", "uds_connect")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_ID_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_SECURITY_FIELD_NUMBER: _ClassVar[int]
    MAC_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SENDER_CERT_FIELD_NUMBER: _ClassVar[int]
    NO_SESSION_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    WEBSOCKET_CONNECT_FIELD_NUMBER: _ClassVar[int]
    MQTT_CONNECT_FIELD_NUMBER: _ClassVar[int]
    STOMP_CONNECT_FIELD_NUMBER: _ClassVar[int]
    DISCONNECT_FIELD_NUMBER: _ClassVar[int]
    UDS_CONNECT_FIELD_NUMBER: _ClassVar[int]
    version: str
    to_id: str
    from_id: str
    payload_security: _usp_record_1_4_pb2.Record.PayloadSecurity
    mac_signature: bytes
    sender_cert: bytes
    no_session_context: NoSessionContextRecord
    session_context: _usp_record_1_4_pb2.SessionContextRecord
    websocket_connect: _usp_record_1_4_pb2.WebSocketConnectRecord
    mqtt_connect: _usp_record_1_4_pb2.MQTTConnectRecord
    stomp_connect: _usp_record_1_4_pb2.STOMPConnectRecord
    disconnect: _usp_record_1_4_pb2.DisconnectRecord
    uds_connect: _usp_record_1_4_pb2.UDSConnectRecord
    def __init__(self, version: _Optional[str] = ..., to_id: _Optional[str] = ..., from_id: _Optional[str] = ..., payload_security: _Optional[_Union[_usp_record_1_4_pb2.Record.PayloadSecurity, str]] = ..., mac_signature: _Optional[bytes] = ..., sender_cert: _Optional[bytes] = ..., no_session_context: _Optional[_Union[NoSessionContextRecord, _Mapping]] = ..., session_context: _Optional[_Union[_usp_record_1_4_pb2.SessionContextRecord, _Mapping]] = ..., websocket_connect: _Optional[_Union[_usp_record_1_4_pb2.WebSocketConnectRecord, _Mapping]] = ..., mqtt_connect: _Optional[_Union[_usp_record_1_4_pb2.MQTTConnectRecord, _Mapping]] = ..., stomp_connect: _Optional[_Union[_usp_record_1_4_pb2.STOMPConnectRecord, _Mapping]] = ..., disconnect: _Optional[_Union[_usp_record_1_4_pb2.DisconnectRecord, _Mapping]] = ..., uds_connect: _Optional[_Union[_usp_record_1_4_pb2.UDSConnectRecord, _Mapping]] = ...) -> None: ...

class NoSessionContextRecord(_message.Message):
    __slots__ = ("payload",)
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    payload: _containers.RepeatedCompositeFieldContainer[_usp_msg_1_4_pb2.Msg]
    def __init__(self, payload: _Optional[_Iterable[_Union[_usp_msg_1_4_pb2.Msg, _Mapping]]] = ...) -> None: ...
