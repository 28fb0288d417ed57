"""``churn``: agents drop their connection and come back, at a rate, gracefully or abruptly.

Graceful: a USP DisconnectRecord and an MQTT DISCONNECT (the broker drops the Will). Abrupt: the TCP
connection is aborted (the broker publishes the Will, as for a cable pulled). Either way the agent is not
rebooted: it reconnects after ``downtime`` (uniform in [downtime, downtime_max]) and sends its Connect
Record again, but no Boot!.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.fleet.behaviours.engine import Family

if TYPE_CHECKING:
    from simulator.fleet.driver import AgentDriver

__all__ = ["Churn"]


class Churn(Family):
    """Disconnect a random connected agent ``rate`` times per second."""

    def begin(self) -> None:
        self.agent_ticker(self._tick)

    def _tick(self, driver: AgentDriver) -> None:
        spec, rng = self.spec, self.rng
        low = float(spec.opt("downtime"))
        high = spec.opt("downtime_max")
        downtime = rng.uniform(low, float(high)) if high is not None else low
        abrupt = rng.random() < float(spec.opt("abrupt"))
        if driver.disconnect_now("churn", downtime, graceful=not abrupt):
            self.count("abrupt" if abrupt else "graceful")
