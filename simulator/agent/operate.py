"""Operate processing: the shared command registry, argument checks and the Request table (usp-protocol.md 6).

# Strategy: commands are registered once per process in ``REGISTRY`` keyed by supported command path
# (``Device.DeviceInfo.FirmwareImage.{i}.Download()``); agents keep only their running invocations.
# A command is a chain of steps ``step(host, run, now) -> Done | Failed | Later``: sync commands must
# finish in their first step; async ones return ``Later(delay, next_step)`` and the engine turns that
# into a ``Timer("command", (request,))``. Each async invocation owns one Request.{i}. row whose Status
# moves Requested -> Active -> Success/Error (or Canceling -> Canceled) before the row is removed and
# OperationComplete goes to every matching subscription (R-OPR.0-2). Side effects that must follow the
# OperateResp on the wire (reboot, reconnect, events) go through the ``Host``, which queues them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from simulator.agent.actions import Action, CancelTimer, Schedule, Timer
from simulator.agent.commands.rows import add_row, delete_row, table_node, write
from simulator.datamodel.schema import CommandNode, Instances
from simulator.usp.errors import ErrorCode, UspError
from simulator.usp.requests import CommandFailure, Operate, OutputArgs

if TYPE_CHECKING:
    from simulator.agent.context import AgentContext
    from simulator.agent.events import BootCause

__all__ = [
    "COMMAND_TIMER",
    "REGISTRY",
    "CommandOptions",
    "CommandSpec",
    "Done",
    "Failed",
    "Host",
    "Later",
    "Operations",
    "Outcome",
    "Run",
    "command",
    "supported_form",
]

COMMAND_TIMER = "command"
"""Timer kind of async command steps; key ``(request number,)``."""
REQUEST_TABLE = "Device.LocalAgent.Request.{i}."


@dataclass(frozen=True, slots=True)
class CommandOptions:
    """Durations (seconds) and failure rates (0..1) of simulated commands; shared, frozen.

    Attributes:
        boot_delay: Reboot()/FactoryReset()/Activate() downtime before the MTP comes back.
        reconnect_delay: MQTT.Client.{i}.ForceReconnect() downtime.
        download_time / validate_time: firmware Download() phases.
        download_failure_rate / validation_failure_rate: chance of DownloadFailed / ValidationFailed.
        diagnostic_time: IPPing/TraceRoute/Download/UploadDiagnostics/NeighboringWiFiDiagnostic duration.
        selftest_time: SelfTestDiagnostics() duration; selftest_failure_rate its Error_Other rate.
        install_time: InstallDU/Update/Uninstall duration; install_failure_rate their failure rate.
        default_async_time: duration of async commands that have no simulation of their own.
        request_path_trailing_dot: req_obj_path with a trailing dot (spec examples) instead of obuspa's none.
        send_async_cmd_failure: obuspa answers a failed argument check with cmd_failure (True) for sync
            and async alike; kept for profiles of other agents.
    """

    boot_delay: float = 30.0
    reconnect_delay: float = 2.0
    download_time: float = 20.0
    validate_time: float = 5.0
    download_failure_rate: float = 0.0
    validation_failure_rate: float = 0.0
    diagnostic_time: float = 5.0
    selftest_time: float = 10.0
    selftest_failure_rate: float = 0.0
    install_time: float = 10.0
    install_failure_rate: float = 0.0
    default_async_time: float = 1.0
    request_path_trailing_dot: bool = False
    send_async_cmd_failure: bool = True


@dataclass(slots=True)
class Run:
    """One command invocation on one resolved instance.

    Attributes:
        command: executed command path, e.g. "Device.IP.Diagnostics.IPPing()".
        obj_path: object owning it, trailing dot (OperationComplete.obj_path).
        name: command name with ``()`` (OperationComplete.command_name).
        inst: instance numbers of the owning object.
        args: input arguments after defaults (unknown ones kept but never read).
        command_key: Operate.command_key.
        originator: EndpointID of the Controller that sent the Operate.
        is_async: async command (has a Request row).
        started: time of the Operate.
        request: Request.{i} instance number (0 for sync commands or without a Request table).
        state: scratch values between steps.
        next: the step to run when the command timer fires.
    """

    command: str
    obj_path: str
    name: str
    inst: Instances
    args: dict[str, str]
    command_key: str
    originator: str
    is_async: bool
    started: float
    request: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    next: Step | None = None


@dataclass(frozen=True, slots=True)
class Done:
    """The command succeeded with these output arguments."""

    output: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Failed:
    """The command failed (cmd_failure)."""

    code: int
    message: str


@dataclass(frozen=True, slots=True)
class Later:
    """Run ``step`` after ``delay`` seconds (async commands only)."""

    delay: float
    step: Step


Outcome = Done | Failed | Later


class Host(Protocol):
    """What a command may ask of its agent (implemented by AgentBehaviour)."""

    ctx: AgentContext
    options: CommandOptions
    rng: random.Random

    def emit_event(self, obj_path: str, name: str, params: dict[str, str], now: float) -> None:
        """Fire an event (``name`` without ``!``) to matching Event subscriptions."""

    def reboot(self, boot: BootCause, now: float, *, factory: bool = False) -> None:
        """Restart the agent once the current message has been answered."""

    def reconnect(self, reason: str, after: float) -> None:
        """Drop the MTP connections and bring them back after ``after`` seconds."""

    def send_onboard(self, controller: int, now: float) -> None:
        """Send an OnBoardRequest to Controller.{controller}."""

    def force_collection(self, profile: int, now: float) -> None:
        """Generate and send a Bulk Data report of Profile.{profile} now."""


Step = Callable[[Host, Run, float], Outcome]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A simulated command.

    Attributes:
        path: supported command path with ``{i}``.
        start: the first step.
        mandatory: arguments required even when the profile does not mark them (``{i}`` allowed).
        defaults: defaults applied when the argument is omitted and the profile gives none (R-OPR.7).
    """

    path: str
    start: Step
    mandatory: tuple[str, ...] = ()
    defaults: tuple[tuple[str, str], ...] = ()


