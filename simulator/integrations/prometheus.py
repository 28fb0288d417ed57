"""``uspsim run --metrics-port N``: the run's metrics in the Prometheus text format 0.0.4.

# Strategy: a tiny asyncio HTTP/1.0-style server (one request per connection, ``GET /metrics``)
# bound to 127.0.0.1 by default, rendering the current cumulative ``Stats`` on each scrape; nothing
# is added to the per-event path. Families (names are fixed, labels low-cardinality):
#   uspsim_<name>_seconds{kind}    histogram, one per timed observation (request = agent service
#                                  time, connect, onboarding, notify_resp, response = probe round trip)
#   uspsim_events_total{event,kind} counter of every other observation (reconnect, sent, notify_retry...)
#   uspsim_errors_total{event,kind} counter of failed observations
#   uspsim_agents{state}            gauge: total, started, connected, waiting, failed
#   uspsim_uptime_seconds           gauge
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from typing import Any

from simulator.fleet.metrics import TIMED, Stats

__all__ = ["BOUNDS", "CONTENT_TYPE", "MetricsServer", "exposition"]

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

BOUNDS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)
"""Histogram ``le`` bounds in seconds (``+Inf`` is added)."""

_HELP = {
    "request": "agent service time per USP request type (record received -> answer sent)",
    "connect": "MTP connect time per agent connection",
    "onboarding": "time from connect to the first controller request",
    "notify_resp": "Notify -> NotifyResp latency per notification type",
    "response": "probe controller round trip (request -> response) per USP request type",
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _metric_name(name: str) -> str:
    out = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return out if out and not out[0].isdigit() else f"_{out}"


def _num(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if float(v).is_integer():
        return str(int(v))
    return repr(float(v))


def exposition(
    stats: Stats, gauges: dict[str, float] | None = None, *, probe: Stats | None = None
) -> str:
    """The text exposition (format 0.0.4) of ``stats`` (+ the probe's round trips) and gauges."""
    lines: list[str] = []
    sources = [stats] + ([probe] if probe is not None else [])
    timed: dict[str, list[tuple[str, Any]]] = {}
    for src in sources:
        for (name, kind), h in sorted(src.histograms.items()):
            timed.setdefault(name, []).append((kind, h))
    for name in sorted(timed):
        family = f"uspsim_{_metric_name(name)}_seconds"
        lines.append(f"# HELP {family} {_HELP.get(name, name + ' duration')}")
        lines.append(f"# TYPE {family} histogram")
        for kind, h in timed[name]:
            lab = f'kind="{_escape(kind)}"'
            for bound, n in zip(BOUNDS, h.cumulative(BOUNDS), strict=True):
                lines.append(f'{family}_bucket{{{lab},le="{_num(bound)}"}} {n}')
            lines.append(f'{family}_bucket{{{lab},le="+Inf"}} {h.count}')
            lines.append(f"{family}_sum{{{lab}}} {_num(h.total)}")
            lines.append(f"{family}_count{{{lab}}} {h.count}")
    lines.append("# HELP uspsim_events_total observations that are counts (reconnects, sends, retries...)")
    lines.append("# TYPE uspsim_events_total counter")
    for src in sources:
        for (name, kind), v in sorted(src.counters.items()):
            if name not in TIMED:
                labels = f'event="{_escape(name)}",kind="{_escape(kind)}"'
                lines.append(f"uspsim_events_total{{{labels}}} {_num(v)}")
    lines.append("# HELP uspsim_errors_total failed observations")
    lines.append("# TYPE uspsim_errors_total counter")
    for src in sources:
        for (name, kind), e in sorted(src.errors.items()):
            lines.append(f'uspsim_errors_total{{event="{_escape(name)}",kind="{_escape(kind)}"}} {e}')
    gauges = gauges or {}
    agents = {k.removeprefix("agents_"): v for k, v in gauges.items() if k.startswith("agents_")}
    if agents:
        lines.append("# HELP uspsim_agents agents by state")
        lines.append("# TYPE uspsim_agents gauge")
        lines += [f'uspsim_agents{{state="{_escape(k)}"}} {_num(v)}' for k, v in sorted(agents.items())]
    for key, v in sorted(gauges.items()):
        if key.startswith("agents_"):
            continue
        family = f"uspsim_{_metric_name(key)}"
        lines.append(f"# TYPE {family} gauge")
        lines.append(f"{family} {_num(v)}")
    return "\n".join(lines) + "\n"


class MetricsServer:
    """``GET /metrics`` over plain HTTP; other paths answer 404.

    Args:
        render: returns the exposition text for each scrape.
        host: bind address (127.0.0.1 by default: the endpoint has no authentication).
        port: TCP port (0 = any free port; see ``port`` after ``start``).
    """

    def __init__(self, render: Callable[[], str], host: str = "127.0.0.1", port: int = 0) -> None:
        self.render = render
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Start listening."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> MetricsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5.0):
                request = await reader.readline()
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    del line
            parts = request.decode("latin-1").split()
            path = parts[1].split("?", 1)[0] if len(parts) >= 2 else ""
            if len(parts) >= 2 and parts[0] in ("GET", "HEAD") and path in ("/metrics", "/"):
                body = self.render().encode()
                head = f"HTTP/1.1 200 OK\r\nContent-Type: {CONTENT_TYPE}\r\n"
                if parts[0] == "HEAD":
                    body = b""
            else:
                body = b"not found\n"
                head = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
            writer.write(f"{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except (TimeoutError, OSError, UnicodeDecodeError) as exc:
            logger.debug("metrics request failed: %s", exc)
        except Exception:
            logger.exception("metrics request failed")
        finally:
            writer.close()  # no wait_closed(): the loop may be shutting down; the bytes are flushed
