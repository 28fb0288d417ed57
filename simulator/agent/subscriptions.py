"""Device.LocalAgent.Subscription.{i}.: rows, ReferenceList matching per NotifType (usp-protocol.md 5.2).

# Strategy: a ReferenceList entry is parsed once (paths.parse_path is LRU-cached) and compared with the
# concrete path of the change segment by segment. Names and instance numbers must be equal, ``*`` takes
# any instance. Entries that contain a search expression or a reference follow are expanded through the
# shared resolver into concrete instance paths first (so ``[Enable==true]`` sees current values), except
# for ObjectDeletion, whose instance no longer exists: there a search acts as ``*``. Object paths act as
# filters covering everything below them for ValueChange, Event and OperationComplete; for
# ObjectCreation/ObjectDeletion an entry names the table or the instance itself.
# TriggerAction (TR-181 2.16+): ``Config`` applies TriggerConfigSettings instead of notifying,
# ``NotifyAndConfig`` does both (TP-469 1.93/1.94); parse_config_settings reads the ``Path=Value`` list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from simulator.agent.commands.rows import read, table_node
from simulator.datamodel.resolver import ResolveOp
from simulator.datamodel.types import UNKNOWN_TIME, parse_datetime
from simulator.usp.errors import InvalidPathError, InvalidValueError, UspError
from simulator.usp.paths import (
    InstanceNumber,
    Name,
    PathExpr,
    PathKind,
    ReferenceFollow,
    SearchExpr,
    Segment,
    Wildcard,
    parse_path,
)

if TYPE_CHECKING:
    from simulator.agent.context import AgentContext

__all__ = [
    "NOTIF_TYPES",
    "SUBSCRIPTION_TABLE",
    "Subscription",
    "covers",
    "load_subscriptions",
    "parse_config_settings",
    "validate_reference_list",
]

SUBSCRIPTION_TABLE = "Device.LocalAgent.Subscription.{i}."
NOTIF_TYPES = ("ValueChange", "ObjectCreation", "ObjectDeletion", "OperationComplete", "Event")
_LEAF_KIND = {"ValueChange": PathKind.PARAMETER, "OperationComplete": PathKind.COMMAND,
              "Event": PathKind.EVENT}


@dataclass(frozen=True, slots=True)
class Subscription:
    """One Subscription row as the notification code needs it (read-only snapshot).

    Attributes:
        instance: the row's instance number.
        id: ``ID`` (copied into Notify.subscription_id).
        recipient: ``Recipient`` value, e.g. "Device.LocalAgent.Controller.1" (no trailing dot).
        enable: ``Enable``.
        notif_type: ``NotifType``.
        refs: ``ReferenceList`` entries, parsed (unparsable entries are dropped).
        persistent: ``Persistent``.
        time_to_live: ``TimeToLive`` seconds (0 = none).
        created: ``CreationDate`` as epoch seconds, or None when unknown.
        notif_retry: ``NotifRetry``.
        notif_expiration: ``NotifExpiration`` seconds (0 = never).
        trigger_action: ``TriggerAction`` (``Notify`` when the profile lacks it or the value is empty).
        trigger_config: ``TriggerConfigSettings``, parsed into (parameter path, value) pairs.
    """

    instance: int
    id: str
    recipient: str
    enable: bool
    notif_type: str
    refs: tuple[PathExpr, ...]
    persistent: bool = False
    time_to_live: int = 0
    created: float | None = None
    notif_retry: bool = False
    notif_expiration: int = 0
    trigger_action: str = "Notify"
    trigger_config: tuple[tuple[str, str], ...] = ()

    @property
    def path(self) -> str:
        """The row's instance path with trailing dot."""
        return f"Device.LocalAgent.Subscription.{self.instance}."

    @property
    def notifies(self) -> bool:
        """Whether a trigger sends a Notify (TriggerAction Notify or NotifyAndConfig)."""
        return self.trigger_action != "Config"

    @property
    def configures(self) -> bool:
        """Whether a trigger applies TriggerConfigSettings (TriggerAction Config or NotifyAndConfig)."""
        return self.trigger_action in ("Config", "NotifyAndConfig")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def _parse_refs(value: str) -> tuple[PathExpr, ...]:
    out: list[PathExpr] = []
    for item in value.split(","):
        item = item.strip()
        if item:
            try:
                out.append(parse_path(item))
            except UspError:
                continue
    return tuple(out)


def _split_list(text: str) -> list[str]:
    """Split a comma-separated list, keeping commas inside double-quoted values."""
    items: list[str] = []
    buf: list[str] = []
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            items.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    items.append("".join(buf))
    return [i.strip() for i in items if i.strip()]


