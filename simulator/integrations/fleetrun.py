"""``uspsim run SCENARIO``: ramp a fleet up against a broker, show live status, print a summary."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from simulator.fleet.config import ScenarioConfig, load_scenario
from simulator.fleet.metrics import Metrics, Stats
from simulator.fleet.yamlsource import command_line_error

if TYPE_CHECKING:
    from simulator.fleet.probe import Probe
    from simulator.fleet.runner import Fleet, FleetStatus

__all__ = ["add_run_parser", "cmd_run"]


def add_run_parser(sub: Any) -> None:
    """Register ``uspsim run``."""
    run = sub.add_parser("run", help="run a scenario (scenarios/*.yaml) against a broker")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--agents", type=int, default=None, help="override the total number of agents")
    run.add_argument("--processes", type=int, default=1, help="worker processes, each owning an index range")
    run.add_argument(
        "--duration", type=float, default=None, help="seconds to run after ramp-up (0 = until Ctrl-C)"
    )
    run.add_argument(
        "--broker", default=None, help="override the broker URL (mqtt://host:port, mqtts://, embedded)"
    )
    run.add_argument("--spawn-rate", type=float, default=None, help="override every group's agents/s")
    run.add_argument(
        "--onboard",
        action="store_true",
        help="after ramp-up, a probe controller sends the Oktopus onboarding Get to every agent",
    )
    run.add_argument(
        "--connect-timeout",
        type=float,
        default=30.0,
        help="seconds after ramp-up for every agent to connect (default 30)",
    )
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(func=cmd_run)


def prepare(args: argparse.Namespace) -> ScenarioConfig:
    """Load the scenario and apply command-line overrides (all validation happens here)."""
    import dataclasses

    scenario = load_scenario(args.scenario)
    if args.agents is not None:
        scenario = scenario.with_agents(args.agents)
    if args.broker is not None:
        scenario = scenario.with_broker(args.broker)
    if args.spawn_rate is not None:
        if args.spawn_rate <= 0:
            raise command_line_error(option="--spawn-rate", reason="must be > 0")
        scenario = dataclasses.replace(
            scenario,
            groups=tuple(dataclasses.replace(g, spawn_rate=args.spawn_rate) for g in scenario.groups),
        )
    if args.duration is not None:
        if args.duration < 0:
            raise command_line_error(option="--duration", reason="must be >= 0")
        scenario = dataclasses.replace(scenario, duration=args.duration)
    if args.processes < 1:
        raise command_line_error(option="--processes", reason="must be >= 1")
    return scenario


def cmd_run(args: argparse.Namespace) -> int:
    """``uspsim run``."""
    from simulator.integrations.cli import run_loop

    scenario = prepare(args)
    console = Console(highlight=False)
    if args.processes > 1:
        from simulator.integrations.processes import run_processes

        stats, failures = run_processes(scenario, args.processes, status=console.print)
        return _finish(
            console,
            args,
            scenario,
            stats,
            probe=None,
            failures=failures,
            total=scenario.total_agents,
            status=None,
        )
    return int(run_loop(_run(args, scenario, console)))


async def _preflight(host: str, port: int, timeout: float) -> str | None:
    """None when a TCP connection to the broker opens, else a one-line explanation."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return f"MQTT broker {host}:{port} did not answer within {timeout:g} s"
    except OSError as exc:
        return f"cannot reach MQTT broker {host}:{port}: {exc.strerror or exc}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


async def _run(args: argparse.Namespace, scenario: ScenarioConfig, console: Console) -> int:
    from simulator.fleet.localbroker import local_broker

    if scenario.broker.embedded:
        prefix = None
        if scenario.controller.profile.startswith("oktopus"):
            prefix = scenario.controller.controller_topic.rsplit("/", 1)[0]
        async with local_broker(oktopus_prefix=prefix) as broker:
            console.print(f"embedded broker: {broker.kind} on {broker.url}")
            return await _run_fleet(args, scenario, console, broker.host, broker.port)
    uses_mqtt = any(g.mtp == "mqtt" for g in scenario.groups)
    if uses_mqtt:
        problem = await _preflight(scenario.broker.host, scenario.broker.port, 5.0)
        if problem is not None:
            console.print(f"[bold red]error:[/] {problem} (scenario {scenario.source}, key broker.url)")
            return 1
    return await _run_fleet(args, scenario, console, scenario.broker.host, scenario.broker.port)


def _status_line(st: FleetStatus, stats: Stats, started: float) -> str:
    answered = int(stats.count("request"))
    return (
        f"[bold]{st.connected}[/]/{st.total} connected, {st.waiting} connecting/retrying, "
        f"{st.failed} failed | "
        f"{answered} requests answered | {int(stats.count('reconnect'))} reconnects | "
        f"{stats.error_count()} errors | {time.monotonic() - started:.0f} s"
    )


