"""Scenario files (scenarios/*.yaml) -> frozen ScenarioConfig, validated before any connection opens.

The format is documented in docs/scenario-format.md. Every mistake raises ``ConfigError`` naming the
file, the line and the key path and saying what was expected.
"""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from simulator.fleet.behaviours.spec import BehaviourSpec, FaultConfig, parse_behaviours, parse_faults
from simulator.fleet.yamlsource import COMMAND_LINE, ConfigError, Node, command_line_error, read_yaml

__all__ = [
    "PROFILES",
    "BrokerConfig",
    "ConfigError",
    "ControllerConfig",
    "ControllerProfile",
    "GroupConfig",
    "ScenarioConfig",
    "TlsConfig",
    "find_datamodel",
    "load_scenario",
    "parse_broker_url",
]

_TOP = frozenset(
    {"name", "duration", "spawn_rate", "seed", "broker", "controller", "groups", "behaviours", "faults"}
)
_BROKER = frozenset({"url", "username", "password", "client_id", "keep_alive", "tls", "connect_timeout"})
_TLS = frozenset({"ca", "cert", "key", "insecure", "server_hostname"})
_CONTROLLER = frozenset(
    {
        "profile",
        "endpoint_id",
        "agent_topic",
        "controller_topic",
        "ws_url",
        "send_connect_record",
        "boot_subscription",
    }
)
_GROUP = frozenset({"name", "profile", "count", "endpoint_id", "mtp", "mqtt_version", "spawn_rate", "ws_url"})
_AGENT_FIELDS = frozenset({"endpoint_id", "index"})
_REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class ControllerProfile:
    """Defaults of one ``controller.profile`` (docs/controllers.md)."""

    endpoint_id: str
    agent_topic: str
    controller_topic: str
    ws_url: str
    mqtt_version: int
    send_connect_record: bool
    boot_subscription: bool


