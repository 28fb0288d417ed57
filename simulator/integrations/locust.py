"""Locust runtime: ``UspAgentUser``, one virtual USP agent per Locust user, on gevent (architecture.md B1.2).

Import this module first in a locustfile: it imports ``locust`` before anything else, so gevent patches
the standard library before our modules load (B10 rule 2). It drives the same sans-I/O ``Agent`` the
asyncio fleet drives, over ``GeventMqttConnection``; no asyncio loop ever starts here (B4).

# Strategy: a user's ``on_start`` builds its agent (shared Schema, own store) and connects it in the
# user's greenlet; the connection's reader greenlet then answers controller requests by itself while
# the user's tasks (device-side behaviours: value changes, Wi-Fi clients, reboots, churn...) run between
# Locust waits. Agent timers are libev timers that spawn a greenlet when due. Everything the agent
# observes becomes one Locust request event with ``request_type="USP"`` and a low-cardinality name
# (B6): the message type, ``Notify:<kind>``, ``Connect`` or ``Onboarding``. EndpointIDs come from
# ``--usp-endpoint-template`` over ``worker_index * --usp-worker-stride + n``, so the workers of a
# distributed run own disjoint ranges.
"""

from __future__ import annotations

# isort: off
import locust  # first: gevent must patch the standard library before anything else loads
from locust import User, events

# isort: on

import itertools
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any

import gevent

from simulator.agent.actions import CancelTimer, Disconnect, HttpPost, Observe, Schedule, Send, Timer
from simulator.agent.agent import Agent
from simulator.agent.behaviour import AgentBehaviour
from simulator.agent.commands.rows import add_row, delete_row, table_node
from simulator.agent.context import AgentConfig, AgentContext
from simulator.agent.events import BootCause
from simulator.agent.faults import FaultPolicy, FaultSpec
from simulator.agent.operate import CommandOptions
from simulator.datamodel.editing import DataModel
from simulator.datamodel.personas import Persona
from simulator.datamodel.schema import Schema
from simulator.fleet.behaviours.spec import FaultConfig, parse_faults, stable_seed
from simulator.fleet.config import (
    PROFILES,
    BrokerConfig,
    ControllerConfig,
    GroupConfig,
    ScenarioConfig,
    find_datamodel,
    load_scenario,
    parse_broker_url,
)
from simulator.fleet.mtp import Link, mqtt_settings
from simulator.fleet.profiles import group_schema
from simulator.integrations.gevent_mqtt import GeventMqttConnection
from simulator.transports.base import ConnectionLostError, Packet, TransportError
from simulator.usp.errors import UspError
from simulator.usp.records import MQTTVersion

if TYPE_CHECKING:
    from simulator.agent.actions import Action

__all__ = ["AgentOptions", "UspAgentUser", "locust"]

logger = logging.getLogger(__name__)

_ASSOCIATED = "Device.WiFi.AccessPoint.{i}.AssociatedDevice.{i}."

REQUEST_TYPE = "USP"
"""``request_type`` of every statistic this module reports (architecture.md B6)."""

