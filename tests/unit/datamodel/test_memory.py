"""Memory budget guard (architecture.md B5): an untouched agent costs a few hundred bytes of heap."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

from simulator.datamodel.editing import DataModel
from simulator.datamodel.loader import load_schema
from simulator.datamodel.personas import Persona

HOME_GATEWAY = Path(__file__).resolve().parents[3] / "datamodels" / "home-gateway.yaml"
AGENTS = 1_000
BUDGET_BYTES_PER_AGENT = 2048
"""Measured 432 B/agent (DataModel + Persona + InstanceStore, Python 3.11); ~4x headroom."""


def test_untouched_home_gateway_agents_stay_within_the_memory_budget() -> None:
    schema = load_schema(HOME_GATEWAY)  # shared: loaded (and cached) outside the measurement
    now = 1_700_000_000.0
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        fleet = [DataModel(schema, Persona(i, boot_time=now - 100)) for i in range(AGENTS)]
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per_agent = (after - before) / AGENTS
    assert len(fleet) == AGENTS and fleet[-1].store.persona.index == AGENTS - 1
    assert 0 < per_agent < BUDGET_BYTES_PER_AGENT, f"{per_agent:.0f} B per untouched agent"
    # the agents are live and share the schema: a read works and allocates nothing per agent at rest
    assert fleet[1].get_value("Device.DeviceInfo.SerialNumber", now) != fleet[2].get_value(
        "Device.DeviceInfo.SerialNumber", now
    )