def parse_config_settings(text: str) -> tuple[tuple[str, str], ...]:
    """Parse TriggerConfigSettings: comma-separated ``Path=Value`` entries (usp-protocol.md 5.1).

    String values are double-quoted (``\\"`` and ``\\\\`` escape inside them), numbers and booleans
    bare. Entries without ``=`` or with an empty path are skipped.

    Args:
        text: the parameter value, e.g. ``Device.LocalAgent.Subscription.2.Enable=false,
            Device.DeviceInfo.ProvisioningCode="a,b"``.

    Returns:
        (parameter path, value) pairs in order.
    """
    out: list[tuple[str, str]] = []
    for item in _split_list(text):
        depth, cut = 0, -1
        for i, ch in enumerate(item):  # the first "=" outside a search expression [..==..]
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            elif ch == "=" and depth == 0:
                cut = i
                break
        path, value = item[:cut].strip(), item[cut + 1:].strip()
        if cut < 0 or not path:
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out.append((path, value))
    return tuple(out)


def load_subscriptions(ctx: AgentContext) -> list[Subscription]:
    """Read every Subscription row (enabled or not) in instance order."""
    table = table_node(ctx, SUBSCRIPTION_TABLE)
    if table is None:
        return []
    out = []
    for number in ctx.store.instances(table, ()):
        base = f"Device.LocalAgent.Subscription.{number}."
        created_text = read(ctx, base + "CreationDate", UNKNOWN_TIME)
        created: float | None = None
        if created_text and created_text != UNKNOWN_TIME:
            try:
                created = parse_datetime(created_text)
            except UspError:
                created = None
        out.append(Subscription(
            instance=number,
            id=read(ctx, base + "ID") or f"cpe-{number}",
            recipient=read(ctx, base + "Recipient").rstrip("."),
            enable=read(ctx, base + "Enable") == "true",
            notif_type=read(ctx, base + "NotifType"),
            refs=_parse_refs(read(ctx, base + "ReferenceList")),
            persistent=read(ctx, base + "Persistent") == "true",
            time_to_live=_int(read(ctx, base + "TimeToLive", "0")),
            created=created,
            notif_retry=read(ctx, base + "NotifRetry") == "true",
            notif_expiration=_int(read(ctx, base + "NotifExpiration", "0")),
            trigger_action=read(ctx, base + "TriggerAction", "Notify") or "Notify",
            trigger_config=parse_config_settings(read(ctx, base + "TriggerConfigSettings")),
        ))
    return out


# -- matching -----------------------------------------------------------------------------------------------
def _seg_match(ref: Segment, seg: Segment, lenient: bool) -> bool:
    if isinstance(ref, Name):
        return isinstance(seg, Name) and ref.text == seg.text
    if isinstance(ref, InstanceNumber):
        return isinstance(seg, InstanceNumber) and ref.number == seg.number
    if isinstance(ref, Wildcard):
        return isinstance(seg, InstanceNumber)
    return lenient and isinstance(ref, SearchExpr) and isinstance(seg, InstanceNumber)


def _match(ref: tuple[Segment, ...], path: tuple[Segment, ...], prefix: bool, lenient: bool) -> bool:
    if len(ref) > len(path) or (not prefix and len(ref) != len(path)):
        return False
    return all(_seg_match(r, s, lenient) for r, s in zip(ref, path, strict=False))


def _expand(ctx: AgentContext, ref: PathExpr) -> list[PathExpr]:
    """Concrete instance-number forms of a search/reference-follow entry, from current values."""
    try:
        res = ctx.datamodel.resolver.resolve(ref, ResolveOp.NOTIFY, ctx.now)
    except (UspError, AttributeError):
        return []
    suffix = {PathKind.PARAMETER: "", PathKind.COMMAND: "()", PathKind.EVENT: "!"}.get(ref.kind, "")
    out = []
    for node, inst in res.entries:
        text = node.instance_path(inst)
        if ref.kind is not PathKind.OBJECT:
            text += (res.leaf or "") + suffix
        try:
            out.append(parse_path(text))
        except UspError:
            continue
    return out


def _needs_expansion(ref: PathExpr) -> bool:
    return any(isinstance(s, SearchExpr | ReferenceFollow) for s in ref.segments)


