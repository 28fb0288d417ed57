"""Helpers for the fleet tests: a memory-friendly scenario and a memory-transport network."""

from __future__ import annotations

import asyncio
from pathlib import Path

from simulator.agent.agent import Agent
from simulator.fleet.config import BrokerConfig, ControllerConfig, GroupConfig, ScenarioConfig
from simulator.fleet.mtp import Link
from simulator.fleet.probe import Probe
from simulator.transports.memory import MemoryTransport, memory_pair

MINIMAL = str(Path(__file__).resolve().parents[3] / "datamodels" / "minimal.yaml")


def scenario(
    count: int = 3,
    *,
    rate: float = 1000.0,
    profile: str = MINIMAL,
    controller: ControllerConfig | None = None,
) -> ScenarioConfig:
    """A memory-friendly scenario on the minimal profile."""
    group = GroupConfig("g", profile, count, "os::012345-T{index:04d}", "mqtt", 5, rate, "")
    return ScenarioConfig(
        "test",
        "<test>",
        BrokerConfig("mqtt://127.0.0.1:1883", "127.0.0.1", 1883),
        controller or ControllerConfig(),
        (group,),
    )


class MemoryNetwork:
    """Transport factory for ``Fleet``: each agent gets a memory link to its own probe."""

    def __init__(self) -> None:
        self.probes: dict[str, Probe] = {}
        self.controller_ends: dict[str, MemoryTransport] = {}

    def __call__(self, agent: Agent, link: Link) -> MemoryTransport:
        agent_end, controller_end = memory_pair("usp/agent/" + agent.endpoint_id, "usp/controller")
        self.controller_ends[agent.endpoint_id] = controller_end
        self.probes[agent.endpoint_id] = Probe(
            controller_end, link.controller_id, lambda _eid: None, timeout=2.0
        )
        asyncio.get_running_loop().create_task(controller_end.connect())
        return agent_end
