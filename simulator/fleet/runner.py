"""Fleet: builds the agents of a scenario (or of one shard), ramps them up, polls, stops, reports.

# Strategy: no task per agent. Ramp-up starts drivers from a token bucket (``spawn_rate`` per group)
# and only the short connect coroutine of each driver is a task. Idle agents cost their objects and
# their sockets, nothing else. One fleet-wide timer drives ValueChange polling in slices, so polling
# 10,000 agents every 15 s is ~670 cheap calls per second instead of 10,000 timers. Once every agent
# has been started, ``gc.freeze()`` moves the long-lived objects out of the collector's way.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from simulator.agent.agent import Agent
from simulator.agent.behaviour import AgentBehaviour
from simulator.agent.context import AgentConfig, AgentContext
from simulator.agent.operate import CommandOptions
from simulator.datamodel.editing import DataModel
from simulator.datamodel.personas import Persona
from simulator.datamodel.schema import Schema
from simulator.fleet.behaviours import ScenarioEngine
from simulator.fleet.config import GroupConfig, ScenarioConfig
from simulator.fleet.driver import AgentDriver, DriverState
from simulator.fleet.limits import check_fd_limit
from simulator.fleet.metrics import Metrics
from simulator.fleet.mtp import Link, make_transport
from simulator.fleet.profiles import group_schema
from simulator.fleet.state import FleetState, PersistentDriver
from simulator.transports.base import Transport

__all__ = ["Fleet", "FleetStatus", "TransportFactory"]

logger = logging.getLogger(__name__)

TransportFactory = Callable[[Agent, Link], Transport]
"""Builds an agent's transport (default: MQTT or WebSocket from the group's MTP)."""

POLL_INTERVAL = 15.0
"""Seconds between two ValueChange polls of one agent (obuspa polls every 15 s)."""
_POLL_TICK = 1.0
_RAMP_GC_THRESHOLD = 50_000
"""Young-generation GC threshold (allocations) while the fleet ramps up (Python's default is 700)."""


@dataclass(frozen=True, slots=True)
class FleetStatus:
    """A snapshot for progress lines."""

    total: int
    started: int
    connected: int
    waiting: int
    failed: int


class Fleet:
    """The agents of one scenario (or one shard of it) and their drivers.

    Attributes:
        scenario: the configuration.
        metrics: event hook + stats shared by every driver.
        drivers: every built driver, in index order.
        errors: failures recorded for ``check()`` (first first; bounded).
    """

    def __init__(
        self,
        scenario: ScenarioConfig,
        *,
        host: str | None = None,
        port: int | None = None,
        shard: tuple[int, int] | None = None,
        metrics: Metrics | None = None,
        transport_factory: TransportFactory | None = None,
        strict_agents: bool = False,
        command_options: CommandOptions | None = None,
        max_connecting: int = 256,
        state: FleetState | None = None,
    ) -> None:
        """Validate and prepare (profiles are loaded here, before any connection opens).

        Args:
            scenario: the scenario.
            host: broker host (required when the scenario says ``embedded``: the running broker's).
            port: broker port.
            shard: (first fleet-wide index, count) this process owns; default: every agent.
            metrics: where drivers report; a new ``Metrics`` by default.
            transport_factory: replaces the MQTT/WebSocket transports (tests use memory transports).
            strict_agents: re-raise unexpected agent exceptions (tests).
            command_options: command durations (e.g. a short Reboot() boot delay for demos).
            max_connecting: connects in flight at once during ramp-up (the spawn rate still applies).
                Mosquitto 2.0 listens with a fixed backlog of 100 (no option); 256 in flight never
                overflowed its accept queue in the 10,000-agent bench while 512 sometimes did (each
                overflow is a connect delayed by the 1 s SYN-ACK retransmission).
            state: ``--state``: restore agents from it and commit their changes before answering.

        Raises:
            SchemaError: a profile is invalid.
        """
        self.scenario = scenario
        self.metrics = metrics or Metrics()
        self.host = host if host is not None else scenario.broker.host
        self.port = port if port is not None else scenario.broker.port
        self.transport_factory = transport_factory or make_transport
        self.strict_agents = strict_agents
        self.command_options = command_options
        self.max_connecting = max_connecting
        self.state = state
        first, count = shard if shard is not None else (0, scenario.total_agents)
        self.shard = (first, count)
        self.errors: list[tuple[str, BaseException]] = []
        self.drivers: list[AgentDriver] = []
        self._plan: list[tuple[GroupConfig, Schema, range]] = []
        for group in scenario.groups:
            lo = max(first, group.first_index)
            hi = min(first + count, group.first_index + group.count)
            if lo < hi:
                self._plan.append((group, group_schema(scenario, group, self.host, self.port), range(lo, hi)))
        self._links: dict[str, Link] = {}
        self._started = 0
        self._poll_handle: asyncio.TimerHandle | None = None
        self._poll_cursor = 0
        self._ramp: asyncio.Task[None] | None = None
        self.engine: ScenarioEngine | None = None
        """Scenario behaviours and faults (None when the scenario has neither)."""
        if scenario.behaviours or scenario.faults:
            self.engine = ScenarioEngine(
                scenario.behaviours, scenario.faults, self.metrics.events, scenario.total_agents,
                self.shard, scenario.seed,
            )

    @property
    def size(self) -> int:
        """Agents this fleet (shard) owns."""
        return sum(len(r) for _, _, r in self._plan)

    def status(self) -> FleetStatus:
        """Count drivers per state."""
        connected = waiting = failed = 0
        for d in self.drivers:
            s = d.state
            if s is DriverState.CONNECTED:
                connected += 1
            elif s is DriverState.WAITING or s is DriverState.CONNECTING:
                waiting += 1
            elif s is DriverState.FAILED:
                failed += 1
        return FleetStatus(self.size, self._started, connected, waiting, failed)

    def _record(self, driver: AgentDriver, exc: BaseException) -> None:
        if len(self.errors) < 100:
            self.errors.append((driver.endpoint_id, exc))

    def check(self) -> None:
        """Re-raise the first failure recorded by any driver (architecture.md B7.8)."""
        if self.errors:
            raise self.errors[0][1]

    def last_connect_error(self) -> BaseException | None:
        """The error of some agent still waiting to reconnect (for "broker unreachable" messages)."""
        return next((d.error for d in self.drivers if d.state is DriverState.WAITING and d.error), None)

    def build_agent(self, group: GroupConfig, schema: Schema, index: int, boot_time: float) -> Agent:
        """Create one agent (its own store over the shared Schema)."""
        eid = group.endpoint_id_of(index)
        persona = Persona(index, eid, boot_time=boot_time, fleet_seed=self.scenario.seed)
        config = AgentConfig(endpoint_id=eid, strict=self.strict_agents)
        agent = Agent(config, DataModel(schema, persona), self._behaviour)
        if self.state is not None:  # persistence hook (simulator/fleet/state.py)
            self.state.restore(agent)
        return agent

    def _behaviour(self, ctx: AgentContext) -> AgentBehaviour:
        return AgentBehaviour(ctx, options=self.command_options)

    def _make_driver(self, link: Link, schema: Schema, index: int, boot_time: float) -> AgentDriver:
        agent = self.build_agent(link.group, schema, index, boot_time)
        transport = self.transport_factory(agent, link)
        extra = {} if self.state is None else {"fleet_state": self.state}  # persistence hook
        driver = (AgentDriver if self.state is None else PersistentDriver)(
            agent,
            transport,
            self.metrics.events,
            controller_id=link.controller_id,
            mtp=link.mtp,
            mqtt_version=link.group.mqtt_version,
            send_connect_record=self.scenario.controller.send_connect_record,
            epoch_offset=link.epoch_offset,
            on_error=self._record,
            **extra,  # type: ignore[arg-type]
        )
        self.drivers.append(driver)
        if self.engine is not None:
            self.engine.attach(driver, index)
        return driver

    # -- running ---------------------------------------------------------------------------------------
    async def start(self, progress: Callable[[FleetStatus], None] | None = None) -> None:
        """Create and start every agent at the groups' spawn rates; returns when all were started.

        Args:
            progress: called about ten times per second during the ramp-up.

        Raises:
            ConfigError: RLIMIT_NOFILE is too low for this many sockets (``ulimit -n``).
        """
        if self.transport_factory is make_transport:  # one socket per agent: fail before the first one
            check_fd_limit(self.size, source=self.scenario.source)
        loop = asyncio.get_running_loop()
        offset = time.time() - loop.time()
        boot_time = time.time()
        if self.engine is not None:
            self.engine.start(loop)
        slot = asyncio.Event()
        # A ramp-up allocates hundreds of thousands of long-lived objects and almost no cyclic garbage:
        # young-generation collections every 700 allocations (each also scanning the agents built since
        # the last freeze) cost ~10 % of the connect CPU. Collect rarely until the final freeze.
        thresholds = gc.get_threshold()
        gc.set_threshold(max(thresholds[0], _RAMP_GC_THRESHOLD), *thresholds[1:])
        try:
            await self._ramp_up(loop, boot_time, offset, progress, slot)
        finally:
            gc.set_threshold(*thresholds)
        if progress is not None:
            progress(self.status())
        gc.collect()
        gc.freeze()
        self._poll_handle = loop.call_later(_POLL_TICK, self._poll)

    async def _ramp_up(
        self,
        loop: asyncio.AbstractEventLoop,
        boot_time: float,
        offset: float,
        progress: Callable[[FleetStatus], None] | None,
        slot: asyncio.Event,
    ) -> None:
        inflight = 0

        def connect_done(_task: asyncio.Task[None]) -> None:
            nonlocal inflight
            inflight -= 1
            slot.set()

        for group, schema, indexes in self._plan:
            link = Link(self.scenario, group, self.host, self.port, offset)
            self._links[group.name] = link
            begin = loop.time()
            for done, index in enumerate(indexes):
                due = begin + done / group.spawn_rate
                if due > loop.time():
                    if progress is not None:
                        progress(self.status())
                    while due > loop.time():
                        await asyncio.sleep(min(due - loop.time(), 0.1))
                while inflight >= self.max_connecting:
                    # A storm larger than the broker's listen backlog loses SYNs and waits for TCP
                    # retransmission (1 s, 3 s...): bound the connects in flight instead.
                    slot.clear()
                    await slot.wait()
                driver = self._make_driver(link, schema, index, boot_time)
                inflight += 1
                driver.start().add_done_callback(connect_done)
                self._started += 1
                if done % 256 == 255:
                    if progress is not None:
                        progress(self.status())
                    await asyncio.sleep(0)
                if done % 1024 == 1023:
                    # Full collections over a heap that grows by thousands of long-lived agents make a
                    # connect storm quadratic; frozen objects are skipped by the collector.
                    gc.freeze()

    async def wait_connected(
        self, timeout: float, fraction: float = 1.0, progress: Callable[[FleetStatus], None] | None = None
    ) -> FleetStatus:
        """Wait until ``fraction`` of the agents are connected (or failed), or ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            st = self.status()
            if progress is not None:
                progress(st)
            if st.connected + st.failed >= fraction * st.total or loop.time() >= deadline:
                return st
            await asyncio.sleep(0.05)

    def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        drivers = self.drivers
        n = len(drivers)
        if n:
            share = max(1, int(n * _POLL_TICK / POLL_INTERVAL))
            for i in range(self._poll_cursor, self._poll_cursor + share):
                drivers[i % n].poll()
            self._poll_cursor = (self._poll_cursor + share) % n
        self._poll_handle = loop.call_later(_POLL_TICK, self._poll)

    async def stop(self, timeout: float = 5.0) -> None:
        """Graceful stop: DisconnectRecord + MQTT DISCONNECT for every connected agent, within ``timeout``."""
        if self._poll_handle is not None:
            self._poll_handle.cancel()
            self._poll_handle = None
        if self.engine is not None:
            self.engine.stop()
        if self.state is not None:  # persistence hook: answer what waits for a commit before stopping
            self.state.commit()
        drivers = self.drivers
        # The agents stay frozen while they stop: a full collection over 10,000 agents in the middle of
        # the shutdown costs about a second of the 5 s budget (issue 8); unfreeze once they are closed.
        results = await asyncio.gather(*(d.stop(True, timeout) for d in drivers), return_exceptions=True)
        gc.unfreeze()
        for driver, result in zip(drivers, results, strict=True):
            if isinstance(result, Exception):
                logger.error("%s: stop failed", driver.endpoint_id, exc_info=result)
                self._record(driver, result)
        if self.state is not None:  # persistence hook
            self.state.close()