PROFILES: dict[str, ControllerProfile] = {
    "oktopus": ControllerProfile(
        "oktopusController",
        "oktopus/usp/v1/agent/{endpoint_id}",
        "oktopus/usp/v1/controller",
        "ws://127.0.0.1:8080/ws/agent",
        5,
        True,
        False,
    ),
    "oktopus-legacy": ControllerProfile(
        "oktopusController",
        "oktopus/v1/agent/{endpoint_id}",
        "oktopus/v1/controller",
        "ws://127.0.0.1:8080/ws/agent",
        5,
        True,
        False,
    ),
    "openusp": ControllerProfile(
        "self::openusp-controller",
        "usp/agent/{endpoint_id}",
        "usp/controller",
        "ws://127.0.0.1:8081/usp",
        5,
        True,
        True,
    ),
    "generic": ControllerProfile(
        "proto::controller",
        "usp/agent/{endpoint_id}",
        "usp/controller",
        "ws://127.0.0.1:8080/usp",
        5,
        True,
        True,
    ),
}
"""Controller profiles; every value can be overridden in the ``controller:`` section."""


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """TLS options of the broker connection (verification is on unless ``insecure``)."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    insecure: bool = False
    server_hostname: str | None = None


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """Where the MQTT agents connect.

    Attributes:
        url: the URL as written (``mqtt://host:port``, ``mqtts://host:port`` or ``embedded``).
        host: broker host ("" when embedded).
        port: broker port (0 when embedded: the runner picks one).
        tls: TLS options; set for ``mqtts://`` only.
        username: per-agent template (``{endpoint_id}``, ``{index}``) or None.
        password: per-agent template or None.
        client_id: per-agent template; "" means the EndpointID (obuspa default).
        keep_alive: MQTT Keep Alive seconds.
        connect_timeout: seconds for TCP + TLS + CONNACK + SUBACK.
    """

    url: str = "embedded"
    host: str = ""
    port: int = 0
    tls: TlsConfig | None = None
    username: str | None = None
    password: str | None = None
    client_id: str = ""
    keep_alive: int = 60
    connect_timeout: float = 10.0

    @property
    def embedded(self) -> bool:
        """True when the runner must start a local broker."""
        return self.url == "embedded"


@dataclass(frozen=True, slots=True)
class ControllerConfig:
    """The controller the agents talk to (topics are templates over ``{endpoint_id}``/``{controller_id}``)."""

    profile: str = "generic"
    endpoint_id: str = "proto::controller"
    agent_topic: str = "usp/agent/{endpoint_id}"
    controller_topic: str = "usp/controller"
    ws_url: str = "ws://127.0.0.1:8080/usp"
    mqtt_version: int = 5
    send_connect_record: bool = True
    boot_subscription: bool = True

    def agent_topic_for(self, endpoint_id: str) -> str:
        """The topic one agent subscribes to."""
        return self.agent_topic.format(endpoint_id=endpoint_id, controller_id=self.endpoint_id)


@dataclass(frozen=True, slots=True)
class GroupConfig:
    """One group of identical agents.

    Attributes:
        name: group name (logs, metrics).
        profile: resolved path of the data-model profile.
        count: agents in the group.
        endpoint_id: EndpointID template over the fleet-wide ``{index}`` (e.g. ``os::012345-SIM{index:06d}``).
        mtp: "mqtt" or "websocket".
        mqtt_version: 5 or 4 (3.1.1).
        spawn_rate: agents started per second during ramp-up.
        ws_url: WebSocket controller URL (``mtp: websocket``).
        first_index: fleet-wide index of the group's first agent.
    """

    name: str
    profile: str
    count: int
    endpoint_id: str
    mtp: str
    mqtt_version: int
    spawn_rate: float
    ws_url: str
    first_index: int = 0

    def endpoint_id_of(self, index: int) -> str:
        """The EndpointID of the agent with fleet-wide ``index``."""
        return self.endpoint_id.format(index=index)


@dataclass(frozen=True, slots=True)
class ScenarioConfig:
    """A whole scenario: broker, controller profile, agent groups, behaviours over time and faults."""

    name: str
    source: str
    broker: BrokerConfig
    controller: ControllerConfig
    groups: tuple[GroupConfig, ...]
    duration: float = 0.0
    seed: int = 0
    behaviours: tuple[BehaviourSpec, ...] = ()
    """Time-driven behaviours (simulator.fleet.behaviours), in file order."""
    faults: tuple[FaultConfig, ...] = ()
    """Deliberate faults (simulator.agent.faults), in file order."""

    @property
    def total_agents(self) -> int:
        """Number of agents over every group."""
        return sum(g.count for g in self.groups)

    def with_agents(self, total: int) -> ScenarioConfig:
        """Scale the groups proportionally to ``total`` agents (the last group takes the remainder)."""
        if total < 1:
            raise command_line_error(option="--agents", reason=f"must be >= 1, got {total}")
        old = self.total_agents
        counts = [max(1, g.count * total // old) for g in self.groups[:-1]]
        counts.append(max(1, total - sum(counts)))
        while sum(counts) > total and len(counts) > 1:
            counts.pop(0)
        groups = self.groups[-len(counts) :]
        return dataclasses.replace(
            self,
            groups=_renumber([dataclasses.replace(g, count=c) for g, c in zip(groups, counts, strict=True)]),
        )

    def with_broker(self, url: str) -> ScenarioConfig:
        """Point the scenario at another broker (``--broker``)."""
        host, port, tls = parse_broker_url(url, COMMAND_LINE, 0, "--broker")
        if tls is not None and self.broker.tls is not None:
            tls = self.broker.tls
        broker = dataclasses.replace(self.broker, url=url, host=host, port=port, tls=tls)
        return dataclasses.replace(self, broker=broker)


def _renumber(groups: list[GroupConfig]) -> tuple[GroupConfig, ...]:
    out, first = [], 0
    for g in groups:
        out.append(dataclasses.replace(g, first_index=first))
        first += g.count
    return tuple(out)


def parse_broker_url(url: str, file: str, line: int, key: str) -> tuple[str, int, TlsConfig | None]:
    """Split ``mqtt://host:port`` / ``mqtts://host:port`` / ``embedded`` into (host, port, tls).

    Raises:
        ConfigError: any other form.
    """
    if url == "embedded":
        return "", 0, None
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ConfigError(
            file, line, key, f"expected mqtt://host:port, mqtts://host:port or embedded, got {url!r}"
        )
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError:
        raise ConfigError(file, line, key, f"invalid port in {url!r}") from None
    return parts.hostname, port, TlsConfig() if parts.scheme == "mqtts" else None


def find_datamodel(name: str, base: Path | None = None) -> Path | None:
    """Resolve a profile name (``home-gateway``) or path to an existing file, or None."""
    candidates: list[Path] = []
    if name.endswith((".yaml", ".yml")) or "/" in name:
        p = Path(name)
        candidates += [p] if p.is_absolute() else [(base or Path.cwd()) / p, Path.cwd() / p]
    else:
        for root in (base.parent if base else None, Path.cwd(), _REPO_ROOT):
            if root is not None:
                candidates.append(root / "datamodels" / f"{name}.yaml")
        if base is not None:
            candidates.append(base / "datamodels" / f"{name}.yaml")
    return next((c for c in candidates if c.is_file()), None)


class _Reader:
    """Typed accessors that raise ConfigError with file, line and key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, node: Node, key: str, kp: str, reason: str) -> ConfigError:
        return ConfigError(self.file, node.line_of(key), kp, reason)

    def section(self, node: Node, key: str, kp: str, allowed: frozenset[str]) -> Node:
        value = node.get(key)
        if value is None:
            empty = Node()
            empty.line, empty.lines, empty.file = node.line_of(key), {}, self.file
            return empty
        if not isinstance(value, Node):
            raise self.fail(node, key, kp, f"expected a mapping with keys {', '.join(sorted(allowed))}")
        self.known(value, kp, allowed)
        return value

    def known(self, node: Node, kp: str, allowed: frozenset[str]) -> None:
        for key in node:
            if key not in allowed:
                raise self.fail(
                    node,
                    key,
                    f"{kp}.{key}" if kp else key,
                    f"unknown key; expected one of {', '.join(sorted(allowed))}",
                )

    def string(self, node: Node, key: str, kp: str, default: str | None) -> str | None:
        value = node.get(key, default)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise self.fail(node, key, kp, f"expected a string, got {type(value).__name__}")

    def number(
        self, node: Node, key: str, kp: str, default: float, *, minimum: float, integer: bool = False
    ) -> float:
        value = node.get(key, default)
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if not ok or isinstance(value, bool) or value < minimum:
            kind = "an integer" if integer else "a number"
            raise self.fail(node, key, kp, f"expected {kind} >= {minimum:g}, got {value!r}")
        return float(value)

    def flag(self, node: Node, key: str, kp: str, default: bool) -> bool:
        value = node.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(node, key, kp, f"expected true or false, got {value!r}")
        return value

    def template(self, node: Node, key: str, kp: str, value: str | None, fields: frozenset[str]) -> None:
        if value is None:
            return
        try:
            names = {
                f.split(".")[0].split("[")[0]
                for _, f, _, _ in string.Formatter().parse(value)
                if f is not None
            }
            bad = names - fields
            if bad or "" in names:
                reason = f"unknown template field(s) {sorted(bad)}; allowed: {', '.join(sorted(fields))}"
                raise self.fail(node, key, kp, reason)
            value.format(**dict.fromkeys(fields, 0))
        except (ValueError, IndexError, KeyError) as exc:
            raise self.fail(node, key, kp, f"invalid template {value!r}: {exc}") from None


