"""Benchmark the Locust runtime against ``uspsim run``: Get round trips per CPU-second, same machine, one run.

Run: ``.venv/bin/python bench/bench_locust.py [--agents 2000] [--seconds 8]``; prints JSON.

Both runtimes hold ``--agents`` home-gateway agents in ONE process on a private mosquitto; a separate
probe process (``bench/bench_fleet.py --role probe``, closed loop, 500 Gets in flight, round-robin over
every agent) floods Gets for ``--seconds``. The agent process's CPU time (utime + stime from /proc) over
that window gives round trips per CPU-second:

* ``locust``: ``locust -f locustfiles/fleet.py --headless -u N`` with idle users (gevent runtime,
  ``UspAgentUser``, every answer also a Locust request event);
* ``uspsim``: ``uspsim run`` with the same agents (asyncio runtime, uvloop when installed).

Targets (issue 7): the Locust process holds >= 2,000 agents and answers >= 50 % of uspsim's Get rate
per core.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from simulator.fleet.localbroker import Mosquitto, find_mosquitto, free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EID = "os::012345-BEN{index:06d}"  # bench_fleet.py's probe addresses these agents


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_mosquitto(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = find_mosquitto() or "/usr/sbin/mosquitto"
    # a deep queue: the Get flood must not drop messages at the broker
    broker = Mosquitto(binary, workdir, free_port(), "allow_anonymous true\nmax_queued_messages 100000\n")
    broker.start()
    assert broker.proc is not None
    return broker.proc, broker.port


def established(port: int) -> int:
    """TCP connections accepted by the broker on ``port`` (from /proc/net/tcp)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            count += 1
    return count


def wait_connected(port: int, agents: int, timeout: float = 120.0) -> float:
    """Wait until every agent holds a broker connection (a lost request stalls a closed-loop slot)."""
    start = time.monotonic()
    while established(port) < agents and time.monotonic() - start < timeout:
        time.sleep(0.2)
    return time.monotonic() - start


def flood(port: int, agents: int, seconds: float, pid: int) -> dict[str, Any]:
    """Run the probe process; CPU of ``pid`` is measured while it floods."""
    cmd = [sys.executable, str(ROOT / "bench" / "bench_fleet.py"), "--role", "probe", "--port", str(port),
           "--mode", "closed", "--agents", str(agents), "--seconds", str(seconds), "--window", "500"]
    probe = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)  # the probe process starts and connects: not measured
    cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
    out, _ = probe.communicate(timeout=seconds + 60)
    cpu, wall = cpu_seconds(pid) - cpu0, time.perf_counter() - wall0
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["agent_process_cpu_s"] = round(cpu, 3)
    result["wall_s"] = round(wall, 3)
    result["per_cpu_s"] = round(result["round_trips"] / cpu) if cpu > 0 else 0
    return result


def stop(proc: subprocess.Popen[Any], sig: int = signal.SIGINT, timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def run_locust(port: int, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "USP_SIM_TASK_WEIGHTS": _idle_weights(), "USP_SIM_WAIT_MIN": "60",
           "USP_SIM_WAIT_MAX": "60"}
    spawn = max(100, args.agents // 4)
    cmd = [str(BIN / "locust"), "-f", str(ROOT / "locustfiles" / "fleet.py"), "--headless",
           "-u", str(args.agents), "-r", str(spawn), "-t", f"{int(args.seconds + 30)}s", "--only-summary",
           "--json", "--usp-broker", f"mqtt://127.0.0.1:{port}", "--usp-endpoint-template", EID,
           "--usp-subscriptions", "off", "--loglevel", "WARNING"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_wait = wait_connected(port, args.agents)
    time.sleep(args.settle)
    out: dict[str, Any] = {"connected_after_s": round(out_wait, 2), "rss_mib": rss_mib(proc.pid)}
    out.update(flood(port, args.agents, args.seconds, proc.pid))
    stop(proc)
    stdout, _ = proc.communicate()
    stats = {s["name"]: s for s in json.loads(stdout or "[]")}
    connect = stats.get("Connect", {})
    out["locust_connects"] = connect.get("num_requests", 0)
    out["locust_connect_failures"] = connect.get("num_failures", 0)
    out["locust_get_events"] = stats.get("Get", {}).get("num_requests", 0)
    return out


def _idle_weights() -> str:
    names = ["value_change", "value_change_burst", "wifi_join", "wifi_leave", "periodic", "bulk_data",
             "reboot", "churn", "fault"]
    return ",".join(f"{n}=0" for n in names) + ",idle=1"


def run_uspsim(port: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    scenario = workdir / "bench.yaml"
    scenario.write_text(
        "name: bench\nspawn_rate: 5000\n"
        f"broker: {{url: 'mqtt://127.0.0.1:{port}'}}\n"
        "controller: {profile: generic, endpoint_id: 'proto::controller', boot_subscription: false}\n"
        f"groups:\n  - {{name: g, profile: home-gateway, count: {args.agents}, endpoint_id: '{EID}', "
        "mtp: mqtt, mqtt_version: 5}\n"
    )
    cmd = [str(BIN / "uspsim"), "run", str(scenario), "--duration", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    waited = wait_connected(port, args.agents)
    time.sleep(args.settle)
    out: dict[str, Any] = {"connected_after_s": round(waited, 2), "rss_mib": rss_mib(proc.pid)}
    out.update(flood(port, args.agents, args.seconds, proc.pid))
    stop(proc)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds of Get flood per runtime")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds after ramp-up before the flood")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker, port = start_mosquitto(Path(tmp))
        try:
            locust_result = run_locust(port, args)
            uspsim_result = run_uspsim(port, args, Path(tmp))
        finally:
            stop(broker, signal.SIGTERM)
    ratio = locust_result["per_cpu_s"] / uspsim_result["per_cpu_s"] if uspsim_result["per_cpu_s"] else 0.0
    out = {
        "agents": args.agents,
        "cores": os.cpu_count(),
        "locust": locust_result,
        "uspsim": uspsim_result,
        "ratio": round(ratio, 3),
        "targets": {
            "locust_agents>=2000": locust_result["locust_connects"] >= 2000
            and locust_result["locust_connect_failures"] == 0,
            "ratio>=0.5": ratio >= 0.5,
        },
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
