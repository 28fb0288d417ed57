"""Rich tables for the CLI: latency per USP message type, connection figures and the demo checklist."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simulator.fleet.metrics import COUNT_ONLY, Histogram, Stats

__all__ = ["latency_table", "print_checklist", "scenario_table", "stats_summary", "summary_data"]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def latency_table(title: str, stats: Stats, name: str, *, errors_name: str | None = None) -> Table:
    """One row per kind of ``name`` (e.g. per request type): count, errors, p50/p90/p99/max in ms."""
    table = Table(title=title, title_justify="left")
    for col in ("type", "count", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="left" if col == "type" else "right")
    for kind in stats.kinds(name):
        if (name, kind) in COUNT_ONLY:
            continue
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
    if any((n, k) not in COUNT_ONLY for (n, k) in fleet.histograms if n == "notify_resp"):
        console.print(latency_table("Notify -> NotifyResp latency (agent side)", fleet, "notify_resp"))
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
        "notify_retry",
        "notify_expired",
        "notify_dropped",
        "internal_error",
        "dropped_record",
    ):
        n = fleet.count(name)
        if n:
            conn.add_row(name, str(int(n)), "", "", "")
    console.print(conn)
    scenario = scenario_table(fleet)
    if scenario is not None:
        console.print(scenario)
    if probe is not None and probe.kinds("notify"):
        notes = Table(title="Notifications received by the probe", title_justify="left")
        notes.add_column("kind")
        notes.add_column("count", justify="right")
        for kind in probe.kinds("notify"):
            notes.add_row(kind, str(int(probe.counters[("notify", kind)])))
        console.print(notes)


def scenario_table(stats: Stats) -> Table | None:
    """Scenario behaviours and injected faults by kind (``behaviour`` / ``fault`` counters), or None."""
    table = Table(title="Scenario behaviours and faults", title_justify="left")
    for col in ("source", "kind", "count", "errors"):
        table.add_column(col, justify="left" if col in ("source", "kind") else "right")
    for name in ("behaviour", "fault"):  # simulator.fleet.behaviours, simulator.agent.faults
        for kind in stats.kinds(name):
            table.add_row(
                name,
                kind or "-",
                str(int(stats.counters.get((name, kind), 0))),
                str(stats.errors.get((name, kind), 0)),
            )
    return table if table.row_count else None


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
        "notify_resp": {
            k: hist(fleet.histograms[("notify_resp", k)])
            for k in fleet.kinds("notify_resp")
            if ("notify_resp", k) in fleet.histograms
        },
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


# ------------------------------------------------------------------------------------ report files

CSV_COLUMNS = (
    "source", "metric", "kind", "count", "errors",
    "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "min_ms", "max_ms",
)
"""report.csv: one row per (source, metric, kind); latency columns are empty for plain counters."""


def csv_rows(fleet: Stats, probe: Stats | None = None) -> list[dict[str, Any]]:
    """The rows of report.csv: every histogram with percentiles, then every other counter."""
    rows: list[dict[str, Any]] = []
    for source, stats in (("fleet", fleet), ("probe", probe)):
        if stats is None:
            continue
        for (name, kind), value in sorted(stats.counters.items()):
            row: dict[str, Any] = {
                "source": source,
                "metric": name,
                "kind": kind,
                "count": int(value) if float(value).is_integer() else value,
                "errors": stats.errors.get((name, kind), 0),
            }
            h = stats.histograms.get((name, kind))
            if h is not None and h.count:
                row.update(
                    mean_ms=round(h.mean * 1e3, 4),
                    min_ms=round(h.min * 1e3, 4),
                    max_ms=round(h.max * 1e3, 4),
                    **{f"p{q}_ms": round(h.percentile(p) * 1e3, 4) for q, p in _PERCENTILES},
                )
            rows.append(row)
    return rows


_PERCENTILES = (("50", 50.0), ("90", 90.0), ("95", 95.0), ("99", 99.0), ("999", 99.9))


def report_data(
    fleet: Stats,
    probe: Stats | None = None,
    *,
    meta: dict[str, Any] | None = None,
    series: Any = None,
) -> dict[str, Any]:
    """report.json: run metadata, the summary, every latency with percentiles, the time series and
    the raw mergeable histograms (``Stats.from_dict(data["raw"]["fleet"])`` rebuilds them)."""
    data: dict[str, Any] = {"meta": dict(meta or {})}
    data["summary"] = summary_data(fleet, probe)
    data["latency"] = [
        {k: v for k, v in row.items() if v != ""} for row in csv_rows(fleet, probe) if "p50_ms" in row
    ]
    data["timeseries"] = series.to_list() if series is not None else []
    data["raw"] = {"fleet": fleet.to_dict(), **({"probe": probe.to_dict()} if probe is not None else {})}
    return data


def text_report(fleet: Stats, probe: Stats | None = None, *, meta: dict[str, Any] | None = None) -> str:
    """report.txt: the end-of-run tables as plain text."""
    import io

    buf = io.StringIO()
    console = Console(file=buf, width=110, no_color=True, highlight=False, force_terminal=False)
    for key, value in (meta or {}).items():
        console.print(f"{key}: {value}", markup=False)
    if meta:
        console.print()
    stats_summary(console, fleet, probe)
    return buf.getvalue()


def write_reports(
    directory: str,
    fleet: Stats,
    probe: Stats | None = None,
    *,
    meta: dict[str, Any] | None = None,
    series: Any = None,
) -> list[str]:
    """Write report.txt, report.json, report.csv and report.html into ``directory``; returns the paths."""
    import csv
    import json
    from pathlib import Path

    from simulator.integrations.html_report import html_report

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"report.{ext}" for ext in ("txt", "json", "csv", "html")]
    paths[0].write_text(text_report(fleet, probe, meta=meta), encoding="utf-8")
    data = report_data(fleet, probe, meta=meta, series=series)
    paths[1].write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    with paths[2].open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(csv_rows(fleet, probe))
    paths[3].write_text(html_report(fleet, probe, meta=meta, series=series), encoding="utf-8")
    return [str(p) for p in paths]
