"""Per-agent data-model facade: Get / GetInstances / GetSupportedDM / Operate lookups over one store.

Mutations (Set / Add / Delete) live in ``simulator.datamodel.editing``; ``DataModel`` combines both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from simulator.datamodel.access import AccessHook, Perm
from simulator.datamodel.personas import Persona
from simulator.datamodel.resolver import Resolution, ResolveOp, Resolver
from simulator.datamodel.schema import CommandNode, EventNode, Instances, ObjectNode, ParamNode, Schema
from simulator.datamodel.store import Change, InstanceStore
from simulator.usp.errors import InvalidPathError, UspError
from simulator.usp.paths import (
    InstanceNumber,
    InstancePlaceholder,
    PathKind,
    PathLike,
    as_path,
    parse_supported_path,
)

_GET: str = ResolveOp.GET.value
GetResult = tuple[str, dict[str, str]]
"""(resolved object path with trailing dot, {relative parameter name: value})."""


class SupportedObject(NamedTuple):
    """One GetSupportedDM ``SupportedObjectResult``: the node plus the members to report.

    ``params`` / ``commands`` / ``events`` are empty when details were not asked for; ``unique_key_sets``
    is ``node.keys`` when asked. ``path`` is the node's ``{i}`` path.
    """

    path: str
    node: ObjectNode
    params: tuple[ParamNode, ...]
    commands: tuple[CommandNode, ...]
    events: tuple[EventNode, ...]
    unique_key_sets: tuple[tuple[str, ...], ...]


class ModelReader:
    """Read-side operations of one agent's data model."""

    __slots__ = ("persona", "resolver", "schema", "store")

    def __init__(self, schema: Schema, persona: Persona, *, track_changes: bool = True) -> None:
        self.schema = schema
        self.persona = persona
        self.store = InstanceStore(schema, persona, track_changes=track_changes)
        self.resolver = Resolver(schema, self.store)

    def resolve(self, path: PathLike, op: ResolveOp, now: float = 0.0) -> Resolution:
        """Parse (cached) and resolve ``path`` for ``op`` (see resolver.ResolveOp)."""
        return self.resolver.resolve(as_path(path), op, now)

    # -- Get -------------------------------------------------------------------------------------------
    def get(
        self, path: PathLike, max_depth: int = 0, *, now: float, access: AccessHook | None = None
    ) -> list[GetResult]:
        """Evaluate one Get ``param_paths`` entry (usp-protocol.md 4.5).

        Args:
            path: the requested path (string or parsed).
            max_depth: 0 = whole subtree; N = N levels, the requested object being level 1 and a table
                with its instances counting as one level.
            now: read time (seconds since the epoch) for generated values.
            access: optional permission hook; unreadable parameters are omitted, unreadable instances
                reached through a search are skipped.

        Returns:
            One (object path, {name: value}) per object or instance with readable parameters, in tree order.

        Raises:
            UspError: 7008 bad syntax, 7026 unknown path or missing explicit instance.
        """
        out: list[GetResult] = []
        depth = max_depth if max_depth > 0 else 1 << 30
        if access is None and path.__class__ is str:
            hit = self.schema.resolved.get((path, _GET))
            if hit is not None and hit[0] is PathKind.OBJECT and not hit[2]:  # a name-only object path
                self._emit(hit[1], (), depth, now, None, out)
                return out
        res = self.resolver.resolve(as_path(path), ResolveOp.GET, now)
        store = self.store
        if res.kind is PathKind.PARAMETER:
            leaf = res.leaf or ""
            for node, inst in res.entries:
                param = node.params[leaf]
                if access is not None and (
                    not access(param, inst, Perm.PARAM_READ)
                    or (res.search and node.tables and not access(node, inst, Perm.INST_READ))
                ):
                    continue
                value = "" if param.secured or not param.readable else store.read(param, inst, now)
                out.append((node.instance_path(inst), {leaf: value}))
            return out
        for node, inst in res.entries:
            if res.pending:
                for number in store.instances(node, inst):
                    self._emit(node, (*inst, number), depth, now, access, out)
            else:
                self._emit(node, inst, depth, now, access, out)
        return out

    def _emit(  # noqa: PLR0917
        self,
        node: ObjectNode,
        inst: Instances,
        depth: int,
        now: float,
        access: AccessHook | None,
        out: list[GetResult],
    ) -> None:
        if access is None:
            if node.param_list:
                obj_path = node.instance_path(inst) if inst else node.parts[0]
                out.append((obj_path, self._values(node, inst, now)))
        elif node.is_table and not access(node, inst, Perm.INST_READ):
            return
        elif node.param_list:
            read = self.store.read
            values = {
                p.name: "" if p.secured or not p.readable else read(p, inst, now)
                for p in node.param_list
                if access(p, inst, Perm.PARAM_READ)
            }
            if values:
                out.append((node.instance_path(inst), values))
        if depth <= 1:
            return
        for child in node.child_list:
            if child.is_table:
                for number in self.store.instances(child, inst):
                    self._emit(child, (*inst, number), depth - 1, now, access, out)
            else:
                self._emit(child, inst, depth - 1, now, access, out)

    def _values(self, node: ObjectNode, inst: Instances, now: float) -> dict[str, str]:
        """Every parameter of one object instance as ``store.read`` gives them, via the node's ReadPlan."""
        store = self.store
        plan = store.schema.plans[node.id]
        assert plan is not None
        own = plan.by_inst.get(inst) if plan.by_inst else None
        if own is None:
            values = plan.base.copy()
            dynamic = plan.dynamic
        else:
            values = own[0].copy()
            dynamic = own[1]
        persona = store.persona
        for name, gen in dynamic:
            values[name] = gen.value(persona, inst, now)
        if plan.counts:
            tables = store._tables
            for name, table_id in plan.counts:
                values[name] = str(len(tables.get((table_id, inst), ())))
        touched = store._touched  # inlined store.overrides(node)
        if touched is not None and node.id in touched:
            overrides = store._values
            assert overrides is not None
            for name, pid in plan.overridable:
                value = overrides.get((pid, inst))
                if value is not None:
                    values[name] = value if value.__class__ is str else value.value(persona, inst, now)  # type: ignore[union-attr]
        return values

    def get_value(self, path: str, now: float) -> str:
        """Read one parameter by its instance-number path (agent-internal convenience, no permissions).

        Raises:
            UspError: 7026 when the path does not name an existing parameter.
        """
        obj_path, _, name = path.rpartition(".")
        located = self.resolver.locate(obj_path)
        param = located[0].params.get(name) if located else None
        if located is None or param is None:
            msg = f"{path} is not an existing parameter"
            raise InvalidPathError(msg, path=path)
        return self.store.read(param, located[1], now)

    # -- GetInstances ----------------------------------------------------------------------------------
    def instances(
        self, path: PathLike, first_level_only: bool = False, *, now: float, access: AccessHook | None = None
    ) -> list[tuple[str, dict[str, str]]]:
        """Evaluate one GetInstances ``obj_paths`` entry (usp-protocol.md 11.2).

        Returns:
            (instance path with trailing dot, {unique key name: value}), sorted by path.

        Raises:
            UspError: 7008, 7026 unknown path, 7018 not an object path, 7016 missing explicit instance.
        """
        res = self.resolver.resolve(as_path(path), ResolveOp.GET_INSTANCES, now)
        out: list[tuple[str, dict[str, str]]] = []
        for node, inst in res.entries:
            if res.pending:
                for number in self.store.instances(node, inst):
                    self._instance(node, (*inst, number), first_level_only, now, access, out)
            elif node.is_table and len(inst) == node.depth:
                self._instance(node, inst, first_level_only, now, access, out)
            elif not first_level_only:
                self._nested(node, inst, now, access, out)
        out.sort(key=lambda item: item[0])
        return out

    def _instance(  # noqa: PLR0917
        self,
        table: ObjectNode,
        inst: Instances,
        first_level_only: bool,
        now: float,
        access: AccessHook | None,
        out: list[tuple[str, dict[str, str]]],
    ) -> None:
        if access is not None and not access(table, inst, Perm.INST_READ):
            return
        out.append((table.instance_path(inst), self.unique_keys(table, inst, now, access)))
        if not first_level_only:
            self._nested(table, inst, now, access, out)

    def _nested(
        self,
        node: ObjectNode,
        inst: Instances,
        now: float,
        access: AccessHook | None,
        out: list[tuple[str, dict[str, str]]],
    ) -> None:
        for child in node.child_list:
            if child.is_table:
                for number in self.store.instances(child, inst):
                    self._instance(child, (*inst, number), False, now, access, out)
            else:
                self._nested(child, inst, now, access, out)

    def unique_keys(
        self, table: ObjectNode, inst: Instances, now: float, access: AccessHook | None = None
    ) -> dict[str, str]:
        """Every unique-key parameter of one instance (minus those ``access`` hides)."""
        params = table.params
        return {
            name: self.store.read(params[name], inst, now)
            for name in table.key_names
            if access is None or access(params[name], inst, Perm.PARAM_READ)
        }

    # -- GetSupportedDM --------------------------------------------------------------------------------
    def supported(
        self,
        path: str,
        first_level_only: bool = False,
        *,
        params: bool = True,
        commands: bool = True,
        events: bool = True,
        unique_keys: bool = True,
        access: AccessHook | None = None,
    ) -> list[SupportedObject]:
        """Evaluate one GetSupportedDM ``obj_paths`` entry (usp-protocol.md 11.1).

        Raises:
            UspError: 7008 bad syntax, 7026 unknown path (or a missing instance in an instantiated path).
        """
        spath = parse_supported_path(path)
        segs = spath.segments
        node = self.schema.root
        if not segs or getattr(segs[0], "text", None) != node.name:
            msg = "Path is not present in the data model schema"
            raise InvalidPathError(msg, path=path)
        inst: tuple[int, ...] = ()
        body = segs[1:] if spath.kind is PathKind.OBJECT else segs[1:-1]
        for seg in body:
            if isinstance(seg, InstancePlaceholder | InstanceNumber):
                if not node.is_table or len(inst) == node.depth:
                    msg = f"{node.path} takes no instance here"
                    raise InvalidPathError(msg, path=path)
                if isinstance(seg, InstanceNumber) and seg.number not in self.store.instances(node, inst):
                    msg = f"{node.instance_path(inst)}{seg.number}. does not exist"
                    raise InvalidPathError(msg, path=path)
                inst = (*inst, seg.number if isinstance(seg, InstanceNumber) else 0)
                continue
            child = node.children.get(seg.text)
            if child is None or (node.is_table and len(inst) < node.depth):
                msg = f"{node.path}{seg.text}. is not present in the data model schema"
                raise InvalidPathError(msg, path=path)
            node = child
        if access is not None and not access(node, (), Perm.OBJ_READ):
            msg = f"{node.path} is not present in the data model schema"
            raise InvalidPathError(msg, path=path)
        if spath.kind is not PathKind.OBJECT:
            return [self._leaf_supported(node, spath.kind, getattr(segs[-1], "text", ""), path, access)]
        out = [self._supported_obj(node, params, commands, events, unique_keys, access)]
        kids = node.child_list if first_level_only else self._descendants(node)
        for child in kids:
            if access is None or access(child, (), Perm.OBJ_READ):
                if first_level_only:
                    out.append(SupportedObject(child.path, child, (), (), (), ()))
                else:
                    out.append(self._supported_obj(child, params, commands, events, unique_keys, access))
        return out

    @staticmethod
    def _descendants(node: ObjectNode) -> Iterator[ObjectNode]:
        for child in node.child_list:
            yield child
            yield from ModelReader._descendants(child)

    @staticmethod
    def _supported_obj(  # noqa: PLR0917
        node: ObjectNode, params: bool, commands: bool, events: bool, keys: bool, access: AccessHook | None
    ) -> SupportedObject:
        def ok(member: ParamNode | CommandNode | EventNode, perm: Perm) -> bool:
            return access is None or access(member, (), perm)

        return SupportedObject(
            node.path,
            node,
            tuple(p for p in node.param_list if ok(p, Perm.PARAM_READ)) if params else (),
            tuple(c for c in node.commands.values() if ok(c, Perm.CMD_READ)) if commands else (),
            tuple(e for e in node.events.values() if ok(e, Perm.CMD_READ)) if events else (),
            node.keys if keys else (),
        )

    @staticmethod
    def _leaf_supported(
        node: ObjectNode, kind: PathKind, name: str, path: str, access: AccessHook | None
    ) -> SupportedObject:
        member: ParamNode | CommandNode | EventNode | None
        if kind is PathKind.PARAMETER:
            member = node.params.get(name)
        elif kind is PathKind.COMMAND:
            member = node.commands.get(name)
        else:
            member = node.events.get(name)
        perm = Perm.PARAM_READ if kind is PathKind.PARAMETER else Perm.CMD_READ
        if member is None or (access is not None and not access(member, (), perm)):
            msg = f"{path} is not present in the data model schema"
            raise InvalidPathError(msg, path=path)
        return SupportedObject(
            node.path,
            node,
            (member,) if isinstance(member, ParamNode) else (),
            (member,) if isinstance(member, CommandNode) else (),
            (member,) if isinstance(member, EventNode) else (),
            (),
        )

    # -- Operate / events ------------------------------------------------------------------------------
    def commands(
        self, path: PathLike, *, now: float = 0.0, access: AccessHook | None = None
    ) -> list[tuple[str, CommandNode, Instances]]:
        """Resolve an Operate ``command`` path.

        Returns:
            (executed_command path, command node, instances) per matched object. Entries the hook
            denies are returned too; check ``access(cmd, inst, Perm.CMD_EXEC)`` per entry to answer
            ``cmd_failure`` 7006.

        Raises:
            UspError: 7008, 7026 unknown command, 7022 not a command path, 7016 missing explicit instance.
        """
        res = self.resolver.resolve(as_path(path), ResolveOp.OPERATE, now)
        leaf = res.leaf or ""
        return [
            (f"{node.instance_path(inst)}{leaf}()", node.commands[leaf], inst) for node, inst in res.entries
        ]

    # -- transactions and change log -------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing block: any exception rolls back every value, instance and logged change."""
        mark = self.store.savepoint()
        try:
            yield
        except BaseException:
            self.store.rollback(mark)
            raise
        self.store.release(mark)

    def drain_changes(self) -> list[Change]:
        """Return and clear the changes made since the last drain (Set/Add/Delete and agent writes)."""
        return self.store.drain()


def failure_path(exc: UspError, default: str) -> str:
    """The path an error concerns (``exc.path``) or ``default``."""
    return exc.path or default
