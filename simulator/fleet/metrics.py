"""Locust-style EventHook plus mergeable counters and log-bucketed latency histograms.

# Strategy: a histogram stores counts in logarithmic buckets (bucket b holds values in
# [GAMMA**b, GAMMA**(b+1)) microseconds, GAMMA = 1.02, so every percentile is within 2 %), like
# HdrHistogram with two significant digits. Buckets live in a sparse dict, so merging histograms
# from ``--processes`` children is adding counts, and the wire form is a small dict.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

__all__ = ["COUNT_ONLY", "TIMED", "EventHook", "Histogram", "Metrics", "Stats", "positional_listener"]

logger = logging.getLogger(__name__)

GAMMA = 1.02
_LOG_GAMMA = math.log(GAMMA)
_INV_LOG_GAMMA = 1.0 / _LOG_GAMMA
_log = math.log

TIMED = frozenset({"request", "service_time", "connect", "onboarding", "notify_resp", "response", "boot"})
"""Observation names whose value is a duration in seconds (they feed histograms)."""

COUNT_ONLY = frozenset({("notify_resp", "NotifyResp")})
"""(name, kind) pairs that are counted but not timed: the agent's generic "a NotifyResp arrived"
marker carries 0.0; the Notify -> NotifyResp latency comes with kind ``Notify:<type>`` (notifier)."""


Listener = Callable[..., Any]
"""Called with ``name``, ``kind``, ``value``, ``error`` keyword arguments (and optional extras)."""


def positional_listener(func: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a listener that accepts ``(name, kind, value, error)`` positionally.

    ``EventHook.emit`` then calls it without building a keyword dict (the per-request hot path);
    other listeners still get keyword arguments.
    """
    func.positional_listener = True  # type: ignore[attr-defined]
    return func


class _Keywords:
    """Adapter: a keyword-only listener called from ``EventHook.emit``."""

    __slots__ = ("listener",)

    def __init__(self, listener: Listener) -> None:
        self.listener = listener

    def __call__(self, name: str, kind: str, value: float, error: int) -> None:
        self.listener(name=name, kind=kind, value=value, error=error)

    def __repr__(self) -> str:
        return repr(self.listener)


class EventHook:
    """A list of listeners called with keyword arguments (Locust's ``EventHook``).

    A listener that raises is logged with its traceback and does not stop the others.
    """

    __slots__ = ("_calls", "_listeners")

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._calls: tuple[Callable[[str, str, float, int], Any], ...] = ()

    def add_listener(self, listener: Listener) -> Listener:
        """Register ``listener``; returns it, so this works as a decorator."""
        self._listeners.append(listener)
        self._rebind()
        return listener

    def remove_listener(self, listener: Listener) -> None:
        """Unregister ``listener`` (ValueError if it was not registered)."""
        self._listeners.remove(listener)
        self._rebind()

    def _rebind(self) -> None:
        self._calls = tuple(
            f if getattr(f, "positional_listener", False) else _Keywords(f) for f in self._listeners
        )

    def fire(self, **kwargs: Any) -> None:
        """Call every listener with ``kwargs``."""
        for listener in self._listeners:
            try:
                listener(**kwargs)
            except Exception:
                logger.exception("event listener %r failed", listener)

    def emit(self, name: str, kind: str, value: float, error: int) -> None:
        """``fire(name=name, kind=kind, value=value, error=error)`` without the keyword dict (hot path)."""
        for call in self._calls:
            try:
                call(name, kind, value, error)
            except Exception:
                logger.exception("event listener %r failed", call)

    @contextmanager
    def measure(self, name: str, kind: str) -> Iterator[None]:
        """Fire ``name``/``kind`` with the elapsed seconds of the ``with`` body (error=1 if it raised)."""
        start = perf_counter()
        try:
            yield
        except Exception:
            self.fire(name=name, kind=kind, value=perf_counter() - start, error=1)
            raise
        self.fire(name=name, kind=kind, value=perf_counter() - start, error=0)


