"""Benchmark the embedded MQTT broker against mosquitto with the same harness; prints one JSON object.

Run: ``.venv/bin/python bench/bench_broker.py [--clients 1000] [--seconds 6] [--version 5] [--no-uvloop]``.

Each broker runs in its own process (mosquitto, or ``EmbeddedBroker`` in a child Python process on
uvloop when available). The load side is one process of ``MqttTransport`` clients: each subscribes to
its own topic and keeps one QoS 0 PUBLISH (200-byte payload, Response Topic + Content Type on v5, the
``/reply-to=`` suffix on 3.1.1) in flight to itself; each delivery counts one round trip and triggers
the next publish. Reported per broker: round trips per wall second, broker CPU seconds per 1,000
round trips (from /proc), and the load process's CPU utilisation: when the broker's CPU utilisation is
near 1.0 while the load side has headroom, a demo's numbers are broker-bound.
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
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.fleet.localbroker import Mosquitto, find_mosquitto, free_port, wait_listening  # noqa: E402
from simulator.transports.base import MqttSettings, Packet  # noqa: E402
from simulator.transports.mqtt import MqttTransport  # noqa: E402

PAYLOAD = bytes(range(200))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    try:
        wait_listening(port, proc, 15, "broker")
    except RuntimeError as exc:
        proc.kill()
        sys.exit(str(exc))


def proc_cpu(pid: int) -> float:
    """utime + stime of a process in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def start_mosquitto(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = find_mosquitto()
    if binary is None:
        sys.exit("mosquitto not found (PATH, /usr/sbin): apt-get install mosquitto")
    broker = Mosquitto(binary, workdir, free_port())
    proc = broker.launch()
    wait_port(broker.port, proc)
    return proc, broker.port


def start_embedded(uvloop: bool) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    args = [sys.executable, __file__, "--serve-embedded", str(port)]
    if not uvloop:
        args.append("--no-uvloop")
    proc = subprocess.Popen(args)
    wait_port(port, proc)
    return proc, port


def serve_embedded(port: int, use_uvloop: bool) -> None:
    """Child process: run the embedded broker until killed."""
    from simulator.transports.broker import EmbeddedBroker

    async def main() -> None:
        broker = EmbeddedBroker(port=port)
        await broker.start()
        await asyncio.Event().wait()

    with asyncio.Runner(loop_factory=loop_factory(use_uvloop)) as runner:
        runner.run(main())


def loop_factory(use_uvloop: bool):  # type: ignore[no-untyped-def]
    if use_uvloop:
        with contextlib.suppress(ImportError):
            import uvloop

            return uvloop.new_event_loop
    return None


class Load:
    def __init__(self, port: int, version: int) -> None:
        self.port = port
        self.version = version
        self.round_trips = 0
        self.running = False
        self.transports: list[MqttTransport] = []

    def make(self, index: int) -> MqttTransport:
        topic = f"bench/{index}"

        def on_packet(packet: Packet) -> None:
            self.round_trips += 1
            if self.running:
                transport.send(packet.payload, topic)

        settings = MqttSettings(
            "127.0.0.1",
            self.port,
            endpoint_id=f"os::012345-SIM{index:06d}",
            agent_topic=topic,
            controller_topic=topic,
            protocol_version=self.version,
            connect_timeout=30,
        )
        transport = MqttTransport(settings, on_packet)
        return transport

    async def open_all(self, count: int, parallel: int = 100) -> None:
        sem = asyncio.Semaphore(parallel)

        async def one(i: int) -> None:
            async with sem:
                t = self.make(i)
                await t.connect()
                self.transports.append(t)

        async with asyncio.TaskGroup() as tg:
            for i in range(count):
                tg.create_task(one(i))


async def measure(port: int, broker_pid: int, args: argparse.Namespace) -> dict[str, object]:
    load = Load(port, args.version)
    t0 = time.perf_counter()
    await load.open_all(args.clients)
    connect_wall = time.perf_counter() - t0
    gc.collect()
    gc.freeze()
    load.running = True
    for t in load.transports:
        t.send(PAYLOAD)
    await asyncio.sleep(0.5)
    rt0, cpu0, bcpu0, wall0 = load.round_trips, time.process_time(), proc_cpu(broker_pid), time.perf_counter()
    await asyncio.sleep(args.seconds)
    rt1, cpu1, bcpu1, wall1 = load.round_trips, time.process_time(), proc_cpu(broker_pid), time.perf_counter()
    load.running = False
    await asyncio.sleep(0.3)
    async with asyncio.timeout(30):
        await asyncio.gather(*(t.close() for t in load.transports))
    gc.unfreeze()
    trips, wall = rt1 - rt0, wall1 - wall0
    broker_cpu = bcpu1 - bcpu0
    return {
        "round_trips_per_wall_second": round(trips / wall),
        "broker_cpu_utilisation": round(broker_cpu / wall, 3),
        "broker_round_trips_per_cpu_second": round(trips / broker_cpu) if broker_cpu else None,
        "load_cpu_utilisation": round((cpu1 - cpu0) / wall, 3),
        "connects_per_second": round(args.clients / connect_wall),
    }


def run_one(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    if kind == "mosquitto":
        proc, port = start_mosquitto(workdir)
    else:
        proc, port = start_embedded(not args.no_uvloop)
    try:
        with asyncio.Runner(loop_factory=loop_factory(not args.no_uvloop)) as runner:
            return runner.run(asyncio.wait_for(measure(port, proc.pid, args), 180))
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--version", type=int, choices=(4, 5), default=5)
    parser.add_argument("--no-uvloop", action="store_true")
    parser.add_argument("--only", choices=("embedded", "mosquitto"))
    parser.add_argument("--serve-embedded", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.serve_embedded:
        serve_embedded(args.serve_embedded, not args.no_uvloop)
        return
    result: dict[str, object] = {
        "python": sys.version.split()[0],
        "uvloop": not args.no_uvloop,
        "protocol_version": args.version,
        "clients": args.clients,
        "cpus": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory(prefix="bench-broker-") as tmp:
        for kind in ("embedded", "mosquitto"):
            if args.only in (None, kind):
                result[kind] = run_one(kind, args, Path(tmp))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
