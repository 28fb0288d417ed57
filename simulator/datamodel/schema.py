"""The shared, immutable supported data model: object/parameter/command/event nodes with integer ids.

One ``Schema`` exists per profile file per process (architecture.md B5); every agent holds a reference.
Nodes are ``__slots__`` classes frozen after the loader finishes building them.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.datamodel.generators import Generator
    from simulator.datamodel.types import TypeSpec

Instances = tuple[int, ...]
"""Instance numbers of every table on the way down to an object, outermost first."""


class ParamAccess(IntEnum):
    """Parameter access; values 0-2 match GetSupportedDMResp.ParamAccessType."""

    READ_ONLY = 0
    READ_WRITE = 1
    WRITE_ONLY = 2
    WRITE_ONCE_READ_ONLY = 3  # reported as READ_WRITE in GetSupportedDM


class ObjAccess(IntEnum):
    """Object access; values match GetSupportedDMResp.ObjAccessType."""

    READ_ONLY = 0
    ADD_DELETE = 1
    ADD_ONLY = 2
    DELETE_ONLY = 3


class _Frozen:
    """Mixin: attribute assignment is allowed until ``_freeze()`` is called."""

    __slots__ = ("_frozen",)

    def __setattr__(self, name: str, value: object) -> None:
        if getattr(self, "_frozen", False):
            msg = f"{type(self).__name__} is immutable (shared by every agent)"
            raise AttributeError(msg)
        object.__setattr__(self, name, value)

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)


class ParamNode(_Frozen):
    """A supported parameter (also used for command/event arguments, with ``mandatory``)."""

    __slots__ = (
        "access",
        "counts",
        "default",
        "has_default",
        "id",
        "mandatory",
        "name",
        "obj",
        "path",
        "readable",
        "reference",
        "secured",
        "strong",
        "type",
        "units",
        "value_change_ignore",
        "writable",
    )

    def __init__(
        self,
        name: str,
        type_: TypeSpec,
        access: ParamAccess,
        default: str | Generator,
        *,
        value_change_ignore: bool = False,
        secured: bool = False,
        reference: tuple[str, ...] = (),
        strong: bool = False,
        units: str = "",
        mandatory: bool = False,
        has_default: bool = False,
    ) -> None:
        self.id = -1
        self.name = name
        self.path = name
        self.obj: ObjectNode | None = None
        self.type = type_
        self.access = access
        self.default = default
        self.value_change_ignore = value_change_ignore
        self.secured = secured
        self.reference = reference
        self.strong = strong
        self.units = units
        self.mandatory = mandatory
        self.has_default = has_default
        """True when the profile declares ``default`` (else ``default`` is the type's implicit one)."""
        self.counts: ObjectNode | None = None
        """The table whose live instance count this ``*NumberOfEntries`` parameter reports."""
        self.readable = access != ParamAccess.WRITE_ONLY
        self.writable = access != ParamAccess.READ_ONLY

    def __repr__(self) -> str:
        return f"<ParamNode {self.path}>"


class CommandNode(_Frozen):
    """A supported command (``Name()``)."""

    __slots__ = ("id", "input", "is_async", "name", "obj", "output", "path")

    def __init__(
        self, name: str, is_async: bool, input_: dict[str, ParamNode], output: dict[str, ParamNode]
    ) -> None:
        self.id = -1
        self.name = name
        """Name without the ``()``."""
        self.path = name
        self.obj: ObjectNode | None = None
        self.is_async = is_async
        self.input = input_
        self.output = output

    def __repr__(self) -> str:
        return f"<CommandNode {self.path}>"


class EventNode(_Frozen):
    """A supported event (``Name!``)."""

    __slots__ = ("args", "id", "name", "obj", "path")

    def __init__(self, name: str, args: dict[str, ParamNode]) -> None:
        self.id = -1
        self.name = name
        """Name without the ``!``."""
        self.path = name
        self.obj: ObjectNode | None = None
        self.args = args

    def __repr__(self) -> str:
        return f"<EventNode {self.path}>"


class ObjectNode(_Frozen):
    """A supported object: single-instance, or a table (multi-instance) when ``is_table``.

    Attributes:
        path: supported path in ``{i}`` notation with a trailing dot.
        depth: how many instance numbers an instance of this object carries.
        tables: this object's table ancestors, outermost first (itself included when a table).
        children / params / commands / events: name -> node (command/event names without ``()``/``!``).
        param_list / child_list: the same in declaration order (precomputed for Get).
        keys: unique key sets (tuples of parameter names).
        key_names: every parameter named in some key set, in order.
    """

    __slots__ = (
        "access",
        "child_list",
        "children",
        "commands",
        "depth",
        "events",
        "id",
        "is_table",
        "key_names",
        "keys",
        "max_entries",
        "name",
        "num_entries",
        "param_list",
        "params",
        "parent",
        "parts",
        "path",
        "tables",
    )

    def __init__(self, name: str, path: str, parent: ObjectNode | None, is_table: bool) -> None:
        self.id = -1
        self.name = name
        self.path = path
        self.parent = parent
        self.is_table = is_table
        self.access = ObjAccess.READ_ONLY
        self.children: dict[str, ObjectNode] = {}
        self.params: dict[str, ParamNode] = {}
        self.commands: dict[str, CommandNode] = {}
        self.events: dict[str, EventNode] = {}
        self.keys: tuple[tuple[str, ...], ...] = ()
        self.key_names: tuple[str, ...] = ()
        self.num_entries: ParamNode | None = None
        self.max_entries: int | None = None
        self.param_list: tuple[ParamNode, ...] = ()
        self.child_list: tuple[ObjectNode, ...] = ()
        self.parts: tuple[str, ...] = tuple(path.split("{i}."))
        self.depth = len(self.parts) - 1
        self.tables: tuple[ObjectNode, ...] = ()

    def __repr__(self) -> str:
        return f"<ObjectNode {self.path}>"

    def instance_path(self, inst: Instances) -> str:
        """Instantiated path for ``inst`` (trailing dot).

        With ``len(inst) == depth`` this is the object (or table instance) path; for a table,
        ``len(inst) == depth - 1`` gives the table path ``X.Table.``.
        """
        parts = self.parts
        if not inst:
            return parts[0]
        out = [parts[0]]
        for i, number in enumerate(inst):
            out.append(f"{number}.")
            out.append(parts[i + 1])
        return "".join(out)

    @property
    def supported_path(self) -> str:
        """Alias of ``path`` (the ``{i}`` form)."""
        return self.path


Node = ObjectNode | ParamNode | CommandNode | EventNode


class ReadPlan:
    """How to read every parameter of one object node in one Get pass (built once per Schema).

    The value of a parameter is, in order: the agent's override, the profile's boot value for the
    instance (``Schema.initial_values``), then the parameter default; ``*NumberOfEntries`` counters
    report the live instance count, secured and write-only parameters read as ``""``.

    Attributes:
        base: name -> value in declaration order: the canonical default string of each static
            parameter, ``""`` for secured/write-only ones, a placeholder for the computed ones.
        dynamic: (name, generator) of parameters whose default is a Generator.
        counts: (name, table id) of ``*NumberOfEntries`` counters.
        overridable: (name, param id) of parameters an agent override can change (readable, not
            secured, not counters).
        by_inst: instances with profile boot values -> their own (base, dynamic).
    """

    __slots__ = ("base", "by_inst", "counts", "dynamic", "overridable")

    def __init__(
        self, node: ObjectNode, initial: dict[Instances, list[tuple[ParamNode, str | Generator]]]
    ) -> None:
        base: dict[str, str] = {}
        dynamic: list[tuple[str, Generator]] = []
        counts: list[tuple[str, int]] = []
        overridable: list[tuple[str, int]] = []
        for param in node.param_list:
            name = param.name
            default = param.default
            base[name] = default if default.__class__ is str else ""
            if param.secured or not param.readable:
                base[name] = ""
            elif param.counts is not None:
                counts.append((name, param.counts.id))
            else:
                overridable.append((name, param.id))
                if default.__class__ is not str:
                    dynamic.append((name, default))  # type: ignore[arg-type]
        self.base = base
        self.dynamic = tuple(dynamic)
        self.counts = tuple(counts)
        self.overridable = tuple(overridable)
        self.by_inst: dict[Instances, tuple[dict[str, str], tuple[tuple[str, Generator], ...]]] = {}
        for inst, values in initial.items():
            own = dict(base)
            gens = dict(dynamic)
            for param, value in values:
                if param.secured or not param.readable or param.counts is not None:
                    continue
                if value.__class__ is str:
                    own[param.name] = value
                    gens.pop(param.name, None)
                else:
                    gens[param.name] = value  # type: ignore[assignment]
            self.by_inst[inst] = (own, tuple(gens.items()))


class Schema(_Frozen):
    """The immutable supported model of one profile plus its boot-time instance set.

    Attributes:
        name: profile name.
        uri: data_model_inst_uri for GetSupportedDM.
        root: the ``Device.`` object.
        nodes: every node, indexed by id.
        by_path: supported path -> node (objects with trailing dot, commands with ``()``, events with ``!``).
        initial_tables: (table node id, parent instances) -> instance numbers existing at boot.
        initial_values: (param node id, instances) -> value (string or Generator) set by the profile.
        source: the file the schema was loaded from.
        plans: per node id, the object's ReadPlan for Get (None for non-objects).
    """

    __slots__ = (
        "by_path",
        "initial_tables",
        "initial_values",
        "name",
        "nodes",
        "plans",
        "resolved",
        "root",
        "source",
        "uri",
    )

    def __init__(  # noqa: PLR0917
        self,
        name: str,
        uri: str,
        root: ObjectNode,
        nodes: list[Any],
        initial_tables: dict[tuple[int, Instances], tuple[int, ...]],
        initial_values: dict[tuple[int, Instances], str | Generator],
        source: str,
    ) -> None:
        self.name = name
        self.uri = uri
        self.root = root
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.by_path: dict[str, Node] = {node.path: node for node in nodes}
        self.initial_tables = initial_tables
        self.initial_values = initial_values
        self.source = source
        initial: dict[int, dict[Instances, list[tuple[ParamNode, str | Generator]]]] = {}
        for (pid, inst), value in initial_values.items():
            param = self.nodes[pid]
            if isinstance(param, ParamNode) and param.obj is not None:
                initial.setdefault(param.obj.id, {}).setdefault(inst, []).append((param, value))
        self.plans: tuple[ReadPlan | None, ...] = tuple(
            ReadPlan(node, initial.get(node.id, {})) if isinstance(node, ObjectNode) else None
            for node in self.nodes
        )
        """Per object node id: its Get ReadPlan (None for other nodes)."""
        self.resolved: dict[tuple[str, str], tuple[Any, ObjectNode, bool, str | None]] = {}
        """Resolver cache of name-only paths (no instance selector), keyed by (path, ResolveOp value):
        (kind, node, pending, leaf). Their resolution depends on the schema only."""

    def lookup(self, supported_path: str) -> Node | None:
        """The node at a supported path (``Device.LocalAgent.Controller.{i}.Enable``), or None."""
        return self.by_path.get(supported_path)

    def objects(self) -> list[ObjectNode]:
        """Every object node in tree order."""
        return [n for n in self.nodes if isinstance(n, ObjectNode)]
