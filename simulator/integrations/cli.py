"""``uspsim``: run scenarios, the zero-install demo, the probe controller and data-model tools.

This module holds the process's single event-loop entry (architecture.md B4): ``run_loop`` uses
uvloop when it is installed. Errors a user can fix print one line and exit 2 (configuration) or
1 (runtime); tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape

from simulator.datamodel.errors import SchemaError, SimulatorError
from simulator.fleet.yamlsource import ConfigError
from simulator.transports.base import TransportError

__all__ = ["main", "run_loop"]

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


def _uvloop_usable() -> bool:
    """uvloop is installed (architecture.md B4: use it when present)."""
    import importlib.util

    return importlib.util.find_spec("uvloop") is not None


def run_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a new event loop (uvloop when usable); the CLI's only loop entry point."""
    if not _uvloop_usable():
        return asyncio.run(coro)
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def _console(args: argparse.Namespace) -> Console:
    return Console(stderr=False, highlight=False, no_color=getattr(args, "no_color", False))


# ------------------------------------------------------------------------------------------------ demo


def cmd_demo(args: argparse.Namespace) -> int:
    """``uspsim demo``."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from simulator.integrations.demo import run_demo
    from simulator.integrations.report import print_checklist, stats_summary

    console = _console(args)
    console.print(
        f"[bold]uspsim demo[/]: {args.agents} virtual USP agents, a local MQTT broker and the "
        "probe controller, all on 127.0.0.1"
    )
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=args.quiet,
    )
    with progress:
        task = progress.add_task("connecting agents", total=args.agents)

        def on_progress(_phase: str, st: Any) -> None:
            if st is not None:
                progress.update(
                    task, completed=st.connected, description=f"connecting agents ({st.started} started)"
                )

        def on_step(name: str) -> None:
            if name != "ramp-up":
                progress.update(task, description=name)

        result = run_loop(
            run_demo(
                args.agents,
                sample=min(args.sample, args.agents),
                prefer="embedded" if args.embedded_broker else "mosquitto",
                profile=args.profile,
                progress=on_progress,
                step=on_step,
            )
        )
    console.print(
        f"broker: {result.broker or '-'}   profile: {result.profile or '-'}   "
        f"connected: {result.connected}/{result.agents} in {result.ramp_seconds:.1f} s"
    )
    stats_summary(console, result.fleet_stats, result.probe_stats)
    console.print("[bold]Checklist[/]")
    print_checklist(console, result.checks)
    if args.report:
        from simulator.integrations.report import write_reports

        meta = {
            "scenario": "demo",
            "agents": args.agents,
            "broker": result.broker,
            "profile": result.profile,
            "connected": result.connected,
            "checks_passed": f"{sum(c.passed for c in result.checks)}/{len(result.checks)}",
        }
        paths = write_reports(args.report, result.fleet_stats, result.probe_stats, meta=meta)
        console.print(f"report written: {', '.join(paths)}", soft_wrap=True)
    verdict = "[bold green]PASS[/]" if result.passed else "[bold red]FAIL[/]"
    console.print(
        f"{verdict}: {sum(c.passed for c in result.checks)}/{len(result.checks)} checks passed "
        f"in {result.total_seconds:.1f} s"
    )
    return EXIT_OK if result.passed else EXIT_FAILED


# ------------------------------------------------------------------------------------------- datamodel


def cmd_datamodel_validate(args: argparse.Namespace) -> int:
    """``uspsim datamodel validate FILE...``: every loader error as ``file:line: key: message``."""
    from simulator.datamodel.loader import load_schema

    status = EXIT_OK
    for path in args.files:
        try:
            schema = load_schema(path)
        except SchemaError as exc:
            print(str(exc), file=sys.stderr)
            status = EXIT_FAILED
        else:
            print(f"{path}: ok ({schema.name}: {len(schema.nodes)} nodes)")
    return status


def cmd_datamodel_show(args: argparse.Namespace) -> int:
    """``uspsim datamodel show PROFILE [PATH]``: the tree with the values of agent index 0."""
    from simulator.datamodel.editing import DataModel
    from simulator.datamodel.loader import load_schema
    from simulator.datamodel.personas import Persona
    from simulator.fleet.config import find_datamodel
    from simulator.usp.errors import UspError

    found = find_datamodel(args.profile)
    if found is None:
        print(
            f"error: data-model profile {args.profile!r} not found (datamodels/<name>.yaml or a path)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    schema = load_schema(found)
    now = time.time()
    model = DataModel(schema, Persona(args.index, args.endpoint_id or "", boot_time=now - 3600))
    try:
        rows = model.get(args.path, args.max_depth, now=now)
    except UspError as exc:
        print(f"error: {args.path}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    console = _console(args)
    for obj_path, values in rows:
        console.print(f"[bold]{escape(obj_path)}[/]")
        for name, value in values.items():
            console.print(f"  {escape(name)} = {escape(value)}")
    return EXIT_OK


def cmd_datamodel_import(args: argparse.Namespace) -> int:
    """``uspsim datamodel import XML -o YAML`` (simulator.datamodel.bbf)."""
    from simulator.datamodel.bbf import main_import

    return main_import([args.xml, "-o", args.output])


# ------------------------------------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    from simulator.integrations.fleetrun import add_report_arguments, add_run_parser
    from simulator.integrations.probecli import add_probe_parser

    parser = argparse.ArgumentParser(
        prog="uspsim", description="USP (TR-369) agent simulator and load tester"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("--no-color", action="store_true", help="plain output")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add_run_parser(sub)

    demo = sub.add_parser(
        "demo", help="local broker + agents + probe controller, end to end (needs nothing else)"
    )
    demo.add_argument("--agents", type=int, default=1000, help="number of agents (default 1000)")
    demo.add_argument(
        "--sample", type=int, default=20, help="agents that get every request type (default 20)"
    )
    demo.add_argument(
        "--profile", default=None, help="data-model profile (default home-gateway, else minimal)"
    )
    demo.add_argument(
        "--embedded-broker",
        action="store_true",
        help="use the in-process broker even if mosquitto is installed",
    )
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_report_arguments(demo, prometheus=False)
    demo.set_defaults(func=cmd_demo)

    add_probe_parser(sub)

    dm = sub.add_parser("datamodel", help="inspect, validate and import data-model profiles")
    dm_sub = dm.add_subparsers(dest="dm_command", required=True, metavar="ACTION")
    show = dm_sub.add_parser("show", help="print the tree with the values of one agent")
    show.add_argument("profile", help="profile name (datamodels/<name>.yaml) or file")
    show.add_argument("path", nargs="?", default="Device.", help="path to show (default Device.)")
    show.add_argument("--index", type=int, default=0, help="agent index (default 0)")
    show.add_argument("--endpoint-id", default=None, help="agent EndpointID (default from the index)")
    show.add_argument("--max-depth", type=int, default=0, help="levels below PATH (0 = all)")
    show.set_defaults(func=cmd_datamodel_show)
    validate = dm_sub.add_parser(
        "validate", help="load profiles and report errors as file:line: key: message"
    )
    validate.add_argument("files", nargs="+")
    validate.set_defaults(func=cmd_datamodel_validate)
    imp = dm_sub.add_parser("import", help="convert a BBF *-usp-full.xml into a YAML profile")
    imp.add_argument("xml")
    imp.add_argument("-o", "--output", required=True)
    imp.set_defaults(func=cmd_datamodel_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``uspsim`` console script.

    Returns:
        0 on success, 1 on runtime failures, 2 on configuration errors.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING if args.verbose == 0 else logging.INFO if args.verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except (ConfigError, SchemaError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except TransportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except SimulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