_OPTIONS: tuple[tuple[str, str, str, str], ...] = (
    # (option, env var, default, help)
    ("--usp-broker", "USP_SIM_BROKER_URL", "mqtt://127.0.0.1:1883", "MQTT broker URL (mqtt://host:port)"),
    ("--usp-scenario", "USP_SIM_SCENARIO", "", "scenario YAML: its first group's profile, topics, broker"),
    ("--usp-profile", "USP_SIM_PROFILE", "home-gateway", "data-model profile (datamodels/<name>.yaml)"),
    ("--usp-controller-profile", "USP_SIM_CONTROLLER_PROFILE", "generic", "oktopus|openusp|generic|..."),
    ("--usp-controller-id", "USP_SIM_CONTROLLER_ID", "", "controller EndpointID (default: the profile's)"),
    ("--usp-endpoint-template", "USP_SIM_ENDPOINT_TEMPLATE", "os::012345-LOC{index:08d}", "over {index}"),
    ("--usp-first-index", "USP_SIM_FIRST_INDEX", "0", "index of this run's first agent"),
    ("--usp-worker-stride", "USP_SIM_WORKER_STRIDE", "1000000", "indexes reserved per Locust worker"),
    ("--usp-mqtt-version", "USP_SIM_MQTT_VERSION", "5", "5 or 3.1.1"),
    ("--usp-subscriptions", "USP_SIM_SUBSCRIPTIONS", "auto", "on|off|auto: own Notify subscriptions"),
    ("--usp-periodic-interval", "USP_SIM_PERIODIC_INTERVAL", "0", "Periodic! seconds (0: profile's)"),
    ("--usp-boot-delay", "USP_SIM_BOOT_DELAY", "2", "seconds a rebooting agent stays offline"),
    ("--usp-faults", "USP_SIM_FAULTS", "", "YAML file with a faults: list (docs/scenario-format.md)"),
)


def _add_arguments(parser: Any) -> None:
    group = parser.add_argument_group("USP agents", "virtual USP agents (simulator.integrations.locust)")
    for option, env, default, text in _OPTIONS:
        group.add_argument(option, type=str, env_var=env, default=default, help=text)


events.init_command_line_parser.add_listener(_add_arguments)  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """What every agent of this Locust process shares (built once from the parsed options).

    Attributes:
        scenario: broker, controller and the agents' group.
        schema: the group's shared Schema (broker and topics baked in).
        first_index: index of this process's first agent.
        subscriptions: agents create ValueChange/ObjectCreation/ObjectDeletion/Event subscriptions.
        periodic_interval: Controller.1.PeriodicNotifInterval override (0: keep the profile's).
        command_options: command durations (boot delay).
        faults: deliberate faults (simulator.agent.faults) the agents apply to their answers.
    """

    scenario: ScenarioConfig
    schema: Schema
    first_index: int
    subscriptions: bool
    periodic_interval: int
    command_options: CommandOptions
    faults: tuple[FaultConfig, ...] = ()
    """Scenario ``faults:`` (``--usp-scenario``) plus ``--usp-faults``; applied by ``FaultPolicy``."""

    def faults_for(self, number: int) -> tuple[FaultSpec, ...]:
        """The fault specs carried by this process's user ``number`` (0-based, in spawn order).

        Locust has no fleet size known in advance, so an ``agents:`` selection reads per process:
        ``indexes`` are user numbers, ``count: N`` is the first N users, ``share: f`` selects each user
        with probability f (drawn from the seed, the fault and the user number).
        """
        seed = self.scenario.seed
        out = []
        for i, cfg in enumerate(self.faults):
            sel, salt = cfg.agents, f"fault{i}/{cfg.spec.kind.value}"
            if sel.indexes:
                chosen = number in sel.resolve(max(hi for _, hi in sel.indexes), salt, seed)
            elif sel.count is not None:
                chosen = number < sel.count
            elif sel.share is not None:
                chosen = random.Random(stable_seed(seed, salt, number)).random() < sel.share
            else:
                chosen = True
            if chosen:
                out.append(cfg.spec)
        return tuple(out)

    @property
    def group(self) -> GroupConfig:
        """The group agents are built from."""
        return self.scenario.groups[0]

    @classmethod
    def from_options(cls, options: Any, worker_index: int) -> AgentOptions:
        """Build from Locust's parsed options (``environment.parsed_options``) or defaults from env vars."""

        def opt(name: str) -> str:
            value = getattr(options, name, None) if options is not None else None
            if value is None:
                spec = next(o for o in _OPTIONS if o[0] == "--" + name.replace("_", "-"))
                value = os.environ.get(spec[1], spec[2])
            return str(value)

        host, port, tls = parse_broker_url(opt("usp_broker"), "<locust>", 0, "--usp-broker")
        broker = BrokerConfig(url=opt("usp_broker"), host=host, port=port, tls=tls)
        version = 4 if opt("usp_mqtt_version") in ("4", "3.1.1") else 5
        faults: tuple[FaultConfig, ...] = ()
        if opt("usp_scenario"):
            base = load_scenario(opt("usp_scenario"))
            faults = base.faults
            first = base.groups[0]
            controller = base.controller
            if getattr(options, "usp_broker", None) or os.environ.get("USP_SIM_BROKER_URL"):
                base = base.with_broker(opt("usp_broker"))
            broker = base.broker
            template, profile_path = first.endpoint_id, first.profile
            version = first.mqtt_version
        else:
            name = opt("usp_controller_profile")
            p = PROFILES[name]
            controller = ControllerConfig(
                profile=name,
                endpoint_id=opt("usp_controller_id") or p.endpoint_id,
                agent_topic=p.agent_topic,
                controller_topic=p.controller_topic,
                ws_url=p.ws_url,
                mqtt_version=p.mqtt_version,
                send_connect_record=p.send_connect_record,
                boot_subscription=p.boot_subscription,
            )
            found = find_datamodel(opt("usp_profile"))
            if found is None:
                msg = f"--usp-profile: no data model {opt('usp_profile')!r} (datamodels/<name>.yaml)"
                raise ValueError(msg)
            template, profile_path = opt("usp_endpoint_template"), str(found)
        group = GroupConfig("locust", profile_path, 1, template, "mqtt", version, 1e9, "")
        scenario = ScenarioConfig("locust", "<locust>", broker, controller, (group,))
        if opt("usp_faults"):
            faults += load_faults(opt("usp_faults"))
        subs = opt("usp_subscriptions")
        first_index = int(opt("usp_first_index")) + max(0, worker_index) * int(opt("usp_worker_stride"))
        return cls(
            scenario=scenario,
            schema=group_schema(scenario, group, broker.host, broker.port),
            first_index=first_index,
            subscriptions=subs == "on" or (subs == "auto" and controller.profile != "oktopus"),
            periodic_interval=int(opt("usp_periodic_interval")),
            command_options=CommandOptions(boot_delay=float(opt("usp_boot_delay"))),
            faults=faults,
        )


