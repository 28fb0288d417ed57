"""Agent-initiated reporting: ``periodic_notify`` (Periodic! events) and ``bulk_data`` (Bulk Data reports).

Both configure the agent the way a controller (or a factory default) would, and then the agent's own
timers do the work, so load and timing are the agent's real ones:

- ``periodic_notify`` sets ``Controller.1.PeriodicNotifInterval`` and a random per-agent
  ``PeriodicNotifTime`` phase (so a fleet does not fire in lock-step) and, with ``subscribe``, adds an
  Event subscription on ``Device.LocalAgent.Periodic!``;
- ``bulk_data`` enables ``BulkData.Profile.{profile}`` with ``interval`` and ``protocol`` (USPEventNotif:
  a ``Push!`` event to subscribers; HTTP: a POST to ``url``), with a random phase too. The profile's
  ``Device.BulkData.MinReportingInterval`` (a device capability, 60 s in home-gateway) is lowered to
  ``interval`` when it is larger, so short intervals work in tests.

At ``stop`` the subscription / profile is disabled again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.agent.commands.rows import read, write
from simulator.agent.context import iso8601
from simulator.fleet.behaviours.engine import CONTROLLER, Family, act, ensure_subscription

if TYPE_CHECKING:
    from simulator.agent.actions import Action
    from simulator.agent.agent import Agent
    from simulator.fleet.driver import AgentDriver

__all__ = ["BulkDataBehaviour", "PeriodicNotify"]

PERIODIC_SUB = "uspsim-periodic"
BULK_SUB = "uspsim-bulkdata"


def _write(agent: Agent, path: str, value: str) -> list[Action]:
    write(agent.ctx, path, value)
    return []


def _disable_subscription(agent: Agent, sub_id: str) -> list[Action]:
    ctx = agent.ctx
    node = ctx.schema.lookup("Device.LocalAgent.Subscription.{i}.")
    if node is None:
        return []
    for number in ctx.store.instances(node, ()):  # type: ignore[arg-type]
        base = f"Device.LocalAgent.Subscription.{number}."
        if read(ctx, base + "ID") == sub_id:
            write(ctx, base + "Enable", "false")
    return []


class PeriodicNotify(Family):
    """Periodic! every ``interval`` seconds from every selected agent."""

    configures = True

    def configure(self, driver: AgentDriver) -> None:
        interval = int(self.spec.opt("interval"))
        subscribe = bool(self.spec.opt("subscribe"))
        phase = self.rng.uniform(0, interval)

        def edit(agent: Agent, now: float) -> list[Action]:
            ctx = agent.ctx
            write(ctx, f"{CONTROLLER}.PeriodicNotifTime", iso8601(int(now + phase)))
            write(ctx, f"{CONTROLLER}.PeriodicNotifInterval", str(interval))
            if subscribe:
                ensure_subscription(agent, "Event", "Device.LocalAgent.Periodic!", PERIODIC_SUB)
            return []

        act(driver, edit)
        self.count()

    def end(self) -> None:
        for index in self.indexes:
            driver = self.engine.driver(index)
            if driver is not None:
                act(driver, lambda agent, _now: _disable_subscription(agent, PERIODIC_SUB))


class BulkDataBehaviour(Family):
    """A Bulk Data report every ``interval`` seconds from every selected agent."""

    configures = True

    def configure(self, driver: AgentDriver) -> None:
        spec = self.spec
        interval, number = int(spec.opt("interval")), int(spec.opt("profile"))
        protocol, url = str(spec.opt("protocol")), str(spec.opt("url"))
        subscribe = bool(spec.opt("subscribe")) and protocol == "USPEventNotif"
        phase = self.rng.uniform(0, interval)
        base = f"Device.BulkData.Profile.{number}."
        ok: list[bool] = []

        def edit(agent: Agent, now: float) -> list[Action]:
            ctx = agent.ctx
            minimum = read(ctx, "Device.BulkData.MinReportingInterval", "0")
            if minimum.isdigit() and int(minimum) > interval:  # a device capability; lowered for load tests
                write(ctx, "Device.BulkData.MinReportingInterval", str(interval))
            ok.append(write(ctx, base + "ReportingInterval", str(interval)))
            write(ctx, base + "TimeReference", iso8601(int(now + phase)))
            write(ctx, base + "Protocol", protocol)
            if url:
                write(ctx, base + "HTTP.URL", url)
            write(ctx, "Device.BulkData.Enable", "true")
            write(ctx, base + "Enable", "true")
            if subscribe:
                ensure_subscription(agent, "Event", base + "Push!", BULK_SUB)
            return []

        act(driver, edit)
        self.count("" if ok and ok[0] else "missing", error=0 if ok and ok[0] else 1)

    def end(self) -> None:
        base = f"Device.BulkData.Profile.{int(self.spec.opt('profile'))}."
        for index in self.indexes:
            driver = self.engine.driver(index)
            if driver is not None:
                act(driver, lambda agent, _now: _write(agent, base + "Enable", "false"))
