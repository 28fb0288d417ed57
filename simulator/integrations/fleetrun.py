"""``uspsim run SCENARIO``: ramp a fleet up against a broker, show live status, print a summary."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
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
    from simulator.integrations.live import RunMonitor

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
    run.add_argument(
        "--insecure",
        action="store_true",
        help="mqtts: skip broker certificate verification (verification is on by default)",
    )
    run.add_argument("--ca", default=None, help="mqtts: CA bundle (PEM) that signed the broker certificate")
    run.add_argument("--cert", default=None, help="mqtts: client certificate (PEM) for mutual TLS")
    run.add_argument("--key", default=None, help="mqtts: client private key (PEM; default: in --cert)")
    run.add_argument(
        "--state",
        default=None,
        metavar="DIR",
        help="keep agents' data-model changes, subscriptions and instance numbers across runs "
        "(docs/persistence.md)",
    )
    run.add_argument(
        "--state-sync",
        choices=["full", "normal"],
        default="full",
        help="--state durability: full = fsync per commit (power loss), normal = process crashes only",
    )
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_report_arguments(run)
    run.set_defaults(func=cmd_run)


def add_report_arguments(parser: Any, *, prometheus: bool = True) -> None:
    """``--report DIR`` (and ``--metrics-port N`` / ``--metrics-host``) on ``run`` and ``demo``."""
    parser.add_argument(
        "--report",
        metavar="DIR",
        default=None,
        help="write report.txt, report.json, report.csv and report.html (offline plots) into DIR",
    )
    if prometheus:
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=None,
            metavar="N",
            help="serve Prometheus metrics on http://HOST:N/metrics during the run (0 = any free port)",
        )
        parser.add_argument(
            "--metrics-host", default="127.0.0.1", help="bind address of --metrics-port (default 127.0.0.1)"
        )


def _monitor(args: argparse.Namespace) -> RunMonitor:
    from simulator.integrations.live import RunMonitor

    port = getattr(args, "metrics_port", None)
    if port is not None and not 0 <= port <= 65535:
        raise command_line_error(option="--metrics-port", reason="must be 0..65535")
    return RunMonitor(metrics_port=port, metrics_host=getattr(args, "metrics_host", "127.0.0.1"))


async def _start_monitor(monitor: RunMonitor, console: Console) -> bool:
    """Start the Prometheus endpoint; False (after one error line) when the port cannot be bound."""
    try:
        await monitor.start()
    except OSError as exc:
        console.print(
            f"[bold red]error:[/] --metrics-port {monitor.metrics_port}: cannot listen on "
            f"{monitor.metrics_host}: {exc.strerror or exc}"
        )
        return False
    if monitor.server is not None:
        console.print(f"Prometheus metrics on http://{monitor.metrics_host}:{monitor.server.port}/metrics")
    return True


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
    return _with_tls_options(args, scenario)


def _with_tls_options(args: argparse.Namespace, scenario: ScenarioConfig) -> ScenarioConfig:
    """Apply ``--insecure`` / ``--ca`` / ``--cert`` / ``--key`` (mqtts:// brokers only)."""
    import dataclasses
    import os

    given = {k: getattr(args, k, None) for k in ("ca", "cert", "key")}
    insecure = bool(getattr(args, "insecure", False))
    if not insecure and not any(given.values()):
        return scenario
    tls = scenario.broker.tls
    if tls is None:
        option = "--insecure" if insecure else "--" + next(k for k, v in given.items() if v)
        raise command_line_error(option=option, reason="TLS options need an mqtts:// broker (--broker)")
    for key, value in given.items():
        if value and not os.path.isfile(value):
            raise command_line_error(option=f"--{key}", reason=f"file not found: {value}")
    tls = dataclasses.replace(
        tls,
        ca=given["ca"] or tls.ca,
        cert=given["cert"] or tls.cert,
        key=given["key"] or tls.key,
        insecure=tls.insecure or insecure,
    )
    return dataclasses.replace(scenario, broker=dataclasses.replace(scenario.broker, tls=tls))


def cmd_run(args: argparse.Namespace) -> int:
    """``uspsim run``."""
    from simulator.integrations.cli import run_loop

    scenario = prepare(args)
    from simulator.fleet.limits import check_fd_limit

    # before any connection (the broker preflight included): each agent holds one socket
    check_fd_limit(-(-scenario.total_agents // args.processes), source=scenario.source)
    # --json: stdout carries the JSON document only; status, progress and live lines go to stderr
    console = Console(highlight=False, stderr=bool(args.json))
    if args.processes > 1:
        from simulator.integrations.processes import run_processes

        monitor = _monitor(args)
        stats, failures = run_processes(
            scenario,
            args.processes,
            status=console.print,
            monitor=monitor,
            start_monitor=lambda: _start_monitor(monitor, console),
            state_dir=getattr(args, "state", None),
            state_sync=getattr(args, "state_sync", "full"),
        )
        return _finish(
            console,
            args,
            scenario,
            stats,
            probe=None,
            failures=failures,
            total=scenario.total_agents,
            status=None,
            monitor=monitor,
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


async def _run_fleet(
    args: argparse.Namespace, scenario: ScenarioConfig, console: Console, host: str, port: int
) -> int:
    from simulator.fleet.runner import Fleet
    from simulator.integrations.live import status_gauges

    metrics = Metrics()
    fleet = Fleet(scenario, host=host, port=port, metrics=metrics, state=_open_state(args, scenario, metrics))
    monitor = _monitor(args)
    monitor.gauge_source = lambda: status_gauges(fleet.status())
    if not await _start_monitor(monitor, console):
        return 1
    monitor.update(metrics.stats, status_gauges(fleet.status()))

    async def sample() -> None:
        while True:
            await asyncio.sleep(monitor.interval)
            monitor.update(metrics.stats, status_gauges(fleet.status()))

    sampler = asyncio.ensure_future(sample())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
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
            monitor.probe = probe.metrics.stats
        if failure is None:
            await _live(monitor, stop, console, duration=scenario.duration)
    finally:
        at_stop = fleet.status()
        sampler.cancel()
        await fleet.stop(timeout=5.0)
        monitor.update(metrics.stats, status_gauges(at_stop), force=True)
        await monitor.close()
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
        monitor=monitor,
    )


def _open_state(args: argparse.Namespace, scenario: ScenarioConfig, metrics: Metrics) -> Any:
    """``--state DIR``: the fleet's FleetState (None without the option)."""
    if not getattr(args, "state", None):
        return None
    from simulator.fleet.state import FleetState, SqliteBackend, state_file

    path = state_file(args.state, (0, scenario.total_agents))
    return FleetState(SqliteBackend(path, synchronous=args.state_sync.upper()), metrics.events)


def _early_failure(fleet: Fleet) -> str | None:
    """A clear message when no agent can connect (broker unreachable or refusing everyone)."""
    from simulator.transports.base import ConnectError, TransportError

    st = fleet.status()
    if st.connected:
        return None
    if fleet.errors and st.failed >= max(1, st.started // 2):
        exc = fleet.errors[0][1]
        if isinstance(exc, ConnectError) and exc.refused and exc.reason_code is None:
            return f"no agent can connect: {exc}"  # e.g. TLS verification (names its own fix)
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


PLAIN_EVERY = 5.0
"""Seconds between status lines when stdout is not a terminal."""


async def _live(monitor: RunMonitor, stop: asyncio.Event, console: Console, *, duration: float) -> None:
    """Until ``duration`` or Ctrl-C: a rich Live table on a terminal, else a plain line every 5 s."""
    from simulator.integrations.live import live_table, plain_line

    loop = asyncio.get_running_loop()
    end = loop.time() + duration if duration > 0 else None
    if not console.is_terminal:
        last = loop.time()
        while not stop.is_set() and (end is None or loop.time() < end):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            if loop.time() - last >= PLAIN_EVERY:
                last = loop.time()
                console.print(plain_line(monitor), markup=False, soft_wrap=True)
        console.print(plain_line(monitor), markup=False, soft_wrap=True)
        return
    with Live(live_table(monitor), console=console, refresh_per_second=2, transient=False) as live:
        while not stop.is_set() and (end is None or loop.time() < end):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            live.update(live_table(monitor))
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
    monitor: RunMonitor | None = None,
) -> int:
    from simulator.integrations.report import stats_summary, summary_data, write_reports

    connected = int(stats.count("connect"))
    ok = not failures and connected >= total
    if getattr(args, "report", None):
        meta = {
            "scenario": scenario.name,
            "source": str(scenario.source),
            "agents": total,
            "processes": args.processes,
            "duration_s": round(monitor.elapsed(), 1) if monitor else scenario.duration,
            "connected_once": connected,
            "connected_at_stop": status.connected if status else "",
            "requests_answered": int(stats.count("request")),
            "errors": stats.error_count(),
            "ok": ok,
        }
        paths = write_reports(
            args.report, stats, probe, meta=meta, series=monitor.series if monitor else None
        )
        if args.json:
            print(f"report written: {', '.join(paths)}", file=sys.stderr)
        else:
            console.print(f"report written: {', '.join(paths)}", soft_wrap=True)
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
        stats_summary(console, stats, probe)  # behaviours and faults by kind included
        console.print(
            f"scenario {scenario.name}: {connected} connections for {total} agents"
            + (f", {status.connected} connected at stop" if status else "")
        )
        for line in failures[:5]:
            console.print(f"[bold red]error:[/] {line}")
        if len(failures) > 5:
            console.print(f"... and {len(failures) - 5} more failures")
    return 0 if ok else 1
