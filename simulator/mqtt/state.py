"""MQTT client connection state: the states, their allowed transitions, and the per-connection fields."""

from __future__ import annotations

from enum import Enum

from simulator.mqtt.errors import MqttStateError
from simulator.mqtt.inflight import Inflight
from simulator.mqtt.settings import MqttClientSettings
from simulator.mqtt.stream import DEFAULT_MAXIMUM_PACKET_SIZE, StreamDecoder

__all__ = ["TRANSITIONS", "ClientState", "ConnectionCore"]


class ClientState(Enum):
    """Connection states; every transition is listed in ``TRANSITIONS``."""

    IDLE = "idle"  # constructed, connect() not called yet
    CONNECTING = "connecting"  # CONNECT queued, waiting for CONNACK (SUBSCRIBE may follow at once)
    CONNECTED = "connected"  # CONNACK accepted
    CLOSED = "closed"  # refused, disconnected, timed out or violated; connect() may start again


TRANSITIONS: dict[ClientState, frozenset[ClientState]] = {
    ClientState.IDLE: frozenset({ClientState.CONNECTING}),
    ClientState.CONNECTING: frozenset({ClientState.CONNECTED, ClientState.CLOSED}),
    ClientState.CONNECTED: frozenset({ClientState.CLOSED}),
    ClientState.CLOSED: frozenset({ClientState.CONNECTING}),
}


class ConnectionCore:
    """Every per-connection field (one ``__slots__`` for the whole client) and the state transition."""

    __slots__ = (
        "_aliases",
        "_client_id",
        "_ct",
        "_decoder",
        "_ids",
        "_keep_alive",
        "_last_sent",
        "_max_qos",
        "_out",
        "_ping_sent",
        "_prefix",
        "_retain_ok",
        "_rt",
        "_server_max_packet",
        "_started",
        "_state",
        "_topic",
        "_v5",
        "settings",
    )

    def __init__(self, settings: MqttClientSettings) -> None:
        """Create an idle client.

        Args:
            settings: Static configuration, shareable between reconnects.
        """
        if settings.protocol_version not in (4, 5):
            msg = f"protocol_version must be 4 or 5, not {settings.protocol_version}"
            raise MqttStateError(msg)
        self.settings = settings
        self._v5 = settings.protocol_version == 5
        self._state = ClientState.IDLE
        self._decoder = StreamDecoder(
            settings.protocol_version, settings.maximum_packet_size or DEFAULT_MAXIMUM_PACKET_SIZE
        )
        self._out = b""
        self._client_id = settings.client_id
        self._keep_alive = settings.keep_alive
        self._last_sent = self._started = 0.0
        self._ping_sent: float | None = None
        self._ids = Inflight()
        self._aliases: dict[int, str] | None = None
        self._max_qos = 2
        self._retain_ok = True
        self._server_max_packet: int | None = None
        # Cache of the last QoS 0 PUBLISH prefix (see MqttClient.publish); "" never matches a topic.
        self._topic = ""
        self._rt: str | None = None
        self._ct: str | None = None
        self._prefix = b""

    # ----------------------------------------------------------------------------------- introspection

    @property
    def state(self) -> ClientState:
        """Current connection state."""
        return self._state

    @property
    def client_id(self) -> str:
        """The client id in use: configured, or assigned by the broker and then reused ([TP] 11.5)."""
        return self._client_id

    @property
    def keep_alive(self) -> int:
        """Effective keep-alive: the CONNACK Server Keep Alive if sent, else ours (section 3.2.2.3.14)."""
        return self._keep_alive

    @property
    def ping_outstanding(self) -> bool:
        """True between sending PINGREQ and receiving PINGRESP."""
        return self._ping_sent is not None

    @property
    def inflight(self) -> int:
        """QoS 1 messages sent and not yet acknowledged (queued ones excluded)."""
        return self._ids.sent

    def _set_state(self, new: ClientState) -> None:
        if new not in TRANSITIONS[self._state]:
            msg = f"cannot go from {self._state.name} to {new.name}"
            raise MqttStateError(msg)
        self._state = new

    def _send(self, data: bytes, now: float) -> None:
        self._out += data
        self._last_sent = now
