"""``uspsim run --processes N``: N worker processes, each owning an index range; merged metrics.

Each worker runs its own event loop (``cli.run_loop``) with a ``Fleet`` over its shard and reports
through a multiprocessing queue: a status tuple every second and, at the end, its ``Stats`` as plain
data, which the parent merges (histograms are mergeable). The parent owns the embedded broker when
the scenario asks for one, and a shared stop event ends every worker (Ctrl-C, duration). With
``--state DIR`` each worker opens its own SQLite file named after its index range
(``DIR/agents-<first>-<count>.sqlite3``, docs/persistence.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from simulator.fleet.config import ScenarioConfig
from simulator.fleet.metrics import Stats

if TYPE_CHECKING:
    from simulator.integrations.live import RunMonitor

__all__ = ["run_processes", "shards"]


def shards(total: int, processes: int) -> list[tuple[int, int]]:
    """Split ``range(total)`` into ``processes`` contiguous (first, count) ranges."""
    base, extra = divmod(total, processes)
    out, first = [], 0
    for i in range(processes):
        count = base + (1 if i < extra else 0)
        if count:
            out.append((first, count))
        first += count
    return out


@dataclasses.dataclass(frozen=True)
class _Job:
    """What one worker process runs (picklable)."""

    scenario: ScenarioConfig
    shard: tuple[int, int]
    worker: int
    live_stats: bool = False
    """Also send the cumulative Stats every second (time series, Prometheus)."""
    state_dir: str | None = None
    """``--state DIR``: this shard's database is ``state_file(DIR, shard)`` (``agents-<first>-<count>``)."""
    state_sync: str = "full"
    """``--state-sync``: full or normal."""
    parent: int = 0
    """The parent's pid: a worker whose parent died (SIGKILL) stops instead of living on as an orphan."""


def _worker(job: _Job, results: Any, stop: Any) -> None:
    from simulator.integrations.cli import run_loop

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    run_loop(_work(job, results, stop))


def _open_state(job: _Job, metrics: Any) -> Any:
    """The worker's FleetState over its own SQLite file (None without ``--state``)."""
    if job.state_dir is None:
        return None
    from simulator.fleet.state import FleetState, SqliteBackend, state_file

    path = state_file(job.state_dir, job.shard)
    return FleetState(SqliteBackend(path, synchronous=job.state_sync.upper()), metrics.events)


async def _work(job: _Job, results: Any, stop: Any) -> None:
    from simulator.fleet.metrics import Metrics
    from simulator.fleet.runner import Fleet

    scenario, worker = job.scenario, job.worker
    metrics = Metrics()
    fleet = Fleet(
        scenario,
        host=scenario.broker.host,
        port=scenario.broker.port,
        shard=job.shard,
        metrics=metrics,
        state=_open_state(job, metrics),
    )
    loop = asyncio.get_running_loop()
    ramp = asyncio.ensure_future(fleet.start())
    end: float | None = None
    try:
        while not stop.is_set():
            if job.parent and os.getppid() != job.parent:
                break  # the parent was killed: stop (state committed) rather than run on unsupervised
            st = fleet.status()
            results.put(("status", worker, st.started, st.connected, st.failed))
            if job.live_stats:
                results.put(("stats", worker, fleet.metrics.stats.to_dict(), st.waiting, st.total))
            if ramp.done() and end is None:
                ramp.result()
                end = loop.time() + scenario.duration if scenario.duration > 0 else float("inf")
            if end is not None and loop.time() >= end:
                break
            await asyncio.sleep(1.0)
    finally:
        if not ramp.done():
            ramp.cancel()
        await fleet.stop(timeout=5.0)
        failures = [f"{eid}: {exc}" for eid, exc in fleet.errors]
        results.put(("final", worker, fleet.metrics.stats.to_dict(), failures))


def _check_state_files(directory: str, parts: list[tuple[int, int]], status: Callable[[str], Any]) -> None:
    """Warn about databases of another split: their agents start from the profile this time."""
    from pathlib import Path

    from simulator.fleet.state import state_file

    expected = {state_file(directory, shard).name for shard in parts}
    others = sorted(p.name for p in Path(directory).glob("agents-*-*.sqlite3") if p.name not in expected)
    if others:
        status(
            f"warning: --state {directory} holds {', '.join(others[:4])} from another --processes/--agents "
            "split; those agents start from their profile (docs/persistence.md)"
        )


def run_processes(
    scenario: ScenarioConfig,
    processes: int,
    status: Callable[[str], Any] = print,
    *,
    monitor: RunMonitor | None = None,
    start_monitor: Callable[[], Awaitable[bool]] | None = None,
    state_dir: str | None = None,
    state_sync: str = "full",
) -> tuple[Stats, list[str]]:
    """Run the scenario split over ``processes`` workers; return merged stats and failures.

    With a ``monitor``, workers also send their cumulative Stats every second; the parent merges them
    into ``monitor`` (time series, Prometheus endpoint started by ``start_monitor`` in its loop). With
    ``state_dir`` each worker keeps its shard in its own database, ``state_file(state_dir, shard)``.
    """
    from simulator.integrations.cli import run_loop

    template = _Job(scenario, (0, 0), 0, state_dir=state_dir, state_sync=state_sync, parent=os.getpid())
    return run_loop(_monitored(scenario, processes, status, monitor, start_monitor, template))


