"""Reboots: ``boot_storm`` (a power cut hits many agents, power returns at once or over a ramp) and
``reboot`` (agents reboot one by one at a rate, as after a local reset button).

Both reboot the agent through its own behaviour, exactly like a ``Device.Reboot()``: timers, pending
Notifies and non-persistent subscriptions go, and after reconnecting the agent sends Boot! with
``Cause`` LocalReboot (or RemoteReboot). A storm's power cut is abrupt (no USP Disconnect record, no MQTT
DISCONNECT: the broker publishes the Will); a single reboot closes gracefully first.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from simulator.agent.actions import Action, Disconnect
from simulator.agent.events import BootCause
from simulator.fleet.behaviours.engine import Family, act, agent_behaviour

if TYPE_CHECKING:
    from simulator.agent.agent import Agent
    from simulator.fleet.driver import AgentDriver

__all__ = ["BootStorm", "Reboot", "reboot_agent"]


def reboot_agent(driver: AgentDriver, cause: str, downtime: float, *, abrupt: bool, reason: str) -> bool:
    """Reboot the agent of ``driver``; it comes back after ``downtime`` seconds.

    Returns:
        False when the agent has no AgentBehaviour (nothing happens).
    """
    behaviour = agent_behaviour(driver)
    if behaviour is None:
        return False
    behaviour.options = replace(behaviour.options, boot_delay=downtime)

    def edit(_agent: Agent, now: float) -> list[Action]:
        behaviour.reboot(BootCause(cause, "", reason), now)
        return []

    if not abrupt:
        act(driver, edit)
        return True
    act(driver, edit, keep=lambda a: a.__class__ is not Disconnect)
    driver.disconnect_now("power-cycle", downtime, graceful=False)
    return True


class BootStorm(Family):
    """At ``start``: every selected connected agent loses power; they come back after ``downtime``,
    all at once (``ramp: 0``) or spread evenly over ``ramp`` seconds in a random order."""

    def begin(self) -> None:
        drivers = self.connected()
        self.rng.shuffle(drivers)
        ramp, downtime = float(self.spec.opt("ramp")), float(self.spec.opt("downtime"))
        n = len(drivers)
        for i, driver in enumerate(drivers):
            back = downtime + (ramp * i / n if ramp else 0.0)
            if reboot_agent(driver, self.spec.opt("cause"), back, abrupt=True, reason="uspsim boot storm"):
                self.count()


class Reboot(Family):
    """At ``rate`` reboots per second: a random connected agent reboots (graceful close first)."""

    def begin(self) -> None:
        self.agent_ticker(self._tick)

    def _tick(self, driver: AgentDriver) -> None:
        downtime = float(self.spec.opt("downtime"))
        if reboot_agent(driver, self.spec.opt("cause"), downtime, abrupt=False, reason="uspsim reboot"):
            self.count()
