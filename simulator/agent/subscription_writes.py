"""Controller writes to Device.LocalAgent.Subscription.{i}.: auto-filled and immutable parameters (5.1, 5.2).

# Strategy: the data model knows only types and access; obuspa adds per-table rules that this module
# applies before the Add/Set handlers call the data model (obuspa device_subscription.c):
#   * Add: ``Recipient`` (the requesting Controller's row, no trailing dot) and ``CreationDate`` (the Add
#     time) are auto-filled; ``ID`` defaults to ``cpe-<instance>``. Recipient and CreationDate are read-only
#     for Controllers (7013). An empty ID is refused (7004) and the default applies. ReferenceList is
#     checked strictly against the NotifType of the same Add (validate_reference_list, 7012/7026).
#   * Set: Recipient and CreationDate are read-only (7013); ID, a non-functional unique key, cannot change
#     once set (TP 1.96, 7013); ReferenceList cannot change once non-empty (obuspa: 7004); a new
#     ReferenceList, or a new NotifType with an existing ReferenceList, is validated strictly.
# The checks run only when the request path can reach the Subscription table (a string prefix test), so
# other Add/Set requests pay nothing. Auto-filled values are handed to the data model as ``agent_settings``:
# they bypass the Controller's write permission and may initialise the readOnly Recipient/CreationDate, as
# obuspa's auto-populate callbacks do, while readOnly parameters in the Controller's own settings fail (7013).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.agent.context import iso8601
from simulator.agent.subscriptions import SUBSCRIPTION_TABLE, validate_reference_list
from simulator.datamodel.editing import ParamFailure
from simulator.datamodel.resolver import ResolveOp
from simulator.datamodel.schema import ObjectNode
from simulator.usp.errors import InvalidArgumentsError, NotWritableError, UspError
from simulator.usp.paths import as_path

if TYPE_CHECKING:
    from collections.abc import Sequence

    from simulator.agent.context import AgentContext

__all__ = ["AddPlan", "SetPlan", "plan_subscription_add", "plan_subscription_set", "touches_subscriptions"]

_PREFIX = "Device.LocalAgent.Subscription"
_READ_ONLY = frozenset({"Recipient", "CreationDate"})
Setting = tuple[str, str, bool]


def touches_subscriptions(obj_path: str) -> bool:
    """Cheap pre-filter: can this Add/Set path address the Subscription table?"""
    return obj_path.startswith(_PREFIX)


class AddPlan:
    """The settings an Add of a Subscription row really applies.

    Attributes:
        settings: the Controller's accepted settings.
        auto: the values the agent fills in itself (Recipient, ID, CreationDate), passed to
            ``DataModel.add(agent_settings=...)``: they bypass access and may write readOnly parameters.
        failures: rejected Controller settings (relative names), reported like data model failures.
        required_failed: a rejected setting was marked required (the object fails).
    """

    __slots__ = ("auto", "failures", "required_failed", "settings")

    def __init__(
        self,
        settings: list[Setting],
        auto: list[Setting],
        failures: list[ParamFailure],
        required_failed: bool,
    ) -> None:
        self.settings = settings
        self.auto = auto
        self.failures = failures
        self.required_failed = required_failed


def _table(ctx: AgentContext) -> ObjectNode | None:
    node = ctx.schema.lookup(SUBSCRIPTION_TABLE)
    return node if isinstance(node, ObjectNode) else None


def plan_subscription_add(ctx: AgentContext, obj_path: str, settings: Sequence[Setting]) -> AddPlan | None:
    """Apply the Subscription Add rules, or None when ``obj_path`` is not the Subscription table.

    Args:
        ctx: the agent context (``ctx.requester`` is the Controller sending the Add).
        obj_path: the CreateObject path.
        settings: the Controller's (name, value, required) settings.

    Returns:
        The AddPlan, or None for other tables.
    """
    table = _table(ctx)
    if table is None or not touches_subscriptions(obj_path):
        return None
    try:
        res = ctx.datamodel.resolver.resolve(as_path(obj_path), ResolveOp.ADD, ctx.now)
    except UspError:
        return None  # the data model reports the path error itself
    if not any(node is table for node, _ in res.entries):
        return None
    given = {name: value for name, value, _ in settings}
    notif_type = given.get("NotifType", "")
    kept: list[Setting] = []
    failures: list[ParamFailure] = []
    required_failed = False
    for name, value, required in settings:
        error: UspError | None = None
        if name in _READ_ONLY:
            error = NotWritableError(f"{name} is read-only (auto-filled by the agent)")
        elif name == "ID" and not value:
            error = InvalidArgumentsError("Subscription ID must be set to a non-empty string")
        elif name == "ReferenceList" and value and notif_type:
            try:
                validate_reference_list(ctx, notif_type, value, strict=True)
            except UspError as exc:
                error = exc
        if error is None:
            kept.append((name, value, required))
            continue
        failures.append(ParamFailure(name, error))
        required_failed = required_failed or required
    existing = ctx.store.instances(table, ())
    number = existing[-1] + 1 if existing else 1  # the data model numbers obuspa's way: highest + 1
    auto: list[Setting] = []
    requester = ctx.requester
    if requester is not None:
        auto.append(("Recipient", requester.path[:-1], True))
    if not any(name == "ID" for name, _, _ in kept):
        auto.append(("ID", f"cpe-{number}", True))
    auto.append(("CreationDate", iso8601(ctx.now), True))
    return AddPlan(kept, auto, failures, required_failed)


class SetPlan:
    """What a Set of Subscription rows may apply.

    Attributes:
        settings: the settings to pass on to the data model.
        failures: per-instance rejected settings (full parameter paths), keyed by instance path.
        required_failed: (instance path, failures) of the first instance whose required setting was
            rejected, or None.
    """

    __slots__ = ("failures", "required_failed", "settings")

    def __init__(
        self,
        settings: list[Setting],
        failures: dict[str, list[ParamFailure]],
        required_failed: tuple[str, list[ParamFailure]] | None,
    ) -> None:
        self.settings = settings
        self.failures = failures
        self.required_failed = required_failed


def _set_error(ctx: AgentContext, base: str, name: str, value: str, given: dict[str, str]) -> UspError | None:
    current = ctx.value(base + name)
    if name in _READ_ONLY:
        return NotWritableError(f"{name} is read-only")
    if name == "ID":
        if current and value != current:
            return NotWritableError("ID is a non-functional unique key and cannot be changed")
        return None if value else InvalidArgumentsError("Subscription ID must be set to a non-empty string")
    if name == "ReferenceList":
        if current:
            msg = f"ReferenceList values must not be changed once assigned (current_value='{current}')"
            return InvalidArgumentsError(msg)
        notif_type = given.get("NotifType") or ctx.value(base + "NotifType") or ""
        refs = value
    elif name == "NotifType":
        notif_type = value
        refs = given.get("ReferenceList") or ctx.value(base + "ReferenceList") or ""
    else:
        return None
    if notif_type and refs:
        try:
            validate_reference_list(ctx, notif_type, refs, strict=True)
        except UspError as exc:
            return exc
    return None


def plan_subscription_set(ctx: AgentContext, obj_path: str, settings: Sequence[Setting]) -> SetPlan | None:
    """Apply the Subscription Set rules, or None when ``obj_path`` matches no Subscription row.

    Args:
        ctx: the agent context.
        obj_path: the UpdateObject path (instance, wildcard or search path).
        settings: the Controller's (name, value, required) settings.

    Returns:
        The SetPlan (settings rejected for any instance are withheld from every instance).
    """
    table = _table(ctx)
    if table is None or not touches_subscriptions(obj_path):
        return None
    try:
        res = ctx.datamodel.resolver.resolve(as_path(obj_path), ResolveOp.SET, ctx.now)
    except UspError:
        return None
    rows = [inst for node, inst in res.entries if node is table]
    if not rows:
        return None
    given = {name: value for name, value, _ in settings}
    failures: dict[str, list[ParamFailure]] = {}
    rejected: set[str] = set()
    required_failed: tuple[str, list[ParamFailure]] | None = None
    for inst in rows:
        base = table.instance_path(inst)
        mine: list[ParamFailure] = []
        required_bad = False
        for name, value, required in settings:
            error = _set_error(ctx, base, name, value, given)
            if error is not None:
                mine.append(ParamFailure(base + name, error))
                rejected.add(name)
                required_bad = required_bad or required
        if mine:
            failures[base] = mine
            if required_bad and required_failed is None:
                required_failed = (base, mine)
    if not failures:
        return None
    kept = [s for s in settings if s[0] not in rejected]
    return SetPlan(kept, failures, required_failed)
