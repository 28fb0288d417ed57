"""Graceful shutdown: SIGTERM to ``uspsim run`` holding N agents; every agent sends a DisconnectRecord and
an MQTT DISCONNECT, and the process exits within 5 s.

Run: ``.venv/bin/python bench/bench_shutdown.py [--agents 10000]``; prints JSON. A probe controller counts
the DisconnectRecords; mosquitto's log (``log_type notice``) tells clean MQTT DISCONNECTs
(``Client <id> disconnected.``) from dropped sockets. CI runs the same check with 300 agents
(tests/integration/test_reliability.py::test_sigterm_shuts_down_gracefully).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from reliability_fixtures import (  # noqa: E402
    Mosquitto,
    outage_scenario,
    quiet_probe,
    uspsim,
    write_scenario,
)

from simulator.fleet.localbroker import find_mosquitto, free_port  # noqa: E402
from simulator.integrations.cli import run_loop  # noqa: E402


async def measure(broker: Mosquitto, tmp: Path, agents: int, spawn_rate: float) -> dict[str, object]:
    prefix = "usp-sim-bench-term"
    scenario = write_scenario(
        tmp / "sc.yaml", f"mqtt://127.0.0.1:{broker.port}", prefix, agents, spawn_rate=spawn_rate
    )
    sc = outage_scenario("127.0.0.1", broker.port, prefix, 1)
    sc = dataclasses.replace(sc, controller=dataclasses.replace(sc.controller, endpoint_id="proto::ctl-rel"))
    probe = quiet_probe(sc, "127.0.0.1", broker.port)
    await probe.connect()
    proc = await asyncio.create_subprocess_exec(
        *uspsim("--no-color", "run", str(scenario), "--duration", "0", "--json", "--connect-timeout", "120"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    t0 = time.monotonic()
    try:
        async with asyncio.timeout(180):
            while probe.metrics.stats.count("agent_connect") < agents:
                if proc.returncode is not None:
                    out, err = await proc.communicate()
                    return {"error": (out + err).decode()[-2000:]}
                await asyncio.sleep(0.1)
        ramp = time.monotonic() - t0
        await asyncio.sleep(1.0)
        t1 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = await proc.communicate()
        shutdown = time.monotonic() - t1
        await asyncio.sleep(1.0)
    finally:
        if proc.returncode is None:
            proc.kill()
        await probe.close()
    log = broker.log.read_text()
    clean = sum(
        1 for line in log.splitlines() if "os::012345-REL" in line and line.endswith(" disconnected.")
    )
    text = out.decode()
    report = json.loads(text[text.index("\n{") :]) if "\n{" in text else {}
    return {
        "agents": agents,
        "ramp_s": round(ramp, 2),
        "shutdown_s": round(shutdown, 2),
        "exit_code": proc.returncode,
        "disconnect_records": int(probe.metrics.stats.count("agent_record", "DISCONNECT")),
        "clean_mqtt_disconnects": clean,
        "report_ok": report.get("ok"),
        "ok": proc.returncode == 0 and shutdown < 5.0 and clean == agents,
        "stderr_tail": err.decode()[-500:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--spawn-rate", type=float, default=3000.0)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by mosquitto and uspsim
    binary = find_mosquitto()
    if binary is None:
        sys.exit("mosquitto not installed")
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(binary, Path(tmp), free_port(), "allow_anonymous true\nlog_type notice\n")
        broker.start()
        try:
            data = run_loop(measure(broker, Path(tmp), args.agents, args.spawn_rate))
        finally:
            broker.stop()
    print(json.dumps(data, indent=2))
    sys.exit(0 if data.get("ok") else 1)


if __name__ == "__main__":
    main()