REGISTRY: dict[str, CommandSpec] = {}
"""Supported command path -> spec; filled at import time by simulator.agent.commands."""


def command(path: str, *, mandatory: tuple[str, ...] = (),
            defaults: dict[str, str] | None = None) -> Callable[[Step], Step]:
    """Decorator registering ``step`` as the first step of the command at ``path``."""

    def register(step: Step) -> Step:
        REGISTRY[path] = CommandSpec(path, step, mandatory, tuple((defaults or {}).items()))
        return step

    return register


def supported_form(path: str) -> str:
    """``Device.X.2.Y()`` -> ``Device.X.{i}.Y()`` (also argument names ``TimeWindow.1.Start``)."""
    return ".".join("{i}" if part.isdigit() else part for part in path.split("."))


def _finish_sync(_host: Host, _run: Run, _now: float) -> Outcome:
    return Done({})


def _default_step(host: Host, run: Run, now: float) -> Outcome:
    if run.is_async:
        return Later(host.options.default_async_time, _finish_sync)
    return Done({})


def check_args(node: CommandNode, spec: CommandSpec | None, given: dict[str, str]) -> dict[str, str] | Failed:
    """Validate input arguments: mandatory ones (7027), value syntax (7027), defaults (R-OPR.5-7).

    Unknown arguments are ignored (R-OPR.6, TP 1.91) but kept in the returned mapping.
    """
    args = dict(given)
    for name, value in given.items():
        param = node.input.get(supported_form(name))
        if param is None:
            continue
        try:
            args[name] = param.type.normalize(value)
        except UspError as exc:
            return Failed(ErrorCode.INVALID_COMMAND_ARGS, f"Invalid value for argument {name}: {exc}")
    required = [n for n, p in node.input.items() if p.mandatory] + list(spec.mandatory if spec else ())
    for name in required:
        if "{i}" not in name:
            group = name.rpartition(".")[0]
            if group and not any(n.startswith(group + ".") for n in given):
                continue  # an optional argument group (AutoRestart.*) that was not used at all
            if name not in given:
                return Failed(ErrorCode.INVALID_COMMAND_ARGS, f"Missing mandatory argument {name}")
            continue
        head, _, leaf = name.rpartition(".")
        objs = {n.rpartition(".")[0] for n in given if supported_form(n.rpartition(".")[0]) == head}
        for obj in sorted(objs):
            if f"{obj}.{leaf}" not in given:
                return Failed(ErrorCode.INVALID_COMMAND_ARGS, f"Missing mandatory argument {obj}.{leaf}")
    for name, param in node.input.items():
        if "{i}" in name or name in args:
            continue
        default = param.default
        if isinstance(default, str) and default and default != param.type.default:
            args[name] = default  # an explicit profile default wins over the simulation's
    for name, value in spec.defaults if spec else ():
        args.setdefault(name, value)
    for name, param in node.input.items():
        if "{i}" not in name and name not in args and isinstance(param.default, str) and param.default:
            args[name] = param.default
    return args