def load_scenario(path: str | Path) -> ScenarioConfig:
    """Read and validate a scenario file.

    Args:
        path: the YAML file.

    Returns:
        The frozen configuration.

    Raises:
        ConfigError: anything invalid (file, line, key path and what was expected).
    """
    file = str(path)
    doc = read_yaml(file)
    r = _Reader(file)
    r.known(doc, "", _TOP)
    name = r.string(doc, "name", "name", Path(file).stem) or Path(file).stem
    duration = r.number(doc, "duration", "duration", 0, minimum=0)
    spawn_rate = r.number(doc, "spawn_rate", "spawn_rate", 100, minimum=0.001)
    seed = int(r.number(doc, "seed", "seed", 0, minimum=0, integer=True))
    broker = _broker(r, r.section(doc, "broker", "broker", _BROKER))
    controller = _controller(r, r.section(doc, "controller", "controller", _CONTROLLER))
    groups = _groups(r, doc, Path(file).resolve().parent, controller, spawn_rate)
    total = sum(g.count for g in groups)
    behaviours = parse_behaviours(r, doc, total)
    faults = parse_faults(r, doc, total)
    return ScenarioConfig(name, file, broker, controller, groups, duration, seed, behaviours, faults)


def _broker(r: _Reader, node: Node) -> BrokerConfig:
    url = r.string(node, "url", "broker.url", "embedded") or "embedded"
    host, port, tls = parse_broker_url(url, r.file, node.line_of("url"), "broker.url")
    if "tls" in node:
        tls_node = r.section(node, "tls", "broker.tls", _TLS)
        if tls is None:
            raise r.fail(node, "tls", "broker.tls", "TLS options need an mqtts:// broker url")
        tls = TlsConfig(
            r.string(tls_node, "ca", "broker.tls.ca", None),
            r.string(tls_node, "cert", "broker.tls.cert", None),
            r.string(tls_node, "key", "broker.tls.key", None),
            r.flag(tls_node, "insecure", "broker.tls.insecure", False),
            r.string(tls_node, "server_hostname", "broker.tls.server_hostname", None),
        )
        for key in ("ca", "cert", "key"):
            value = getattr(tls, key)
            if value is not None and not Path(value).is_file():
                raise r.fail(tls_node, key, f"broker.tls.{key}", f"file not found: {value}")
        if tls.key and not tls.cert:
            raise r.fail(tls_node, "key", "broker.tls.key", "a client key needs broker.tls.cert")
    out = BrokerConfig(
        url,
        host,
        port,
        tls,
        r.string(node, "username", "broker.username", None),
        r.string(node, "password", "broker.password", None),
        r.string(node, "client_id", "broker.client_id", "") or "",
        int(r.number(node, "keep_alive", "broker.keep_alive", 60, minimum=0, integer=True)),
        r.number(node, "connect_timeout", "broker.connect_timeout", 10, minimum=0.1),
    )
    for key in ("username", "password", "client_id"):
        r.template(node, key, f"broker.{key}", getattr(out, key), _AGENT_FIELDS)
    return out


