"""Benchmark the fleet: N home-gateway agents in ONE process against a local mosquitto; prints JSON.

Run: ``.venv/bin/python bench/bench_fleet.py [--agents 10000] [--idle 10] [--seconds 5]``.

Cost of metrics and persistence (``--only get`` measures the closed-loop Get rate alone, quickly):
``--metrics off`` runs the fleet with no listener on its EventHook (no ``Stats`` sink; the bench counts
round trips on the probe side anyway); ``--state DIR`` runs it with persistence exactly as
``uspsim run --state DIR [--state-sync]`` does (use an empty DIR for comparable runs). Cost of a feature =
1 - rate(with) / rate(baseline: ``--metrics on``, no ``--state``).

Measures (targets from the fleet issue):
* connect rate, agents/s (>= 3,000), with every agent started at once;
* RSS per connected agent, KiB (<= 16);
* idle CPU of the simulator process over ``--idle`` seconds, % of one core (<= 2);
* Get round trips per simulator CPU-second, closed loop, the probe in a SEPARATE process (>= 15,000);
* open loop 2,000 Get/s over 5,000 agents: round-trip p50/p99 seen by the probe (p99 <= 5 ms);
* the same two loads against no-op "echo" agents on the same MQTT stack -> ratio (>= 0.5):
  agent round trips per CPU-second divided by echo round trips per CPU-second.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from simulator.agent.actions import Observe, Send
from simulator.fleet.config import BrokerConfig, ControllerConfig, GroupConfig, ScenarioConfig, find_datamodel
from simulator.fleet.driver import AgentDriver
from simulator.fleet.localbroker import local_broker
from simulator.fleet.metrics import EventHook, Histogram, Metrics
from simulator.fleet.probe import mqtt_probe
from simulator.fleet.runner import Fleet
from simulator.fleet.state import FleetState, SqliteBackend, state_file
from simulator.integrations.cli import run_loop
from simulator.transports.base import MqttSettings, Packet
from simulator.transports.mqtt import MqttTransport
from simulator.usp.requests import Get

EID = "os::012345-BEN{index:06d}"
CONTROLLER = ControllerConfig(endpoint_id="proto::controller", boot_subscription=False)
GET = Get(("Device.DeviceInfo.SoftwareVersion",))


def rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def raise_nofile() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ---------------------------------------------------------------------------------------- probe process


async def probe_main(args: argparse.Namespace) -> dict[str, Any]:
    probe = mqtt_probe(CONTROLLER, "127.0.0.1", args.port, timeout=10.0)
    await probe.connect()
    eids = [EID.format(index=i) for i in range(args.agents)]
    loop = asyncio.get_running_loop()
    hist = Histogram()
    done = 0
    timeouts = 0
    next_agent = 0
    end = loop.time() + args.seconds
    finished = loop.create_future()

    def on_answer(msg: Any, latency: float) -> None:
        nonlocal done, timeouts
        if msg is None:
            timeouts += 1
        else:
            done += 1
            hist.add(latency)
        if args.mode == "closed":
            if loop.time() < end:
                send_one()
            elif probe.pending == 0 and not finished.done():
                finished.set_result(None)

    def send_one() -> None:
        nonlocal next_agent
        probe.send(eids[next_agent], GET, on_answer)
        next_agent = (next_agent + 1) % len(eids)

    t0, cpu0 = time.perf_counter(), time.process_time()
    if args.mode == "closed":
        for _ in range(args.window):
            send_one()
        await finished
    else:
        tick = 0.001
        sent = 0
        start = loop.time()
        while loop.time() < end:
            due = int((loop.time() - start) * args.rate)
            while sent < due:
                send_one()
                sent += 1
            await asyncio.sleep(tick)
        while probe.pending:
            await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - t0
    probe_cpu = time.process_time() - cpu0
    await probe.close()
    return {
        "probe_cpu_percent": 100 * probe_cpu / elapsed if elapsed > 0 else 0.0,
        "round_trips": done,
        "timeouts": timeouts,
        "seconds": elapsed,
        "p50_ms": hist.percentile(50) * 1e3,
        "p99_ms": hist.percentile(99) * 1e3,
    }


def run_probe(
    port: int, mode: str, agents: int, seconds: float, *, rate: float = 0, window: int = 500
) -> Any:
    """Start the probe in another process; returns (Popen, reader) so CPU can be measured meanwhile."""
    cmd = [
        sys.executable,
        __file__,
        "--role",
        "probe",
        "--port",
        str(port),
        "--mode",
        mode,
        "--agents",
        str(agents),
        "--seconds",
        str(seconds),
        "--rate",
        str(rate),
        "--window",
        str(window),
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


async def measured_probe(port: int, mode: str, agents: int, seconds: float, **kw: Any) -> dict[str, Any]:
    proc = run_probe(port, mode, agents, seconds, **kw)
    await asyncio.sleep(1.0)  # the probe process starts and connects; not measured
    cpu0, wall0 = time.process_time(), time.perf_counter()
    out, _ = await asyncio.to_thread(proc.communicate)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["simulator_cpu_s"] = cpu
    result["wall_s"] = wall
    result["per_cpu_s"] = result["round_trips"] / cpu if cpu > 0 else 0.0
    return result


# ---------------------------------------------------------------------------------------- echo agents


class EchoAgent:
    """A no-op agent: answers every record with the same bytes (no USP work at all)."""

    __slots__ = ("endpoint_id",)

    def __init__(self, eid: str) -> None:
        self.endpoint_id = eid

    def receive(self, payload: bytes, now: float, reply_to: str | None) -> list[Any]:
        return [Send("proto::controller", payload, reply_to, "GetResp"), _ECHO_OBSERVE]


_ECHO_OBSERVE = Observe("request", "Echo", 0.0, 0)


class Echo:
    """An echo agent behind the real ``AgentDriver`` and MQTT stack (so the ratio compares USP work only):
    the same per-record driver path (rate limit, timing, one ``request`` metric event, Send)."""

    __slots__ = ("driver", "transport")

    def __init__(self, port: int, eid: str, events: EventHook) -> None:
        settings = MqttSettings(
            host="127.0.0.1",
            port=port,
            endpoint_id=eid,
            agent_topic=f"usp/agent/{eid}",
            controller_topic="usp/controller",
        )
        self.transport = MqttTransport(settings, _nothing)
        self.driver = AgentDriver(EchoAgent(eid), self.transport, events)  # type: ignore[arg-type]


def _nothing(_packet: Packet) -> None:
    """Placeholder: the driver replaces it."""


# ---------------------------------------------------------------------------------------- main


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    profile = find_datamodel("home-gateway") or find_datamodel("minimal")
    assert profile is not None
    out: dict[str, Any] = {
        "agents": args.agents,
        "profile": profile.stem,
        "loop": type(asyncio.get_running_loop()).__module__,
        "metrics": args.metrics,
        "state": args.state,
        "state_sync": args.state_sync if args.state else None,
        "only": args.only,
    }
    async with local_broker() as broker:
        out["broker"] = broker.kind
        group = GroupConfig("bench", str(profile), args.agents, EID, "mqtt", 5, 1e9, "")
        scenario = ScenarioConfig(
            "bench", "<bench>", BrokerConfig(broker.url, broker.host, broker.port), CONTROLLER, (group,)
        )
        metrics = Metrics()
        if args.metrics == "off":  # a bare EventHook: drivers still emit, nothing listens
            metrics.events.remove_listener(metrics.stats.record)
        state = None
        if args.state:  # as simulator/integrations/fleetrun.py _open_state (``uspsim run --state DIR``)
            path = state_file(args.state, (0, scenario.total_agents))
            state = FleetState(SqliteBackend(path, synchronous=args.state_sync.upper()), metrics.events)
        # schema loaded here, before the baseline
        fleet = Fleet(scenario, host=broker.host, port=broker.port, metrics=metrics, state=state)
        gc.collect()
        rss0 = rss_kib()
        t0 = time.perf_counter()
        await fleet.start()
        st = await fleet.wait_connected(120.0)
        elapsed = time.perf_counter() - t0
        out["connected"] = st.connected
        out["connect_rate_per_s"] = round(st.connected / elapsed, 1)
        gc.collect()
        out["rss_kib_per_agent"] = round((rss_kib() - rss0) / max(1, st.connected), 2)
        if args.only == "all":
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await asyncio.sleep(args.idle)
            idle = 100 * (time.process_time() - cpu0) / (time.perf_counter() - wall0)
            out["idle_cpu_percent"] = round(idle, 3)
        else:
            await asyncio.sleep(1.0)  # let the connect storm's stragglers (CONNACKs, boot events) settle
        closed_agents = min(args.agents, 1000)
        agent_closed = await measured_probe(broker.port, "closed", closed_agents, args.seconds, window=500)
        out["get_round_trips_per_cpu_s"] = round(agent_closed["per_cpu_s"])
        out["closed_loop"] = {  # the probe (another process) must not be what limits the load
            "agents": closed_agents,
            "round_trips_per_wall_s": round(agent_closed["round_trips"] / agent_closed["seconds"]),
            "simulator_cpu_percent": round(100 * agent_closed["simulator_cpu_s"] / agent_closed["wall_s"], 1),
            "probe_cpu_percent": round(agent_closed["probe_cpu_percent"], 1),
            "round_trips": agent_closed["round_trips"],
            "timeouts": agent_closed["timeouts"],
            "simulator_cpu_s": round(agent_closed["simulator_cpu_s"], 3),
        }
        if args.only == "get":
            await fleet.stop(timeout=10.0)
            fleet.check()
            if state is not None:
                out["state_commits"] = state.commits
                out["state_stored"] = state.stored
            return out
        open_agents = min(args.agents, 5000)
        agent_open = await measured_probe(broker.port, "open", open_agents, args.seconds, rate=args.rate)
        out["open_loop"] = {
            "rate": args.rate,
            "agents": open_agents,
            "p50_ms": round(agent_open["p50_ms"], 3),
            "p99_ms": round(agent_open["p99_ms"], 3),
            "timeouts": agent_open["timeouts"],
            "probe_cpu_percent": round(agent_open["probe_cpu_percent"], 1),
        }
        await fleet.stop(timeout=10.0)
        fleet.check()
        if state is not None:
            out["state_commits"] = state.commits
            out["state_stored"] = state.stored

        echoes = [Echo(broker.port, EID.format(index=i), fleet.metrics.events) for i in range(open_agents)]
        await asyncio.gather(*(e.transport.connect() for e in echoes))
        gc.collect()
        gc.freeze()  # as Fleet.start does once its agents are connected
        echo_closed = await measured_probe(broker.port, "closed", closed_agents, args.seconds, window=500)
        echo_open = await measured_probe(broker.port, "open", open_agents, args.seconds, rate=args.rate)
        await asyncio.gather(*(e.transport.close() for e in echoes))
        out["echo"] = {
            "round_trips_per_cpu_s": round(echo_closed["per_cpu_s"]),
            "p50_ms": round(echo_open["p50_ms"], 3),
            "p99_ms": round(echo_open["p99_ms"], 3),
        }
        out["ratio"] = (
            round(agent_closed["per_cpu_s"] / echo_closed["per_cpu_s"], 3) if echo_closed["per_cpu_s"] else 0
        )
    out["targets"] = {
        "connect_rate_per_s>=3000": out["connect_rate_per_s"] >= 3000,
        "rss_kib_per_agent<=16": out["rss_kib_per_agent"] <= 16,
        "idle_cpu_percent<=2": out["idle_cpu_percent"] <= 2,
        "get_round_trips_per_cpu_s>=15000": out["get_round_trips_per_cpu_s"] >= 15000,
        "open_loop_p99_ms<=5": out["open_loop"]["p99_ms"] <= 5,
        "ratio>=0.5": out["ratio"] >= 0.5,
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU measurement")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per load phase")
    parser.add_argument("--rate", type=float, default=2000.0, help="open-loop requests per second")
    parser.add_argument(
        "--metrics",
        choices=["on", "off"],
        default="on",
        help="off: no Stats sink on the fleet's EventHook (default on, as uspsim run)",
    )
    parser.add_argument(
        "--state",
        default=None,
        metavar="DIR",
        help="persistence as `uspsim run --state DIR` (use an empty DIR)",
    )
    parser.add_argument("--state-sync", choices=["full", "normal"], default="full", help="as uspsim run")
    parser.add_argument(
        "--only",
        choices=["all", "get"],
        default="all",
        help="get: connect, then only the closed-loop Get rate (no idle, open-loop or echo phases)",
    )
    parser.add_argument("--role", choices=["bench", "probe"], default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["closed", "open"], default="closed", help=argparse.SUPPRESS)
    parser.add_argument("--window", type=int, default=500, help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_nofile()
    if args.role == "probe":
        print(json.dumps(run_loop(probe_main(args))))
        return
    print(json.dumps(run_loop(bench(args)), indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