def covers(ctx: AgentContext | None, notif_type: str, ref: PathExpr, path: str) -> bool:
    """Whether one ReferenceList entry selects the concrete ``path`` for ``notif_type``.

    Args:
        ctx: the agent (for expanding search expressions); None treats searches as ``*``.
        notif_type: the subscription's NotifType.
        ref: the parsed entry.
        path: the concrete path: a parameter (ValueChange), an instance with trailing dot (ObjectCreation,
            ObjectDeletion), a command ``X.Name()`` (OperationComplete) or an event ``X.Name!`` (Event).

    Returns:
        True when a notification for ``path`` is due under this entry.
    """
    try:
        target = parse_path(path)
    except UspError:
        return False
    refs = [ref]
    lenient = ctx is None or notif_type == "ObjectDeletion"
    if _needs_expansion(ref) and not lenient and ctx is not None:
        refs = _expand(ctx, ref)
    tsegs = target.segments
    for r in refs:
        if notif_type in ("ObjectCreation", "ObjectDeletion"):
            if r.kind is PathKind.OBJECT and target.kind is PathKind.OBJECT and (
                    _match(r.segments, tsegs, False, lenient)
                    or _match(r.segments, tsegs[:-1], False, lenient)):
                return True
            continue
        leaf_kind = _LEAF_KIND.get(notif_type)
        if leaf_kind is None or target.kind is not leaf_kind:
            continue
        if r.kind is leaf_kind and _match(r.segments, tsegs, False, lenient):
            return True
        if r.kind is PathKind.OBJECT and _match(r.segments, tsegs[:-1], True, lenient):
            return True
    return False


# -- ReferenceList validation ([obuspa] strict) -------------------------------------------------------
def _supported(segs: tuple[Segment, ...]) -> str | None:
    parts: list[str] = []
    for seg in segs:
        if isinstance(seg, Name):
            parts.append(seg.text)
        elif isinstance(seg, ReferenceFollow):
            return None  # the target type is only known per value
        else:
            parts.append("{i}")
    return ".".join(parts)


def validate_reference_list(ctx: AgentContext, notif_type: str, value: str, *, strict: bool = True) -> None:
    """Check a ReferenceList value for a NotifType the way obuspa does when it is set.

    Args:
        ctx: the agent (for the supported data model).
        notif_type: the row's NotifType.
        value: the comma-separated ReferenceList text.
        strict: obuspa rules: Event entries end in ``!``, OperationComplete entries in ``()`` (``Device.``
                alone is accepted for both).
            False also accepts covering object paths (usp-protocol.md 5.2).

    Raises:
        InvalidValueError: 7012 for a syntax error, a wrong path kind, a non-table creation/deletion
            entry or a duplicate entry.
        InvalidPathError: 7026 for an entry that is not in the supported data model.
    """
    seen: set[str] = set()
    for raw in value.split(","):
        item = raw.strip()
        if not item:
            continue
        if item in seen:
            msg = f"duplicate ReferenceList entry {item}"
            raise InvalidValueError(msg)
        seen.add(item)
        try:
            expr = parse_path(item)
        except UspError as exc:
            msg = f"invalid ReferenceList entry {item}: {exc}"
            raise InvalidValueError(msg) from None
        kinds = {PathKind.OBJECT} if notif_type in ("ObjectCreation", "ObjectDeletion") else {
            PathKind.OBJECT, _LEAF_KIND.get(notif_type, PathKind.OBJECT)}
        if strict and notif_type in ("Event", "OperationComplete"):
            if item == "Device.":
                continue  # [obuspa] the root is the one object path allowed: every command / event
            kinds = {_LEAF_KIND[notif_type]}
        if expr.kind not in kinds:
            want = {"Event": "an event path ending in !", "OperationComplete": "a command path ending in ()",
                    "ValueChange": "a parameter or object path"}.get(notif_type, "a table path")
            msg = f"ReferenceList entry {item} must be {want} for NotifType {notif_type}"
            raise InvalidValueError(msg)
        segs = expr.segments
        obj_segs = segs if expr.kind is PathKind.OBJECT else segs[:-1]
        supported = _supported(obj_segs)
        if supported is None:
            continue
        ends_in_selector = bool(obj_segs) and not isinstance(obj_segs[-1], Name)
        node = ctx.schema.lookup(supported + ".")
        if node is None and not ends_in_selector and expr.kind is PathKind.OBJECT:
            node = ctx.schema.lookup(supported + ".{i}.")
        if node is None:
            msg = f"ReferenceList entry {item} is not in the supported data model"
            raise InvalidPathError(msg, path=item)
        if notif_type in ("ObjectCreation", "ObjectDeletion") and not getattr(node, "is_table", False):
            msg = f"ReferenceList entry {item} is not a multi-instance object"
            raise InvalidValueError(msg)
        if notif_type == "ObjectCreation" and ends_in_selector:
            msg = f"ReferenceList entry {item} must name the table, not an instance"
            raise InvalidValueError(msg)
        if expr.kind is not PathKind.OBJECT:
            leaf = segs[-1]
            assert isinstance(leaf, Name)
            members = {PathKind.PARAMETER: "params", PathKind.COMMAND: "commands", PathKind.EVENT: "events"}
            if leaf.text not in getattr(node, members[expr.kind], {}):
                msg = f"ReferenceList entry {item} is not in the supported data model"
                raise InvalidPathError(msg, path=item)