class Operations:
    """The running commands of one agent."""

    __slots__ = ("_next_request", "host", "running")

    def __init__(self, host: Host) -> None:
        self.host = host
        self.running: dict[int, Run] = {}
        self._next_request = 0

    def request_path(self, number: int) -> str:
        """``Device.LocalAgent.Request.{n}`` with or without the trailing dot (see CommandOptions)."""
        dot = "." if self.host.options.request_path_trailing_dot else ""
        return f"Device.LocalAgent.Request.{number}{dot}"

    def invoke(self, controller_id: str, operate: Operate, executed: str,  # noqa: PLR0917
               node: CommandNode, inst: Instances,
               now: float) -> tuple[str | OutputArgs | CommandFailure, list[Action]]:
        """Run one resolved command instance up to its first wait.

        Returns:
            (the OperationResult oneof value, timer actions).
        """
        obj_path, _, name = executed.rpartition(".")
        spec = REGISTRY.get(supported_form(executed))
        checked = check_args(node, spec, dict(operate.input_args))
        if isinstance(checked, Failed):
            return CommandFailure(int(checked.code), checked.message), []
        run = Run(executed, obj_path + ".", name, inst, checked, operate.command_key, controller_id,
                  node.is_async, now)
        step = spec.start if spec is not None else _default_step
        if not node.is_async:
            outcome = step(self.host, run, now)
            if isinstance(outcome, Done):
                return OutputArgs(dict(outcome.output)), []
            if isinstance(outcome, Failed):
                return CommandFailure(int(outcome.code), outcome.message), []
            msg = f"sync command {executed} returned Later"
            raise TypeError(msg)
        run.next = step
        run.request = self._create_request(run)
        self.running[run.request] = run
        return self.request_path(run.request), [Schedule(now, Timer(COMMAND_TIMER, (run.request,)))]

    def _create_request(self, run: Run) -> int:
        ctx = self.host.ctx
        table = table_node(ctx, REQUEST_TABLE)
        if table is None:
            self._next_request += 1
            return self._next_request
        inst = add_row(ctx, table, (), {"Originator": run.originator, "Command": run.command,
                                        "CommandKey": run.command_key, "Status": "Requested"})
        if inst[-1] in self.running:  # obuspa-style reuse of a number still held by a ghost run
            self.running.pop(inst[-1])
        return inst[-1]

    def _status(self, run: Run, status: str) -> None:
        write(self.host.ctx, f"Device.LocalAgent.Request.{run.request}.Status", status)

    def step(self, request: int, now: float) -> tuple[Run, Outcome] | None:
        """The command timer fired: run the next step.

        Returns:
            (run, outcome) where outcome is Later (the caller schedules it) or final (the caller
            notifies and calls ``finish``); None when the request is gone (canceled).
        """
        run = self.running.get(request)
        if run is None or run.next is None:
            return None
        if run.state.get("_active") is None:
            run.state["_active"] = True
            self._status(run, "Active")
        outcome = run.next(self.host, run, now)
        if isinstance(outcome, Later):
            run.next = outcome.step
        return run, outcome

    def finish(self, run: Run, outcome: Done | Failed, *, canceled: bool = False) -> None:
        """Final Status, then remove the Request row (R-OPR.2)."""
        self.running.pop(run.request, None)
        if canceled:
            self._status(run, "Canceling")
            status = "Canceled"
        else:
            status = "Success" if isinstance(outcome, Done) else "Error"
        self._status(run, status)
        table = table_node(self.host.ctx, REQUEST_TABLE)
        if table is not None:
            delete_row(self.host.ctx, table, (run.request,))

    def cancel(self, request: int) -> tuple[Run | None, list[Action]]:
        """Request.{i}.Cancel(): stop the run (its OperationComplete carries 7023)."""
        run = self.running.get(request)
        if run is None:
            return None, []
        self.finish(run, Failed(ErrorCode.COMMAND_CANCELED, "Command canceled"), canceled=True)
        return run, [CancelTimer(Timer(COMMAND_TIMER, (request,)))]

    def reset(self) -> list[Action]:
        """Agent restart: async commands do not survive a reboot (usp-protocol.md 6.1.7)."""
        out: list[Action] = [CancelTimer(Timer(COMMAND_TIMER, (n,))) for n in self.running]
        self.running.clear()
        return out
