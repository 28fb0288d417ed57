"""Events returned by ``MqttClient``: what happened on the connection, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.mqtt.errors import MqttProtocolError
from simulator.mqtt.packets import ConnAck, Publish
from simulator.mqtt.properties import EMPTY_PROPERTIES, Properties

__all__ = [
    "Connected",
    "ConnectionLost",
    "ConnectionRefused",
    "Disconnected",
    "Event",
    "MessageReceived",
    "ProtocolViolation",
    "PublishAcknowledged",
    "Subscribed",
    "Unsubscribed",
    "make_message_received",
]

UserProperties = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Connected:
    """The broker accepted CONNECT (CONNACK reason 0)."""

    connack: ConnAck

    @property
    def session_present(self) -> bool:
        """CONNACK Session Present flag."""
        return self.connack.session_present

    @property
    def properties(self) -> Properties:
        """All CONNACK properties (MQTT 5)."""
        return self.connack.properties

    @property
    def user_properties(self) -> UserProperties:
        """CONNACK user properties in wire order."""
        return self.connack.properties.user_properties

    @property
    def assigned_client_id(self) -> str | None:
        """Assigned Client Identifier, when CONNECT had an empty client id ([TP] 11.4)."""
        return self.connack.properties.assigned_client_identifier

    @property
    def response_information(self) -> str | None:
        """Response Information: the agent's reply-to topic (TR-369 R-MQTT.15)."""
        return self.connack.properties.response_information

    @property
    def subscribe_topics(self) -> tuple[str, ...]:
        """Values of every ``subscribe-topic`` user property (Oktopus; TR-369 R-MQTT.15)."""
        return tuple(v for k, v in self.connack.properties.user_properties if k == "subscribe-topic")


@dataclass(frozen=True, slots=True)
class ConnectionRefused:
    """CONNACK carried a failure code; the connection is closed."""

    reason_code: int
    reason: str
    connack: ConnAck


@dataclass(frozen=True, slots=True)
class Subscribed:
    """SUBACK arrived: one reason code (granted QoS, or >= 0x80 failure) per requested filter."""

    packet_id: int
    reason_codes: tuple[int, ...]
    properties: Properties = EMPTY_PROPERTIES


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    """UNSUBACK arrived (``reason_codes`` is empty on MQTT 3.1.1)."""

    packet_id: int
    reason_codes: tuple[int, ...]
    properties: Properties = EMPTY_PROPERTIES


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """An application message arrived (topic aliases already resolved); QoS 1 was acknowledged."""

    publish: Publish

    @property
    def topic(self) -> str:
        """Topic Name."""
        return self.publish.topic

    @property
    def payload(self) -> bytes:
        """Application message."""
        return self.publish.payload

    @property
    def qos(self) -> int:
        """Delivery QoS."""
        return self.publish.qos

    @property
    def retain(self) -> bool:
        """RETAIN flag."""
        return self.publish.retain

    @property
    def properties(self) -> Properties:
        """All PUBLISH properties."""
        return self.publish.properties

    @property
    def response_topic(self) -> str | None:
        """Response Topic: where a USP controller wants the answer (TR-369 R-MQTT.23)."""
        return self.publish.properties.response_topic

    @property
    def content_type(self) -> str | None:
        """Content Type (``usp.msg`` for USP records)."""
        return self.publish.properties.content_type

    @property
    def correlation_data(self) -> bytes | None:
        """Correlation Data."""
        return self.publish.properties.correlation_data

    @property
    def user_properties(self) -> UserProperties:
        """User properties in wire order."""
        return self.publish.properties.user_properties


_new = object.__new__
_set_publish = MessageReceived.__dict__["publish"].__set__


def make_message_received(publish: Publish) -> MessageReceived:
    """Build a ``MessageReceived`` without the frozen ``__init__`` cost (hot path)."""
    event: MessageReceived = _new(MessageReceived)
    _set_publish(event, publish)
    return event


@dataclass(frozen=True, slots=True)
class PublishAcknowledged:
    """PUBACK arrived for one of our QoS 1 messages (``reason_code`` >= 0x80 means refused)."""

    packet_id: int
    reason_code: int = 0


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection ended with a DISCONNECT, sent by us or by the server."""

    reason_code: int
    by_server: bool
    reason_string: str | None = None
    server_reference: str | None = None


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """The peer broke MQTT; the client queued DISCONNECT (0x81/0x82... on MQTT 5) and closed."""

    error: MqttProtocolError


@dataclass(frozen=True, slots=True)
class ConnectionLost:
    """No CONNACK or PINGRESP in time, or the transport reported the socket closed."""

    reason: str


Event = (
    Connected
    | ConnectionRefused
    | Subscribed
    | Unsubscribed
    | MessageReceived
    | PublishAcknowledged
    | Disconnected
    | ProtocolViolation
    | ConnectionLost
)
