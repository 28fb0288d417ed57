"""Histogram merge/percentiles, bounded time series, Prometheus exposition, CSV/JSON/HTML reports."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
from pathlib import Path

import pytest

from simulator.fleet.metrics import Histogram, Metrics, Stats
from simulator.fleet.timeseries import TimeSeries
from simulator.integrations.html_report import html_report
from simulator.integrations.prometheus import BOUNDS, MetricsServer, exposition
from simulator.integrations.report import CSV_COLUMNS, report_data, write_reports


def exact_percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * q / 100)) - 1]


def sample_stats(seed: int = 1, n: int = 2000) -> tuple[Stats, list[float]]:
    rng = random.Random(seed)
    m = Metrics()
    values = []
    for _ in range(n):
        v = rng.lognormvariate(-8, 1.0)
        values.append(v)
        m.observe("request", rng.choice(["Get", "Set"]), v)
    for _ in range(50):
        m.observe("notify_resp", "Notify:ValueChange", rng.uniform(0.001, 0.01))
        m.observe("notify_resp", "NotifyResp", 0.0)
    m.observe("connect", "mqtt", 0.002)
    m.observe("reconnect", "mqtt")
    m.observe("fault", "drop")
    m.observe("send_error", "GetResp", error=1)
    return m.stats, values


@pytest.mark.parametrize("q", [50, 90, 99, 99.9])
def test_merged_histograms_match_exact_percentiles(q: float) -> None:
    rng = random.Random(3)
    parts = [[rng.expovariate(1000) + 1e-5 for _ in range(3000)] for _ in range(4)]
    merged = Histogram()
    for part in parts:
        h = Histogram()
        for v in part:
            h.add(v)
        merged.merge(Histogram.from_dict(json.loads(json.dumps(h.to_dict()))))  # the --processes wire path
    every = [v for part in parts for v in part]
    assert merged.count == len(every)
    assert merged.percentile(q) == pytest.approx(exact_percentile(every, q), rel=0.021)


def test_stats_merge_over_the_wire_equals_one_process() -> None:
    a, _ = sample_stats(1)
    b, _ = sample_stats(2)
    both = Stats()
    both.merge(Stats.from_dict(json.loads(json.dumps(a.to_dict()))))
    both.merge(Stats.from_dict(json.loads(json.dumps(b.to_dict()))))
    assert both.count("request") == a.count("request") + b.count("request")
    assert both.histogram("request").count == 4000
    assert both.error_count() == 2


def test_notifyresp_marker_is_counted_not_timed() -> None:
    stats, _ = sample_stats()
    assert stats.counters[("notify_resp", "NotifyResp")] == 50
    assert ("notify_resp", "NotifyResp") not in stats.histograms
    assert stats.histograms[("notify_resp", "Notify:ValueChange")].percentile(50) >= 0.001


def test_histogram_delta_and_cumulative() -> None:
    h = Histogram()
    for v in (0.001, 0.002, 0.003):
        h.add(v)
    before = h.copy()
    for v in (0.01, 0.02):
        h.add(v)
    d = h.delta(before)
    assert d.count == 2 and d.total == pytest.approx(0.03)
    assert d.percentile(50) == pytest.approx(0.01, rel=0.021)
    assert h.cumulative((0.0025, 0.015, 1.0)) == [2, 4, 5]


def test_timeseries_points_are_interval_deltas_and_bounded() -> None:
    m = Metrics()
    series = TimeSeries(max_points=10)
    for second in range(1, 101):
        for _ in range(second % 5 + 1):
            m.observe("request", "Get", 0.001)
        series.sample(m.stats, float(second), {"agents_connected": float(second)})
        assert len(series.points) <= 10
    total = sum(p.counters.get(("request", "Get"), 0) for p in series.points)
    assert total == m.stats.count("request")
    assert sum(p.histogram("request").count for p in series.points) == m.stats.histogram("request").count
    assert series.points[-1].t == 100.0 and series.points[-1].gauges["agents_connected"] == 100.0
    assert sum(p.span for p in series.points) == pytest.approx(100.0)
    assert series.points[0].rate("request") > 0


# --------------------------------------------------------------------------------------------- Prometheus

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text: str) -> tuple[dict[str, str], list[tuple[str, dict[str, str], float]]]:
    """A tiny parser of the text format 0.0.4: (TYPE per family, samples)."""
    types: dict[str, str] = {}
    samples = []
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            assert parts[1] in ("HELP", "TYPE"), line
            if parts[1] == "TYPE":
                assert parts[3] in ("counter", "gauge", "histogram", "summary", "untyped")
                types[parts[2]] = parts[3]
            continue
        m = _SAMPLE.match(line)
        assert m, f"bad sample line: {line!r}"
        labels = dict(_LABEL.findall(m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return types, samples


def test_timeseries_records_probe_round_trips_under_their_own_name() -> None:
    fleet, probe = Metrics(), Metrics()
    series = TimeSeries()
    fleet.observe("request", "Get", 0.001)
    probe.observe("response", "Get", 0.004)
    series.sample(fleet.stats, 1.0, probe=probe.stats)
    probe.observe("response", "Get", 0.008)
    probe.observe("response", "Set", 0.002, 7005)
    second = series.sample(fleet.stats, 2.0, probe=probe.stats)
    first = series.points[0]
    assert first.histogram("probe_response").count == 1 and first.rate("request") == 1.0
    assert second.histogram("probe_response").count == 2 and ("request", "Get") not in second.counters
    assert second.errors == {("probe_response", "Set"): 1}
    assert second.histogram("probe_response", "Get").percentile(50) == pytest.approx(0.008, rel=0.03)
    data = series.to_list()[1]
    assert set(data["latency_ms"]) == {"probe_response:Get", "probe_response:Set"}
    page = html_report(fleet.stats, probe.stats, series=series)
    assert "Probe round trip, controller request" in page and "probe round trips" in page


def test_text_report_breaks_down_behaviours_and_faults_by_kind() -> None:
    from simulator.integrations.report import text_report

    m = Metrics()
    m.observe("behaviour", "churn:abrupt", 1.0)
    m.observe("behaviour", "wifi_clients:join", 1.0)
    m.observe("behaviour", "wifi_clients:join", 1.0)
    m.observe("fault", "late", 1.0)
    text = text_report(m.stats)
    assert "Scenario behaviours and faults" in text
    assert re.search(r"behaviour\s+.\s+wifi_clients:join\s+.\s+2\b", text), text
    assert re.search(r"fault\s+.\s+late\s+.\s+1\b", text), text
    assert "Scenario behaviours" not in text_report(Metrics().stats)


def test_prometheus_exposition_parses_and_is_consistent() -> None:
    stats, values = sample_stats()
    text = exposition(stats, {"agents_connected": 7, "agents_total": 10, "uptime_seconds": 1.5})
    types, samples = parse_exposition(text)
    assert types["uspsim_request_seconds"] == "histogram"
    assert types["uspsim_events_total"] == "counter"
    assert types["uspsim_agents"] == "gauge"
    buckets = [s for s in samples if s[0] == "uspsim_request_seconds_bucket"]
    get = {s[1]["le"]: s[2] for s in buckets if s[1]["kind"] == "Get"}
    assert len(get) == len(BOUNDS) + 1
    counts = [get[k] for k in sorted(get, key=float)]
    assert counts == sorted(counts)  # cumulative
    count = next(s[2] for s in samples if s[0] == "uspsim_request_seconds_count" and s[1]["kind"] == "Get")
    assert get["+Inf"] == count == stats.counters[("request", "Get")]
    assert ("uspsim_agents", {"state": "connected"}, 7.0) in samples
    assert ("uspsim_events_total", {"event": "reconnect", "kind": "mqtt"}, 1.0) in samples
    assert ("uspsim_errors_total", {"event": "send_error", "kind": "GetResp"}, 1.0) in samples
    notify = [s for s in samples if s[0] == "uspsim_notify_resp_seconds_count"]
    assert [s[1]["kind"] for s in notify] == ["Notify:ValueChange"]
    for name in {s[0] for s in samples}:
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert family in types or name in types, name


def test_metrics_server_serves_metrics_on_loopback() -> None:
    import asyncio

    asyncio.run(_serve_and_scrape())


async def _serve_and_scrape() -> None:
    import asyncio

    async with MetricsServer(lambda: "uspsim_up 1\n") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        data = await reader.read()
        writer.close()
        assert data.startswith(b"HTTP/1.1 200 OK")
        assert b"version=0.0.4" in data and data.endswith(b"uspsim_up 1\n")
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /nope HTTP/1.1\r\n\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.1 404")
        writer.close()


# ------------------------------------------------------------------------------------------------ files


def test_reports_csv_json_html(tmp_path: Path) -> None:
    stats, values = sample_stats()
    probe = Metrics()
    probe.observe("response", "Get", 0.004)
    series = TimeSeries()
    series.sample(stats, 1.0, {"agents_connected": 10.0})
    meta = {"scenario": "unit", "agents": 10}
    paths = write_reports(str(tmp_path / "out"), stats, probe.stats, meta=meta, series=series)
    assert [Path(p).name for p in paths] == ["report.txt", "report.json", "report.csv", "report.html"]

    rows = list(csv.DictReader(io.StringIO(Path(paths[2]).read_text())))
    assert tuple(rows[0]) == CSV_COLUMNS
    get = next(r for r in rows if r["source"] == "fleet" and r["metric"] == "request" and r["kind"] == "Get")
    assert int(get["count"]) == stats.counters[("request", "Get")]
    assert float(get["p50_ms"]) > 0 and float(get["p99_ms"]) >= float(get["p50_ms"])
    assert next(r for r in rows if r["metric"] == "reconnect")["p50_ms"] == ""
    assert any(r["source"] == "probe" and r["metric"] == "response" for r in rows)

    data = json.loads(Path(paths[1]).read_text())
    assert set(data) == {"meta", "summary", "latency", "timeseries", "raw"}
    assert data["meta"] == meta
    assert data["summary"]["counters"]["request:Get"] == stats.counters[("request", "Get")]
    assert data["summary"]["notify_resp"]["Notify:ValueChange"]["count"] == 50
    assert len(data["timeseries"]) == 1 and data["timeseries"][0]["gauges"]["agents_connected"] == 10.0
    rebuilt = Stats.from_dict(data["raw"]["fleet"])
    assert rebuilt.histogram("request").count == len(values)
    for row in data["latency"]:
        assert {"source", "metric", "kind", "count", "p50_ms", "p99_ms", "p999_ms"} <= set(row)

    text = Path(paths[0]).read_text()
    assert "Agent service time" in text and "Notify -> NotifyResp" in text and "scenario: unit" in text


def test_html_is_self_contained_with_one_svg_per_plot() -> None:
    stats, _ = sample_stats()
    series = TimeSeries()
    for t in range(1, 4):
        series.sample(stats, float(t), {"agents_connected": 1.0})
    page = html_report(stats, None, meta={"scenario": "x<y"}, series=series)
    plots = page.count('<svg class="plot"')
    assert plots == page.count("</svg>") and plots >= 7  # 5 over time + 2 bar charts
    assert "x&lt;y" in page
    assert not re.search(r"(https?:)?//[a-z0-9]", page, re.IGNORECASE)  # no external URL at all
    assert "<script" not in page.lower() and "<link" not in page.lower()
    empty = html_report(Stats())
    assert empty.count('<svg class="plot"') >= 7 and "no data" in empty


def test_report_data_without_series() -> None:
    stats, _ = sample_stats()
    assert report_data(stats)["timeseries"] == []
