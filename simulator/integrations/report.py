"""Rich tables for the CLI: latency per USP message type, connection figures and the demo checklist."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simulator.fleet.metrics import Histogram, Stats

__all__ = ["latency_table", "print_checklist", "stats_summary", "summary_data"]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def latency_table(title: str, stats: Stats, name: str, *, errors_name: str | None = None) -> Table:
    """One row per kind of ``name`` (e.g. per request type): count, errors, p50/p90/p99/max in ms."""
    table = Table(title=title, title_justify="left")
    for col in ("type", "count", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="left" if col == "type" else "right")
    for kind in stats.kinds(name):
        h = stats.histograms.get((name, kind)) or Histogram()
        errors = stats.errors.get((errors_name or name, kind), 0)
        table.add_row(
            kind or "-",
            str(int(stats.counters.get((name, kind), 0))),
            str(errors),
            _ms(h.percentile(50)),
            _ms(h.percentile(90)),
            _ms(h.percentile(99)),
            _ms(h.max),
        )
    return table


def stats_summary(console: Console, fleet: Stats, probe: Stats | None = None) -> None:
    """Print the end-of-run tables."""
    if probe is not None and probe.kinds("response"):
        console.print(
            latency_table("Round trips seen by the probe controller (request -> response)", probe, "response")
        )
    if fleet.kinds("request"):
        console.print(latency_table("Agent service time (record received -> answer sent)", fleet, "request"))
    conn = Table(title="Connections", title_justify="left")
    for col in ("metric", "count", "p50 ms", "p99 ms", "max ms"):
        conn.add_column(col, justify="left" if col == "metric" else "right")
    for name in ("connect", "onboarding"):
        h = fleet.histogram(name)
        if h.count:
            conn.add_row(name, str(h.count), _ms(h.percentile(50)), _ms(h.percentile(99)), _ms(h.max))
    for name in (
        "reconnect",
        "connection_lost",
        "connect_error",
        "send_error",
        "send_dropped",
        "driver_error",
    ):
        n = fleet.count(name)
        if n:
            conn.add_row(name, str(int(n)), "", "", "")
    console.print(conn)
    if probe is not None and probe.kinds("notify"):
        notes = Table(title="Notifications received by the probe", title_justify="left")
        notes.add_column("kind")
        notes.add_column("count", justify="right")
        for kind in probe.kinds("notify"):
            notes.add_row(kind, str(int(probe.counters[("notify", kind)])))
        console.print(notes)


def summary_data(fleet: Stats, probe: Stats | None = None) -> dict[str, Any]:
    """The same figures as plain data (``--json``)."""

    def hist(h: Histogram) -> dict[str, float]:
        return {
            "count": h.count,
            "p50_ms": h.percentile(50) * 1e3,
            "p90_ms": h.percentile(90) * 1e3,
            "p99_ms": h.percentile(99) * 1e3,
            "max_ms": h.max * 1e3,
        }

    out: dict[str, Any] = {
        "service_time": {
            k: hist(fleet.histograms[("request", k)])
            for k in fleet.kinds("request")
            if ("request", k) in fleet.histograms
        },
        "connect": hist(fleet.histogram("connect")),
        "onboarding": hist(fleet.histogram("onboarding")),
        "counters": {f"{n}:{k}" if k else n: v for (n, k), v in sorted(fleet.counters.items())},
        "errors": {f"{n}:{k}" if k else n: v for (n, k), v in sorted(fleet.errors.items())},
    }
    if probe is not None:
        out["round_trip"] = {
            k: hist(probe.histograms[("response", k)])
            for k in probe.kinds("response")
            if ("response", k) in probe.histograms
        }
    return out


def print_checklist(console: Console, checks: list[Any]) -> None:
    """PASS/FAIL lines, one per check."""
    for check in checks:
        mark = "[bold green]PASS[/]" if check.passed else "[bold red]FAIL[/]"
        detail = f"  [dim]{escape(check.detail)}[/]" if check.detail else ""
        console.print(f"  {mark}  {escape(check.name)}{detail}", highlight=False)
