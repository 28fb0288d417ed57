"""Scenario profiles: a group's shared Schema with the scenario's broker, controller and topics baked in.

# Strategy: the broker address, controller EndpointID and topics are the same for every agent of a
# group (or a template over the agent's own EndpointID), so they are written once into a derived
# Schema's boot-time values instead of into each agent's store. Agents keep an empty store until a
# controller writes to them, and the driver still reads its MQTT settings from the agent's own
# ``Device.MQTT.Client.1.*`` values (architecture.md B3). One derived Schema exists per group.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from simulator.datamodel.generators import Generator, Template
from simulator.datamodel.loader import load_schema
from simulator.datamodel.model import ModelReader
from simulator.datamodel.personas import Persona
from simulator.datamodel.schema import ObjectNode, Schema
from simulator.fleet.config import GroupConfig, ScenarioConfig

__all__ = ["AgentPaths", "group_schema"]

_SUBSCRIPTION_TABLE = "Device.LocalAgent.Subscription.{i}."


@dataclass(frozen=True, slots=True)
class AgentPaths:
    """Instance paths the driver reads its MTP settings from."""

    mqtt_client: str = "Device.MQTT.Client.1."
    agent_mtp: str = "Device.LocalAgent.MTP.1."
    controller: str = "Device.LocalAgent.Controller.1."
    controller_mtp: str = "Device.LocalAgent.Controller.1.MTP.1."


PATHS = AgentPaths()


def _template(fmt: str, salt: str) -> Template:
    return Template(zlib.crc32(salt.encode()), fmt)


def group_schema(scenario: ScenarioConfig, group: GroupConfig, broker_host: str, broker_port: int) -> Schema:
    """The Schema every agent of ``group`` shares, with the scenario's MTP settings as boot values.

    Args:
        scenario: the scenario (controller profile, credentials).
        group: the group (profile file, MQTT version).
        broker_host: resolved broker host (an embedded broker's address once it runs).
        broker_port: resolved broker port.

    Returns:
        A new Schema sharing every node with the cached profile Schema.

    Raises:
        SchemaError: the profile is invalid.
    """
    base = load_schema(group.profile)
    ctl, brk = scenario.controller, scenario.broker
    agent_topic = ctl.agent_topic.replace("{controller_id}", ctl.endpoint_id)
    values: dict[str, str | Generator] = {
        f"{PATHS.controller}EndpointID": ctl.endpoint_id,
        f"{PATHS.controller}Enable": "true",
        f"{PATHS.controller_mtp}Enable": "true",
        f"{PATHS.controller_mtp}Protocol": "MQTT" if group.mtp == "mqtt" else "WebSocket",
        f"{PATHS.controller_mtp}MQTT.Topic": ctl.controller_topic,
        f"{PATHS.agent_mtp}Protocol": "MQTT" if group.mtp == "mqtt" else "WebSocket",
        f"{PATHS.agent_mtp}MQTT.ResponseTopicConfigured": _template(agent_topic, "agent_topic"),
        f"{PATHS.mqtt_client}BrokerAddress": broker_host,
        f"{PATHS.mqtt_client}BrokerPort": str(broker_port or 1883),
        f"{PATHS.mqtt_client}ProtocolVersion": "5.0" if group.mqtt_version == 5 else "3.1.1",
        f"{PATHS.mqtt_client}TransportProtocol": "TLS" if brk.tls is not None else "TCP/IP",
        f"{PATHS.mqtt_client}KeepAliveTime": str(brk.keep_alive),
        f"{PATHS.mqtt_client}ClientID": _template(brk.client_id or "{endpoint_id}", "client_id"),
        f"{PATHS.mqtt_client}Subscription.1.Topic": _template(agent_topic, "agent_topic"),
    }
    if brk.username is not None:
        values[f"{PATHS.mqtt_client}Username"] = _template(brk.username, "username")
    if brk.password is not None:
        values[f"{PATHS.mqtt_client}Password"] = _template(brk.password, "password")
    initial_values = dict(base.initial_values)
    initial_tables = dict(base.initial_tables)
    reader = ModelReader(base, Persona(0), track_changes=False)
    for path, value in values.items():
        obj_path, _, name = path.rpartition(".")
        located = reader.resolver.locate(obj_path)
        param = located[0].params.get(name) if located is not None else None
        if located is None or param is None:
            continue  # the profile has no such parameter: the driver falls back to the scenario
        initial_values[(param.id, located[1])] = value
    if ctl.boot_subscription:
        _add_boot_subscription(base, reader, initial_tables, initial_values)
    return Schema(
        base.name, base.uri, base.root, list(base.nodes), initial_tables, initial_values, base.source
    )


def _add_boot_subscription(
    base: Schema,
    reader: ModelReader,
    tables: dict[tuple[int, tuple[int, ...]], tuple[int, ...]],
    values: dict[tuple[int, tuple[int, ...]], str | Generator],
) -> None:
    """Add an enabled Event subscription on Device.Boot! for controller 1 unless the profile has one."""
    table = base.lookup(_SUBSCRIPTION_TABLE)
    if not isinstance(table, ObjectNode) or reader.resolver.locate(PATHS.controller) is None:
        return
    existing = reader.store.instances(table, ())
    for number in existing:
        ref = table.params.get("ReferenceList")
        if ref is not None and "Device.Boot!" in reader.store.read(ref, (number,), 0.0):
            return
    number = max(existing, default=0) + 1
    tables[(table.id, ())] = (*existing, number)
    row = {
        "Enable": "true",
        "ID": "uspsim-boot",
        "NotifType": "Event",
        "ReferenceList": "Device.Boot!",
        "Recipient": PATHS.controller.rstrip("."),
        "Alias": f"cpe-{number}",
        "NotifRetry": "false",
        "Persistent": "true",
    }
    for name, value in row.items():
        param = table.params.get(name)
        if param is not None:
            values[(param.id, (number,))] = value
