"""Agent benchmark: in-process Get request steps per CPU-second and a full ``Device.`` Get; prints JSON."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from simulator.agent.agent import Agent
from simulator.agent.context import AgentConfig
from simulator.datamodel.editing import DataModel
from simulator.datamodel.loader import load_schema
from simulator.datamodel.personas import Persona
from simulator.usp.messages import Msg, decode_msg, encode_msg
from simulator.usp.records import decode_record, encode_no_session_context
from simulator.usp.requests import Get

ROOT = Path(__file__).resolve().parents[1]
AGENT = "os::00D09E-SIM00000001"
CONTROLLER = "proto::controller"


def _agent(profile: Path, now: float) -> Agent:
    dm = DataModel(load_schema(profile), Persona(1, AGENT, boot_time=now - 100))
    return Agent(AgentConfig(AGENT, strict=True), dm, behaviour=False)


def _record(path: str, msg_id: str = "b-1") -> bytes:
    return encode_no_session_context("1.3", AGENT, CONTROLLER, encode_msg(Msg.of(msg_id, Get((path,)))))


def _per_cpu_second(agent: Agent, record: bytes, now: float, seconds: float = 2.0) -> float:
    count = 0
    start = time.process_time()
    while (elapsed := time.process_time() - start) < seconds:
        for _ in range(500):
            agent.receive(record, now, "reply")
        count += 500
    return count / elapsed


def main() -> dict[str, object]:
    now = 1_700_000_000.0
    minimal = ROOT / "datamodels" / "minimal.yaml"
    gateway = ROOT / "datamodels" / "home-gateway.yaml"
    small = _agent(minimal, now)
    record = _record("Device.DeviceInfo.")
    sends = small.receive(record, now, "reply")
    assert decode_msg(decode_record(sends[0].record).payload).body.req_path_results[0].err_code == 0  # type: ignore[union-attr]
    rate = _per_cpu_second(small, record, now)

    profile = gateway if gateway.exists() else minimal
    big = _agent(profile, now)
    big_rate = _per_cpu_second(big, record, now)  # Device.DeviceInfo. there: 14 objects, 99 parameters
    full = _record("Device.")
    runs = []
    size = 0
    for _ in range(20):
        t0 = time.perf_counter()
        out = big.receive(full, now, "reply")
        runs.append(time.perf_counter() - t0)
        size = len(out[0].record)  # type: ignore[union-attr]
    runs.sort()
    return {
        "get_deviceinfo_per_cpu_second": round(rate),
        "get_deviceinfo_target": 30_000,
        "get_deviceinfo_profile": minimal.name,
        f"get_deviceinfo_{profile.stem.replace('-', '_')}_per_cpu_second": round(big_rate),
        "full_get_profile": profile.name,
        "full_get_ms_median": round(runs[len(runs) // 2] * 1000, 3),
        "full_get_ms_min": round(runs[0] * 1000, 3),
        "full_get_response_bytes": size,
        "python": sys.version.split()[0],
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
