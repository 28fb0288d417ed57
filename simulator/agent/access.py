"""ControllerTrust RBAC: per-controller permission checkers built from Device.LocalAgent.ControllerTrust.

# Strategy (usp-protocol.md 9.4, TR-181 ControllerTrust):
#   * A controller's roles are the union of its Controller.{i}.AssignedRole and InheritedRole lists.
#     A configured controller with no (existing) role gets full access, like obuspa's "Full Access"
#     default role; a sender with no Controller row gets ControllerTrust.UntrustedRole. A disabled
#     role grants nothing.
#   * Within one role, the enabled Permission with the highest Order whose Targets cover a node decides
#     all 16 bits for that node (obuspa applies permissions in Order, later ones overwriting earlier).
#     Across roles the bits are OR-ed.
#   * Targets are matched on the supported model: instance numbers in a target restrict it to that
#     instance, while ``*`` and search expressions ``[...]`` are treated as "every instance" (the
#     expression is not evaluated; documented simplification). A target covers its own node and every
#     node below it.
#   * Bits: 4 strings (Param, Obj, InstantiatedObj, CommandEvent) x 4 letters (r, w, x, n) = 16 bits.
#     Results are cached per node id when no target names an instance; the whole checker is cached per
#     controller by the Agent and rebuilt when ControllerTrust or the Controller table changes.
#   * When the union is full access on every node, ``hook`` is None: the data model takes its fast path.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from simulator.datamodel.access import AccessHook, Perm
from simulator.datamodel.schema import CommandNode, EventNode, Instances, ObjectNode, ParamNode

if TYPE_CHECKING:
    from simulator.agent.context import AgentContext

__all__ = ["FULL", "NOTIFY_CATEGORY", "Permissions", "parse_bits", "permissions_for"]

_CATEGORIES = ("Param", "Obj", "InstantiatedObj", "CommandEvent")
_LETTERS = "rwxn"
FULL = (1 << 16) - 1
"""Every bit set: rwxn on all four permission strings."""

_PERM_BIT: dict[Perm, int] = {
    p: 1 << (_CATEGORIES.index(p.value.split(".")[0]) * 4 + _LETTERS.index(p.value.split(".")[1]))
    for p in Perm
}
NOTIFY_CATEGORY: dict[str, int] = {
    "ValueChange": 1 << (0 * 4 + 3),
    "ObjectCreation": 1 << (1 * 4 + 3),
    "ObjectDeletion": 1 << (2 * 4 + 3),
    "Event": 1 << (3 * 4 + 3),
    "OperationComplete": 1 << (3 * 4 + 3),
}
"""Notification type -> the 'n' bit it needs (Param.n, Obj.n, InstantiatedObj.n, CommandEvent.n)."""

_WILD = -1
_SEARCH = re.compile(r"\[[^\]]*\]")
_ROLE = "Device.LocalAgent.ControllerTrust.Role."

Pattern = tuple[str | int, ...]
"""A target split into segments: names, instance numbers, or _WILD."""
Rule = tuple[int, tuple[Pattern, ...], int]
"""(Order, target patterns, 16 permission bits) of one enabled Permission row."""


def parse_bits(param: str, obj: str, inst_obj: str, cmd_event: str) -> int:
    """Pack the four ``rwxn`` strings into 16 bits (a '-' or a missing letter is "not granted")."""
    bits = 0
    for cat, text in enumerate((param, obj, inst_obj, cmd_event)):
        for pos, letter in enumerate(_LETTERS):
            if pos < len(text) and text[pos] == letter:
                bits |= 1 << (cat * 4 + pos)
    return bits


def _pattern(target: str) -> Pattern:
    text = _SEARCH.sub("*", target.strip())
    out: list[str | int] = []
    for seg in text.split("."):
        if not seg:
            continue
        if seg in ("*", "{i}"):
            out.append(_WILD)
        elif seg.isdigit():
            out.append(int(seg))
        else:
            out.append(seg)
    return tuple(out)


def _node_segments(node: Any) -> tuple[str, ...]:
    return tuple(s for s in node.path.split(".") if s)


def _covers(pattern: Pattern, segs: tuple[str, ...], inst: Instances) -> bool:
    if len(pattern) > len(segs):
        return False
    k = 0
    for want, have in zip(pattern, segs, strict=False):
        if have == "{i}":
            if isinstance(want, int):
                if want != _WILD and k < len(inst) and inst[k] != want:
                    return False
            else:
                return False
            k += 1
        elif want != have:
            return False
    return True


class Permissions:
    """The effective permissions of one controller.

    Attributes:
        hook: the data model AccessHook, or None for full access (the fast path).
        roles: the role rule lists this checker was built from (each sorted by descending Order).
    """

    __slots__ = ("_cache", "_segs", "hook", "per_instance", "roles")

    def __init__(self, roles: list[list[Rule]]) -> None:
        self.roles = [sorted(rules, key=lambda r: -r[0]) for rules in roles]
        self.per_instance = any(isinstance(s, int) and s != _WILD
                                for rules in self.roles for _, pats, _ in rules for p in pats for s in p)
        self._cache: dict[int, int] = {}
        self._segs: dict[int, tuple[str, ...]] = {}
        self.hook: AccessHook | None = None if self._is_full() else self.allowed

    def _is_full(self) -> bool:
        if not self.roles:
            return True
        for rules in self.roles:
            full = True
            for _, pats, bits in rules:  # descending Order
                if bits != FULL:
                    full = False
                    break
                if any(p == ("Device",) for p in pats):
                    break
            else:
                full = False
            if full:
                return True
        return False

    def bits(self, node: Any, inst: Instances = ()) -> int:
        """The 16 permission bits for ``node`` (an object, parameter, command or event node)."""
        if not self.per_instance:
            cached = self._cache.get(node.id)
            if cached is not None:
                return cached
        segs = self._segs.get(node.id)
        if segs is None:
            segs = self._segs[node.id] = _node_segments(node)
        total = 0
        for rules in self.roles:
            for _, pats, bits in rules:
                if any(_covers(p, segs, inst) for p in pats):
                    total |= bits
                    break
        if not self.per_instance:
            self._cache[node.id] = total
        return total

    def allowed(self, node: ObjectNode | ParamNode | CommandNode | EventNode, inst: Instances,
                perm: Perm) -> bool:
        """The AccessHook: may this controller do ``perm`` on ``node`` (instance ``inst``)?"""
        return bool(self.bits(node, inst) & _PERM_BIT[perm])

    def may(self, node: Any, inst: Instances, perm: Perm) -> bool:
        """Like ``allowed`` but True at once when the controller has full access."""
        return self.hook is None or self.allowed(node, inst, perm)

    def notify_allowed(self, node: Any, inst: Instances, notif_type: str) -> bool:
        """May this controller receive a ``notif_type`` notification about ``node``?

        Args:
            node: the ParamNode (ValueChange), table ObjectNode (ObjectCreation/ObjectDeletion) or
                CommandNode/EventNode (OperationComplete/Event).
            inst: the instance numbers of the concrete object.
            notif_type: "ValueChange", "ObjectCreation", "ObjectDeletion", "Event" or "OperationComplete".

        Returns:
            True when the matching 'n' bit is granted (always True with full access).
        """
        if self.hook is None:
            return True
        return bool(self.bits(node, inst) & NOTIFY_CATEGORY.get(notif_type, 0))


_FULL_ACCESS = Permissions([])


def _refs(text: str | None) -> list[int]:
    out = []
    for ref in (text or "").split(","):
        ref = ref.strip().rstrip(".")
        if ref.startswith(_ROLE) and ref[len(_ROLE):].isdigit():
            out.append(int(ref[len(_ROLE):]))
    return out


def _role_rules(ctx: AgentContext, number: int) -> list[Rule] | None:
    base = f"{_ROLE}{number}."
    enable = ctx.value(base + "Enable")
    if enable is None:
        return None  # dangling reference
    if enable not in ("true", "1"):
        return []
    table = ctx.schema.lookup(_ROLE + "{i}.Permission.{i}.")
    if not isinstance(table, ObjectNode):
        return []
    rules: list[Rule] = []
    for j in ctx.store.instances(table, (number,)):
        pbase = f"{base}Permission.{j}."
        if ctx.value(pbase + "Enable") not in ("true", "1"):
            continue
        targets = tuple(_pattern(t) for t in (ctx.value(pbase + "Targets") or "").split(",") if t.strip())
        bits = parse_bits(*(ctx.value(pbase + c) or "----" for c in _CATEGORIES))
        order = int(ctx.value(pbase + "Order") or "0")
        rules.append((order, targets, bits))
    return rules


def permissions_for(ctx: AgentContext, endpoint_id: str) -> Permissions:
    """Build the permission checker of one controller from the current data model.

    Args:
        ctx: the agent context (data model reads at ``ctx.now``).
        endpoint_id: the controller's EndpointID.

    Returns:
        The checker; a shared full-access instance when the controller has no role or the data model
        has no ControllerTrust.
    """
    if ctx.schema.lookup(_ROLE + "{i}.") is None:
        return _FULL_ACCESS
    row = ctx.controller_for(endpoint_id)
    if row is None:
        numbers = _refs(ctx.value("Device.LocalAgent.ControllerTrust.UntrustedRole"))
        if not numbers:
            return Permissions([[]])  # unknown and no UntrustedRole: nothing allowed
    else:
        numbers = _refs(ctx.value(row.path + "AssignedRole")) + _refs(ctx.value(row.path + "InheritedRole"))
    roles = [rules for rules in (_role_rules(ctx, n) for n in dict.fromkeys(numbers)) if rules is not None]
    if not roles:
        return _FULL_ACCESS if row is not None else Permissions([[]])
    return Permissions(roles)
