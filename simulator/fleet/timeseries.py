"""A bounded time series of a run: per-interval counter deltas, histogram deltas and gauges.

# Strategy: nothing is added to the per-event path. A sampler (once a second) diffs the cumulative
# ``Stats`` against the previous snapshot, so one point holds what happened in its interval: counter
# deltas, error deltas, the log-bucket histogram of the interval (sparse, mergeable) and gauges at its
# end. Memory is bounded by ``max_points``: when the series is full, neighbouring points are merged
# pairwise (counts add, histograms merge), so a long run keeps its whole span at a coarser step,
# like an RRD. Works the same on ``--processes`` runs: the parent samples the merged Stats. The probe
# controller's figures (``--onboard``), when given, go into the same points under ``probe_<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.fleet.metrics import Histogram, Stats

__all__ = ["PROBE_PREFIX", "Point", "TimeSeries"]

PROBE_PREFIX = "probe_"
"""Prefix of the probe controller's keys in a point (``probe_response``: round trips by request type)."""

Key = tuple[str, str]


@dataclass(slots=True)
class Point:
    """What happened during one interval ``(t - span, t]`` (seconds since the run started)."""

    t: float
    span: float
    counters: dict[Key, float] = field(default_factory=dict)
    errors: dict[Key, int] = field(default_factory=dict)
    histograms: dict[Key, Histogram] = field(default_factory=dict)
    gauges: dict[str, float] = field(default_factory=dict)

    def rate(self, name: str, kind: str | None = None) -> float:
        """Events per second of ``name`` (one kind or all) in this interval."""
        total = sum(v for (n, k), v in self.counters.items() if n == name and (kind is None or k == kind))
        return total / self.span if self.span > 0 else 0.0

    def error_rate(self) -> float:
        """Failed observations per second in this interval."""
        return sum(self.errors.values()) / self.span if self.span > 0 else 0.0

    def histogram(self, name: str, kind: str | None = None) -> Histogram:
        """The interval's histogram of ``name`` (one kind or all kinds merged)."""
        out = Histogram()
        for (n, k), h in self.histograms.items():
            if n == name and (kind is None or k == kind):
                out.merge(h)
        return out

    def absorb(self, later: Point) -> None:
        """Merge the next point into this one (the result spans both)."""
        for key, v in later.counters.items():
            self.counters[key] = self.counters.get(key, 0) + v
        for key, e in later.errors.items():
            self.errors[key] = self.errors.get(key, 0) + e
        for key, h in later.histograms.items():
            mine = self.histograms.get(key)
            if mine is None:
                self.histograms[key] = h
            else:
                mine.merge(h)
        self.gauges = dict(later.gauges)
        self.span += later.span
        self.t = later.t

    def to_dict(self) -> dict[str, Any]:
        """Plain data: counters and errors as ``name:kind`` maps, histograms as percentiles in ms."""

        def label(key: Key) -> str:
            return f"{key[0]}:{key[1]}" if key[1] else key[0]

        return {
            "t": round(self.t, 3),
            "span": round(self.span, 3),
            "counters": {label(k): v for k, v in sorted(self.counters.items())},
            "errors": {label(k): v for k, v in sorted(self.errors.items())},
            "latency_ms": {
                label(k): {
                    "count": h.count,
                    "p50": round(h.percentile(50) * 1e3, 4),
                    "p90": round(h.percentile(90) * 1e3, 4),
                    "p99": round(h.percentile(99) * 1e3, 4),
                }
                for k, h in sorted(self.histograms.items())
                if h.count
            },
            "gauges": dict(self.gauges),
        }


class TimeSeries:
    """Bounded per-interval samples of a cumulative ``Stats``.

    Args:
        max_points: at most this many points are kept; past it, pairs of points are merged.
    """

    def __init__(self, max_points: int = 600) -> None:
        if max_points < 2:
            msg = "max_points must be >= 2"
            raise ValueError(msg)
        self.max_points = max_points
        self.points: list[Point] = []
        self._counters: dict[Key, float] = {}
        self._errors: dict[Key, int] = {}
        self._hists: dict[Key, Histogram] = {}
        self._last_t = 0.0

    def sample(
        self, stats: Stats, t: float, gauges: dict[str, float] | None = None, *, probe: Stats | None = None
    ) -> Point:
        """Append the interval ending at ``t`` (seconds since the start) and return it.

        Args:
            stats: the fleet's cumulative figures.
            t: seconds since the run started.
            gauges: values at ``t`` (agents by state...).
            probe: the probe controller's cumulative figures (``--onboard``); its keys are recorded
                with the prefix ``probe_`` (``("probe_response", "Get")``: round trips).
        """
        point = Point(t, max(t - self._last_t, 1e-9), gauges=dict(gauges or {}))
        self._diff(point, stats, "")
        if probe is not None:
            self._diff(point, probe, PROBE_PREFIX)
        self._last_t = t
        self.points.append(point)
        if len(self.points) > self.max_points:
            self._halve()
        return point

    def _diff(self, point: Point, stats: Stats, prefix: str) -> None:
        """Add the change of ``stats`` since the previous sample to ``point`` (keys prefixed)."""
        prev_c, prev_e, hists = self._counters, self._errors, self._hists
        for (name, kind), v in stats.counters.items():
            key = (prefix + name, kind) if prefix else (name, kind)
            d = v - prev_c.get(key, 0)
            if d:
                point.counters[key] = d
            prev_c[key] = v
        for (name, kind), e in stats.errors.items():
            key = (prefix + name, kind) if prefix else (name, kind)
            d = e - prev_e.get(key, 0)
            if d:
                point.errors[key] = d
            prev_e[key] = e
        for (name, kind), h in stats.histograms.items():
            key = (prefix + name, kind) if prefix else (name, kind)
            before = hists.get(key)
            if before is None:
                point.histograms[key] = h.copy()
                hists[key] = h.copy()
            elif h.count != before.count:
                point.histograms[key] = h.delta(before)
                hists[key] = h.copy()

    def _halve(self) -> None:
        merged: list[Point] = []
        pts = self.points
        for i in range(0, len(pts) - 1, 2):
            pts[i].absorb(pts[i + 1])
            merged.append(pts[i])
        if len(pts) % 2:
            merged.append(pts[-1])
        self.points = merged

    def to_list(self) -> list[dict[str, Any]]:
        """Every point as plain data (report.json)."""
        return [p.to_dict() for p in self.points]
