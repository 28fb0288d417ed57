"""ScenarioEngine: runs a scenario's behaviours on the loop and puts its faults into the drivers.

# Strategy: one ``Family`` object per ``behaviours:`` entry. Its agents are chosen once, reproducibly
# from the fleet seed, over the *whole* fleet (so ``--processes`` shards act on the same agents) and then
# limited to this shard. Time-driven families own ``Ticker``s on the loop clock (one timer per behaviour,
# never one per agent) and pick a connected agent at each tick; configuring families (periodic_notify,
# bulk_data) write an agent's data model when it is attached (or at their start time). Agents are
# touched only through their driver (``apply`` / ``disconnect_now``), and data-model writes are followed
# by an agent call, so change tracking turns them into ValueChange / ObjectCreation / ObjectDeletion
# exactly like a controller's writes. Faults are a per-driver hook over the sans-I/O ``FaultPolicy``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simulator.agent.actions import Action, Send, Timer
from simulator.agent.behaviour import AgentBehaviour
from simulator.agent.commands.rows import add_row, read, table_node
from simulator.agent.faults import FaultPolicy, FaultSpec
from simulator.fleet.behaviours.schedule import Clock, Handle, Ticker
from simulator.fleet.behaviours.spec import BehaviourSpec, FaultConfig, Rate, stable_seed
from simulator.fleet.driver import DriverState

if TYPE_CHECKING:
    from simulator.agent.agent import Agent
    from simulator.fleet.driver import AgentDriver
    from simulator.fleet.metrics import EventHook

__all__ = ["SCENARIO_TIMER", "Family", "ScenarioEngine", "act", "ensure_subscription"]

logger = logging.getLogger(__name__)

SCENARIO_TIMER = Timer("scenario")
"""A timer no behaviour owns: firing it makes the agent drain the change log (notifications)."""
CONTROLLER = "Device.LocalAgent.Controller.1"
_SUBSCRIPTIONS = "Device.LocalAgent.Subscription.{i}."


def act(
    driver: AgentDriver,
    fn: Callable[[Agent, float], list[Action]],
    keep: Callable[[Action], bool] | None = None,
) -> None:
    """Run ``fn(agent, now)`` on the agent of ``driver`` and let the agent react to what it changed.

    The data-model changes ``fn`` makes are drained by an ``Agent.fire`` of ``SCENARIO_TIMER`` (the
    agent notifies subscribers, queued reboots happen); the driver executes the resulting actions.
    Before the driver started, ``fn`` only writes: ``Agent.start`` drains the changes later.

    Args:
        driver: the agent's driver.
        fn: the edit; returns extra actions (e.g. an Operate's).
        keep: filter over the resulting actions (None keeps all).
    """
    agent = driver.agent
    now = driver.now()
    if driver.state is DriverState.IDLE:
        agent.ctx.now = now
        fn(agent, now)
        return

    def call(at: float) -> list[Action]:
        agent.ctx.now = at
        out = fn(agent, at)
        out += agent.fire(SCENARIO_TIMER, at)
        return [a for a in out if keep(a)] if keep is not None else out

    driver.apply(call, now)


def ensure_subscription(agent: Agent, notif_type: str, reference: str, sub_id: str) -> None:
    """Give Controller.1 an enabled subscription ``sub_id`` unless the agent already has one by that ID."""
    ctx = agent.ctx
    table = table_node(ctx, _SUBSCRIPTIONS)
    if table is None:
        return
    for number in ctx.store.instances(table, ()):
        if read(ctx, f"Device.LocalAgent.Subscription.{number}.ID") == sub_id:
            return
    add_row(ctx, table, (), {
        "Enable": "true", "ID": sub_id, "NotifType": notif_type, "ReferenceList": reference,
        "Recipient": CONTROLLER, "NotifRetry": "false", "Persistent": "true",
    })


def agent_behaviour(driver: AgentDriver) -> AgentBehaviour | None:
    """The agent's AgentBehaviour (commands, reboots), or None for agents built without it."""
    behaviour = driver.agent.behaviour
    return behaviour if isinstance(behaviour, AgentBehaviour) else None


class Family:
    """Base of one behaviour entry: agent selection, timers, counting.

    Subclasses override ``begin`` (at the start time), ``configure`` (per agent, for configuring
    families) and ``end`` (at the stop time).
    """

    configures = False
    """True when ``configure`` must run for every selected agent (also those attached later)."""

    def __init__(self, engine: ScenarioEngine, spec: BehaviourSpec, position: int) -> None:
        self.engine = engine
        self.spec = spec
        salt = f"{position}/{spec.kind}/{spec.name}"
        self.rng = random.Random(stable_seed(engine.seed, salt))
        first, count = engine.shard
        chosen = spec.agents.resolve(engine.total, salt, engine.seed)
        self.indexes = sorted(i for i in chosen if first <= i < first + count)
        self.selected = frozenset(self.indexes)
        self.started = False
        self.tickers: list[Ticker] = []
        self.handles: list[Handle] = []

    # -- lifecycle driven by the engine ---------------------------------------------------------------
    def schedule(self, t0: float) -> None:
        """Arrange ``begin`` at the start time and ``end`` at the stop time (loop times from ``t0``)."""
        clock = self.engine.clock
        spec = self.spec
        self.handles.append(clock.call_at(t0 + spec.start, self._begin))
        if spec.stop is not None:
            self.handles.append(clock.call_at(t0 + spec.stop, self._end))

    def _begin(self) -> None:
        self.started = True
        if self.configures:
            for index in self.indexes:
                driver = self.engine.driver(index)
                if driver is not None:
                    self._configure(driver)
        self.begin()

    def _end(self) -> None:
        self.cancel()
        self.end()

    def attached(self, driver: AgentDriver, index: int) -> None:
        """A driver was created: configuring families configure it when they already run."""
        if self.configures and self.started and index in self.selected:
            self._configure(driver)

    def _configure(self, driver: AgentDriver) -> None:
        try:
            self.configure(driver)
        except Exception:
            logger.exception("%s: behaviour %s failed", driver.endpoint_id, self.spec.name)
            self.count("error", error=1)

    def cancel(self) -> None:
        """Stop every timer of this behaviour."""
        for ticker in self.tickers:
            ticker.cancel()
        for handle in self.handles:
            handle.cancel()
        self.tickers.clear()
        self.handles.clear()

    # -- for subclasses ---------------------------------------------------------------------------------
    def begin(self) -> None:
        """At the start time."""

    def end(self) -> None:
        """At the stop time (timers are already cancelled)."""

    def configure(self, driver: AgentDriver) -> None:
        """Configure one selected agent (configuring families)."""

    def ticker(self, action: Callable[[], None], rate: Rate | None = None) -> Ticker:
        """A started Ticker from now until the stop time."""
        spec = self.spec
        rate = rate or spec.rate
        assert rate is not None, "time-driven behaviours have a rate (checked at load time)"
        end = self.engine.t0 + spec.stop if spec.stop is not None else None
        ticker = Ticker(self.engine.clock, rate, self.rng, action, self.engine.clock.time(), end)
        self.tickers.append(ticker)
        ticker.start()
        return ticker

    def agent_ticker(self, action: Callable[[AgentDriver], None], rate: Rate | None = None) -> Ticker:
        """A ticker whose every tick acts on one random connected agent of the selection (``pick``)."""

        def tick() -> None:
            driver = self.pick()
            if driver is not None:
                action(driver)

        return self.ticker(tick, rate)

    def pick(self, tries: int = 8) -> AgentDriver | None:
        """A random connected agent of the selection (None when ``tries`` draws found none)."""
        if not self.indexes:
            return None
        for _ in range(tries):
            driver = self.engine.driver(self.rng.choice(self.indexes))
            if driver is not None and driver.state is DriverState.CONNECTED:
                return driver
        self.count("skipped")
        return None

    def connected(self) -> list[AgentDriver]:
        """Every selected agent that is connected now, in index order."""
        out = []
        for index in self.indexes:
            driver = self.engine.driver(index)
            if driver is not None and driver.state is DriverState.CONNECTED:
                out.append(driver)
        return out

    def count(self, what: str = "", error: int = 0) -> None:
        """One behaviour action: metric ``behaviour`` with kind ``<kind>`` or ``<kind>:<what>``."""
        kind = f"{self.spec.kind}:{what}" if what else self.spec.kind
        self.engine.events.fire(name="behaviour", kind=kind, value=1.0, error=error)


class _FaultHook:
    """``AgentDriver.fault_hook``: the agent's FaultPolicy over each batch of answer actions."""

    __slots__ = ("engine", "policy")

    def __init__(self, engine: ScenarioEngine, policy: FaultPolicy) -> None:
        self.engine = engine
        self.policy = policy

    def __call__(self, driver: AgentDriver, actions: list[Action]) -> list[Action]:
        engine = self.engine
        faulted = self.policy.process(actions, driver.agent.ctx, engine.clock.time() - engine.t0)
        for delay, send in faulted.later:
            engine.clock.call_at(engine.clock.time() + delay, driver.apply, _just, send)
        return faulted.now


def _just(send: Send) -> list[Action]:
    return [send]


class ScenarioEngine:
    """The behaviours and faults of one fleet (or shard).

    Args:
        behaviours: the scenario's behaviour entries.
        faults: the scenario's fault entries.
        events: the fleet's EventHook (``behaviour`` counts; faults come as agent Observe actions).
        total: agents in the whole scenario (selection is fleet-wide).
        shard: (first index, count) this process owns.
        seed: the scenario seed.
    """

    def __init__(  # noqa: PLR0917
        self,
        behaviours: tuple[BehaviourSpec, ...],
        faults: tuple[FaultConfig, ...],
        events: EventHook,
        total: int,
        shard: tuple[int, int] | None = None,
        seed: int = 0,
    ) -> None:
        from simulator.fleet.behaviours import FAMILIES

        self.events = events
        self.total = total
        self.shard = shard if shard is not None else (0, total)
        self.seed = seed
        self.clock: Clock = _NoClock()
        self.t0 = 0.0
        self._drivers: dict[int, AgentDriver] = {}
        self.families: list[Family] = [FAMILIES[s.kind](self, s, i) for i, s in enumerate(behaviours)]
        self._faults = [
            (cfg.spec, cfg.agents.resolve(total, f"fault{i}/{cfg.spec.kind.value}", seed))
            for i, cfg in enumerate(faults)
        ]
        self.running = False

    def start(self, clock: Clock | None = None) -> None:
        """Start the clock of the scenario (call at the fleet start, before the ramp-up)."""
        self.clock = clock if clock is not None else asyncio.get_running_loop()
        self.t0 = self.clock.time()
        self.running = True
        for family in self.families:
            family.schedule(self.t0)

    def stop(self) -> None:
        """Cancel every behaviour timer (faults already applied stay applied)."""
        self.running = False
        for family in self.families:
            family.cancel()

    def driver(self, index: int) -> AgentDriver | None:
        """The driver of fleet-wide ``index`` when this shard created it."""
        return self._drivers.get(index)

    def faults_for(self, index: int) -> tuple[FaultSpec, ...]:
        """The fault specs carried by agent ``index``."""
        return tuple(spec for spec, chosen in self._faults if index in chosen)

    def attach(self, driver: AgentDriver, index: int) -> None:
        """A driver was created (before its start): install its fault hook, configure it."""
        self._drivers[index] = driver
        specs = self.faults_for(index)
        if specs:
            rng = random.Random(stable_seed(self.seed, "faults", driver.endpoint_id))
            driver.fault_hook = _FaultHook(self, FaultPolicy(specs, rng))
        for family in self.families:
            family.attached(driver, index)


class _NoClock:
    """Placeholder until ``start``."""

    def time(self) -> float:
        return 0.0

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Handle:
        msg = "ScenarioEngine.start() was not called"
        raise RuntimeError(msg)
