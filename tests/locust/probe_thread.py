"""The probe controller (simulator.fleet.probe) on its own asyncio loop in a background thread.

Locust runs in subprocesses; this process acts as their controller: it learns agents from their Connect
Records, answers their Notifies (NotifyResp) and, when asked, keeps Gets flowing to every agent it knows.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from simulator.fleet.config import PROFILES, ControllerConfig
from simulator.fleet.probe import Probe, mqtt_probe
from simulator.usp.messages import Msg
from simulator.usp.requests import Get
from simulator.usp.responses import ErrorMessage

T = TypeVar("T")


def controller(profile: str = "generic") -> ControllerConfig:
    p = PROFILES[profile]
    return ControllerConfig(
        profile=profile,
        endpoint_id=p.endpoint_id,
        agent_topic=p.agent_topic,
        controller_topic=p.controller_topic,
        ws_url=p.ws_url,
        mqtt_version=p.mqtt_version,
        send_connect_record=p.send_connect_record,
        boot_subscription=p.boot_subscription,
    )


class ProbeThread:
    """A connected Probe on a private loop; ``run`` executes coroutines on it from the test thread."""

    def __init__(self, host: str, port: int, profile: str = "generic", timeout: float = 5.0) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="probe-loop", daemon=True)
        self.thread.start()
        self.probe: Probe = self.run(self._make(host, port, profile, timeout))
        self.answers = 0
        self.errors = 0
        self.timeouts = 0
        self._flooding = False

    async def _make(self, host: str, port: int, profile: str, timeout: float) -> Probe:
        probe = mqtt_probe(controller(profile), host, port, timeout=timeout)
        await probe.connect()
        return probe

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    # -- Get flood: a fixed window of requests in flight over every agent known -----------------------------
    def start_gets(self, window: int = 20, path: str = "Device.DeviceInfo.SoftwareVersion") -> None:
        self._flooding = True
        self.loop.call_soon_threadsafe(self._flood, window, Get((path,)))

    def stop_gets(self) -> None:
        self._flooding = False

    def _flood(self, window: int, body: Get) -> None:
        agents = [eid for eid, topic in self.probe.agents.items() if topic]
        if not self._flooding:
            return
        if not agents:
            self.loop.call_later(0.1, self._flood, window, body)
            return
        count = 0

        def again() -> None:
            nonlocal count
            if not self._flooding:
                return
            known = [eid for eid, topic in self.probe.agents.items() if topic]
            count += 1
            self.probe.send(known[count % len(known)], body, done)

        def done(msg: Msg | None, _latency: float) -> None:
            if msg is None:
                self.timeouts += 1
            elif isinstance(msg.body, ErrorMessage):
                self.errors += 1
            else:
                self.answers += 1
            # A dropped agent (reboot, churn) times out: keep the window full meanwhile.
            self.loop.call_later(0.005, again)

        for _ in range(window):
            again()

    def close(self) -> None:
        self._flooding = False
        try:
            self.run(self.probe.close(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            self.loop.close()
