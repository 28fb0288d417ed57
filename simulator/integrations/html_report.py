"""report.html: a self-contained page (inline SVG drawn here, no script, no CDN) readable offline.

Plots, from the run's ``TimeSeries``: connected agents, requests answered per second by USP message
type, other event rates (connects, reconnects, Notify sent, NotifyResp, errors), agent service time
percentiles, Notify -> NotifyResp latency percentiles and (with a probe) its round-trip percentiles
over time; then per-type bar charts and the
final tables with p50/p90/p99/p99.9.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

from simulator.fleet.metrics import COUNT_ONLY, Histogram, Stats

__all__ = ["bar_chart", "html_report", "line_chart"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
Series = tuple[str, Sequence[float | None]]


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    exp = 10.0 ** math.floor(math.log10(v))
    for m in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if m * exp >= v:
            return m * exp
    return 10.0 * exp


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.3g}"
    return f"{v:.2g}"


def line_chart(
    title: str,
    xs: Sequence[float],
    series: Sequence[Series],
    unit: str,
    *,
    width: int = 760,
    height: int = 250,
) -> str:
    """An inline ``<svg>`` line chart; ``None`` values leave gaps."""
    left, right, top, bottom = 58, 150, 28, 34
    pw, ph = width - left - right, height - top - bottom
    esc = html.escape
    out = [
        f'<svg class="plot" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(title)}">',
        f'<text x="{left}" y="17" class="t">{esc(title)}</text>',
    ]
    values = [v for _, ys in series for v in ys if v is not None]
    if not xs or not values:
        mid = f'x="{left + pw / 2}" y="{top + ph / 2}"'
        out.append(f'<text {mid} text-anchor="middle" class="m">no data</text>')
        out.append("</svg>")
        return "".join(out)
    x0, x1 = min(xs), max(xs)
    if x1 <= x0:
        x1 = x0 + 1
    ymax = _nice_max(max(values))

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + ph - y / ymax * ph

    for i in range(6):
        y = ymax * i / 5
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(y):.1f}" y2="{py(y):.1f}" class="g"/>')
        out.append(f'<text x="{left - 5}" y="{py(y) + 4:.1f}" text-anchor="end">{_fmt(y)}</text>')
    for i in range(6):
        x = x0 + (x1 - x0) * i / 5
        out.append(f'<text x="{px(x):.1f}" y="{top + ph + 16}" text-anchor="middle">{_fmt(x)}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 3}" text-anchor="middle" class="m">seconds</text>')
    out.append(f'<text x="12" y="{top + ph / 2}" transform="rotate(-90 12 {top + ph / 2})" '
               f'text-anchor="middle" class="m">{esc(unit)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" class="f"/>')
    for i, (label, ys) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        segment: list[str] = []
        segments: list[list[str]] = []
        for x, yv in zip(xs, ys, strict=False):
            if yv is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{px(x):.1f},{py(yv):.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                out.append(f'<circle cx="{cx}" cy="{cy}" r="2" fill="{colour}"/>')
            else:
                points = " ".join(seg)
                out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.6"/>')
        ly = top + 10 + i * 16
        out.append(f'<rect x="{left + pw + 10}" y="{ly - 8}" width="12" height="4" fill="{colour}"/>')
        out.append(f'<text x="{left + pw + 26}" y="{ly - 2}">{esc(label[:20])}</text>')
    out.append("</svg>")
    return "".join(out)


def bar_chart(title: str, rows: Sequence[tuple[str, float, float]], unit: str, *, width: int = 760) -> str:
    """Horizontal bars, two per row (p50 solid, p99 light): ``rows`` = (label, p50, p99)."""
    esc = html.escape
    left, right, top, bar = 170, 90, 28, 18
    height = top + max(1, len(rows)) * (bar + 8) + 20
    pw = width - left - right
    out = [
        f'<svg class="plot" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{esc(title)}">',
        f'<text x="8" y="17" class="t">{esc(title)}</text>',
    ]
    if not rows:
        out.append(f'<text x="{width / 2}" y="{top + 14}" text-anchor="middle" class="m">no data</text>')
        out.append("</svg>")
        return "".join(out)
    vmax = _nice_max(max(max(p50, p99) for _, p50, p99 in rows))
    for i, (label, p50, p99) in enumerate(rows):
        y = top + i * (bar + 8)
        out.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{esc(label[:26])}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{max(1.0, p99 / vmax * pw):.1f}" height="{bar}" '
                   f'fill="#aec7e8"/>')
        out.append(f'<rect x="{left}" y="{y + 4}" width="{max(1.0, p50 / vmax * pw):.1f}" height="{bar - 8}" '
                   f'fill="#1f77b4"/>')
        out.append(f'<text x="{left + pw + 6}" y="{y + 13}">{_fmt(p50)} / {_fmt(p99)}</text>')
    out.append(f'<text x="{left}" y="{height - 4}" class="m">{esc(unit)}: p50 (dark) / p99 (light)</text>')
    out.append("</svg>")
    return "".join(out)


def _pct(points: Sequence[Any], name: str, q: float, kind: str | None = None) -> list[float | None]:
    out: list[float | None] = []
    for p in points:
        h = p.histogram(name, kind)
        if kind is None and name == "notify_resp":
            h = Histogram()
            for (n, k), hk in p.histograms.items():
                if n == name and (n, k) not in COUNT_ONLY:
                    h.merge(hk)
        out.append(h.percentile(q) * 1e3 if h.count else None)
    return out


def _plots(series: Any, stats: Stats) -> list[str]:
    points = list(series.points) if series is not None else []
    xs = [p.t for p in points]
    plots = [
        line_chart(
            "Agents",
            xs,
            [(label, [p.gauges.get(f"agents_{g}") for p in points])
             for label, g in (("connected", "connected"), ("connecting/retrying", "waiting"),
                              ("failed", "failed"))],
            "agents",
        )
    ]
    kinds = sorted(stats.kinds("request"), key=lambda k: -stats.counters.get(("request", k), 0))[:7]
    req: list[Series] = [("all types", [p.rate("request") for p in points])]
    req += [(k, [p.rate("request", k) for p in points]) for k in kinds]
    plots.append(line_chart("Requests answered per second, by USP message type", xs, req, "per second"))

    def notify_sent(p: Any) -> float:
        n = sum(v for (name, k), v in p.counters.items() if name == "sent" and k.startswith("Notify:"))
        return n / p.span if p.span > 0 else 0.0

    events: list[Series] = [
        ("connects", [p.rate("connect") for p in points]),
        ("reconnects", [p.rate("reconnect") for p in points]),
        ("Notify sent", [notify_sent(p) for p in points]),
        ("NotifyResp", [p.rate("notify_resp") for p in points]),
        ("Notify retries", [p.rate("notify_retry") for p in points]),
        ("errors", [p.error_rate() for p in points]),
    ]
    if any(n == "probe_response" for p in points for (n, _k) in p.counters):
        events.append(("probe round trips", [p.rate("probe_response") for p in points]))
    plots.append(line_chart("Other events per second", xs, events, "per second"))
    plots.append(
        line_chart(
            "Agent service time (all request types)",
            xs,
            [(f"p{q:g}", _pct(points, "request", q)) for q in (50, 90, 99)],
            "ms",
        )
    )
    plots.append(
        line_chart(
            "Notify -> NotifyResp latency (all notification types)",
            xs,
            [(f"p{q:g}", _pct(points, "notify_resp", q)) for q in (50, 90, 99)],
            "ms",
        )
    )
    if any(n == "probe_response" for p in points for (n, _k) in p.histograms):
        plots.append(
            line_chart(
                "Probe round trip, controller request -> response (all request types)",
                xs,
                [(f"p{q:g}", _pct(points, "probe_response", q)) for q in (50, 90, 99)],
                "ms",
            )
        )
    return plots


def _bars(stats: Stats, probe: Stats | None) -> list[str]:
    def rows(src: Stats, name: str) -> list[tuple[str, float, float]]:
        return [
            (k, h.percentile(50) * 1e3, h.percentile(99) * 1e3)
            for (n, k), h in sorted(src.histograms.items())
            if n == name and h.count and (n, k) not in COUNT_ONLY
        ]

    out = [bar_chart("Agent service time by USP message type", rows(stats, "request"), "ms")]
    conn = [
        (name, h.percentile(50) * 1e3, h.percentile(99) * 1e3)
        for name in ("connect", "onboarding")
        if (h := stats.histogram(name)).count
    ]
    conn += rows(stats, "notify_resp")
    out.append(bar_chart("Connect, onboarding and Notify -> NotifyResp", conn, "ms"))
    if probe is not None and probe.histograms:
        out.append(bar_chart("Probe round trip by request type", rows(probe, "response"), "ms"))
    return out


def _table(rows: list[dict[str, Any]]) -> str:
    from simulator.integrations.report import CSV_COLUMNS

    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in CSV_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(str(r.get(c, '')))}</td>" for c in CSV_COLUMNS) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
svg.plot{display:block;margin:10px 0;background:#fff;border:1px solid #ddd}
svg text{font:11px system-ui,sans-serif;fill:#333}svg text.t{font-weight:600;font-size:13px}
svg text.m{fill:#777}svg line.g{stroke:#eee}svg rect.f{fill:none;stroke:#bbb}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}
td:nth-child(-n+3),th:nth-child(-n+3){text-align:left}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}
dt{font-weight:600}dd{margin:0}
"""


def html_report(
    fleet: Stats,
    probe: Stats | None = None,
    *,
    meta: dict[str, Any] | None = None,
    series: Any = None,
) -> str:
    """The whole page as one string."""
    from simulator.integrations.report import csv_rows

    esc = html.escape
    meta = meta or {}
    title = f"uspsim report: {meta.get('scenario', 'run')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        "<dl>" + "".join(f"<dt>{esc(str(k))}</dt><dd>{esc(str(v))}</dd>" for k, v in meta.items()) + "</dl>",
        "<h2>Over time</h2>",
        *_plots(series, fleet),
        "<h2>Latency by type</h2>",
        *_bars(fleet, probe),
        "<h2>All figures</h2>",
        _table(csv_rows(fleet, probe)),
        "<p>Percentiles come from log-bucketed histograms (2 % relative accuracy). "
        "See docs/reports.md for what each metric means.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
