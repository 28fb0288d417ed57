"""Device.Reboot(), FactoryReset(), SelfTestDiagnostics() and ScheduleTimer() (usp-protocol.md 6.3)."""

from __future__ import annotations

from simulator.agent.events import BootCause
from simulator.agent.operate import Done, Host, Later, Outcome, Run, command


@command("Device.Reboot()")
def reboot(host: Host, run: Run, now: float) -> Outcome:
    """Answer first (empty output args, TP 1.61), then restart; Boot! carries Cause and CommandKey."""
    cause = run.args.get("Cause") or "RemoteReboot"
    host.reboot(BootCause(cause, run.command_key, run.args.get("Reason") or "Unknown"), now)
    return Done({})


@command("Device.FactoryReset()")
def factory_reset(host: Host, run: Run, now: float) -> Outcome:
    """Restore the profile, restart, Boot! with Cause RemoteFactoryReset ([obuspa] default)."""
    cause = run.args.get("Cause") or "RemoteFactoryReset"
    host.reboot(BootCause(cause, run.command_key, run.args.get("Reason") or "Unknown"), now, factory=True)
    return Done({})


def _selftest_done(host: Host, run: Run, now: float) -> Outcome:
    if host.rng.random() < host.options.selftest_failure_rate:
        return Done({"Status": "Error_Other", "Results": "memory test: 1 bad block"})
    return Done({"Status": "Complete", "Results": "cpu ok; memory ok; flash ok; wifi ok; ethernet ok"})


@command("Device.SelfTestDiagnostics()")
def selftest(host: Host, run: Run, now: float) -> Outcome:
    """Async: Complete (or Error_Other at the configured rate) after ``selftest_time``."""
    return Later(host.options.selftest_time, _selftest_done)


def _timer_done(host: Host, run: Run, now: float) -> Outcome:
    return Done({})


@command("Device.ScheduleTimer()", mandatory=("DelaySeconds",))
def schedule_timer(host: Host, run: Run, now: float) -> Outcome:
    """Async: OperationComplete (no outputs) after DelaySeconds (TP 1.79, 9.11)."""
    try:
        delay = max(1, int(run.args["DelaySeconds"]))
    except ValueError:
        delay = 1
    return Later(float(delay), _timer_done)