async def _run_fleet(
    args: argparse.Namespace, scenario: ScenarioConfig, console: Console, host: str, port: int
) -> int:
    from simulator.fleet.runner import Fleet

    metrics = Metrics()
    fleet = Fleet(scenario, host=host, port=port, metrics=metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    started = time.monotonic()
    probe: Probe | None = None
    failure: str | None = None
    try:
        progress = Progress(
            TextColumn("ramp-up"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} started"),
            TextColumn("{task.fields[line]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        with progress:
            task = progress.add_task("ramp", total=fleet.size, line="")

            def show(st: FleetStatus) -> None:
                progress.update(task, completed=st.started, line=f"{st.connected} connected")

            ramp = asyncio.ensure_future(fleet.start(show))
            while not ramp.done():
                await asyncio.wait([ramp], timeout=0.5)
                failure = _early_failure(fleet)
                if failure or stop.is_set():
                    ramp.cancel()
                    break
            if not ramp.cancelled():
                ramp.result()
        if failure is None and not stop.is_set():
            st = await fleet.wait_connected(args.connect_timeout, progress=None)
            failure = _early_failure(fleet) if st.connected == 0 else None
        if failure is None and args.onboard and not stop.is_set():
            probe = await _onboard(scenario, host, port, fleet, console)
        if failure is None:
            await _live(fleet, metrics, stop, console, duration=scenario.duration, started=started)
    finally:
        at_stop = fleet.status()
        await fleet.stop(timeout=5.0)
        if probe is not None:
            await probe.close()
    failures = [f"{eid}: {exc}" for eid, exc in fleet.errors]
    if failure:
        failures.insert(0, failure)
    total = fleet.size
    return _finish(
        console,
        args,
        scenario,
        metrics.stats,
        probe=probe.metrics.stats if probe else None,
        failures=failures,
        total=total,
        status=at_stop,
    )


def _early_failure(fleet: Fleet) -> str | None:
    """A clear message when no agent can connect (broker unreachable or refusing everyone)."""
    from simulator.transports.base import ConnectError, TransportError

    st = fleet.status()
    if st.connected:
        return None
    if fleet.errors and st.failed >= max(1, st.started // 2):
        exc = fleet.errors[0][1]
        if isinstance(exc, ConnectError) and exc.refused:
            return f"the broker refused the agents: {exc.reason} (check broker.username / broker.password)"
        return f"agents failed: {exc}"
    err = fleet.last_connect_error()
    if err is not None and isinstance(err, TransportError) and st.started >= min(st.total, 10):
        return f"no agent can connect: {err}"
    return None


async def _onboard(scenario: ScenarioConfig, host: str, port: int, fleet: Fleet, console: Console) -> Probe:
    from simulator.fleet.probe import mqtt_probe
    from simulator.integrations.demo import _onboard as onboard_all

    version = max(g.mqtt_version for g in scenario.groups)
    probe = mqtt_probe(scenario.controller, host, port, protocol_version=version)
    await probe.connect()
    eids = [d.endpoint_id for d in fleet.drivers]
    good, bad = await onboard_all(probe, eids, 10.0)
    console.print(f"onboarding Get answered by {good}/{len(eids)} agents" + (f" ({bad[0]})" if bad else ""))
    return probe


async def _live(
    fleet: Fleet, metrics: Metrics, stop: asyncio.Event, console: Console, *, duration: float, started: float
) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + duration if duration > 0 else None
    with Live(
        _status_line(fleet.status(), metrics.stats, started),
        console=console,
        refresh_per_second=2,
        transient=False,
    ) as live:
        while not stop.is_set() and (end is None or loop.time() < end):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            live.update(_status_line(fleet.status(), metrics.stats, started))
    console.print()


def _finish(
    console: Console,
    args: argparse.Namespace,
    scenario: ScenarioConfig,
    stats: Stats,
    *,
    probe: Stats | None,
    failures: list[str],
    total: int,
    status: FleetStatus | None,
) -> int:
    from simulator.integrations.report import stats_summary, summary_data

    connected = int(stats.count("connect"))
    ok = not failures and connected >= total
    if args.json:
        data = summary_data(stats, probe)
        data.update(
            {
                "scenario": scenario.name,
                "agents": total,
                "connected_once": connected,
                "failures": failures[:20],
                "ok": ok,
            }
        )
        print(json.dumps(data, indent=2, default=str))
    else:
        stats_summary(console, stats, probe)
        console.print(
            f"scenario {scenario.name}: {connected} connections for {total} agents"
            + (f", {status.connected} connected at stop" if status else "")
        )
        for line in failures[:5]:
            console.print(f"[bold red]error:[/] {line}")
        if len(failures) > 5:
            console.print(f"... and {len(failures) - 5} more failures")
    return 0 if ok else 1