async def _monitored(  # noqa: PLR0917
    scenario: ScenarioConfig,
    processes: int,
    status: Callable[[str], Any],
    monitor: RunMonitor | None,
    start_monitor: Callable[[], Awaitable[bool]] | None,
    template: _Job,
) -> tuple[Stats, list[str]]:
    if monitor is None:
        return await _parent(scenario, processes, status, None, template)
    if start_monitor is not None and not await start_monitor():
        return Stats(), ["the metrics endpoint could not start"]
    try:
        return await _parent(scenario, processes, status, monitor, template)
    finally:
        await monitor.close()


async def _parent(
    scenario: ScenarioConfig,
    processes: int,
    status: Callable[[str], Any],
    monitor: RunMonitor | None = None,
    template: _Job | None = None,
) -> tuple[Stats, list[str]]:
    from simulator.fleet.localbroker import local_broker

    if scenario.broker.embedded:
        async with local_broker() as broker:
            status(f"embedded broker: {broker.kind} on {broker.url}")
            local = dataclasses.replace(
                scenario,
                broker=dataclasses.replace(
                    scenario.broker, url=broker.url, host=broker.host, port=broker.port
                ),
            )
            return await _supervise(local, processes, status, monitor, template)
    return await _supervise(scenario, processes, status, monitor, template)


def _monitor_update(
    monitor: RunMonitor,
    live: dict[int, tuple[Stats, int, int]],
    latest: dict[int, Any],
    *,
    force: bool = False,
) -> None:
    from simulator.integrations.live import status_gauges

    merged = Stats()
    for stats, _, _ in live.values():
        merged.merge(stats)
    sums = [sum(v[i] for v in latest.values()) for i in range(3)]
    gauges = status_gauges(
        None,
        agents_total=float(sum(t for _, _, t in live.values())),
        agents_started=float(sums[0]),
        agents_connected=float(sums[1]),
        agents_failed=float(sums[2]),
        agents_waiting=float(sum(w for _, w, _ in live.values())),
    )
    monitor.update(merged, gauges, force=force)


async def _supervise(
    scenario: ScenarioConfig,
    processes: int,
    status: Callable[[str], Any],
    monitor: RunMonitor | None = None,
    template: _Job | None = None,
) -> tuple[Stats, list[str]]:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    stop = ctx.Event()
    parts = shards(scenario.total_agents, processes)
    base = template or _Job(scenario, (0, 0), 0)

    def job(shard: tuple[int, int], index: int) -> _Job:
        return dataclasses.replace(
            base, scenario=scenario, shard=shard, worker=index, live_stats=monitor is not None
        )

    if base.state_dir is not None:
        _check_state_files(base.state_dir, parts, status)
    workers = [
        ctx.Process(
            target=_worker,
            name=f"uspsim-worker-{i}",
            daemon=True,
            args=(job(shard, i), results, stop),
        )
        for i, shard in enumerate(parts)
    ]
    for w in workers:
        w.start()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)  # workers stop gracefully (state committed)
    merged, failures = Stats(), []
    latest: dict[int, tuple[int, int, int]] = {}
    live: dict[int, tuple[Stats, int, int]] = {}
    finals = 0
    last_line = 0.0
    while finals < len(workers):
        try:
            item = await asyncio.to_thread(results.get, True, 0.5)
        except queue.Empty:
            if not any(w.is_alive() for w in workers):
                failures.append("a worker process exited without reporting")
                break
            continue
        if item[0] == "status":
            latest[item[1]] = item[2:]
            if loop.time() - last_line >= 1.0:
                last_line = loop.time()
                started, connected, failed = (sum(v[i] for v in latest.values()) for i in range(3))
                status(
                    f"{connected}/{scenario.total_agents} connected ({started} started, {failed} failed) "
                    f"in {len(workers)} processes"
                )
        elif item[0] == "stats":
            if monitor is not None:
                live[item[1]] = (Stats.from_dict(item[2]), item[3], item[4])
                if time.monotonic() - monitor.last_sample >= monitor.interval:
                    _monitor_update(monitor, live, latest)
        else:
            finals += 1
            final = Stats.from_dict(item[2])
            merged.merge(final)
            failures += item[3]
            if monitor is not None:
                live[item[1]] = (final, 0, live[item[1]][2] if item[1] in live else 0)
    if monitor is not None and live:
        _monitor_update(monitor, live, latest, force=True)
    stop.set()
    for w in workers:
        await asyncio.to_thread(w.join, 10)
    return merged, failures
