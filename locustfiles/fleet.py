"""Fleet as load: each Locust user is one virtual USP agent (users = fleet size, spawn rate = connect rate).

Run: ``locust -f locustfiles/fleet.py --headless -u 1000 -r 100 --usp-broker mqtt://127.0.0.1:1883``
(``--usp-*`` options or ``USP_SIM_*`` environment variables; docs/locust.md). Controller requests are
answered all the time; the tasks below are device-side behaviours with weights, between waits of
``USP_SIM_WAIT_MIN``..``USP_SIM_WAIT_MAX`` seconds (default 5..15). ``USP_SIM_TASK_WEIGHTS`` overrides the
weights, e.g. ``value_change=5,reboot=0`` (``idle=1`` with every other weight 0 gives a quiet fleet).
"""

# isort: off
from simulator.integrations.locust import UspAgentUser  # first: imports locust, which patches gevent

# isort: on
import os

from locust import between

_DEFAULT_WEIGHTS = {
    "value_change": 10,
    "value_change_burst": 2,
    "wifi_join": 4,
    "wifi_leave": 4,
    "periodic": 3,
    "bulk_data": 2,
    "reboot": 1,
    "churn": 1,
    "fault": 1,
    "idle": 0,
}


def _weights() -> dict[str, int]:
    weights = dict(_DEFAULT_WEIGHTS)
    for item in filter(None, os.environ.get("USP_SIM_TASK_WEIGHTS", "").split(",")):
        name, _, value = item.partition("=")
        if name.strip() not in weights:
            msg = f"USP_SIM_TASK_WEIGHTS: unknown task {name!r}; expected one of {', '.join(weights)}"
            raise ValueError(msg)
        weights[name.strip()] = int(value)
    return weights


class FleetAgent(UspAgentUser):
    """A home gateway: answers its controller and, between waits, does what home gateways do."""

    wait_time = between(
        float(os.environ.get("USP_SIM_WAIT_MIN", "5")), float(os.environ.get("USP_SIM_WAIT_MAX", "15"))
    )

    def task_value_change(self) -> None:
        self.value_change()

    def task_value_change_burst(self) -> None:
        self.value_change(5)

    def task_wifi_join(self) -> None:
        self.wifi_client_join()

    def task_wifi_leave(self) -> None:
        self.wifi_client_leave()

    def task_periodic(self) -> None:
        self.periodic_notify()

    def task_bulk_data(self) -> None:
        self.bulk_data_report()

    def task_reboot(self) -> None:
        self.reboot()

    def task_churn(self) -> None:
        self.churn()

    def task_fault(self) -> None:
        self.fault()

    def task_idle(self) -> None:
        """Nothing: the agent only answers its controller."""


FleetAgent.tasks = {
    getattr(FleetAgent, f"task_{name}"): weight for name, weight in _weights().items() if weight > 0
} or {FleetAgent.task_idle: 1}