def load_faults(path: str) -> tuple[FaultConfig, ...]:
    """The ``faults:`` list of a YAML file (a scenario or a file with only ``faults:``).

    Raises:
        ConfigError: unreadable file or an invalid entry (file, line, key path).
    """
    from simulator.fleet.config import _Reader
    from simulator.fleet.yamlsource import read_yaml

    return parse_faults(_Reader(path), read_yaml(path), 1)


_SHARED: dict[int, AgentOptions] = {}
_COUNTER = itertools.count()

LOAD_SUBSCRIPTIONS: tuple[tuple[str, str, str], ...] = (
    ("locust-vc", "ValueChange", "Device.DeviceInfo.FriendlyName"),
    ("locust-oc", "ObjectCreation", "Device.WiFi.AccessPoint.1.AssociatedDevice."),
    ("locust-od", "ObjectDeletion", "Device.WiFi.AccessPoint.1.AssociatedDevice."),
    ("locust-periodic", "Event", "Device.LocalAgent.Periodic!"),
    ("locust-push", "Event", "Device.BulkData.Profile.1.Push!"),
)
"""Subscriptions an agent creates for itself when no controller does (``--usp-subscriptions``)."""


def _shared(environment: Any) -> AgentOptions:
    """The process-wide options (built by ``_prepare`` at init; on first use otherwise)."""
    worker_index = max(0, int(getattr(environment.runner, "worker_index", 0) or 0))
    shared = _SHARED.get(worker_index)
    if shared is None:
        # A native thread: the hub keeps running (heartbeats to the master) while the Schema loads.
        pool = gevent.get_hub().threadpool
        shared = pool.apply(AgentOptions.from_options, (environment.parsed_options, worker_index))
        shared = _SHARED.setdefault(worker_index, shared)
    return shared


