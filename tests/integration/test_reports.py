"""``uspsim run --report DIR --metrics-port N``: a short real run writes the four reports, and
/metrics answers over 127.0.0.1 while it runs."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from simulator.fleet.localbroker import free_port

ROOT = Path(__file__).resolve().parents[2]


def scrape(port: int, deadline: float) -> str | None:
    """The first /metrics body that shows the onboarding Gets answered, or None at the deadline."""
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
                assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                last = resp.read().decode()
        except OSError:
            time.sleep(0.2)
            continue
        if re.search(r'uspsim_request_seconds_count\{kind="Get"\} 5\b', last) and re.search(
            r'uspsim_agents\{state="connected"\} 5\b', last
        ):
            return last
        time.sleep(0.3)
    return last


def test_run_writes_reports_and_serves_metrics(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "report"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "simulator.integrations.cli", "--no-color", "run", "scenarios/sandbox.yaml",
            "--broker", "embedded", "--agents", "5", "--spawn-rate", "100", "--duration", "6", "--onboard",
            "--report", str(out), "--metrics-port", str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = scrape(port, time.monotonic() + 40)
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stdout
    assert body is not None and 'uspsim_agents{state="connected"} 5' in body, body
    assert 'uspsim_connect_seconds_bucket{kind="mqtt",le="+Inf"} 5' in body
    assert "report written:" in stdout

    names = sorted(p.name for p in out.iterdir())
    assert names == ["report.csv", "report.html", "report.json", "report.txt"]
    data = json.loads((out / "report.json").read_text())
    assert data["summary"]["counters"]["request:Get"] == 5
    assert data["summary"]["service_time"]["Get"]["count"] == 5
    assert data["meta"]["requests_answered"] == 5 and data["meta"]["agents"] == 5
    assert data["timeseries"] and data["timeseries"][-1]["gauges"]["agents_connected"] == 5
    rows = list(csv.DictReader((out / "report.csv").read_text().splitlines()))
    get = next(r for r in rows if r["source"] == "fleet" and r["metric"] == "request" and r["kind"] == "Get")
    assert get["count"] == "5" and float(get["p50_ms"]) > 0
    assert any(r["source"] == "probe" and r["metric"] == "response" and r["count"] == "5" for r in rows)
    text = (out / "report.txt").read_text()
    assert re.search(r"Get\s+.\s+5\b", text), text
    page = (out / "report.html").read_text()
    assert page.count("<svg") >= 7 and "http://" not in page and "https://" not in page


def test_run_json_keeps_stdout_for_the_json_and_series_has_probe_round_trips(tmp_path: Path) -> None:
    """--json: status and live lines go to stderr; the time series holds the probe's round trips and
    report.txt breaks behaviours and faults down by kind (ci-small exercises every behaviour family)."""
    out = tmp_path / "report"
    proc = subprocess.run(
        [
            sys.executable, "-m", "simulator.integrations.cli", "--no-color", "run",
            "scenarios/ci-small.yaml", "--broker", "embedded", "--duration", "6", "--onboard", "--json",
            "--report", str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)  # nothing but the JSON document on stdout
    assert data["ok"] is True and data["round_trip"]["Get"]["count"] == 8
    assert "connected" in proc.stderr and "report written:" in proc.stderr
    series = json.loads((out / "report.json").read_text())["timeseries"]
    assert sum(p["latency_ms"].get("probe_response:Get", {}).get("count", 0) for p in series) == 8
    text = (out / "report.txt").read_text()
    assert "Scenario behaviours and faults" in text and re.search(r"behaviour\s+.\s+periodic_notify", text)
