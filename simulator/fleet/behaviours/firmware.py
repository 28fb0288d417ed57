"""``firmware_campaign``: a share of the fleet is offered new firmware and installs it.

Design (docs/scenario-format.md "firmware_campaign"): the campaign reaches each selected agent once, in a
random order spread evenly over ``ramp`` seconds from ``start``; an agent that is not connected at its
turn is reached as soon as it is (checked every second). The target is the *inactive* bank
(``FirmwareImage.{i}`` other than ``ActiveFirmwareImage``).

- ``mode: agent`` (default) models a device-initiated update (vendor auto-update, a scheduled download):
  the agent runs its own ``FirmwareImage.{i}.Download(URL=<url>, AutoActivate=true)`` through its command
  machinery, as if Controller.1 had sent the Operate without asking for a response. Subscribers then see
  exactly the TR-181 sequence: Status Downloading -> Validating -> Available (ValueChange),
  ``TransferComplete!``, ``OperationComplete``, a reboot and ``Boot!`` with ``FirmwareUpdated=true`` and
  the new SoftwareVersion. ``failure_rate`` makes that share of downloads fail (DownloadFailed, 9010).
- ``mode: offer`` stages the image instead (background download done): the inactive bank gets the new
  Version/Name with Status Available and Available=true (ValueChange to subscribers), and a controller
  (Oktopus ``fw_update``, a probe, a Locust user) performs Download()/Activate() itself.

``download_time``, ``validate_time`` and ``boot_delay`` set the durations for the selected agents.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from simulator.agent.commands.rows import read, table_node, write
from simulator.fleet.behaviours.engine import Family, act, agent_behaviour, ensure_subscription
from simulator.fleet.driver import DriverState
from simulator.usp.requests import Operate

if TYPE_CHECKING:
    from simulator.agent.actions import Action
    from simulator.agent.agent import Agent
    from simulator.fleet.behaviours.schedule import Handle
    from simulator.fleet.driver import AgentDriver

__all__ = ["FirmwareCampaign", "inactive_image"]

COMMAND_KEY = "uspsim-campaign"
TRANSFER_COMPLETE = "Device.LocalAgent.TransferComplete!"
_IMAGES = "Device.DeviceInfo.FirmwareImage.{i}."


def inactive_image(agent: Agent) -> str | None:
    """``Device.DeviceInfo.FirmwareImage.<n>.`` of the first bank that is not active, or None."""
    ctx = agent.ctx
    table = table_node(ctx, _IMAGES)
    if table is None:
        return None
    active = read(ctx, "Device.DeviceInfo.ActiveFirmwareImage").rstrip(".")
    for number in ctx.store.instances(table, ()):
        path = f"Device.DeviceInfo.FirmwareImage.{number}"
        if path != active:
            return path + "."
    return None


class FirmwareCampaign(Family):
    """One firmware update per selected agent (see the module docstring)."""

    def begin(self) -> None:
        order = list(self.indexes)
        self.rng.shuffle(order)
        ramp = float(self.spec.opt("ramp"))
        clock = self.engine.clock
        now = clock.time()
        self._waiting: set[int] = set()
        self._retry: Handle | None = None
        for i, index in enumerate(order):
            if ramp:
                self.handles.append(clock.call_at(now + ramp * i / len(order), self._reach, index))
            else:
                self._reach(index)

    def _reach(self, index: int) -> None:
        """Update agent ``index`` now, or as soon as it is connected (checked every second)."""
        driver = self.engine.driver(index)
        if driver is None or driver.state is not DriverState.CONNECTED:
            if index not in self._waiting:
                self._waiting.add(index)
                self.count("deferred")
            if self._retry is None:
                self._retry = self.engine.clock.call_at(self.engine.clock.time() + 1.0, self._retry_waiting)
                self.handles.append(self._retry)
            return
        self._waiting.discard(index)
        self._update(driver)

    def _retry_waiting(self) -> None:
        self._retry = None
        for index in sorted(self._waiting):
            self._reach(index)

    def _update(self, driver: AgentDriver) -> None:
        spec = self.spec
        version = str(spec.opt("version"))
        url = str(spec.opt("url")).format(version=version)
        behaviour = agent_behaviour(driver)
        if behaviour is None:
            self.count("unsupported", error=1)
            return
        behaviour.options = replace(
            behaviour.options,
            download_time=float(spec.opt("download_time")),
            validate_time=float(spec.opt("validate_time")),
            boot_delay=float(spec.opt("boot_delay")),
            download_failure_rate=float(spec.opt("failure_rate")),
        )
        offer = spec.opt("mode") == "offer"
        subscribe = bool(spec.opt("subscribe"))
        found: list[str] = []

        def edit(agent: Agent, now: float) -> list[Action]:
            image = inactive_image(agent)
            if image is None:
                return []
            found.append(image)
            ctx = agent.ctx
            if subscribe:
                ensure_subscription(agent, "Event", TRANSFER_COMPLETE, "uspsim-fw-transfer")
                ensure_subscription(agent, "Event", "Device.Boot!", "uspsim-fw-boot")
            if offer:
                write(ctx, image + "Version", version)
                write(ctx, image + "Name", url.rstrip("/").rsplit("/", 1)[-1][:64])
                write(ctx, image + "Status", "Available")
                write(ctx, image + "Available", "true")
                return []
            controller = next(iter(agent.controller_ids()), "")
            operate = Operate(image + "Download()", COMMAND_KEY, False, {"URL": url, "AutoActivate": "true"})
            msg_id = f"{COMMAND_KEY}-{ctx.endpoint_id}"
            return behaviour.handle_operate(controller, msg_id, operate, None, now)

        act(driver, edit)
        if not found:
            self.count("no_image", error=1)
        else:
            self.count("offer" if offer else "download")