_T0: list[float] = []
"""Monotonic time of the test start (fault ``start``/``stop`` windows count from it)."""


def _prepare(environment: Any, runner: Any = None, **_kw: Any) -> None:
    """``init``: load the options and the Schema now, before the first spawn.

    Strategy: building the Schema is CPU-bound (YAML + validation, seconds on a busy 2-core machine).
    Done in the first user's ``__init__`` on the hub, it starved the worker's heartbeat greenlet: with
    both workers silent past Locust's heartbeat liveness (3 s) the master logged "the last worker went
    missing, stopping test" and no agent ever connected (the distributed test's "0 agents"). Now it
    runs once per process at ``init`` (the worker is connected, its index known, no users yet) in a
    native thread of gevent's threadpool, so heartbeats keep flowing however long it takes; the first
    spawn finds it ready. The master builds nothing (it runs no users).
    """
    from locust.runners import MasterRunner

    if isinstance(runner, MasterRunner) or getattr(environment, "parsed_options", None) is None:
        return
    _shared(environment)


def _test_start(**_kw: Any) -> None:
    _T0[:] = [time.monotonic()]


events.init.add_listener(_prepare)  # type: ignore[no-untyped-call]
events.test_start.add_listener(_test_start)  # type: ignore[no-untyped-call]


