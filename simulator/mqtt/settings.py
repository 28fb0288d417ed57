"""Static configuration of one MQTT client connection (TR-181 ``Device.MQTT.Client.{i}``, TR-369 7.1)."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.mqtt.packets import Will

__all__ = ["MqttClientSettings"]


@dataclass(frozen=True, slots=True)
class MqttClientSettings:
    """Static configuration of one client (TR-181 ``Device.MQTT.Client.{i}`` mapped by the driver).

    Attributes:
        client_id: Client Identifier; empty on MQTT 5 lets the broker assign one ([TP] 11.4).
        protocol_version: 4 (MQTT 3.1.1) or 5 (MQTT 5.0).
        keep_alive: CONNECT Keep Alive in seconds (0 disables keep-alive).
        ping_ratio: Send PINGREQ after ``keep_alive * ping_ratio`` seconds without sending anything.
            The default 0.75 meets [TP] 11.7 (PINGREQ within 45 s for Keep Alive 60); 1.0 is the
            latest the spec allows (MQTT 5.0 section 3.1.2.10).
        ping_timeout: Seconds to wait for PINGRESP before ``ConnectionLost``; default: the keep-alive.
        connect_timeout: Seconds to wait for CONNACK before ``ConnectionLost``; ``None`` waits forever.
        clean_start: Clean Start / Clean Session flag.
        username: User Name.
        password: Password.
        will: Will Message.
        user_properties: CONNECT user properties, ordered (Oktopus reads the first: ``usp-endpoint-id``).
        session_expiry_interval: MQTT 5 Session Expiry Interval.
        request_response_information: MQTT 5 Request Response Information = 1 (TR-369 R-MQTT.8).
        receive_maximum: MQTT 5 Receive Maximum we announce.
        maximum_packet_size: Largest packet we accept (announced on MQTT 5, enforced on both).
        topic_alias_maximum: Topic aliases the broker may use towards us (MQTT 5).
    """

    client_id: str = ""
    protocol_version: int = 5
    keep_alive: int = 60
    ping_ratio: float = 0.75
    ping_timeout: float | None = None
    connect_timeout: float | None = None
    clean_start: bool = True
    username: str | None = None
    password: bytes | None = None
    will: Will | None = None
    user_properties: tuple[tuple[str, str], ...] = ()
    session_expiry_interval: int | None = None
    request_response_information: bool = False
    receive_maximum: int | None = None
    maximum_packet_size: int | None = None
    topic_alias_maximum: int | None = None
