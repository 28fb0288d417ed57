"""Scenario behaviours over time (boot storms, churn, value changes, reporting, Wi-Fi clients, reboots,
firmware campaigns) and fault injection, scheduled on the fleet's event loop by ``ScenarioEngine``.

One module per behaviour family; ``spec`` reads the scenario sections, ``schedule`` holds the timing
primitives, ``engine`` wires families and faults to the drivers.
"""

from __future__ import annotations

from simulator.fleet.behaviours.churn import Churn
from simulator.fleet.behaviours.engine import Family, ScenarioEngine
from simulator.fleet.behaviours.firmware import FirmwareCampaign
from simulator.fleet.behaviours.reporting import BulkDataBehaviour, PeriodicNotify
from simulator.fleet.behaviours.spec import AgentSelection, BehaviourSpec, FaultConfig, Rate
from simulator.fleet.behaviours.storm import BootStorm, Reboot
from simulator.fleet.behaviours.values import ValueChangeBehaviour
from simulator.fleet.behaviours.wifi import WifiClients

__all__ = ["FAMILIES", "AgentSelection", "BehaviourSpec", "FaultConfig", "Rate", "ScenarioEngine"]

FAMILIES: dict[str, type[Family]] = {
    "boot_storm": BootStorm,
    "churn": Churn,
    "reboot": Reboot,
    "value_change": ValueChangeBehaviour,
    "periodic_notify": PeriodicNotify,
    "bulk_data": BulkDataBehaviour,
    "wifi_clients": WifiClients,
    "firmware_campaign": FirmwareCampaign,
}
"""Behaviour ``kind`` -> its family class."""