class UspAgentUser(User):
    """One virtual USP agent per Locust user (abstract: subclass it and add ``@task`` behaviours).

    The helper methods (``value_change``, ``wifi_client_join``...) are device-side behaviours a
    locustfile schedules as weighted tasks; controller requests are answered by the connection's reader
    greenlet whatever the user is doing. Attributes are set in ``on_start``.
    """

    abstract = True

    def __init__(self, environment: Any) -> None:
        """Build the agent (no connection yet)."""
        super().__init__(environment)
        shared = self.shared = _shared(environment)
        self.number = next(_COUNTER)
        self.index = shared.first_index + self.number
        eid = shared.group.endpoint_id_of(self.index)
        persona = Persona(self.index, eid, boot_time=time.time(), fleet_seed=shared.scenario.seed)
        options = shared.command_options

        def behaviour(ctx: AgentContext) -> AgentBehaviour:
            return AgentBehaviour(ctx, options=options)

        self.agent = Agent(AgentConfig(endpoint_id=eid), DataModel(shared.schema, persona), behaviour)
        link = Link(shared.scenario, shared.group, shared.scenario.broker.host, shared.scenario.broker.port)
        self.link = link
        settings = mqtt_settings(self.agent, link)
        self.settings = settings
        self.connection = GeventMqttConnection(settings, self._on_packet, self._on_lost)
        self._timers: dict[Timer, Any] = {}
        self._first_request = False
        self._connected_at = 0.0
        self._down = False
        self._retry: Any = None
        self._attempt = 0
        """Reconnect attempts since the last successful connect (ConnectRetry* back-off)."""
        self._stopping = False
        self.rng = random.Random(self.index)
        specs = shared.faults_for(self.number)
        rng = random.Random(stable_seed(shared.scenario.seed, "faults", eid))
        self.faults = FaultPolicy(specs, rng) if specs else None
        self._wifi: list[int] = []
        self._changes = 0
        if shared.subscriptions:
            self._subscribe()

    @property
    def endpoint_id(self) -> str:
        """The agent's EndpointID."""
        return self.agent.endpoint_id

    # -- stats ------------------------------------------------------------------------------------------
    def report(self, name: str, seconds: float, error: str | None = None, length: int = 0) -> None:
        """Fire one Locust request event (``request_type="USP"``)."""
        self.environment.events.request.fire(
            request_type=REQUEST_TYPE,
            name=name,
            response_time=seconds * 1000.0,
            response_length=length,
            exception=UspLoadError(error) if error else None,
            context={},
        )

    # -- lifecycle --------------------------------------------------------------------------------------
    def on_start(self) -> None:
        """Boot the agent and connect it (blocks this user's greenlet until the SUBACK)."""
        self._execute(self._call(self.agent.start, time.time()))
        self._connect()

    def on_stop(self) -> None:
        """DisconnectRecord + MQTT DISCONNECT; cancel every timer."""
        self._stopping = True
        self._cancel_all()
        if self.connection.connected:
            self._execute([a for a in self._call(self.agent.stop, time.time()) if isinstance(a, Send)])
            self.connection.close(graceful=True)

    def _connect(self) -> bool:
        started = perf_counter()
        try:
            self.connection.connect()
        except TransportError as exc:
            self.report("Connect", perf_counter() - started, f"{type(exc).__name__}: {exc}")
            self._schedule_reconnect(self._backoff())
            return False
        self.report("Connect", perf_counter() - started)
        self._attempt = 0
        self._down = False
        self._connected_at, self._first_request = perf_counter(), True
        group = self.shared.group
        actions = self._call(
            self.agent.mtp_connected,
            time.time(),
            self.link.controller_id,
            mtp_kind="mqtt",
            mqtt_version=MQTTVersion.V5 if group.mqtt_version == 5 else MQTTVersion.V3_1_1,
            subscribed_topic=self.connection.reply_to or "",
        )
        if not self.shared.scenario.controller.send_connect_record:
            actions = [a for a in actions if not (isinstance(a, Send) and a.msg_type == "Connect")]
        self._execute(actions)
        return True

    def _on_lost(self, exc: TransportError) -> None:
        if self._stopping:
            return
        self.report("ConnectionLost", 0.0, str(exc))
        self._schedule_reconnect(self._backoff())

    def _backoff(self) -> float:
        """The next reconnect delay from the agent's own ConnectRetry* parameters (usp.retry, R-MQTT.10)."""
        self._attempt += 1
        return self.settings.retry_delay(self._attempt, self.rng)

    def _schedule_reconnect(self, delay: float) -> None:
        if self._stopping or self._retry is not None:
            return
        self._down = True
        self._retry = gevent.spawn_later(delay, self._reconnect)

    def _reconnect(self) -> None:
        self._retry = None
        if not self._stopping and not self.connection.connected:
            self._connect()

    def _cancel_all(self) -> None:
        for handle in self._timers.values():
            handle.stop()
        self._timers.clear()
        if self._retry is not None:
            self._retry.kill(block=False)
            self._retry = None

    # -- agent calls --------------------------------------------------------------------------------------
    def _call(self, fn: Callable[..., list[Action]], *args: Any, **kwargs: Any) -> list[Action]:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # a bug: visible in the stats and the log, never kills the user
            logger.exception("%s: agent call failed", self.endpoint_id)
            self.report("AgentError", 0.0, f"{type(exc).__name__}: {exc}")
            return []

    def _on_packet(self, packet: Packet) -> None:
        start = perf_counter()
        if self._first_request:
            self._first_request = False
            self.report("Onboarding", start - self._connected_at)
        actions = self._call(self.agent.receive, packet.payload, time.time(), packet.reply_to)
        if self.faults is not None and actions:
            elapsed = time.monotonic() - (_T0[0] if _T0 else 0.0)
            faulted = self.faults.process(actions, self.agent.ctx, elapsed)
            actions = faulted.now
            for delay, send in faulted.later:
                gevent.spawn_later(delay, self._send_later, send)
        self._execute(actions, start)

    def _send_later(self, send: Send) -> None:
        """A delayed answer (``late`` / ``duplicate`` faults); dropped when the agent went offline."""
        if not self._stopping and self.connection.connected:
            self._send(send)

    def _fire(self, timer: Timer) -> None:
        self._timers.pop(timer, None)
        self._execute(self._call(self.agent.fire, timer, time.time()))

    def _execute(self, actions: list[Action], start: float | None = None) -> None:
        for action in actions:
            cls = action.__class__
            if cls is Send:
                self._send(action)  # type: ignore[arg-type]
            elif cls is Observe:
                self._observe(action, start)  # type: ignore[arg-type]
            elif cls is Schedule:
                self._schedule(action)  # type: ignore[arg-type]
            elif cls is CancelTimer:
                handle = self._timers.pop(action.timer, None)  # type: ignore[union-attr]
                if handle is not None:
                    handle.stop()
            elif cls is Disconnect:
                self._disconnect(action)  # type: ignore[arg-type]
            elif cls is HttpPost:
                self.report("BulkData:HTTP", 0.0, "HTTP bulk data is not sent from Locust users")

    def _observe(self, obs: Observe, start: float | None) -> None:
        name = obs.name
        if name == "request":
            elapsed = perf_counter() - start if start is not None else 0.0
            self.report(obs.kind, elapsed, f"USP error {obs.error}" if obs.error else None)
        elif name == "notify_resp":
            if obs.kind.startswith("Notify:"):  # the agent also observes the bare "NotifyResp" receipt
                self.report(obs.kind, obs.value)
        elif name == "fault":  # an injected fault (--usp-faults): counted, not a failure
            self.report(f"Fault:{obs.kind}", 0.0)
        elif name in ("notify_expired", "internal_error", "record_error", "notify_dropped"):
            self.report(obs.kind or name, 0.0, name)

    def _send(self, send: Send) -> None:
        try:
            self.connection.send(send.record, send.reply_to)
        except ConnectionLostError:
            self.report(send.msg_type or "Send", 0.0, "send_dropped")
        except TransportError as exc:
            self.report(send.msg_type or "Send", 0.0, f"send_error: {exc}")

    def _schedule(self, schedule: Schedule) -> None:
        old = self._timers.get(schedule.timer)
        if old is not None:
            old.stop()
        handle = gevent.get_hub().loop.timer(max(0.0, schedule.at - time.time()))
        self._timers[schedule.timer] = handle
        handle.start(gevent.spawn, self._fire, schedule.timer)

    def _disconnect(self, action: Disconnect) -> None:
        if not self.connection.connected:
            return
        self.connection.close(graceful=True)
        self._down = True
        if action.reconnect_after is not None:
            self._schedule_reconnect(action.reconnect_after)

    # -- device-side behaviours (call them from @task methods) --------------------------------------------
    def _local(self, change: Callable[[DataModel, float], object]) -> None:
        """Apply a device-side change to the data model; the agent notifies its subscribers."""
        if self._down or not self.connection.connected:
            return
        now = time.time()
        try:
            change(self.agent.ctx.datamodel, now)
        except UspError as exc:
            self.report("LocalChange", 0.0, f"USP error {exc.error_code}")
            return
        self._execute(self._call(self.agent.poll, now))

    def value_change(self, count: int = 1) -> None:
        """``count`` changes of ``Device.DeviceInfo.FriendlyName`` (a ValueChange each)."""
        for _ in range(count):
            self._changes += 1
            value = f"cpe-{self.index % 100000}-{self._changes % 100000}"
            self._local(_set_friendly_name(value))

    def wifi_client_join(self) -> None:
        """A Wi-Fi client associates: AssociatedDevice row created (ObjectCreation)."""
        mac = "02:" + ":".join(f"{self.rng.randrange(256):02x}" for _ in range(5))

        def add(dm: DataModel, now: float) -> None:
            ctx = self.agent.ctx
            ctx.now = now
            table = table_node(ctx, _ASSOCIATED)
            if table is not None:
                self._wifi.append(add_row(ctx, table, (1,), {"MACAddress": mac})[-1])

        self._local(add)

    def wifi_client_leave(self) -> None:
        """A Wi-Fi client leaves: the oldest AssociatedDevice row this user added goes (ObjectDeletion)."""
        if not self._wifi:
            return
        number = self._wifi.pop(0)

        def delete(dm: DataModel, now: float) -> None:
            ctx = self.agent.ctx
            ctx.now = now
            table = table_node(ctx, _ASSOCIATED)
            if table is not None:
                delete_row(ctx, table, (1, number))

        self._local(delete)

    def periodic_notify(self) -> None:
        """Send Periodic! now (as when PeriodicNotifInterval elapses)."""
        self._timer_now(Timer("periodic", (1,)))

    def bulk_data_report(self) -> None:
        """Bulk Data Profile.1 collects now (a Push! event, or an HTTP report for HTTP profiles)."""
        if self._down or not self.connection.connected or self.agent.behaviour is None:
            return
        behaviour: Any = self.agent.behaviour
        behaviour.force_collection(1, time.time())
        self._timer_now(Timer("locust-flush"))

    def reboot(self) -> None:
        """LocalReboot: DisconnectRecord, offline for ``--usp-boot-delay`` s, then Boot! on reconnect."""
        if self._down or not self.connection.connected or self.agent.behaviour is None:
            return
        behaviour: Any = self.agent.behaviour
        now = time.time()
        self._execute([a for a in self._call(self.agent.stop, now, "reboot") if isinstance(a, Send)])
        behaviour.reboot(BootCause("LocalReboot"), now)
        self._timer_now(Timer("locust-flush"))

    def churn(self, offline: float | None = None) -> None:
        """Graceful disconnect (MQTT DISCONNECT), reconnect after ``offline`` seconds.

        ``None``: after the agent's ConnectRetry* back-off (first window: ConnectRetryTime ..
        2 x ConnectRetryTime, 5-10 s by default), as a real device reconnects.
        """
        if self._down or not self.connection.connected:
            return
        self._execute([Disconnect("churn", offline if offline is not None else self._backoff())])

    def fault(self, offline: float | None = None) -> None:
        """Drop the TCP connection without DISCONNECT (the broker publishes the Will), then reconnect
        after ``offline`` seconds (``None``: the agent's ConnectRetry* back-off)."""
        if self._down or not self.connection.connected:
            return
        self.connection.close(graceful=False)
        self._down = True
        self._schedule_reconnect(offline if offline is not None else self._backoff())

    def _timer_now(self, timer: Timer) -> None:
        if self._down or not self.connection.connected:
            return
        self._execute(self._call(self.agent.fire, timer, time.time()))

    def _subscribe(self) -> None:
        dm = self.agent.ctx.datamodel
        now = time.time()
        recipient = "Device.LocalAgent.Controller.1"
        for sid, kind, ref in LOAD_SUBSCRIPTIONS:
            row = {"Enable": "true", "ID": sid, "NotifType": kind, "ReferenceList": ref,
                   "Recipient": recipient, "NotifRetry": "true", "Persistent": "true"}
            try:
                dm.add("Device.LocalAgent.Subscription.", row, now=now)
            except UspError as exc:
                logger.debug("%s: subscription %s not created: %s", self.endpoint_id, sid, exc)
        if self.shared.periodic_interval > 0:
            try:
                dm.set("Device.LocalAgent.Controller.1.",
                       {"PeriodicNotifInterval": str(self.shared.periodic_interval)}, now=now)
            except UspError as exc:
                logger.debug("%s: PeriodicNotifInterval not set: %s", self.endpoint_id, exc)
        dm.drain_changes()


def _set_friendly_name(value: str) -> Callable[[DataModel, float], object]:
    def change(dm: DataModel, now: float) -> object:
        return dm.set("Device.DeviceInfo.", {"FriendlyName": value}, now=now)

    return change


class UspLoadError(Exception):
    """A failed USP observation as reported to Locust (the text is the failure's grouping key)."""
