"""The sinks of a running ``uspsim run``: time series sampler, live terminal view, Prometheus endpoint.

``RunMonitor`` owns what outlives single events: the latest cumulative ``Stats`` (the fleet's own in
one process, the merge of the workers' with ``--processes``), the gauges (agents by state), the
bounded ``TimeSeries`` (one point a second; probe round trips as ``probe_response``) and the
optional ``MetricsServer``. ``live_table`` renders the last interval as a rich table (TTY),
``plain_line`` as one log line (pipes, CI).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from simulator.fleet.metrics import Stats
from simulator.fleet.timeseries import Point, TimeSeries

if TYPE_CHECKING:
    from simulator.fleet.runner import FleetStatus
    from simulator.integrations.prometheus import MetricsServer

__all__ = ["RunMonitor", "live_table", "plain_line", "status_gauges"]


def status_gauges(st: FleetStatus | None, **extra: float) -> dict[str, float]:
    """Gauges of a fleet status: ``agents_total``, ``agents_connected``... plus ``extra``."""
    out: dict[str, float] = {}
    if st is not None:
        for name in ("total", "started", "connected", "waiting", "failed"):
            out[f"agents_{name}"] = float(getattr(st, name))
    out.update(extra)
    return out


class RunMonitor:
    """The run's sinks besides the final report.

    Args:
        interval: seconds between time-series points.
        max_points: bound of the time series.
        metrics_port: serve Prometheus metrics on this port (None = no endpoint).
        metrics_host: bind address of the endpoint.
    """

    def __init__(
        self,
        *,
        interval: float = 1.0,
        max_points: int = 600,
        metrics_port: int | None = None,
        metrics_host: str = "127.0.0.1",
    ) -> None:
        self.interval = interval
        self.series = TimeSeries(max_points)
        self.stats = Stats()
        self.probe: Stats | None = None
        self.gauges: dict[str, float] = {}
        self.gauge_source: Callable[[], dict[str, float]] | None = None
        """When set, scrapes read the gauges from it (fresh) instead of the last ``update``."""
        self.started = time.monotonic()
        self.metrics_port = metrics_port
        self.metrics_host = metrics_host
        self.server: MetricsServer | None = None
        self.last_sample = self.started

    def elapsed(self) -> float:
        """Seconds since the monitor was created."""
        return time.monotonic() - self.started

    def update(self, stats: Stats, gauges: dict[str, float], *, force: bool = False) -> Point | None:
        """New cumulative figures; appends a time-series point when ``interval`` has passed."""
        self.stats = stats
        self.gauges = dict(gauges)
        self.gauges["uptime_seconds"] = round(self.elapsed(), 3)
        now = time.monotonic()
        if force or now - self.last_sample >= self.interval * 0.95:
            self.last_sample = now
            return self.series.sample(stats, now - self.started, self.gauges, probe=self.probe)
        return None

    def exposition(self) -> str:
        """The Prometheus text of the current figures."""
        from simulator.integrations.prometheus import exposition

        gauges = self.gauges
        if self.gauge_source is not None:
            gauges = {**self.gauge_source(), "uptime_seconds": round(self.elapsed(), 3)}
        return exposition(self.stats, gauges, probe=self.probe)

    async def start(self) -> None:
        """Start the Prometheus endpoint when a port was given."""
        if self.metrics_port is None:
            return
        from simulator.integrations.prometheus import MetricsServer

        self.server = MetricsServer(self.exposition, self.metrics_host, self.metrics_port)
        await self.server.start()

    async def close(self) -> None:
        """Stop the endpoint."""
        if self.server is not None:
            await self.server.close()
            self.server = None

    async def __aenter__(self) -> RunMonitor:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def _last(series: TimeSeries) -> Point | None:
    return series.points[-1] if series.points else None


def live_table(monitor: RunMonitor) -> Any:
    """A rich renderable of the current state: agents, then one row per request/notification type."""
    g, stats, point = monitor.gauges, monitor.stats, _last(monitor.series)
    head = Text.from_markup(
        f"[bold]{int(g.get('agents_connected', 0))}[/]/{int(g.get('agents_total', 0))} connected, "
        f"{int(g.get('agents_waiting', 0))} connecting/retrying, {int(g.get('agents_failed', 0))} failed | "
        f"{int(stats.count('reconnect'))} reconnects | {stats.error_count()} errors | "
        f"{monitor.elapsed():.0f} s"
    )
    table = Table(box=None, pad_edge=False, title_justify="left")
    for col in ("type", "total", "/s", "p50 ms", "p99 ms", "errors"):
        table.add_column(col, justify="left" if col == "type" else "right")
    rows = [("request", k, k) for k in stats.kinds("request")]
    rows += [("notify_resp", k, k) for k in stats.kinds("notify_resp") if k != "NotifyResp"]
    for name, kind, label in rows:
        h = point.histogram(name, kind) if point is not None else None
        rate = point.rate(name, kind) if point is not None else 0.0
        table.add_row(
            label + (" (answered)" if name == "request" else " -> NotifyResp"),
            str(int(stats.counters.get((name, kind), 0))),
            f"{rate:.0f}",
            _ms(h.percentile(50)) if h is not None and h.count else "-",
            _ms(h.percentile(99)) if h is not None and h.count else "-",
            str(stats.errors.get((name, kind), 0)),
        )
    for name in ("connect", "onboarding"):
        total = int(stats.count(name))
        if total:
            h = point.histogram(name) if point is not None else None
            table.add_row(
                name,
                str(total),
                f"{point.rate(name):.0f}" if point is not None else "0",
                _ms(h.percentile(50)) if h is not None and h.count else "-",
                _ms(h.percentile(99)) if h is not None and h.count else "-",
                str(stats.errors.get((name, ""), 0)),
            )
    return Group(head, table) if table.row_count else head


def plain_line(monitor: RunMonitor) -> str:
    """One status line (stdout is not a terminal)."""
    g, stats, point = monitor.gauges, monitor.stats, _last(monitor.series)
    rate = point.rate("request") if point is not None else 0.0
    return (
        f"{int(g.get('agents_connected', 0))}/{int(g.get('agents_total', 0))} connected, "
        f"{int(g.get('agents_waiting', 0))} connecting/retrying, {int(g.get('agents_failed', 0))} failed | "
        f"{int(stats.count('request'))} requests answered ({rate:.0f}/s) | "
        f"{int(stats.count('reconnect'))} reconnects | {stats.error_count()} errors | "
        f"{monitor.elapsed():.0f} s"
    )
