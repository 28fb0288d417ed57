"""Benchmark ``--state`` backends for 10,000 agents; prints JSON (docs/persistence.md records the results).

Run: ``.venv/bin/python bench/bench_state.py [--agents 10000] [--dir /path/on/the/target/disk]``.

Backends, each durable before ``commit`` returns (the response may be sent after it):
* ``files``: one file per agent, written atomically (tmp + fsync + rename, one directory fsync per batch);
* ``journal``: one append-only file, one fsync per batch, compaction = rewrite + fsync + rename;
* ``sqlite-full`` / ``sqlite-normal``: ``simulator.fleet.state.SqliteBackend`` (WAL, synchronous FULL/NORMAL).

Measured per backend: changes/s at batch sizes 1 (no group commit) and 100 (one loop iteration under
load), commit latency p50/p99 (= latency added before a response), load time of 10,000 agents, and
the agent-level cost: Get and Set requests per CPU-second through ``Agent.receive`` with and without
the persistence hook (encode + hash per Set, group commit of 100).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

from simulator.agent.agent import Agent
from simulator.agent.context import AgentConfig
from simulator.datamodel.editing import DataModel
from simulator.datamodel.loader import load_schema
from simulator.datamodel.persist import decode_into, encode
from simulator.datamodel.personas import Persona
from simulator.fleet.state import SqliteBackend
from simulator.usp.messages import Msg, encode_msg
from simulator.usp.records import encode_no_session_context
from simulator.usp.requests import Get, Set, UpdateObject, UpdateParamSetting

ROOT = Path(__file__).resolve().parents[1]
CONTROLLER = "proto::controller"


class FilesBackend:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)

    def commit(self, changes: dict[str, bytes | None]) -> None:
        for eid, rec in changes.items():
            path = self.dir / eid.replace(":", "_")
            if rec is None:
                path.unlink(missing_ok=True)
                continue
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, rec)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        dfd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def load(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in self.dir.iterdir() if p.suffix != ".tmp"}

    def close(self) -> None:
        pass


class JournalBackend:
    _HEAD = struct.Struct("<HI")

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "journal"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def commit(self, changes: dict[str, bytes | None]) -> None:
        parts = []
        for eid, rec in changes.items():
            key = eid.encode()
            body = rec or b""
            parts += [self._HEAD.pack(len(key), len(body) if rec is not None else 0xFFFFFFFF), key, body]
        os.write(self.fd, b"".join(parts))
        os.fsync(self.fd)

    def load(self) -> dict[str, bytes]:
        data = self.path.read_bytes()
        out: dict[str, bytes] = {}
        pos, size = 0, self._HEAD.size
        while pos + size <= len(data):
            klen, blen = self._HEAD.unpack_from(data, pos)
            pos += size
            key = data[pos : pos + klen].decode()
            pos += klen
            if blen == 0xFFFFFFFF:
                out.pop(key, None)
                continue
            out[key] = data[pos : pos + blen]
            pos += blen
        return out

    def compact(self) -> None:
        live = self.load()
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        parts = []
        for eid, rec in live.items():
            key = eid.encode()
            parts += [self._HEAD.pack(len(key), len(rec)), key, rec]
        os.write(fd, b"".join(parts))
        os.fsync(fd)
        os.close(fd)
        os.replace(tmp, self.path)
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def close(self) -> None:
        os.close(self.fd)


def make_backend(kind: str, directory: Path) -> Any:
    if kind == "files":
        return FilesBackend(directory)
    if kind == "journal":
        return JournalBackend(directory)
    return SqliteBackend(directory / "agents.sqlite3", synchronous=kind.split("-")[1].upper())


def records(n: int) -> dict[str, bytes]:
    """n realistic records: a Set value, two persistent subscriptions, a deleted profile instance."""
    schema = load_schema(ROOT / "datamodels" / "home-gateway.yaml")
    out = {}
    for i in range(n):
        model = DataModel(schema, Persona(i, f"os::012345-BEN{i:06d}", boot_time=0.0))
        model.set("Device.LocalAgent.", {"MaxSubscriptionChangeAdoptionTime": str(10 + i % 50)}, now=0)
        for ident in ("boot", "vc"):
            model.add(
                "Device.LocalAgent.Subscription.",
                {"ID": ident, "Recipient": "Device.LocalAgent.Controller.1", "Persistent": "true"},
                now=0,
            )
        rec = encode(model.store)
        assert rec is not None
        out[f"os::012345-BEN{i:06d}"] = rec
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def bench_backend(kind: str, base: Path, recs: dict[str, bytes], seconds: float) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix=kind + "-", dir=base))
    backend = make_backend(kind, directory)
    eids = list(recs)
    # initial population (one batch of every agent)
    t0 = time.perf_counter()
    backend.commit(recs)
    populate = time.perf_counter() - t0
    result: dict[str, Any] = {"populate_10k_s": round(populate, 3)}
    for batch in (1, 100):
        lat: list[float] = []
        done = 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            chunk = {eids[(done + j) % len(eids)]: recs[eids[(done + j) % len(eids)]] for j in range(batch)}
            t = time.perf_counter()
            backend.commit(chunk)
            lat.append(time.perf_counter() - t)
            done += batch
        total = sum(lat)
        result[f"batch{batch}"] = {
            "changes_per_s": round(done / total),
            "commit_p50_ms": round(statistics.median(lat) * 1000, 3),
            "commit_p99_ms": round(pct(lat, 0.99) * 1000, 3),
        }
    if isinstance(backend, JournalBackend):
        size = backend.path.stat().st_size
        t = time.perf_counter()
        backend.compact()
        result["journal_bytes_before_compaction"] = size
        result["compaction_s"] = round(time.perf_counter() - t, 3)
    backend.close()
    reopened = make_backend(kind, directory)
    t = time.perf_counter()
    loaded = dict(reopened.load())
    result["load_10k_s"] = round(time.perf_counter() - t, 3)
    assert len(loaded) == len(recs)
    schema = load_schema(ROOT / "datamodels" / "home-gateway.yaml")
    t = time.perf_counter()
    for i, rec in enumerate(loaded.values()):
        decode_into(DataModel(schema, Persona(i, boot_time=0.0)).store, rec)
    result["load_and_apply_10k_s"] = round(result["load_10k_s"] + time.perf_counter() - t, 3)
    reopened.close()
    return result


def request(eid: str, body: Any, n: int) -> bytes:
    payload = encode_msg(Msg.of(f"m{n}", body))
    return encode_no_session_context("1.3", eid, CONTROLLER, payload)


def bench_agents(agents: int, base: Path, seconds: float) -> dict[str, Any]:
    """Get and Set requests per CPU-second through Agent.receive, plain vs with the persistence hook."""
    schema = load_schema(ROOT / "datamodels" / "home-gateway.yaml")
    fleet = []
    for i in range(agents):
        eid = f"os::012345-BEN{i:06d}"
        model = DataModel(schema, Persona(i, eid, boot_time=0.0))
        fleet.append(Agent(AgentConfig(endpoint_id=eid), model, behaviour=False))
    gets = [
        request(a.endpoint_id, Get(("Device.DeviceInfo.SoftwareVersion",)), i) for i, a in enumerate(fleet)
    ]
    sets = [
        request(
            a.endpoint_id,
            Set(
                False,
                (
                    UpdateObject(
                        "Device.LocalAgent.",
                        (UpdateParamSetting("MaxSubscriptionChangeAdoptionTime", str(10 + i % 90)),),
                    ),
                ),
            ),
            i,
        )
        for i, a in enumerate(fleet)
    ]
    backend = SqliteBackend(Path(tempfile.mkdtemp(dir=base)) / "a.sqlite3", synchronous="FULL")
    out: dict[str, Any] = {}
    for j, agent in enumerate(fleet):  # warm-up: caches, read plans, first overrides
        agent.receive(gets[j], 1.0, None)
        agent.receive(sets[j], 1.0, None)
    for name, reqs, persist in [
        (n, r, p) for _ in range(2) for n, r in (("get", gets), ("set", sets)) for p in (False, True)
    ]:
        if True:
            hashes: dict[str, int] = {}
            staged: dict[str, bytes | None] = {}
            n = 0
            t_cpu = time.process_time()
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                for k in range(100):  # one "loop iteration" of 100 requests, then the group commit
                    j = (n + k) % agents
                    agent = fleet[j]
                    actions = agent.receive(reqs[j], 1000.0 + n, None)
                    if persist and any(
                        getattr(a, "name", None) == "request" and a.kind == "Set" for a in actions
                    ):
                        rec = encode(agent.ctx.store)
                        digest = hash(rec)
                        if hashes.get(agent.endpoint_id) != digest:
                            hashes[agent.endpoint_id] = digest
                            staged[agent.endpoint_id] = rec
                if staged:
                    backend.commit(staged)
                    staged = {}
                n += 100
            cpu = time.process_time() - t_cpu
            key = f"{name}_{'state' if persist else 'plain'}_per_cpu_s"
            out[key] = max(out.get(key, 0), round(n / cpu))  # best of two rounds (shared machine)
    backend.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument("--dir", default=None, help="directory on the disk to measure (default: a temp dir)")
    parser.add_argument("--backends", default="files,journal,sqlite-full,sqlite-normal")
    parser.add_argument("--rates-only", action="store_true", help="only the Get/Set agent rates")
    args = parser.parse_args()
    base = Path(args.dir or tempfile.mkdtemp(prefix="bench-state-"))
    base.mkdir(parents=True, exist_ok=True)
    recs = records(args.agents)
    report: dict[str, Any] = {
        "agents": args.agents,
        "record_bytes_avg": round(sum(map(len, recs.values())) / len(recs)),
        "dir": str(base),
    }
    for kind in [] if args.rates_only else args.backends.split(","):
        report[kind] = bench_backend(kind, base, recs, args.seconds)
    report["agent_rates"] = bench_agents(args.agents, base, args.seconds)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
