"""``locustfiles/fleet.py``: short headless runs against the real mosquitto, our probe as the controller."""

from __future__ import annotations

import subprocess
from pathlib import Path

from locust_helpers import QUIET_TASKS, by_name, locust_cmd, locust_env, run_locust
from probe_thread import ProbeThread

from simulator.fleet.localbroker import free_port


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
    usp_broker_address: tuple[str, int], tmp_path: Path
) -> None:
    """Master + 2 workers, 20 users: the probe sees 20 distinct agents from two index ranges."""
    host, port = usp_broker_address
    probe = ProbeThread(host, port, timeout=3.0)
    master_port = free_port()
    faults = tmp_path / "faults.yaml"  # --usp-faults: the sans-I/O FaultPolicy in the Locust runtime
    faults.write_text("faults:\n  - {kind: error, rate: 0.2, error_code: 7005, messages: [Get]}\n")
    env = locust_env(USP_SIM_TASK_WEIGHTS=QUIET_TASKS, USP_SIM_WAIT_MIN="1", USP_SIM_WAIT_MAX="2",
                     USP_SIM_BROKER_URL=f"mqtt://{host}:{port}",
                     USP_SIM_ENDPOINT_TEMPLATE="os::012345-LT2{index:08d}", USP_SIM_WORKER_STRIDE="1000",
                     USP_SIM_FAULTS=str(faults))
    common = ["--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port)]
    # Worker logs go to files: a pipe nobody reads until the end can fill up and stall a worker.
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = []
    for log in logs:
        with log.open("w") as fh:  # the child keeps its own copy of the descriptor
            workers.append(subprocess.Popen(
                locust_cmd("fleet.py", "--worker", "--master-host", "127.0.0.1", "--master-port",
                           str(master_port)),
                env=env, stdout=subprocess.DEVNULL, stderr=fh, text=True))
    try:
        probe.start_gets(window=10)
        cmd = locust_cmd("fleet.py", "--master", "--headless", "--expect-workers", "2", "-u", "20",
                         "-r", "20", "-t", "8s", "--json", "--only-summary", *common)
        stats = by_name(run_locust(cmd, env, timeout=90))
        for worker in workers:
            worker.wait(timeout=20)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        probe.close()
    errs = "\n".join(log.read_text()[-3000:] for log in logs)
    assert "Traceback" not in errs, errs
    eids = [e for e in probe.probe.agents if e.startswith("os::012345-LT2")]
    assert len(eids) == 20 == len(set(eids)), (sorted(eids), errs)
    ranges = {int(e[-8:]) // 1000 for e in eids}
    assert len(ranges) == 2, sorted(eids)
    assert stats["Connect"]["num_requests"] == 20
    assert stats["Get"]["num_requests"] > 20
    assert all(s["num_failures"] == 0 for s in stats.values())
    assert stats["Fault:error"]["num_requests"] > 0  # injected faults are counted, not failures
    assert probe.errors > 0