class Histogram:
    """Latency distribution in log buckets of microseconds; mergeable and picklable."""

    __slots__ = ("buckets", "count", "max", "min", "total")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = 0.0

    def add(self, seconds: float) -> None:
        """Record one duration."""
        us = seconds * 1e6
        b = int(_log(us) * _INV_LOG_GAMMA) if us > 1.0 else 0
        buckets = self.buckets
        buckets[b] = buckets.get(b, 0) + 1
        self.count += 1
        self.total += seconds
        if seconds < self.min:  # noqa: PLR1730 - a compare is cheaper than min() on the hot path
            self.min = seconds
        if seconds > self.max:  # noqa: PLR1730
            self.max = seconds

    @staticmethod
    def bucket_value(b: int) -> float:
        """The representative value (seconds) of bucket ``b``: its geometric middle."""
        return (GAMMA ** (b + 0.5) if b else 1.0) / 1e6

    def copy(self) -> Histogram:
        """An independent copy."""
        h = Histogram()
        h.buckets = dict(self.buckets)
        h.count, h.total, h.min, h.max = self.count, self.total, self.min, self.max
        return h

    def delta(self, earlier: Histogram) -> Histogram:
        """What was added since ``earlier`` (a copy of this histogram taken before).

        min/max of the difference are not known exactly: they are the edges of its outer buckets,
        clamped to this histogram's min/max.
        """
        out = Histogram()
        prev = earlier.buckets
        out.buckets = {b: n - prev.get(b, 0) for b, n in self.buckets.items() if n != prev.get(b, 0)}
        out.count = self.count - earlier.count
        out.total = self.total - earlier.total
        if out.buckets:
            lo, hi = min(out.buckets), max(out.buckets)
            out.min = max(GAMMA**lo / 1e6 if lo else 0.0, self.min)
            out.max = min(GAMMA ** (hi + 1) / 1e6, self.max)
        return out

    def cumulative(self, bounds: tuple[float, ...]) -> list[int]:
        """Counts of values <= each of ``bounds`` (ascending seconds), for Prometheus ``le`` buckets.

        A log bucket is placed by its representative value, so a count is off by at most the values
        within 2 % of a bound.
        """
        out = [0] * len(bounds)
        for b, n in self.buckets.items():
            v = self.bucket_value(b)
            for i, bound in enumerate(bounds):
                if v <= bound:
                    out[i] += n
                    break
        for i in range(1, len(out)):
            out[i] += out[i - 1]
        return out

    def merge(self, other: Histogram) -> None:
        """Add ``other``'s counts to this histogram."""
        buckets = self.buckets
        for b, n in other.buckets.items():
            buckets[b] = buckets.get(b, 0) + n
        self.count += other.count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0-100) in seconds; 0.0 when empty."""
        if not self.count:
            return 0.0
        rank = max(1, math.ceil(self.count * q / 100))
        seen = 0
        for b in sorted(self.buckets):
            seen += self.buckets[b]
            if seen >= rank:
                return min(max(self.bucket_value(b), self.min), self.max)
        return self.max

    @property
    def mean(self) -> float:
        """Average in seconds (0.0 when empty)."""
        return self.total / self.count if self.count else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for pipes and JSON)."""
        return {
            "buckets": dict(self.buckets),
            "count": self.count,
            "total": self.total,
            "min": self.min if self.count else 0.0,
            "max": self.max,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        """Inverse of ``to_dict``."""
        h = cls()
        h.buckets = {int(k): int(v) for k, v in data["buckets"].items()}
        h.count = int(data["count"])
        h.total = float(data["total"])
        h.min = float(data["min"]) if h.count else math.inf
        h.max = float(data["max"])
        return h


_REQUEST_KEYS: dict[str, tuple[str, str]] = {}
"""``("request", kind)`` keys, built once per kind (a handful of USP message types) for every Stats."""


@dataclass
class Stats:
    """Counters and histograms keyed by low-cardinality (name, kind) pairs."""

    counters: dict[tuple[str, str], float] = field(default_factory=dict)
    errors: dict[tuple[str, str], int] = field(default_factory=dict)
    histograms: dict[tuple[str, str], Histogram] = field(default_factory=dict)

    @positional_listener
    def record(self, name: str, kind: str = "", value: float = 1.0, error: int = 0, **_: Any) -> None:
        """EventHook listener: count the observation; durations also go to a histogram."""
        if name == "request":  # hot path: one per answered request, key tuples bound once per kind
            key = _REQUEST_KEYS.get(kind)
            if key is None:
                key = _REQUEST_KEYS[kind] = ("request", kind)
            counters = self.counters
            counters[key] = counters.get(key, 0) + 1
            if error:
                self.errors[key] = self.errors.get(key, 0) + 1
            hist = self.histograms.get(key)
            if hist is None:
                hist = self.histograms[key] = Histogram()
            hist.add(value)
            return
        key = (name, kind)
        if error:
            self.errors[key] = self.errors.get(key, 0) + 1
        if name in TIMED:
            self.counters[key] = self.counters.get(key, 0) + 1
            if key in COUNT_ONLY:
                return
            hist = self.histograms.get(key)
            if hist is None:
                hist = self.histograms[key] = Histogram()
            hist.add(value)
        else:
            self.counters[key] = self.counters.get(key, 0) + value

    def count(self, name: str, kind: str | None = None) -> float:
        """Sum of the counters named ``name`` (one ``kind`` or all)."""
        return sum(v for (n, k), v in self.counters.items() if n == name and (kind is None or k == kind))

    def error_count(self, name: str | None = None) -> int:
        """Number of failed observations (optionally for one name)."""
        return sum(v for (n, _), v in self.errors.items() if name is None or n == name)

    def histogram(self, name: str, kind: str | None = None) -> Histogram:
        """The histogram of ``name``/``kind``, or all kinds of ``name`` merged."""
        out = Histogram()
        for (n, k), h in self.histograms.items():
            if n == name and (kind is None or k == kind):
                out.merge(h)
        return out

    def kinds(self, name: str) -> list[str]:
        """The kinds seen for ``name``, sorted."""
        return sorted({k for (n, k) in self.counters if n == name})

    def copy(self) -> Stats:
        """An independent snapshot (histograms copied)."""
        return Stats(
            dict(self.counters), dict(self.errors), {k: h.copy() for k, h in self.histograms.items()}
        )

    def merge(self, other: Stats) -> None:
        """Add another process's stats to these."""
        for key, v in other.counters.items():
            self.counters[key] = self.counters.get(key, 0) + v
        for key, e in other.errors.items():
            self.errors[key] = self.errors.get(key, 0) + e
        for key, h in other.histograms.items():
            mine = self.histograms.get(key)
            if mine is None:
                mine = self.histograms[key] = Histogram()
            mine.merge(h)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for pipes and JSON)."""
        return {
            "counters": [[n, k, v] for (n, k), v in self.counters.items()],
            "errors": [[n, k, v] for (n, k), v in self.errors.items()],
            "histograms": [[n, k, h.to_dict()] for (n, k), h in self.histograms.items()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stats:
        """Inverse of ``to_dict``."""
        return cls(
            {(n, k): v for n, k, v in data["counters"]},
            {(n, k): v for n, k, v in data["errors"]},
            {(n, k): Histogram.from_dict(h) for n, k, h in data["histograms"]},
        )


class Metrics:
    """One fleet's event hook with a ``Stats`` sink already subscribed.

    Attributes:
        events: fired with ``name``, ``kind``, ``value``, ``error`` (and optional ``endpoint_id``).
        stats: the aggregate the CLI prints.
    """

    def __init__(self) -> None:
        self.events = EventHook()
        self.stats = Stats()
        self.events.add_listener(self.stats.record)

    def observe(self, name: str, kind: str = "", value: float = 1.0, error: int = 0) -> None:
        """Shorthand for ``events.emit``."""
        self.events.emit(name, kind, value, error)
