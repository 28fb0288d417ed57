"""Per-agent mutations: Set, Add and Delete with typed validation, unique keys and rollback (TR-369 3.3).

``DataModel`` (this module) is the facade the agent layer uses: reads from ``ModelReader`` plus these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from simulator.datamodel.access import AccessHook, Perm
from simulator.datamodel.model import ModelReader
from simulator.datamodel.resolver import ResolveOp
from simulator.datamodel.schema import Instances, ObjAccess, ObjectNode, ParamAccess, ParamNode
from simulator.datamodel.store import Change, ChangeKind
from simulator.usp.errors import (
    DeleteFailureError,
    DuplicateKeyError,
    InvalidValueError,
    NotCreatableError,
    NotWritableError,
    PermissionDeniedError,
    RequiredParameterFailedError,
    ResourcesExceededError,
    UnsupportedParameterError,
    UspError,
)
from simulator.usp.paths import PathLike, as_path, split_relative

Setting = tuple[str, str, bool]
"""(relative parameter name, value, required)."""
SettingsLike = Mapping[str, str] | Iterable[Setting]


class ParamFailure(NamedTuple):
    """A parameter that failed (``param_errs`` entry): full parameter path and the error."""

    path: str
    error: UspError


class ObjectFailedError(RequiredParameterFailedError):
    """7021: a required parameter failed, so the object was not created / not modified.

    Attributes:
        param_errs: every parameter failure of the object (full parameter paths).
    """

    def __init__(self, message: str, param_errs: list[ParamFailure], *, path: str | None = None) -> None:
        super().__init__(message, path=path)
        self.param_errs = param_errs


class SetResult(NamedTuple):
    """One updated instance: ``affected_path``, ``updated_params`` and non-required ``param_errs``."""

    path: str
    updated: dict[str, str]
    param_errs: list[ParamFailure]


class AddResult(NamedTuple):
    """One created instance: ``instantiated_path``, ``unique_keys`` and non-required ``param_errs``."""

    path: str
    unique_keys: dict[str, str]
    param_errs: list[ParamFailure]


class DeleteResult(NamedTuple):
    """``affected_paths`` and ``unaffected_path_errs`` (path, error) of one Delete entry."""

    affected: list[str]
    unaffected: list[tuple[str, UspError]]


def _settings(settings: SettingsLike) -> list[Setting]:
    if isinstance(settings, Mapping):
        return [(name, value, False) for name, value in settings.items()]
    return list(settings)


class DataModel(ModelReader):
    """One agent's data model: the facade the agent layer calls (reads + Set/Add/Delete).

    Change tracking: every mutation appends a ``store.Change`` to a log the agent drains with
    ``drain_changes()`` after handling a message (rolled-back changes are never logged).
    """

    __slots__ = ()

    # -- Set -------------------------------------------------------------------------------------------
    def set(
        self, path: PathLike, settings: SettingsLike, *, now: float, access: AccessHook | None = None
    ) -> list[SetResult]:
        """Apply one Set ``UpdateObject`` to every instance ``path`` matches, as one unit (R-SET.2a).

        Raises:
            ObjectFailedError: 7021, a required parameter failed; nothing of this path was changed.
            UspError: path errors (7008, 7026, 7016, 7018), 7006 when ``access`` denies every write.
        """
        items = _settings(settings)
        res = self.resolver.resolve(as_path(path), ResolveOp.SET, now)
        out: list[SetResult] = []
        with self.transaction():
            for node, inst in res.entries:
                out.append(self._set_instance(node, inst, items, now, access, creating=False))
        return out

    def set_params(
        self,
        node: ObjectNode,
        inst: Instances,
        settings: SettingsLike,
        *,
        now: float,
        access: AccessHook | None = None,
    ) -> SetResult:
        """Set parameters of one already-resolved instance (agent-internal writes, e.g. Status)."""
        with self.transaction():
            return self._set_instance(node, inst, _settings(settings), now, access, creating=False)

    def _set_instance(
        self,
        node: ObjectNode,
        inst: Instances,
        items: list[Setting],
        now: float,
        access: AccessHook | None,
        *,
        creating: bool,
        controller: bool = False,
        agent_items: Iterable[Setting] = (),
    ) -> SetResult:
        base = node.instance_path(inst)
        updated: dict[str, str] = {}
        errs: list[ParamFailure] = []
        required_failed = False
        store = self.store
        # (setting, written by the agent itself): agent settings come first and bypass access and read-only
        tagged = [*((s, True) for s in agent_items), *((s, False) for s in items)]
        for (name, value, required), by_agent in tagged:
            try:
                param, pinst = self._param(node, inst, name, base)
                if not by_agent and access is not None and not access(param, pinst, Perm.PARAM_WRITE):
                    msg = f"no permission to write {name}"
                    raise PermissionDeniedError(msg)
                if not param.writable and not (creating and (by_agent or not controller)):
                    msg = f"{name} is not writable"
                    raise NotWritableError(msg)
                if param.access is ParamAccess.WRITE_ONCE_READ_ONLY and not creating:
                    msg = f"{name} can be written only once (at creation)"
                    raise NotWritableError(msg)
                if param.counts is not None:
                    msg = f"{name} is computed"
                    raise NotWritableError(msg)
                canonical = param.type.normalize(value)
                if param.strong and canonical:
                    self._check_strong(param, canonical)
                old = store.read(param, pinst, now)
                if canonical != old or not store.is_stored(param, pinst):
                    store.write(
                        param, pinst, canonical, None if creating or canonical == old else base + name
                    )
                if (
                    param.readable
                    and not param.secured
                    and (access is None or access(param, pinst, Perm.PARAM_READ))
                ):
                    updated[name] = canonical
            except UspError as exc:
                errs.append(ParamFailure(base + name, exc))
                required_failed = required_failed or required or (creating and name in node.key_names)
        if node.is_table and node.keys and not required_failed:
            try:
                self._check_unique(node, inst, now)
            except DuplicateKeyError as exc:
                errs.append(ParamFailure(base, exc))
                required_failed = True
        if required_failed:
            first = errs[0].error
            msg = f"{base}: required parameter failed: {first.message}"
            raise ObjectFailedError(msg, errs, path=base)
        return SetResult(base, updated, errs)

    def _param(self, node: ObjectNode, inst: Instances, name: str, base: str) -> tuple[ParamNode, Instances]:
        try:
            parts = split_relative(name)
        except UspError:
            msg = f"{name!r} is not a relative parameter name"
            raise UnsupportedParameterError(msg, path=base + name) from None
        obj = node
        for part in parts[:-1]:
            child = obj.children.get(part)
            if child is None or child.is_table:
                msg = f"{base}{name} is not a parameter of this object"
                raise UnsupportedParameterError(msg, path=base + name)
            obj = child
        param = obj.params.get(parts[-1])
        if param is None:
            msg = f"{base}{name} is not a parameter of this object"
            raise UnsupportedParameterError(msg, path=base + name)
        return param, inst

    def _check_strong(self, param: ParamNode, value: str) -> None:
        for ref in value.split(",") if param.type.is_list else [value]:
            located = self.resolver.locate(ref.strip())
            if located is None or (param.reference and located[0].path not in param.reference):
                msg = f"{ref!r} does not point to an existing {' or '.join(param.reference) or 'object'}"
                raise InvalidValueError(msg)

    def _check_unique(self, table: ObjectNode, inst: Instances, now: float) -> None:
        read = self.store.read
        params = table.params
        parent = inst[:-1]
        for key_set in table.keys:
            mine = tuple(read(params[n], inst, now) for n in key_set)
            if not any(mine):
                continue  # an all-empty key (e.g. EndpointID not yet configured) is not a collision
            for number in self.store.instances(table, parent):
                if (
                    number != inst[-1]
                    and tuple(read(params[n], (*parent, number), now) for n in key_set) == mine
                ):
                    msg = f"unique key {'+'.join(key_set)}={','.join(mine)} already used by instance {number}"
                    raise DuplicateKeyError(msg)

    # -- Add -------------------------------------------------------------------------------------------
    def add(
        self,
        path: PathLike,
        settings: SettingsLike = (),
        *,
        now: float,
        access: AccessHook | None = None,
        controller: bool = False,
        agent_settings: SettingsLike = (),
    ) -> list[AddResult]:
        """Apply one Add ``CreateObject``: one new instance per table the path resolves to.

        Numbering is obuspa's (highest existing + 1); ``Alias`` defaults to ``cpe-<n>``. Supplied
        unique-key parameters count as required (TP 1.88).

        ``controller=True`` applies a Controller's Add message: like obuspa, a readOnly parameter in
        ``settings`` fails with 7013 (``param_errs``; the object fails when it is required or a unique
        key, usp-protocol.md 3.3). Only ``agent_settings`` (values the agent fills in itself, e.g. a
        Subscription's Recipient and CreationDate) may then initialise readOnly parameters; they are
        applied first and bypass ``access``. Agent-internal calls (``controller=False``, the default) may
        initialise any parameter at creation. writeOnceReadOnly parameters are writable at creation.

        Raises:
            ObjectFailedError: 7021 (a required/key parameter failed or 7025 duplicate key); nothing created.
            UspError: 7008, 7026, 7016, 7017, 7018, 7019 (path), 7005 (max_entries), 7006 (access).
        """
        items = _settings(settings)
        auto = _settings(agent_settings)
        res = self.resolver.resolve(as_path(path), ResolveOp.ADD, now)
        out: list[AddResult] = []
        with self.transaction():
            for table, parent in res.entries:
                out.append(self._add_one(table, parent, items, now, access, controller, auto))
        return out

    def _add_one(  # noqa: PLR0917
        self,
        table: ObjectNode,
        parent: Instances,
        items: list[Setting],
        now: float,
        access: AccessHook | None,
        controller: bool,
        auto: list[Setting],
    ) -> AddResult:
        tpath = table.instance_path(parent)
        if table.access not in (ObjAccess.ADD_DELETE, ObjAccess.ADD_ONLY):
            msg = f"{tpath} does not allow Add"
            raise NotCreatableError(msg, path=tpath)
        if access is not None and not access(table, parent, Perm.OBJ_ADD):
            msg = f"no permission to add to {tpath}"
            raise PermissionDeniedError(msg, path=tpath)
        existing = self.store.instances(table, parent)
        if table.max_entries is not None and len(existing) >= table.max_entries:
            msg = f"{tpath} already has {len(existing)} instances (max {table.max_entries})"
            raise ResourcesExceededError(msg, path=tpath)
        number = (existing[-1] + 1) if existing else 1
        inst = self.store.create(table, parent, number)
        result = self._set_instance(
            table, inst, items, now, access, creating=True, controller=controller, agent_items=auto
        )
        keys = self.unique_keys(table, inst, now, access)
        self.store.log(Change(ChangeKind.CREATE, result.path, keys))
        return AddResult(result.path, keys, result.param_errs)

    # -- Delete ----------------------------------------------------------------------------------------
    def delete(self, path: PathLike, *, now: float = 0.0, access: AccessHook | None = None) -> DeleteResult:
        """Apply one Delete ``obj_paths`` entry; a missing instance is not an error (usp-protocol.md 3.4).

        Raises:
            UspError: 7008, 7026, 7016 (not an instance path).
        """
        res = self.resolver.resolve(as_path(path), ResolveOp.DELETE, now)
        affected: list[str] = []
        unaffected: list[tuple[str, UspError]] = []
        for table, inst in res.entries:
            ipath = table.instance_path(inst)
            if table.access not in (ObjAccess.ADD_DELETE, ObjAccess.DELETE_ONLY):
                unaffected.append((ipath, DeleteFailureError(f"{ipath} cannot be deleted", path=ipath)))
                continue
            if access is not None and not access(table, inst, Perm.INST_DELETE):
                unaffected.append(
                    (ipath, PermissionDeniedError(f"no permission to delete {ipath}", path=ipath))
                )
                continue
            self.store.remove(table, inst)
            self.store.log(Change(ChangeKind.DELETE, ipath, None))
            self._clear_strong_refs(ipath[:-1], now)
            affected.append(ipath)
        return DeleteResult(affected, unaffected)

    def _clear_strong_refs(self, target: str, now: float) -> None:
        """R-ARC.12: strong references to a deleted instance are cleared (or the list item removed)."""
        for node in self.schema.nodes:
            if not isinstance(node, ParamNode) or not node.strong or node.obj is None:
                continue
            for inst in self._all_instances(node.obj):
                value = self.store.read(node, inst, now)
                if not value or target not in value:
                    continue
                items = [v for v in value.split(",") if v.strip() != target]
                new = ",".join(items) if node.type.is_list else ("" if value == target else value)
                if new != value:
                    self.store.write(node, inst, new, node.obj.instance_path(inst) + node.name)

    def _all_instances(self, obj: ObjectNode) -> list[Instances]:
        insts: list[Instances] = [()]
        for table in obj.tables:
            insts = [(*i, n) for i in insts for n in self.store.instances(table, i)]
        return insts