def _controller(r: _Reader, node: Node) -> ControllerConfig:
    profile_name = r.string(node, "profile", "controller.profile", "generic") or "generic"
    if profile_name not in PROFILES:
        raise r.fail(
            node,
            "profile",
            "controller.profile",
            f"unknown controller profile {profile_name!r}; expected one of {', '.join(PROFILES)}",
        )
    p = PROFILES[profile_name]
    values: dict[str, Any] = {}
    for key in ("endpoint_id", "agent_topic", "controller_topic", "ws_url"):
        values[key] = r.string(node, key, f"controller.{key}", getattr(p, key)) or ""
        if not values[key]:
            raise r.fail(node, key, f"controller.{key}", "must not be empty")
        r.template(node, key, f"controller.{key}", values[key], frozenset({"endpoint_id", "controller_id"}))
    if "{endpoint_id}" not in values["agent_topic"]:
        raise r.fail(
            node,
            "agent_topic",
            "controller.agent_topic",
            "must contain {endpoint_id} so every agent has its own topic",
        )
    for key in ("send_connect_record", "boot_subscription"):
        values[key] = r.flag(node, key, f"controller.{key}", getattr(p, key))
    return ControllerConfig(profile=profile_name, mqtt_version=p.mqtt_version, **values)


def _groups(
    r: _Reader, doc: Node, base: Path, controller: ControllerConfig, spawn_rate: float
) -> tuple[GroupConfig, ...]:
    raw = doc.get("groups")
    if not isinstance(raw, list) or not raw:
        raise r.fail(doc, "groups", "groups", "expected a non-empty list of agent groups")
    groups: list[GroupConfig] = []
    seen: dict[str, int] = {}
    for i, node in enumerate(raw):
        kp = f"groups[{i}]"
        if not isinstance(node, Node):
            raise ConfigError(r.file, doc.line_of("groups"), kp, "expected a mapping (profile:, count:, ...)")
        r.known(node, kp, _GROUP)
        name = r.string(node, "name", f"{kp}.name", f"group{i}") or f"group{i}"
        profile = r.string(node, "profile", f"{kp}.profile", "minimal") or "minimal"
        found = find_datamodel(profile, base)
        if found is None:
            raise r.fail(
                node,
                "profile",
                f"{kp}.profile",
                f"data-model profile {profile!r} not found (datamodels/<name>.yaml or a file path)",
            )
        count = int(r.number(node, "count", f"{kp}.count", 1, minimum=1, integer=True))
        eid = r.string(node, "endpoint_id", f"{kp}.endpoint_id", "os::012345-SIM{index:06d}") or ""
        r.template(node, "endpoint_id", f"{kp}.endpoint_id", eid, frozenset({"index"}))
        if "{index" not in eid:
            raise r.fail(
                node, "endpoint_id", f"{kp}.endpoint_id", "must contain {index} (e.g. SIM{index:06d})"
            )
        if eid in seen:
            raise r.fail(node, "endpoint_id", f"{kp}.endpoint_id", f"same template as groups[{seen[eid]}]")
        seen[eid] = i
        mtp = r.string(node, "mtp", f"{kp}.mtp", "mqtt")
        if mtp not in ("mqtt", "websocket"):
            raise r.fail(node, "mtp", f"{kp}.mtp", f"expected mqtt or websocket, got {mtp!r}")
        version_raw = str(node.get("mqtt_version", controller.mqtt_version))
        versions = {"5": 5, "5.0": 5, "3.1.1": 4, "4": 4}
        if version_raw not in versions:
            raise r.fail(
                node, "mqtt_version", f"{kp}.mqtt_version", f"expected 5 or 3.1.1, got {version_raw!r}"
            )
        version = versions[version_raw]
        if version == 4 and controller.profile.startswith("oktopus"):
            raise r.fail(
                node,
                "mqtt_version",
                f"{kp}.mqtt_version",
                "Oktopus identifies devices by an MQTT 5 CONNECT user property; use 5",
            )
        rate = r.number(node, "spawn_rate", f"{kp}.spawn_rate", spawn_rate, minimum=0.001)
        ws_url = r.string(node, "ws_url", f"{kp}.ws_url", controller.ws_url) or ""
        if mtp == "websocket" and urlsplit(ws_url).scheme not in ("ws", "wss"):
            raise r.fail(node, "ws_url", f"{kp}.ws_url", f"expected ws://host:port/path, got {ws_url!r}")
        groups.append(GroupConfig(name, str(found), count, eid, str(mtp), version, rate, ws_url))
    return _renumber(groups)
