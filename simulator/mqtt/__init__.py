"""Sans-I/O MQTT 3.1.1 and 5.0 client: packets, properties, stream decoder and connection state machine."""

from __future__ import annotations

from simulator.mqtt.client import ClientState, MqttClient, TopicLike
from simulator.mqtt.errors import MqttError, MqttProtocolError, MqttStateError, ReasonCode
from simulator.mqtt.events import (
    Connected,
    ConnectionLost,
    ConnectionRefused,
    Disconnected,
    Event,
    MessageReceived,
    ProtocolViolation,
    PublishAcknowledged,
    Subscribed,
    Unsubscribed,
)
from simulator.mqtt.packets import Subscription, Will
from simulator.mqtt.properties import Properties
from simulator.mqtt.settings import MqttClientSettings

__all__ = [
    "ClientState",
    "Connected",
    "ConnectionLost",
    "ConnectionRefused",
    "Disconnected",
    "Event",
    "MessageReceived",
    "MqttClient",
    "MqttClientSettings",
    "MqttError",
    "MqttProtocolError",
    "MqttStateError",
    "Properties",
    "ProtocolViolation",
    "PublishAcknowledged",
    "ReasonCode",
    "Subscribed",
    "Subscription",
    "TopicLike",
    "Unsubscribed",
    "Will",
]
