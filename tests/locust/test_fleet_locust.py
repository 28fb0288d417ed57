"""``locustfiles/fleet.py``: short headless runs against the real mosquitto, our probe as the controller."""

from __future__ import annotations

import subprocess

from conftest import QUIET_TASKS, by_name, locust_cmd, locust_env, run_locust
from probe_thread import ProbeThread


def test_fleet_locust_answers_requests_and_gets_notify_resps(usp_broker_address: tuple[str, int]) -> None:
    """50 agents answer a Get flood, send Notifies the probe acknowledges, with zero failures."""
    host, port = usp_broker_address
    probe = ProbeThread(host, port, timeout=3.0)
    try:
        probe.start_gets(window=20)
        weights = ("value_change=10,value_change_burst=2,wifi_join=4,wifi_leave=4,periodic=3,bulk_data=2,"
                   "reboot=0,churn=0,fault=0")
        cmd = locust_cmd(
            "fleet.py", "--headless", "-u", "50", "-r", "25", "-t", "12s", "--json", "--only-summary",
            "--usp-broker", f"mqtt://{host}:{port}", "--usp-endpoint-template", "os::012345-LT1{index:06d}",
        )
        stats = by_name(run_locust(cmd, locust_env(USP_SIM_TASK_WEIGHTS=weights, USP_SIM_WAIT_MIN="0.5",
                                                   USP_SIM_WAIT_MAX="2")))
    finally:
        probe.close()
    assert stats["Connect"]["num_requests"] == 50
    assert stats["Get"]["num_requests"] > 100
    for name in ("Notify:ValueChange", "Notify:ObjectCreation", "Notify:Periodic!", "Notify:Push!"):
        assert stats[name]["num_requests"] > 0, name
    failures = {n: s["num_failures"] for n, s in stats.items()}
    assert not any(failures.values()), failures
    assert probe.answers >= stats["Get"]["num_requests"] - 40  # answers in flight at the end may be lost
    assert probe.errors == 0
    # low-cardinality names only (architecture.md B6): no EndpointIDs or topics
    assert all(s["method"] == "USP" and "::" not in s["name"] and "/" not in s["name"]
               for s in stats.values())


def test_fleet_locust_distributed_workers_own_disjoint_endpoint_ids(
    usp_broker_address: tuple[str, int],
) -> None:
    """Master + 2 workers, 20 users: the probe sees 20 distinct agents from two index ranges."""
    host, port = usp_broker_address
    probe = ProbeThread(host, port, timeout=3.0)
    master_port = _free_port()
    env = locust_env(USP_SIM_TASK_WEIGHTS=QUIET_TASKS, USP_SIM_WAIT_MIN="1", USP_SIM_WAIT_MAX="2",
                     USP_SIM_BROKER_URL=f"mqtt://{host}:{port}",
                     USP_SIM_ENDPOINT_TEMPLATE="os::012345-LT2{index:08d}", USP_SIM_WORKER_STRIDE="1000")
    common = ["--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port)]
    workers = [
        subprocess.Popen(locust_cmd("fleet.py", "--worker", "--master-host", "127.0.0.1",
                                    "--master-port", str(master_port)), env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        probe.start_gets(window=10)
        cmd = locust_cmd("fleet.py", "--master", "--headless", "--expect-workers", "2", "-u", "20",
                         "-r", "20", "-t", "8s", "--json", "--only-summary", *common)
        stats = by_name(run_locust(cmd, env, timeout=60))
        for worker in workers:
            _, err = worker.communicate(timeout=20)
            assert "Traceback" not in err, err[-3000:]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        probe.close()
    eids = [e for e in probe.probe.agents if e.startswith("os::012345-LT2")]
    assert len(eids) == 20 == len(set(eids))
    ranges = {int(e[-8:]) // 1000 for e in eids}
    assert len(ranges) == 2, sorted(eids)
    assert stats["Connect"]["num_requests"] == 20
    assert stats["Get"]["num_requests"] > 20
    assert all(s["num_failures"] == 0 for s in stats.values())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


