"""Builders for agent-originated notifications: Boot!, Periodic!, OnBoardRequest (usp-protocol.md 5.4-5.7)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from simulator.agent.commands.rows import read, table_node
from simulator.datamodel.types import UNKNOWN_TIME, parse_datetime
from simulator.usp.errors import UspError
from simulator.usp.requests import Event, OnBoardRequest

if TYPE_CHECKING:
    from simulator.agent.context import AgentContext, ControllerRef

__all__ = [
    "BOOT_EVENT",
    "PERIODIC_EVENT",
    "BootCause",
    "boot_event",
    "next_periodic",
    "onboard_request",
    "parameter_map",
    "periodic_event",
]

BOOT_EVENT = "Device.Boot!"
PERIODIC_EVENT = "Device.LocalAgent.Periodic!"


@dataclass(frozen=True, slots=True)
class BootCause:
    """Why the agent (re)started: the Boot! arguments that do not depend on the recipient.

    Attributes:
        cause: LocalReboot | RemoteReboot | LocalFactoryReset | RemoteFactoryReset.
        command_key: command_key of the Reboot()/FactoryReset()/Activate() Operate, else "".
        reason: Reason input argument (2.18), "Unknown" when none.
        firmware_updated: this boot activated a new firmware image.
    """

    cause: str = "LocalReboot"
    command_key: str = ""
    reason: str = "Unknown"
    firmware_updated: bool = False


def parameter_map(ctx: AgentContext, controller: ControllerRef, now: float) -> str:
    """The Boot! ParameterMap JSON for one recipient, from its enabled BootParameter rows.

    Patterns may contain wildcards; patterns that match nothing (or are invalid) are skipped.
    """
    table = table_node(ctx, "Device.LocalAgent.Controller.{i}.BootParameter.{i}.")
    values: dict[str, str] = {}
    if table is not None:
        for number in ctx.store.instances(table, (controller.instance,)):
            base = f"{controller.path}BootParameter.{number}."
            pattern = read(ctx, base + "ParameterName")
            if read(ctx, base + "Enable") != "true" or not pattern:
                continue
            try:
                results = ctx.datamodel.get(pattern, now=now)
            except (UspError, AttributeError):
                continue
            for obj_path, params in results:
                for name, value in params.items():
                    values[obj_path + name] = value
    return orjson.dumps(values).decode()


def boot_event(ctx: AgentContext, controller: ControllerRef, boot: BootCause, now: float) -> Event:
    """``Device.Boot!`` for one recipient Controller (ParameterMap is per recipient)."""
    return Event("Device.", "Boot!", {
        "CommandKey": boot.command_key,
        "Cause": boot.cause,
        "Reason": boot.reason or "Unknown",
        "FirmwareUpdated": "true" if boot.firmware_updated else "false",
        "ParameterMap": parameter_map(ctx, controller, now),
    })


def periodic_event() -> Event:
    """``Device.LocalAgent.Periodic!`` (no arguments)."""
    return Event("Device.LocalAgent.", "Periodic!", {})


def next_periodic(ctx: AgentContext, controller: ControllerRef, now: float) -> float | None:
    """The next Periodic! time for a Controller after ``now``: anchor + n * interval (usp-protocol.md 5.5).

    Returns:
        The epoch time, or None when the profile has no PeriodicNotifInterval.
    """
    text = read(ctx, controller.path + "PeriodicNotifInterval")
    if not text:
        return None
    try:
        interval = max(1, int(text))
    except ValueError:
        return None
    anchor_text = read(ctx, controller.path + "PeriodicNotifTime", UNKNOWN_TIME)
    anchor = 0.0
    if anchor_text and anchor_text != UNKNOWN_TIME:
        try:
            anchor = parse_datetime(anchor_text)
        except UspError:
            anchor = 0.0
    n = math.floor((now - anchor) / interval) + 1
    return anchor + n * interval


def onboard_request(ctx: AgentContext) -> OnBoardRequest:
    """OnBoardRequest fields from Device.DeviceInfo plus the supported-versions string (R-NOT.6)."""
    return OnBoardRequest(
        read(ctx, "Device.DeviceInfo.ManufacturerOUI"),
        read(ctx, "Device.DeviceInfo.ProductClass"),
        read(ctx, "Device.DeviceInfo.SerialNumber"),
        ctx.config.supported_versions,
    )
