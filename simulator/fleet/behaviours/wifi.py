"""``wifi_clients``: Wi-Fi stations join and leave, so AssociatedDevice and Hosts.Host rows come and go.

A join adds ``Device.WiFi.AccessPoint.{ap}.AssociatedDevice.{i}.`` (a fresh locally administered MAC) and,
with ``hosts``, a ``Device.Hosts.Host.{i}.`` row pointing at it; a leave deletes a random station of an
access point with its Host rows. Both go through the agent's change log, so subscribers get
ObjectCreation / ObjectDeletion. Joins happen at ``rate`` per second, leaves at ``leave_rate`` (default:
the same, a steady state); an access point never holds more than ``max_clients`` stations.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from simulator.agent.commands.rows import add_row, delete_row, read, table_node
from simulator.agent.context import iso8601
from simulator.fleet.behaviours.engine import Family, act
from simulator.fleet.behaviours.spec import Rate

if TYPE_CHECKING:
    from simulator.agent.actions import Action
    from simulator.agent.agent import Agent
    from simulator.fleet.driver import AgentDriver

__all__ = ["WifiClients"]

_STATIONS = "Device.WiFi.AccessPoint.{i}.AssociatedDevice.{i}."
_HOSTS = "Device.Hosts.Host.{i}."


class WifiClients(Family):
    """Stations joining and leaving the selected agents' access points."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._macs = itertools.count(1)

    def begin(self) -> None:
        self.agent_ticker(self._join)
        rate = self.spec.rate
        leave = self.spec.opt("leave_rate")
        assert rate is not None
        leave_rate = float(leave) if leave is not None else rate.rate
        self.agent_ticker(self._leave, Rate(leave_rate, rate.distribution, rate.jitter))

    def _mac(self, index: int) -> str:
        n = next(self._macs) & 0xFFFF
        parts = [0x02, (index >> 16) & 0xFF, (index >> 8) & 0xFF, index & 0xFF, n >> 8, n & 0xFF]
        return ":".join(f"{b:02X}" for b in parts)

    def _join(self, driver: AgentDriver) -> None:
        ap = int(self.rng.choice(self.spec.opt("access_points")))
        mac = self._mac(driver.agent.ctx.store.persona.index)
        result: list[str] = []

        def edit(agent: Agent, now: float) -> list[Action]:
            ctx = agent.ctx
            stations = table_node(ctx, _STATIONS)
            if stations is None or not read(ctx, f"Device.WiFi.AccessPoint.{ap}.Enable", ""):
                result.append("missing")
                return []
            if len(ctx.store.instances(stations, (ap,))) >= int(self.spec.opt("max_clients")):
                result.append("full")
                return []
            inst = add_row(ctx, stations, (ap,), {
                "MACAddress": mac, "AuthenticationState": "true", "Active": "true",
                "AssociationTime": iso8601(int(now)),
                "OperatingStandard": self.rng.choice(("n", "ac", "ax")),
            })
            hosts = table_node(ctx, _HOSTS)
            if self.spec.opt("hosts") and hosts is not None:
                add_row(ctx, hosts, (), {
                    "PhysAddress": mac, "AssociatedDevice": stations.instance_path(inst).rstrip("."),
                    "Layer1Interface": f"Device.WiFi.SSID.{ap}", "InterfaceType": "Wi-Fi", "Active": "true",
                    "HostName": f"station-{mac[-5:].replace(':', '')}", "ActiveLastChange": iso8601(int(now)),
                })
            result.append("")
            return []

        act(driver, edit)
        what = result[0] if result else "missing"
        self.count("join" if not what else f"join_{what}", error=1 if what == "missing" else 0)

    def _leave(self, driver: AgentDriver) -> None:
        ap = int(self.rng.choice(self.spec.opt("access_points")))
        left: list[bool] = []

        def edit(agent: Agent, _now: float) -> list[Action]:
            ctx = agent.ctx
            stations = table_node(ctx, _STATIONS)
            numbers = ctx.store.instances(stations, (ap,)) if stations is not None else ()
            if stations is None or not numbers:
                return []
            inst = (ap, self.rng.choice(numbers))
            path = stations.instance_path(inst).rstrip(".")
            hosts = table_node(ctx, _HOSTS)
            if hosts is not None:
                for number in ctx.store.instances(hosts, ()):
                    if read(ctx, f"Device.Hosts.Host.{number}.AssociatedDevice") == path:
                        delete_row(ctx, hosts, (number,))
            left.append(delete_row(ctx, stations, inst))
            return []

        act(driver, edit)
        self.count("leave" if left else "leave_empty")
