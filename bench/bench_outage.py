"""Broker outage under a fleet: SIGKILL mosquitto under N connected agents, restart it on the same port.

Run: ``.venv/bin/python bench/bench_outage.py [--agents 2000] [--outage 3] [--retry-time 5]``; prints JSON.

Reports the outage length, the reconnect budget from the agents' ConnectRetry back-off (TR-369
R-MQTT.33; default ConnectRetryTime 5 s, multiplier 2000), the time until every agent was connected
again, connects per agent (2 each = none lost, no duplicate EndpointID connection), sockets to the
broker afterwards, and whether the Notify awaiting its NotifyResp was resent with the same msg_id.
The same routine runs in CI with 500 agents (tests/integration/test_reliability.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from reliability_fixtures import Mosquitto, broker_outage  # noqa: E402

from simulator.fleet.localbroker import find_mosquitto, free_port  # noqa: E402
from simulator.integrations.cli import run_loop  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--outage", type=float, default=3.0, help="seconds the broker stays down")
    parser.add_argument(
        "--retry-time", type=int, default=0, help="ConnectRetryTime override (0 = the agents' own, 5 s)"
    )
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    binary = find_mosquitto()
    if binary is None:
        sys.exit("mosquitto not installed")
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(binary, Path(tmp), free_port())
        broker.start()
        started = time.monotonic()
        try:
            report = run_loop(
                broker_outage(
                    broker,
                    args.agents,
                    outage=args.outage,
                    retry_time=args.retry_time or None,
                    prefix="usp-sim-bench-outage",
                    settle=120.0,
                )
            )
        finally:
            broker.stop()
    data = dataclasses.asdict(report)
    data["wall_s"] = round(time.monotonic() - started, 1)
    for key in ("outage_s", "budget_s", "recovery_s", "max_reconnect_s", "ramp_s"):
        data[key] = round(data[key], 2)
    data["ok"] = (
        not report.errors
        and report.connects_per_agent == {2: args.agents}
        and report.sockets_after == args.agents + 1
        and report.max_reconnect_s <= report.budget_s + 2.0
        and report.notify_resent
        and report.gets_answered == args.agents
        and report.state_intact
    )
    print(json.dumps(data, indent=2))
    sys.exit(0 if data["ok"] else 1)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
