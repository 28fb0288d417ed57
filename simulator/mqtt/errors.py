"""MQTT error types and reason codes (MQTT 5.0 section 2.4, MQTT 3.1.1 section 3.2.2.3).

Exception hierarchy::

    MqttError
    ├── MqttProtocolError   bytes on the wire break the MQTT rules (ours or the peer's); has reason_code
    └── MqttStateError      the caller used MqttClient in a way its current state does not allow
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "CONNACK_V3_REASONS",
    "MqttError",
    "MqttProtocolError",
    "MqttStateError",
    "ReasonCode",
    "reason_name",
]


class ReasonCode(IntEnum):
    """MQTT 5.0 reason codes (section 2.4, table 2-6); the ones a client meets."""

    SUCCESS = 0x00  # also "Normal disconnection" and "Granted QoS 0"
    GRANTED_QOS_1 = 0x01
    GRANTED_QOS_2 = 0x02
    DISCONNECT_WITH_WILL = 0x04
    NO_MATCHING_SUBSCRIBERS = 0x10
    NO_SUBSCRIPTION_EXISTED = 0x11
    CONTINUE_AUTHENTICATION = 0x18
    RE_AUTHENTICATE = 0x19
    UNSPECIFIED_ERROR = 0x80
    MALFORMED_PACKET = 0x81
    PROTOCOL_ERROR = 0x82
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83
    UNSUPPORTED_PROTOCOL_VERSION = 0x84
    CLIENT_IDENTIFIER_NOT_VALID = 0x85
    BAD_USER_NAME_OR_PASSWORD = 0x86
    NOT_AUTHORIZED = 0x87
    SERVER_UNAVAILABLE = 0x88
    SERVER_BUSY = 0x89
    BANNED = 0x8A
    SERVER_SHUTTING_DOWN = 0x8B
    BAD_AUTHENTICATION_METHOD = 0x8C
    KEEP_ALIVE_TIMEOUT = 0x8D
    SESSION_TAKEN_OVER = 0x8E
    TOPIC_FILTER_INVALID = 0x8F
    TOPIC_NAME_INVALID = 0x90
    PACKET_IDENTIFIER_IN_USE = 0x91
    PACKET_IDENTIFIER_NOT_FOUND = 0x92
    RECEIVE_MAXIMUM_EXCEEDED = 0x93
    TOPIC_ALIAS_INVALID = 0x94
    PACKET_TOO_LARGE = 0x95
    MESSAGE_RATE_TOO_HIGH = 0x96
    QUOTA_EXCEEDED = 0x97
    ADMINISTRATIVE_ACTION = 0x98
    PAYLOAD_FORMAT_INVALID = 0x99
    RETAIN_NOT_SUPPORTED = 0x9A
    QOS_NOT_SUPPORTED = 0x9B
    USE_ANOTHER_SERVER = 0x9C
    SERVER_MOVED = 0x9D
    SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E
    CONNECTION_RATE_EXCEEDED = 0x9F
    MAXIMUM_CONNECT_TIME = 0xA0
    SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xA1
    WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED = 0xA2


CONNACK_V3_REASONS: dict[int, str] = {
    # MQTT 3.1.1 section 3.2.2.3, table 3.1: CONNACK return codes.
    0: "Connection Accepted",
    1: "unacceptable protocol version",
    2: "identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorized",
}


def reason_name(code: int, protocol_version: int = 5) -> str:
    """Return a human-readable name for a reason code.

    Args:
        code: The MQTT 5 reason code, or for protocol version 4 a CONNACK return code.
        protocol_version: 4 for MQTT 3.1.1, 5 for MQTT 5.0.

    Returns:
        A short description such as ``"not authorized"``.
    """
    if protocol_version == 4:
        return CONNACK_V3_REASONS.get(code, f"unknown return code {code}")
    try:
        return ReasonCode(code).name.replace("_", " ").lower()
    except ValueError:
        return f"unknown reason code 0x{code:02X}"


class MqttError(Exception):
    """Root of every exception raised by ``simulator.mqtt``."""


class MqttProtocolError(MqttError):
    """Bytes that break the MQTT rules: malformed packets, protocol errors, oversized packets.

    Attributes:
        reason_code: The MQTT 5 reason code that describes the fault (0x81 Malformed Packet,
            0x82 Protocol Error, 0x94 Topic Alias Invalid, 0x95 Packet Too Large, ...). A client
            sends it in the DISCONNECT that closes the connection (MQTT 5.0 section 4.13).
    """

    packets: tuple[object, ...] = ()
    """From ``StreamDecoder.feed``: the complete packets that preceded the bad one in that read."""

    def __init__(self, message: str, reason_code: int = ReasonCode.MALFORMED_PACKET) -> None:
        super().__init__(message)
        self.reason_code = int(reason_code)


class MqttStateError(MqttError):
    """An ``MqttClient`` method was called in a state that does not allow it (a local bug)."""
