"""Map an agent's own TR-181 MTP parameters (Device.MQTT.Client.1.*) to transport settings.

The transports never see the data model (architecture.md B3): this module reads the values the
driver needs into the plain ``MqttSettings`` / ``WebSocketSettings`` dataclasses and builds the
transport. Values missing from a profile fall back to the scenario.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from simulator.fleet.config import GroupConfig, ScenarioConfig, TlsConfig
from simulator.fleet.profiles import PATHS
from simulator.transports.base import MqttSettings, TlsSettings, Transport, WebSocketSettings
from simulator.transports.mqtt import MqttTransport
from simulator.transports.websocket import WebSocketTransport

if TYPE_CHECKING:
    from simulator.agent.agent import Agent
    from simulator.datamodel.schema import ParamNode

__all__ = ["Link", "make_transport", "mqtt_settings", "tls_settings", "websocket_settings"]


class Link:
    """What every agent of a group shares about its MTP (one object per group, not per agent).

    Attributes:
        scenario: the scenario.
        group: the group.
        host: resolved broker host.
        port: resolved broker port.
        ssl_context: one TLS context shared by the whole group (None for plain TCP).
        epoch_offset: ``time.time() - loop.time()``, so agents get epoch seconds from the loop clock.
    """

    __slots__ = ("_params", "_pristine", "epoch_offset", "group", "host", "port", "scenario", "ssl_context")

    def __init__(
        self, scenario: ScenarioConfig, group: GroupConfig, host: str, port: int, epoch_offset: float = 0.0
    ) -> None:
        self.scenario = scenario
        self.group = group
        self.host = host
        self.port = port
        tls = scenario.broker.tls
        self.ssl_context: ssl.SSLContext | None = (
            tls_settings(tls).make_context() if tls is not None and group.mtp == "mqtt" else None
        )
        self.epoch_offset = epoch_offset
        self._params: dict[str, tuple[ParamNode, tuple[int, ...]] | None] = {}
        self._pristine: dict[str, str | object | None] = {}

    def read(self, agent: Agent, path: str) -> str | None:
        """Read one parameter of ``agent``; the path is located once per group (the schema is shared).

        Every agent of a group shares the Schema and starts from the same instances, so the
        (parameter node, instance numbers) pair found for the first agent holds for all of them;
        this keeps ``mqtt_settings`` at a few dictionary lookups per agent during a connect storm.
        While an agent's store is pristine (no override, no instance change) a plain profile value
        is the same for every agent of the group: it is read once; generated values (templates over
        the EndpointID...) are still computed per agent.
        """
        store = agent.ctx.store
        pristine = store.pristine
        if pristine:
            shared = self._pristine.get(path, _PER_AGENT)
            if shared is not _PER_AGENT:
                return shared  # type: ignore[return-value]
        try:
            ref = self._params[path]
        except KeyError:
            ref = self._params[path] = agent.ctx.locate_param(path)
        if ref is None:
            if pristine:
                self._pristine[path] = None
            return None
        param, inst = ref
        if param.obj is None or not store.exists(param.obj, inst):
            if pristine:
                self._pristine[path] = None
            return None
        if pristine and store.raw(param, inst).__class__ is str:
            value = self._pristine[path] = store.read(param, inst, agent.ctx.now)
            return value
        return store.read(param, inst, agent.ctx.now)

    @property
    def controller_id(self) -> str:
        """The controller's EndpointID."""
        return self.scenario.controller.endpoint_id

    @property
    def mtp(self) -> str:
        """ "mqtt" or "websocket"."""
        return self.group.mtp


_PER_AGENT = object()
"""``Link._pristine`` marker: the value is generated per agent (not shared by the group)."""


def tls_settings(tls: TlsConfig) -> TlsSettings:
    """Scenario TLS options -> transport TLS settings."""
    return TlsSettings(tls.ca, tls.cert, tls.key, tls.insecure, tls.server_hostname)


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


def mqtt_settings(agent: Agent, link: Link) -> MqttSettings:
    """Read ``Device.MQTT.Client.1.*`` and the agent/controller MTP rows into ``MqttSettings``.

    Args:
        agent: the agent (its data model holds the values).
        link: the group's shared link information (fallbacks, TLS context).

    Returns:
        The settings for ``MqttTransport``.
    """

    read = link.read
    eid = agent.endpoint_id
    scenario = link.scenario
    version = read(agent, _PROTOCOL_VERSION)
    protocol = (5 if version == "5.0" else 4) if version else link.group.mqtt_version
    agent_topic = read(agent, _RESPONSE_TOPIC) or scenario.controller.agent_topic_for(eid)
    controller_topic = read(agent, _CONTROLLER_TOPIC) or scenario.controller.controller_topic
    username = read(agent, _USERNAME) or None
    password = read(agent, _PASSWORD) or None
    tls = scenario.broker.tls
    return MqttSettings(
        host=read(agent, _BROKER_ADDRESS) or link.host,
        port=_int(read(agent, _BROKER_PORT), link.port),
        endpoint_id=eid,
        agent_topic=agent_topic,
        controller_topic=controller_topic,
        protocol_version=protocol,
        client_id=read(agent, _CLIENT_ID) or eid,
        username=username,
        password=password,
        keep_alive=_int(read(agent, _KEEP_ALIVE), scenario.broker.keep_alive),
        tls=tls_settings(tls) if tls is not None else None,
        ssl_context=link.ssl_context,
        connect_timeout=scenario.broker.connect_timeout,
        connect_retry_time=_int(read(agent, _RETRY_TIME), 5),
        connect_retry_multiplier=max(1000, _int(read(agent, _RETRY_MULTIPLIER), 2000)),
        connect_retry_max_interval=_int(read(agent, _RETRY_MAX), 30720),
    )


_PROTOCOL_VERSION = f"{PATHS.mqtt_client}ProtocolVersion"
_RESPONSE_TOPIC = f"{PATHS.agent_mtp}MQTT.ResponseTopicConfigured"
_CONTROLLER_TOPIC = f"{PATHS.controller_mtp}MQTT.Topic"
_USERNAME = f"{PATHS.mqtt_client}Username"
_PASSWORD = f"{PATHS.mqtt_client}Password"
_BROKER_ADDRESS = f"{PATHS.mqtt_client}BrokerAddress"
_BROKER_PORT = f"{PATHS.mqtt_client}BrokerPort"
_CLIENT_ID = f"{PATHS.mqtt_client}ClientID"
_KEEP_ALIVE = f"{PATHS.mqtt_client}KeepAliveTime"
_RETRY_TIME = f"{PATHS.mqtt_client}ConnectRetryTime"
_RETRY_MULTIPLIER = f"{PATHS.mqtt_client}ConnectRetryIntervalMultiplier"
_RETRY_MAX = f"{PATHS.mqtt_client}ConnectRetryMaxInterval"


def websocket_settings(agent: Agent, link: Link) -> WebSocketSettings:
    """Build the WebSocket client settings of one agent (URL from the scenario group)."""
    return WebSocketSettings(
        url=link.group.ws_url,
        endpoint_id=agent.endpoint_id,
        connect_timeout=link.scenario.broker.connect_timeout,
    )


def make_transport(agent: Agent, link: Link) -> Transport:
    """Build the agent's transport (callbacks are attached by the driver)."""
    if link.mtp == "websocket":
        return WebSocketTransport(websocket_settings(agent, link), _nothing)
    return MqttTransport(mqtt_settings(agent, link), _nothing)


def _nothing(_packet: object) -> None:
    """Placeholder ``on_packet`` until the driver attaches its own."""
