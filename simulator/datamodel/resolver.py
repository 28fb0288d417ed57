"""Evaluate a parsed USP path (simulator.usp.paths.PathExpr) against one agent's Schema + InstanceStore.

# Strategy:
#   Resolution walks the AST once, left to right, carrying a list of (object node, instance tuple)
#   "entries" and a ``pending`` flag meaning "the entries are tables still waiting for an instance
#   selector". Name segments descend in the schema (one dict lookup when every entry has the same
#   node, which is the common case); instance selectors (number, ``*``, ``[expr]``) read the store's
#   instance tuples; reference following reads a parameter and re-locates each referenced path, which
#   may land on different object types, so entries are not assumed to share one node.
#   Strictness comes from ``ResolveOp`` and implements the usp-protocol.md 3.2 matrix: the same walk
#   raises 7026/7016/7018/7019/7017/7022 or silently drops entries depending on the operation and on
#   whether a search (wildcard, expression, reference follow) appeared earlier in the path. Search
#   expressions are type-checked against the supported model before any instance is read, so an
#   invalid expression fails even on an empty table.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from simulator.datamodel.schema import CommandNode, EventNode, Instances, ObjectNode, ParamNode, Schema
from simulator.datamodel.store import InstanceStore
from simulator.datamodel.types import UNKNOWN_TIME
from simulator.usp.errors import (
    CommandFailureError,
    InvalidPathError,
    InvalidPathSyntaxError,
    NotATableError,
    NotCreatableError,
    ObjectNotCreatedError,
    ObjectNotFoundError,
    UspError,
)
from simulator.usp.paths import (
    ALL,
    Comparison,
    InstanceNumber,
    Name,
    PathExpr,
    PathKind,
    ReferenceFollow,
    SearchExpr,
    Wildcard,
)

Entry = tuple[ObjectNode, Instances]


class ResolveOp(Enum):
    """Which message is resolving the path (sets the strictness, usp-protocol.md 3.2)."""

    GET = "get"
    SET = "set"
    ADD = "add"
    DELETE = "delete"
    OPERATE = "operate"
    GET_INSTANCES = "get_instances"
    GET_SUPPORTED_DM = "get_supported_dm"
    NOTIFY = "notify"


class Resolution:
    """The result of resolving one path.

    Attributes:
        kind: the path kind.
        entries: matched (object node, instances); for a table path (``pending``) the instances are
            the parent's and the node is the table.
        pending: True when the path ends at a table without an instance selector (``X.Table.``).
        leaf: parameter / command / event name for non-object paths.
        search: True when a wildcard, search expression or reference follow was used.
    """

    __slots__ = ("entries", "kind", "leaf", "pending", "search")

    def __init__(
        self, kind: PathKind, entries: list[Entry], pending: bool, leaf: str | None, search: bool
    ) -> None:
        self.kind = kind
        self.entries = entries
        self.pending = pending
        self.leaf = leaf
        self.search = search


def _not_found(op: ResolveOp, text: str, reason: str) -> UspError:
    if op in (ResolveOp.GET, ResolveOp.GET_SUPPORTED_DM, ResolveOp.NOTIFY):
        return InvalidPathError(reason, path=text)
    return ObjectNotFoundError(reason, path=text)


def _bad_expr(text: str, reason: str) -> InvalidPathSyntaxError:
    return InvalidPathSyntaxError(text, max(text.find("["), 0), reason)


class Resolver:
    """Resolves paths for one agent (cheap: two references)."""

    __slots__ = ("schema", "store")

    def __init__(self, schema: Schema, store: InstanceStore) -> None:
        self.schema = schema
        self.store = store

    def resolve(self, expr: PathExpr, op: ResolveOp, now: float = 0.0) -> Resolution:
        """Resolve ``expr`` for ``op``.

        Raises:
            UspError: the code the 3.2 matrix gives for ``op`` (7026, 7016, 7018, 7019, 7017, 7022, 7008).
        """
        text = expr.text
        hit = self.schema.resolved.get((text, op._value_))
        if hit is not None:  # a name-only path already resolved for this op: same answer for every agent
            return Resolution(hit[0], [(hit[1], ())], hit[2], hit[3], False)
        res = self._resolve(expr, op, now)
        entries = res.entries
        if len(entries) == 1 and not entries[0][1] and all(seg.__class__ is Name for seg in expr.segments):
            self.schema.resolved[text, op._value_] = (res.kind, entries[0][0], res.pending, res.leaf)
        return res

    def _resolve(self, expr: PathExpr, op: ResolveOp, now: float) -> Resolution:
        text, kind, segs = expr.text, expr.kind, expr.segments
        self._check_kind(op, kind, text)
        if not segs or segs[0] != Name(self.schema.root.name):
            msg = "Path is not present in the data model schema"
            raise InvalidPathError(msg, path=text)
        body = segs[1:-1] if kind is not PathKind.OBJECT else segs[1:]
        entries: list[Entry] = [(self.schema.root, ())]
        pending = False
        search = False
        mixed = False  # entries may have different nodes (after a reference follow)
        shape: ObjectNode | None = self.schema.root  # the schema node of every entry (None when mixed)
        for seg in body:
            if isinstance(seg, Name):
                if pending:
                    msg = f"{entries[0][0].path} is a table: an instance selector must follow it"
                    raise InvalidPathError(msg, path=text)
                shape, entries = self._descend(shape, entries, seg.text, mixed, text)
                pending = shape.is_table if shape is not None else bool(entries) and entries[0][0].is_table
            elif isinstance(seg, ReferenceFollow):
                if pending:
                    msg = f"{entries[0][0].path} is a table: an instance selector must follow it"
                    raise InvalidPathError(msg, path=text)
                entries = self._follow(entries, seg, mixed, text, now)
                search = mixed = True
                shape = None
            else:
                if not pending:
                    where = entries[0][0].path if entries else text
                    msg = f"{where} is not a multi-instance object; no instance selector allowed"
                    raise InvalidPathError(msg, path=text)
                pending = False
                if isinstance(seg, InstanceNumber):
                    entries = self._number(entries, seg.number, op, search, text)
                elif isinstance(seg, Wildcard):
                    search = True
                    entries = [(t, (*i, n)) for t, i in entries for n in self.store.instances(t, i)]
                elif isinstance(seg, SearchExpr):
                    search = True
                    entries = self._search(shape, entries, seg, text, now)
        leaf = None
        if kind is not PathKind.OBJECT:
            last = segs[-1]
            assert isinstance(last, Name)
            leaf = last.text
            if pending:
                msg = f"{entries[0][0].path} is a table: an instance selector must come before {leaf}"
                raise InvalidPathError(msg, path=text)
            entries = self._leaf(shape, entries, kind, leaf, mixed, text)
        res = Resolution(kind, entries, pending, leaf, search)
        self._check_target(op, res, text, expr)
        return res

    # -- op-specific shape checks ----------------------------------------------------------------------
    @staticmethod
    def _check_kind(op: ResolveOp, kind: PathKind, text: str) -> None:
        if op is ResolveOp.GET and kind in (PathKind.COMMAND, PathKind.EVENT):
            msg = "Get does not accept command or event paths"
            raise InvalidPathError(msg, path=text)
        if kind is not PathKind.OBJECT:
            if op in (ResolveOp.SET, ResolveOp.GET_INSTANCES):
                raise (
                    NotATableError("Path is not an object path", path=text)
                    if op is ResolveOp.GET_INSTANCES
                    else NotATableError("Set needs an object or instance path", path=text)
                )
            if op is ResolveOp.ADD:
                msg = "Add needs a table path"
                raise NotCreatableError(msg, path=text)
            if op is ResolveOp.DELETE:
                msg = "Delete needs an object instance path"
                raise ObjectNotFoundError(msg, path=text)
        if op is ResolveOp.OPERATE and kind is not PathKind.COMMAND:
            msg = "Operate path is not a command"
            raise CommandFailureError(msg, path=text)

    @staticmethod
    def _check_target(op: ResolveOp, res: Resolution, text: str, expr: PathExpr) -> None:
        if res.kind is not PathKind.OBJECT:
            return
        if op is ResolveOp.ADD and not res.pending:
            if isinstance(expr.segments[-1], InstanceNumber | Wildcard | SearchExpr):
                msg = "Add path ends in an instance selector"
                raise ObjectNotCreatedError(msg, path=text)
            msg = "Add path is not a multi-instance object"
            raise NotATableError(msg, path=text)
        if op is ResolveOp.DELETE and (
            res.pending or not isinstance(expr.segments[-1], InstanceNumber | Wildcard | SearchExpr)
        ):
            msg = "Delete needs an object instance path"
            raise ObjectNotFoundError(msg, path=text)
        if op is ResolveOp.SET and res.pending:
            msg = "Set needs an instance of the table, not the table"
            raise InvalidPathError(msg, path=text)

    # -- segment steps ---------------------------------------------------------------------------------
    def _descend(
        self, shape: ObjectNode | None, entries: list[Entry], name: str, mixed: bool, text: str
    ) -> tuple[ObjectNode | None, list[Entry]]:
        if not mixed and shape is not None:
            child = shape.children.get(name)
            if child is None:
                msg = f"{shape.path}{name}. is not present in the data model schema"
                raise InvalidPathError(msg, path=text)
            return child, [(child, inst) for _, inst in entries]
        out = [(c, inst) for node, inst in entries if (c := node.children.get(name)) is not None]
        if out and len({c.id for c, _ in out}) > 1:
            out = [e for e in out if not e[0].is_table]  # keep the walk shape-consistent
        return None, out

    def _number(
        self, entries: list[Entry], number: int, op: ResolveOp, search: bool, text: str
    ) -> list[Entry]:
        store = self.store
        out = [(t, (*i, number)) for t, i in entries if number in store.instances(t, i)]
        if not out and entries and not search and op is not ResolveOp.DELETE:
            table, inst = entries[0]
            msg = f"Object instance {table.instance_path(inst)}{number}. does not exist"
            raise _not_found(op, text, msg)
        return out

    def _follow(
        self, entries: list[Entry], seg: ReferenceFollow, mixed: bool, text: str, now: float
    ) -> list[Entry]:
        out: list[Entry] = []
        for node, inst in entries:
            param = node.params.get(seg.name)
            if param is None or not (param.reference or param.type.base == "string"):
                if mixed:
                    continue
                msg = f"{node.path}{seg.name} is not a reference parameter"
                raise InvalidPathError(msg, path=text)
            for target in self._ref_targets(param, inst, seg.index, now):
                out.append(target)
        return out

    def _ref_targets(self, param: ParamNode, inst: Instances, index: int | str, now: float) -> list[Entry]:
        value = self.store.read(param, inst, now)
        if not value:
            return []
        refs = [v.strip() for v in value.split(",")] if param.type.is_list else [value]
        if index != ALL:
            assert isinstance(index, int)
            refs = refs[index - 1 : index] if 0 < index <= len(refs) else []
        out = []
        for ref in refs:
            located = self.locate(ref)
            if located is not None:
                out.append(located)
        return out

    def locate(self, path: str) -> Entry | None:
        """Find the existing object instance named by an instance-number path (trailing dot optional)."""
        parts = path.rstrip(".").split(".")
        node = self.schema.root
        if not parts or parts[0] != node.name:
            return None
        inst: tuple[int, ...] = ()
        pending = False
        for part in parts[1:]:
            if pending:
                if not part.isdigit() or int(part) not in self.store.instances(node, inst):
                    return None
                inst = (*inst, int(part))
                pending = False
                continue
            child = node.children.get(part)
            if child is None:
                return None
            node, pending = child, child.is_table
        return None if pending else (node, inst)

    def _leaf(  # noqa: PLR0917
        self,
        shape: ObjectNode | None,
        entries: list[Entry],
        kind: PathKind,
        leaf: str,
        mixed: bool,
        text: str,
    ) -> list[Entry]:
        attr = {PathKind.PARAMETER: "params", PathKind.COMMAND: "commands"}.get(kind, "events")
        if not mixed and shape is not None:
            node = shape
            if leaf not in getattr(node, attr):
                suffix = {"params": "", "commands": "()", "events": "!"}[attr]
                msg = f"{node.path}{leaf}{suffix} is not present in the data model schema"
                raise InvalidPathError(msg, path=text)
            return entries
        return [(n, i) for n, i in entries if leaf in getattr(n, attr)]

    # -- search expressions ----------------------------------------------------------------------------
    def _search(
        self, shape: ObjectNode | None, entries: list[Entry], seg: SearchExpr, text: str, now: float
    ) -> list[Entry]:
        table = shape if shape is not None else entries[0][0] if entries else None
        if table is None:
            return entries
        checked = [(cmp, self._check_comparison(table, cmp, text)) for cmp in seg.comparisons]
        out: list[Entry] = []
        store = self.store
        for table, inst in entries:
            for number in store.instances(table, inst):
                cand = (*inst, number)
                if all(self._matches(table, cand, cmp, const, now) for cmp, const in checked):
                    out.append((table, cand))
        return out

    def _check_comparison(self, table: ObjectNode, cmp: Comparison, text: str) -> Any:
        """Validate a comparison against the supported model; returns the parsed constant (or None)."""
        node: ObjectNode | None = table
        param: ParamNode | None = None
        for i, step in enumerate(cmp.path):
            last = i == len(cmp.path) - 1
            if node is None:
                return None  # after a reference follow to an undeclared target: checked per value
            if isinstance(step, ReferenceFollow):
                ref = node.params.get(step.name)
                if ref is None or last:
                    raise _bad_expr(text, f"{step.name} is not a reference parameter of {node.path}")
                targets = [self.schema.lookup(t) for t in ref.reference]
                node = targets[0] if targets and isinstance(targets[0], ObjectNode) else None
                continue
            if last:
                param = node.params.get(step.text)
                if param is None:
                    msg = f"{step.text} is not a parameter of {node.path}"
                    raise InvalidPathError(msg, path=text)
            else:
                child = node.children.get(step.text)
                if child is None or child.is_table:
                    msg = (
                        f"{step.text} is not a single-instance sub-object of {node.path} (no tables in [...])"
                    )
                    raise InvalidPathError(msg, path=text)
                node = child
        assert param is not None
        return _check_constant(param, cmp, text)

    def _matches(self, table: ObjectNode, inst: Instances, cmp: Comparison, const: Any, now: float) -> bool:
        cands: list[Entry] = [(table, inst)]
        path = cmp.path
        for step in path[:-1]:
            nxt: list[Entry] = []
            for node, i in cands:
                if isinstance(step, ReferenceFollow):
                    param = node.params.get(step.name)
                    if param is not None:
                        nxt.extend(self._ref_targets(param, i, step.index, now))
                else:
                    child = node.children.get(step.text)
                    if child is not None and not child.is_table:
                        nxt.append((child, i))
            cands = nxt
        last = path[-1]
        assert isinstance(last, Name)
        for node, i in cands:
            param = node.params.get(last.text)
            if param is None or not param.readable:
                continue
            c = const if const is not None or node is table else None
            if c is None:
                try:
                    c = _check_constant(param, cmp, "")
                except UspError:
                    continue
            if _compare(param, self.store.read(param, i, now), cmp.op, c):
                return True
        return False


def _check_constant(param: ParamNode, cmp: Comparison, text: str) -> Any:
    type_ = param.type
    op = cmp.op
    if op == "~=":
        if not type_.is_list:
            raise _bad_expr(text, f"~= needs a list-valued parameter; {param.name} is not a list")
    elif type_.is_list:
        if op not in ("==", "!="):
            raise _bad_expr(text, f"{param.name} is a list: only ==, != and ~= apply")
        return cmp.value
    is_string = type_.base in ("string", "base64", "hexBinary")
    if is_string != cmp.quoted:
        want = "a quoted string" if is_string else f"an unquoted {type_.base}"
        raise _bad_expr(text, f"{param.name} is {type_.name}: the constant must be {want}")
    if (not type_.ordered or cmp.value == UNKNOWN_TIME) and op not in ("==", "!=", "~="):
        raise _bad_expr(text, f"{param.name} is {type_.name}: only == and != apply")
    if is_string:
        return cmp.value
    try:
        return type_.parse(cmp.value)
    except UspError:
        raise _bad_expr(text, f"{cmp.value!r} is not a {type_.base}") from None


def _compare(param: ParamNode, raw: str, op: str, const: Any) -> bool:
    type_ = param.type
    if op == "~=":
        items = [v.strip() for v in raw.split(",")] if raw else []
        return str(const) in items
    if type_.is_list or type_.base in ("string", "base64", "hexBinary"):
        value: Any = raw
    else:
        try:
            value = type_.parse(raw)
        except UspError:
            return False
    if op == "==":
        return bool(value == const)
    if op == "!=":
        return bool(value != const)
    if op == "<":
        return bool(value < const)
    if op == ">":
        return bool(value > const)
    if op == "<=":
        return bool(value <= const)
    return bool(value >= const)


def leaf_node(entry: Entry, res: Resolution) -> ParamNode | CommandNode | EventNode | None:
    """The parameter/command/event node a resolved leaf names on ``entry``'s object."""
    node = entry[0]
    if res.kind is PathKind.PARAMETER:
        return node.params.get(res.leaf or "")
    if res.kind is PathKind.COMMAND:
        return node.commands.get(res.leaf or "")
    if res.kind is PathKind.EVENT:
        return node.events.get(res.leaf or "")
    return None
