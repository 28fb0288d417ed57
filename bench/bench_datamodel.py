"""Data-model benchmark: heap bytes per untouched agent and Get timings; prints JSON."""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc
from pathlib import Path

from simulator.datamodel.editing import DataModel
from simulator.datamodel.loader import load_schema
from simulator.datamodel.personas import Persona
from simulator.datamodel.resolver import ResolveOp

ROOT = Path(__file__).resolve().parents[1]


def main(agents: int = 10_000) -> dict[str, object]:
    gateway = ROOT / "datamodels" / "home-gateway.yaml"
    profile = gateway if gateway.exists() else ROOT / "datamodels" / "minimal.yaml"
    start = time.perf_counter()
    schema = load_schema(profile)
    load_ms = (time.perf_counter() - start) * 1e3
    now = 1_700_000_000.0
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    fleet = [DataModel(schema, Persona(i, boot_time=now - 100)) for i in range(agents)]
    gc.collect()
    used, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_agent = (used - base) / agents

    dm = fleet[0]
    dm.get("Device.", now=now)

    def timed(path: str, n: int, repeats: int = 5) -> float:
        """Best of ``repeats`` runs of ``n // repeats`` Gets (``now`` moves: dynamic values recompute)."""
        best = float("inf")
        per_run = max(1, n // repeats)
        for r in range(repeats):
            start = time.perf_counter()
            for i in range(per_run):
                dm.get(path, now=now + r * per_run + i)
            best = min(best, (time.perf_counter() - start) / per_run)
        return best

    full = timed("Device.", 200)
    info = timed("Device.DeviceInfo.", 5000)
    param = timed("Device.DeviceInfo.SoftwareVersion", 20000)
    start = time.perf_counter()
    for _ in range(20000):
        dm.resolve("Device.DeviceInfo.", ResolveOp.GET)
    resolve = (time.perf_counter() - start) / 20000
    results = dm.get("Device.", now=now)
    return {
        "profile": profile.name,
        "schema_nodes": len(schema.nodes),
        "schema_load_ms": round(load_ms, 1),
        "agents": agents,
        "bytes_per_untouched_agent": round(per_agent, 1),
        "full_tree_objects": len(results),
        "full_tree_params": sum(len(v) for _, v in results),
        "get_device_full_tree_ms": round(full * 1e3, 3),
        "get_deviceinfo_us": round(info * 1e6, 2),
        "resolve_deviceinfo_us": round(resolve * 1e6, 2),
        "get_one_param_us": round(param * 1e6, 2),
        "python": sys.version.split()[0],
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000), indent=2))
