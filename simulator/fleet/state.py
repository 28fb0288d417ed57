"""``--state DIR``: agents' data-model changes survive simulator restarts (SQLite WAL, group commit).

# Strategy (measured choice, docs/persistence.md): one SQLite database per fleet process (shard) in WAL
# mode, one row per agent that differs from its profile: ``EndpointID -> persist.encode(store)``. A row
# is rewritten whole (records are small) so loading never replays history and no compaction exists.
#
# "Acknowledged" = the USP response (SetResp / AddResp / DeleteResp / OperateResp, or the Observe of a
# send_resp=false request) has been handed to the transport. ``PersistentDriver`` holds back every action
# of an agent call that may have changed the store, while ``FleetState`` stages the agent's new record;
# one commit per event-loop iteration (group commit across agents) makes the batch durable and only then
# are the held actions executed, in order. A later call of the same agent queues behind them, so its
# wire order never changes. Gets skip all of this: they change nothing, the check is one scan of two
# actions. Changes made by timers (TTL expiry, command completion) are written the same way.
# Without ``--state`` nothing here runs and agents start from their profile.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.agent.actions import Observe, Send
from simulator.datamodel.persist import StateFormatError, decode_into, encode
from simulator.fleet.driver import AgentDriver, DriverState

if TYPE_CHECKING:
    from simulator.agent.actions import Action
    from simulator.agent.agent import Agent
    from simulator.fleet.metrics import EventHook

__all__ = ["FleetState", "PersistentDriver", "SqliteBackend", "state_file"]

logger = logging.getLogger(__name__)

MUTATING = frozenset({"Set", "Add", "Delete", "Operate"})
"""Requests whose answer must wait for the commit (``Observe("request", kind)`` names)."""
_CHECKED_CALLS = frozenset({"start", "fire", "_mtp_up"})
"""Agent calls (besides mutating requests) after which the store is compared with its last record."""


def state_file(directory: str | Path, shard: tuple[int, int]) -> Path:
    """The database of one shard: ``DIR/agents-<first>-<count>.sqlite3`` (restart with the same split)."""
    first, count = shard
    return Path(directory) / f"agents-{first}-{count}.sqlite3"


class SqliteBackend:
    """One SQLite database in WAL mode: ``agent(eid TEXT PRIMARY KEY, record BLOB)``.

    Attributes:
        path: the database file.
        synchronous: "FULL" (fsync the WAL at every commit: survives power loss) or "NORMAL" (no fsync at
            commit: survives a process crash or SIGKILL, may lose the last commits on power loss).
    """

    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        """Open (creating) the database; raises ``sqlite3.Error`` / ``OSError``."""
        if synchronous not in ("FULL", "NORMAL"):
            msg = f"synchronous must be FULL or NORMAL, not {synchronous!r}"
            raise ValueError(msg)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.synchronous = synchronous
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS agent (eid TEXT PRIMARY KEY, record BLOB NOT NULL) WITHOUT ROWID"
        )

    def load(self) -> Iterator[tuple[str, bytes]]:
        """Every stored (EndpointID, record)."""
        yield from self._db.execute("SELECT eid, record FROM agent")

    def commit(self, changes: dict[str, bytes | None]) -> None:
        """Write ``changes`` (None = delete the agent's row) as one transaction; durable on return."""
        puts = [(eid, rec) for eid, rec in changes.items() if rec is not None]
        dels = [(eid,) for eid, rec in changes.items() if rec is None]
        db = self._db
        db.execute("BEGIN")
        try:
            if puts:
                db.executemany("INSERT OR REPLACE INTO agent (eid, record) VALUES (?, ?)", puts)
            if dels:
                db.executemany("DELETE FROM agent WHERE eid = ?", dels)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Checkpoint the WAL into the database file and close."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._db.close()


class FleetState:
    """Restore agents at build time; stage and group-commit their records while the fleet runs.

    Attributes:
        backend: where records live.
        events: the fleet's EventHook (``state_commit`` latency, ``state_error``), or None.
        restored: agents whose state was loaded.
        skipped: stored entries ignored (profile no longer has the node, or unreadable records).
        commits: transactions written.
    """

    def __init__(self, backend: SqliteBackend, events: EventHook | None = None) -> None:
        """Read every record of the backend (kept until its agent is built)."""
        self.backend = backend
        self.events = events
        started = time.perf_counter()
        self._pending: dict[str, bytes] = dict(backend.load())
        self.load_seconds = time.perf_counter() - started
        self._hashes: dict[str, int] = {}
        """EndpointID -> hash of its last committed record (agents holding no record are absent)."""
        self._staged: dict[str, bytes | None] = {}
        self._waiting: list[PersistentDriver] = []
        self._handle: asyncio.Handle | None = None
        self.restored = 0
        self.skipped = 0
        self.commits = 0

    @property
    def stored(self) -> int:
        """Agents with a record (restored or written since)."""
        return len(self._hashes) + len(self._pending)

    def restore(self, agent: Agent) -> bool:
        """Load the agent's record into its (fresh) store; False when it has none."""
        eid = agent.endpoint_id
        record = self._pending.pop(eid, None)
        if record is None:
            return False
        store = agent.ctx.store
        try:
            self.skipped += decode_into(store, record)
        except StateFormatError as exc:
            logger.warning("%s: stored state ignored: %s", eid, exc)
            self.skipped += 1
            store.__init__(store.schema, store.persona, track_changes=store.track_changes)  # type: ignore[misc]
            self._staged[eid] = None  # forget the unreadable row at the next commit
            return False
        store.drain()
        agent.ctx.invalidate_controllers()
        agent.ctx.invalidate_permissions()
        now_record = encode(store)
        if now_record is not None:
            self._hashes[eid] = hash(now_record)
        if now_record != record:
            self._staged[eid] = now_record  # volatile rows were dropped: store what survives
        self.restored += 1
        return True

    def note(self, agent: Agent) -> bool:
        """Stage the agent's record when it changed since the last commit; True when staged."""
        eid = agent.endpoint_id
        record = encode(agent.ctx.store)
        digest = None if record is None else hash(record)
        if self._hashes.get(eid) == digest:
            return False
        if digest is None:
            del self._hashes[eid]
        else:
            self._hashes[eid] = digest
        self._staged[eid] = record
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_soon(self.commit)
        return True

    def wait(self, driver: PersistentDriver) -> None:
        """Run ``driver.resume()`` after the next commit."""
        self._waiting.append(driver)

    def commit(self) -> bool:
        """Write everything staged as one transaction, then release the held actions; False on failure."""
        self._handle = None
        staged, self._staged = self._staged, {}
        waiting, self._waiting = self._waiting, []
        ok = True
        if staged:
            started = time.perf_counter()
            try:
                self.backend.commit(staged)
            except (sqlite3.Error, OSError) as exc:
                ok = False
                logger.error("state commit of %d agents failed: %s", len(staged), exc)
                for eid in staged:
                    self._hashes.pop(eid, None)  # unknown on disk: rewrite at the next change
                if self.events is not None:
                    self.events.fire(name="state_error", kind=type(exc).__name__, value=1.0, error=1)
            else:
                self.commits += 1
                if self.events is not None:
                    self.events.fire(
                        name="state_commit", kind="sqlite", value=time.perf_counter() - started, error=0
                    )
        for driver in waiting:
            driver.resume(acknowledge=ok)
        return ok

    def close(self) -> None:
        """Final commit (graceful shutdown), keep the records of agents never built, close."""
        if self._handle is not None:
            self._handle.cancel()
        self.commit()
        self.backend.close()


class PersistentDriver(AgentDriver):
    """An ``AgentDriver`` whose actions wait for the commit of the store changes that caused them."""

    __slots__ = ("_check", "_held", "fleet_state")

    def __init__(self, *args: Any, fleet_state: FleetState, **kwargs: Any) -> None:
        """Same arguments as ``AgentDriver`` plus the fleet's ``FleetState``."""
        self.fleet_state = fleet_state
        self._check = False
        self._held: list[tuple[list[Action], float | None]] | None = None
        super().__init__(*args, **kwargs)

    def _guard(self, call: Any, *args: Any) -> list[Action]:
        actions = super()._guard(call, *args)
        name = getattr(call, "__name__", "")
        if name == "receive":
            self._check = any(
                a.__class__ is Observe and a.name == "request" and a.kind in MUTATING for a in actions
            )
        else:
            self._check = name in _CHECKED_CALLS
        return actions

    def _execute(self, actions: list[Action], start: float | None = None) -> None:
        check, self._check = self._check, False
        if self._held is not None:  # an earlier call of this agent still waits: keep the wire order
            self._held.append((actions, start))
            return
        if check and self.fleet_state.note(self.agent):
            self._held = [(actions, start)]
            self.fleet_state.wait(self)
            return
        super()._execute(actions, start)

    def resume(self, *, acknowledge: bool = True) -> None:
        """The commit is done: execute the held actions (without the Sends when it failed)."""
        held, self._held = self._held, None
        if self.state is DriverState.STOPPING or self.state is DriverState.STOPPED:
            return
        for actions, start in held or ():
            if not acknowledge:
                actions = [a for a in actions if a.__class__ is not Send]
            super()._execute(actions, start)
