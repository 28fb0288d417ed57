"""Per-agent instance store: only what differs from the shared Schema (architecture.md B5).

# Strategy:
#   An untouched agent holds three references (schema, persona, the schema's boot-time table dict)
#   and nothing else: every read falls through override -> profile instance value -> parameter
#   default, and generators compute per-agent values from the persona and ``now`` on read.
#   * Values: ``_values`` is created on the first write, keyed by (param node id, instance tuple).
#   * Tables: ``_tables`` starts as the *schema's* dict of boot-time instance sets (shared by every
#     agent, never mutated). The first Add/Delete copies it (copy-on-write, one dict copy per agent);
#     entries are tuples, so the copy shares them and only the changed table gets a new tuple.
#   * Numbering follows obuspa: highest existing instance + 1 (a deleted top number may be reused).
#     Because a reused number must not resurrect the profile's boot values of a deleted instance,
#     ``create`` pins every boot value under the new instance back to the parameter default.
#   * Transactions: while a savepoint is open every mutation appends its undo record to a journal;
#     ``rollback`` replays it backwards and truncates the change log, so listeners never see changes
#     that were undone. Outside a transaction no journal is kept.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple

from simulator.datamodel.schema import Instances, ObjectNode, ParamNode, Schema

if TYPE_CHECKING:
    from simulator.datamodel.generators import Generator
    from simulator.datamodel.personas import Persona

_MISSING = object()


class ChangeKind(Enum):
    """What a Change reports."""

    VALUE = "value"
    CREATE = "create"
    DELETE = "delete"


class Change(NamedTuple):
    """One entry of the change log the agent drains (``DataModel.drain_changes``).

    Attributes:
        kind: VALUE (path = parameter path, value = new value), CREATE (path = new instance path with
            trailing dot, value = unique keys dict) or DELETE (path = deleted instance path, value None).
    """

    kind: ChangeKind
    path: str
    value: Any


class InstanceStore:
    """The values and instance sets of one agent.

    Attributes:
        schema: the shared Schema.
        persona: the agent identity generators read.
    """

    __slots__ = (
        "_changes",
        "_depth",
        "_journal",
        "_tables",
        "_touched",
        "_values",
        "persona",
        "schema",
        "track_changes",
    )

    def __init__(self, schema: Schema, persona: Persona, *, track_changes: bool = True) -> None:
        self.schema = schema
        self.persona = persona
        self.track_changes = track_changes
        self._values: dict[tuple[int, Instances], str | Generator] | None = None
        self._touched: set[int] | None = None
        """Ids of the objects holding some override (a superset: deletes and rollbacks leave ids in)."""
        self._tables: dict[tuple[int, Instances], tuple[int, ...]] = schema.initial_tables
        self._journal: list[tuple[Any, ...]] | None = None
        self._depth = 0
        self._changes: list[Change] | None = None

    # -- reads -----------------------------------------------------------------------------------------
    def instances(self, table: ObjectNode, parent: Instances) -> tuple[int, ...]:
        """Instance numbers of ``table`` under the parent instances ``parent`` (sorted)."""
        return self._tables.get((table.id, parent), ())

    def exists(self, obj: ObjectNode, inst: Instances) -> bool:
        """True when the object instance ``inst`` of ``obj`` exists (every table on the way)."""
        tables = self._tables
        for depth, table in enumerate(obj.tables):
            if inst[depth] not in tables.get((table.id, inst[:depth]), ()):
                return False
        return True

    def raw(self, param: ParamNode, inst: Instances) -> str | Generator:
        """The stored or declared value (possibly a Generator) without evaluating it."""
        key = (param.id, inst)
        values = self._values
        if values is not None:
            value = values.get(key)
            if value is not None:
                return value
        value = self.schema.initial_values.get(key)
        return param.default if value is None else value

    def read(self, param: ParamNode, inst: Instances, now: float) -> str:
        """The current value of ``param`` in instance ``inst`` as its canonical string."""
        if param.counts is not None:
            return str(len(self._tables.get((param.counts.id, inst), ())))
        key = (param.id, inst)
        values = self._values
        value = values.get(key) if values is not None else None
        if value is None:
            value = self.schema.initial_values.get(key)
            if value is None:
                value = param.default
        if value.__class__ is str:
            return value
        return value.value(self.persona, inst, now)  # type: ignore[union-attr]

    def overrides(self, obj: ObjectNode) -> dict[tuple[int, Instances], str | Generator] | None:
        """This agent's override dict when it may hold a value for a parameter of ``obj``, else None."""
        touched = self._touched
        return self._values if touched is not None and obj.id in touched else None

    @property
    def pristine(self) -> bool:
        """True while this agent holds no override and no instance change (it reads like its profile)."""
        return self._values is None and self._tables is self.schema.initial_tables

    def is_stored(self, param: ParamNode, inst: Instances) -> bool:
        """True when this agent holds its own value (override) for the parameter."""
        return self._values is not None and (param.id, inst) in self._values

    # -- writes ----------------------------------------------------------------------------------------
    def write(
        self, param: ParamNode, inst: Instances, value: str | Generator, path: str | None = None
    ) -> None:
        """Store ``value`` (already validated and normalised); log a VALUE change when ``path`` is given."""
        if self._values is None:
            self._values = {}
            self._touched = set()
        if param.obj is not None:
            self._touched.add(param.obj.id)  # type: ignore[union-attr]
        key = (param.id, inst)
        if self._journal is not None:
            self._journal.append(("v", key, self._values.get(key, _MISSING)))
        self._values[key] = value
        if path is not None:
            self.log(Change(ChangeKind.VALUE, path, value))

    def create(self, table: ObjectNode, parent: Instances, number: int) -> Instances:
        """Add instance ``number`` to ``table`` under ``parent``; returns the new instance tuple."""
        inst = (*parent, number)
        key = (table.id, parent)
        self._set_table(key, tuple(sorted((*self._tables.get(key, ()), number))))
        depth = len(inst)
        for pid, pinst in self.schema.initial_values:
            if pinst[:depth] == inst:
                param = self.schema.nodes[pid]
                assert isinstance(param, ParamNode) and param.obj is not None
                if len(param.obj.tables) >= depth and param.obj.tables[depth - 1] is table:
                    self.write(param, pinst, param.default)
        for tkey in [k for k in self.schema.initial_tables if len(k[1]) >= depth and k[1][:depth] == inst]:
            nested = self.schema.nodes[tkey[0]]
            assert isinstance(nested, ObjectNode)
            if nested.tables[depth - 1] is table:
                self._set_table(tkey, ())
        return inst

    def remove(self, table: ObjectNode, inst: Instances) -> None:
        """Delete instance ``inst`` of ``table`` with its nested instances and stored values."""
        depth = len(inst)
        key = (table.id, inst[:-1])
        self._set_table(key, tuple(n for n in self._tables.get(key, ()) if n != inst[-1]))
        for tkey in [k for k in self._tables if len(k[1]) >= depth and k[1][:depth] == inst]:
            nested = self.schema.nodes[tkey[0]]
            assert isinstance(nested, ObjectNode)
            if nested.tables[depth - 1] is table and self._tables[tkey]:
                self._set_table(tkey, ())
        if self._values:
            nodes = self.schema.nodes
            for vkey in [k for k in self._values if len(k[1]) >= depth and k[1][:depth] == inst]:
                param = nodes[vkey[0]]
                assert isinstance(param, ParamNode) and param.obj is not None
                if param.obj.tables[depth - 1] is table:
                    if self._journal is not None:
                        self._journal.append(("v", vkey, self._values[vkey]))
                    del self._values[vkey]

    def _set_table(self, key: tuple[int, Instances], numbers: tuple[int, ...]) -> None:
        if self._tables is self.schema.initial_tables:
            self._tables = dict(self._tables)  # copy-on-write: first structural change of this agent
        if self._journal is not None:
            self._journal.append(("t", key, self._tables.get(key, _MISSING)))
        self._tables[key] = numbers

    # -- persistence (pure; the fleet's state backend does the I/O) ---------------------------------------
    def export_diff(self) -> dict[str, list[list[Any]]] | None:
        """What this agent holds beyond its profile, keyed by ``{i}`` node paths (JSON-ready), or None.

        ``values``: ``[param path, instances, value]`` per override; value None stands for the parameter's
        declared default (a Generator pinned by ``create``). ``tables``: ``[table path, parent instances,
        numbers]`` per instance set that differs from the profile (added and deleted instances, which also
        fixes the next instance number: highest + 1). Neither the change log nor open transactions count.
        """
        values = self._values
        tables = self._tables
        initial = self.schema.initial_tables
        if not values and tables is initial:
            return None
        nodes = self.schema.nodes
        out_v: list[list[Any]] = []
        for (pid, inst), value in (values or {}).items():
            param = nodes[pid]
            if value.__class__ is str:
                out_v.append([param.path, list(inst), value])
            elif value is getattr(param, "default", None):
                out_v.append([param.path, list(inst), None])
        out_t = [
            [nodes[tid].path, list(parent), list(numbers)]
            for (tid, parent), numbers in tables.items()
            if tables is not initial and initial.get((tid, parent), ()) != numbers
        ]
        return {"values": out_v, "tables": out_t} if out_v or out_t else None

    def apply_diff(self, diff: dict[str, list[list[Any]]]) -> int:
        """Load an ``export_diff`` result into this (fresh) store; no change is logged.

        Returns:
            How many entries were skipped because the profile no longer has their node.
        """
        lookup = self.schema.by_path.get
        skipped = 0
        for path, parent, numbers in diff.get("tables", ()):
            table = lookup(path)
            if not isinstance(table, ObjectNode) or not table.is_table:
                skipped += 1
                continue
            if self._tables is self.schema.initial_tables:
                self._tables = dict(self._tables)
            self._tables[(table.id, tuple(parent))] = tuple(sorted(numbers))
        for path, inst, value in diff.get("values", ()):
            param = lookup(path)
            if not isinstance(param, ParamNode):
                skipped += 1
                continue
            if self._values is None:
                self._values = {}
                self._touched = set()
            if param.obj is not None:
                self._touched.add(param.obj.id)  # type: ignore[union-attr]
            self._values[(param.id, tuple(inst))] = param.default if value is None else value
        return skipped

    # -- change log and transactions -------------------------------------------------------------------
    def log(self, change: Change) -> None:
        """Append to the change log (when tracking)."""
        if self.track_changes:
            if self._changes is None:
                self._changes = []
            self._changes.append(change)

    def drain(self) -> list[Change]:
        """Return and clear the change log."""
        changes, self._changes = self._changes, None
        return changes or []

    def savepoint(self) -> tuple[int, int]:
        """Open (or nest) a transaction; returns the marker ``rollback`` needs."""
        if self._journal is None:
            self._journal = []
        self._depth += 1
        return len(self._journal), len(self._changes or ())

    def rollback(self, mark: tuple[int, int]) -> None:
        """Undo every mutation since ``mark`` and drop the changes logged since then."""
        journal = self._journal
        assert journal is not None, "rollback without savepoint"
        while len(journal) > mark[0]:
            kind, key, old = journal.pop()
            target: dict[Any, Any] = self._values if kind == "v" else self._tables  # type: ignore[assignment]
            if old is _MISSING:
                target.pop(key, None)
            else:
                target[key] = old
        if self._changes is not None:
            del self._changes[mark[1] :]
        self._end()

    def release(self, mark: tuple[int, int]) -> None:
        """Close the transaction opened at ``mark`` keeping its changes (outermost: drop the journal)."""
        self._end()

    def _end(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._journal = None
