"""EventHook and the mergeable log-bucketed histograms."""

from __future__ import annotations

import random

import pytest

from simulator.fleet.metrics import EventHook, Histogram, Metrics, Stats


def test_eventhook_calls_listeners_and_survives_a_failing_one() -> None:
    hook = EventHook()
    seen: list[dict[str, object]] = []

    def broken(**_kw: object) -> None:
        raise RuntimeError("listener bug")

    hook.add_listener(broken)
    hook.add_listener(lambda **kw: seen.append(kw))
    hook.fire(name="x", value=1)
    assert seen == [{"name": "x", "value": 1}]
    hook.remove_listener(broken)
    with pytest.raises(ValueError):
        hook.remove_listener(broken)


def test_eventhook_measure_fires_duration_and_error() -> None:
    m = Metrics()
    with m.events.measure("request", "Get"):
        pass
    with pytest.raises(KeyError), m.events.measure("request", "Get"):
        raise KeyError
    assert m.stats.count("request", "Get") == 2
    assert m.stats.error_count("request") == 1


@pytest.mark.parametrize("q", [1, 50, 90, 99, 99.9])
def test_histogram_percentile_within_two_percent(q: float) -> None:
    rng = random.Random(7)
    values = sorted(rng.lognormvariate(-7, 1.2) for _ in range(20_000))  # ~1 ms, long tail
    h = Histogram()
    for v in values:
        h.add(v)
    exact = values[max(0, int(len(values) * q / 100 + 0.999999) - 1)]
    assert h.percentile(q) == pytest.approx(exact, rel=0.021)
    assert h.count == len(values) and h.min == values[0] and h.max == values[-1]
    assert h.mean == pytest.approx(sum(values) / len(values))


def test_histogram_merge_equals_single_histogram() -> None:
    rng = random.Random(3)
    values = [rng.expovariate(1000) for _ in range(5000)]
    whole, a, b = Histogram(), Histogram(), Histogram()
    for i, v in enumerate(values):
        whole.add(v)
        (a if i % 3 else b).add(v)
    a.merge(b)
    assert a.buckets == whole.buckets and a.count == whole.count
    assert a.min == whole.min and a.max == whole.max
    for q in (50, 99):
        assert a.percentile(q) == whole.percentile(q)


def test_histogram_empty_and_sub_microsecond() -> None:
    h = Histogram()
    assert h.percentile(99) == 0.0 and h.mean == 0.0
    h.add(0.0)
    h.add(1e-9)
    assert h.count == 2 and h.percentile(100) <= 1e-6


def test_stats_roundtrip_and_merge() -> None:
    a, b = Stats(), Stats()
    for i in range(100):
        a.record("request", "Get", i / 1e4)
        b.record("request", "Set", i / 1e3, error=7002 if i == 0 else 0)
        b.record("reconnect", "mqtt")
    restored = Stats.from_dict(b.to_dict())
    assert restored.counters == b.counters and restored.errors == b.errors
    a.merge(restored)
    assert a.count("request") == 200
    assert a.count("reconnect") == 100
    assert a.error_count() == 1
    assert a.kinds("request") == ["Get", "Set"]
    assert a.histogram("request").count == 200
    assert a.histogram("request", "Set").percentile(100) == pytest.approx(0.099, rel=0.021)


def test_eventhook_emit_reaches_positional_and_keyword_listeners() -> None:
    """``emit`` (the per-request hot path) calls Stats.record positionally and others with keywords."""
    m = Metrics()
    seen: list[dict[str, object]] = []
    m.events.add_listener(lambda **kw: seen.append(kw))

    def broken(**_kw: object) -> None:
        raise RuntimeError("listener bug")

    m.events.add_listener(broken)
    m.events.emit("request", "Get", 0.002, 0)
    m.events.emit("request", "Get", 0.004, 7026)
    m.events.emit("sent", "Notify:Boot!", 1.0, 0)
    m.events.remove_listener(broken)
    m.events.emit("request", "Set", 0.001, 0)
    assert seen[0] == {"name": "request", "kind": "Get", "value": 0.002, "error": 0}
    assert len(seen) == 4
    stats = m.stats
    assert stats.count("request", "Get") == 2 and stats.count("request") == 3
    assert stats.errors[("request", "Get")] == 1
    assert stats.histogram("request", "Get").count == 2
    assert stats.count("sent", "Notify:Boot!") == 1
    fired = Stats()
    for name, kind, value, error in [("request", "Get", 0.002, 0), ("request", "Get", 0.004, 7026)]:
        fired.record(name=name, kind=kind, value=value, error=error)
    assert fired.to_dict() == {
        "counters": [["request", "Get", 2]],
        "errors": [["request", "Get", 1]],
        "histograms": [["request", "Get", stats.histograms[("request", "Get")].to_dict()]],
    }
