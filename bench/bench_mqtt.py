"""Benchmark the sans-I/O MQTT client on a local mosquitto: round trips per CPU-second, KiB/conn, connects/s.

Run: ``.venv/bin/python bench/bench_mqtt.py [--clients 1000] [--seconds 8] [--version 5] [--no-uvloop]``.
Prints one JSON object. Targets (architecture.md B11): >= 40,000 round trips per simulator CPU-second
with 1,000 clients, <= 4 KiB per idle connection including the driver's objects.

Round trip: every client subscribes to its own topic and keeps one QoS 0 PUBLISH (a 200-byte payload
with Response Topic and Content Type, like a USP record) in flight to it; each MessageReceived counts
one round trip and triggers the next publish. CPU is this process's ``time.process_time`` only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import cast

from simulator.fleet.localbroker import Mosquitto, find_mosquitto, free_port
from simulator.mqtt import (
    Connected,
    MessageReceived,
    MqttClient,
    MqttClientSettings,
    Subscribed,
)

PAYLOAD = bytes(range(200))


def start_broker(workdir: Path) -> Mosquitto:
    binary = find_mosquitto()
    if binary is None:
        sys.exit("mosquitto not found (PATH, /usr/sbin): apt-get install mosquitto")
    broker = Mosquitto(binary, workdir, free_port())
    try:
        broker.start()
    except RuntimeError as exc:
        sys.exit(str(exc))
    return broker


class Conn(asyncio.Protocol):
    """Minimal driver: one MqttClient over one asyncio transport (no timers: the run is short)."""

    __slots__ = ("bench", "client", "connected", "topic", "transport")

    def __init__(self, bench: Bench, client: MqttClient, topic: str) -> None:
        self.bench = bench
        self.client = client
        self.topic = topic
        self.transport: asyncio.Transport | None = None
        self.connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport is not an asyncio.Transport subclass: cast, do not isinstance-check.
        self.transport = cast(asyncio.Transport, transport)
        self.client.connect(self.bench.loop.time())
        self.transport.write(self.client.data_to_send())

    def data_received(self, data: bytes) -> None:
        bench = self.bench
        if bench.raw and bench.running:
            # Calibration floor: the same I/O with no MQTT work (re-send a pre-encoded PUBLISH).
            bench.round_trips += 1
            assert self.transport is not None
            self.transport.write(bench.raw_packet[self.topic])
            return
        client = self.client
        now = self.bench.loop.time()
        for event in client.receive_data(data, now):
            if type(event) is MessageReceived:
                bench = self.bench
                bench.round_trips += 1
                if bench.running:
                    client.publish(
                        self.topic,
                        PAYLOAD,
                        0,
                        now,
                        response_topic="bench/controller",
                        content_type="usp.msg",
                    )
            elif isinstance(event, Connected):
                client.subscribe([(self.topic, 0)], now)
            elif isinstance(event, Subscribed):
                if not self.connected.done():
                    self.connected.set_result(None)
            elif not self.connected.done():
                self.connected.set_exception(RuntimeError(f"unexpected event {event!r}"))
        out = client.data_to_send()
        if out:
            assert self.transport is not None
            self.transport.write(out)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.connected.done():
            self.connected.set_exception(ConnectionError(f"connection lost: {exc!r}"))


class Bench:
    def __init__(self, port: int, version: int) -> None:
        self.port = port
        self.version = version
        self.loop = asyncio.get_running_loop()
        self.round_trips = 0
        self.running = False
        self.raw = False
        self.raw_packet: dict[str, bytes] = {}

    async def open(self, index: int, prefix: str) -> Conn:
        settings = MqttClientSettings(
            client_id=f"{prefix}-{index}",
            protocol_version=self.version,
            keep_alive=60,
            user_properties=(("usp-endpoint-id", f"os::012345-{prefix}{index:06d}"),),
        )
        client = MqttClient(settings)
        _, conn = await self.loop.create_connection(
            lambda: Conn(self, client, f"bench/{prefix}/{index}"), "127.0.0.1", self.port
        )
        await asyncio.wait_for(conn.connected, 30)
        return conn

    async def open_many(self, count: int, prefix: str, parallel: int = 100) -> list[Conn]:
        sem = asyncio.Semaphore(parallel)

        async def one(i: int) -> Conn:
            async with sem:
                return await self.open(i, prefix)

        return list(await asyncio.gather(*(one(i) for i in range(count))))


async def measure(bench: Bench, conns: list[Conn], seconds: float, raw: bool) -> tuple[int, float, float]:
    """Run the closed loop for ``seconds``; returns (round trips, CPU seconds, wall seconds)."""
    bench.raw = raw
    bench.running = True
    now = bench.loop.time()
    for conn in conns:
        conn.client.publish(
            conn.topic, PAYLOAD, 0, now, response_topic="bench/controller", content_type="usp.msg"
        )
        data = conn.client.data_to_send()
        bench.raw_packet[conn.topic] = data
        assert conn.transport is not None
        conn.transport.write(data)
    await asyncio.sleep(0.5)  # warm-up
    rt0, cpu0, wall0 = bench.round_trips, time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    rt1, cpu1, wall1 = bench.round_trips, time.process_time(), time.perf_counter()
    bench.running = False
    await asyncio.sleep(0.5)  # drain the messages still in flight
    bench.raw = False
    return rt1 - rt0, cpu1 - cpu0, wall1 - wall0


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


async def run(args: argparse.Namespace, port: int) -> dict[str, object]:
    bench = Bench(port, args.version)
    gc.collect()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    conns = await bench.open_many(args.clients, "a")
    connect_wall = time.perf_counter() - t0
    gc.collect()
    rss_per_conn = (rss_bytes() - rss0) / args.clients
    gc.freeze()  # as the fleet does once connected (architecture.md B11)

    # (a) closed-loop round trips through MqttClient.
    rt_mqtt, cpu_mqtt, wall_mqtt = await measure(bench, conns, args.seconds, raw=False)
    # (a') calibration on the same sockets: identical I/O, no MQTT work (the floor for this machine).
    rt_raw, cpu_raw, _ = await measure(bench, conns, min(args.seconds, 4.0), raw=True)

    # (b) traced memory of extra idle connections (transport, socket, protocol, client, decoder).
    extra = max(100, args.clients // 2)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    more = await bench.open_many(extra, "b")
    gc.collect()
    traced = (tracemalloc.get_traced_memory()[0] - base) / extra
    tracemalloc.stop()

    for conn in conns + more:
        conn.client.disconnect(bench.loop.time())
        assert conn.transport is not None
        conn.transport.write(conn.client.data_to_send())
        conn.transport.close()
    await asyncio.sleep(0.2)
    per_rt_us = 1e6 * cpu_mqtt / rt_mqtt if rt_mqtt else None
    floor_us = 1e6 * cpu_raw / rt_raw if rt_raw else None
    return {
        "loop": type(bench.loop).__module__ + "." + type(bench.loop).__name__,
        "python": sys.version.split()[0],
        "protocol_version": args.version,
        "clients": args.clients,
        "round_trips": rt_mqtt,
        "round_trips_per_cpu_second": round(rt_mqtt / cpu_mqtt) if cpu_mqtt else None,
        "round_trips_per_wall_second": round(rt_mqtt / wall_mqtt),
        "cpu_utilisation": round(cpu_mqtt / wall_mqtt, 3),
        "io_floor_round_trips_per_cpu_second": round(rt_raw / cpu_raw) if cpu_raw else None,
        "mqtt_cpu_us_per_round_trip": round(per_rt_us - floor_us, 2) if per_rt_us and floor_us else None,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "kib_per_idle_connection_tracemalloc": round(traced / 1024, 2),
        "kib_per_idle_connection_rss": round(rss_per_conn / 1024, 2),
        "connects_per_second": round(args.clients / connect_wall),
        "targets": {"round_trips_per_cpu_second": 40_000, "kib_per_idle_connection": 4},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--version", type=int, choices=(4, 5), default=5)
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the broker inherits it too
    loop_factory = None
    if not args.no_uvloop:
        try:
            import uvloop

            loop_factory = uvloop.new_event_loop
        except ImportError:
            pass
    with tempfile.TemporaryDirectory(prefix="bench-mqtt-") as tmp:
        broker = start_broker(Path(tmp))
        try:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                result = runner.run(asyncio.wait_for(run(args, broker.port), 120))
        finally:
            broker.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
