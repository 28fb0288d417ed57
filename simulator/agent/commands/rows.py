"""Agent-internal data model edits: rows and values the agent itself owns (Request, DU/EU, Status...).

Controllers go through ``DataModel.set/add/delete`` with access checks and writability rules; the agent
writes read-only parameters (``Status``, ``Request.{i}.``) and creates rows in read-only tables, so these
helpers call the store directly while logging the same ``Change`` entries the facade logs, so
subscriptions see agent-made changes exactly like controller-made ones (usp-protocol.md 13.12).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from simulator.datamodel.schema import Instances, ObjectNode, ParamNode
from simulator.datamodel.store import Change, ChangeKind
from simulator.usp.errors import UspError

if TYPE_CHECKING:
    from simulator.agent.context import AgentContext

__all__ = ["add_row", "delete_row", "instances", "read", "row_values", "table_node", "write"]


def table_node(ctx: AgentContext, supported_path: str) -> ObjectNode | None:
    """The object node at a ``{i}`` supported path (trailing dot), or None when the profile lacks it."""
    node = ctx.schema.lookup(supported_path)
    return node if isinstance(node, ObjectNode) else None


def read(ctx: AgentContext, path: str, default: str = "") -> str:
    """Read an instance-number parameter path; ``default`` when absent from the profile or instance."""
    found = ctx.locate_param(path)
    if found is None:
        return default
    return ctx.store.read(found[0], found[1], ctx.now)


def write(ctx: AgentContext, path: str, value: str) -> bool:
    """Write a parameter (read-only ones included), logging a VALUE change when the value moves.

    Returns:
        False when the parameter does not exist in the profile (callers degrade gracefully).
    """
    found = ctx.locate_param(path)
    if found is None:
        return False
    param, inst = found
    try:
        value = param.type.normalize(value)
    except UspError:
        return False
    old = ctx.store.read(param, inst, ctx.now)
    if old != value or not ctx.store.is_stored(param, inst):
        ctx.store.write(param, inst, value, path if old != value else None)
    return True


def instances(ctx: AgentContext, table: ObjectNode, parent: Instances = ()) -> tuple[int, ...]:
    """Instance numbers of ``table`` under ``parent``."""
    return ctx.store.instances(table, parent)


def row_values(ctx: AgentContext, table: ObjectNode, inst: Instances) -> dict[str, str]:
    """Every readable parameter of one row (secured ones read as "")."""
    read_ = ctx.store.read
    return {p.name: "" if p.secured else read_(p, inst, ctx.now) for p in table.param_list}


def add_row(ctx: AgentContext, table: ObjectNode, parent: Instances, values: Mapping[str, str]) -> Instances:
    """Create a row (obuspa numbering: highest + 1), set ``values`` and log the CREATE change.

    Unknown names in ``values`` are skipped, so profiles without some parameter still work.
    """
    existing = ctx.store.instances(table, parent)
    inst = ctx.store.create(table, parent, (existing[-1] + 1) if existing else 1)
    params = table.params
    for name, value in values.items():
        param = params.get(name)
        if isinstance(param, ParamNode):
            try:
                ctx.store.write(param, inst, param.type.normalize(value))
            except UspError:
                continue
    if "Alias" in params and "Alias" not in values:
        ctx.store.write(params["Alias"], inst, f"cpe-{inst[-1]}")
    keys = {name: ctx.store.read(params[name], inst, ctx.now) for name in table.key_names}
    ctx.store.log(Change(ChangeKind.CREATE, table.instance_path(inst), keys))
    return inst


def delete_row(ctx: AgentContext, table: ObjectNode, inst: Instances) -> bool:
    """Remove a row with its sub-rows and log the DELETE change; False when it did not exist."""
    if inst[-1] not in ctx.store.instances(table, inst[:-1]):
        return False
    ctx.store.remove(table, inst)
    ctx.store.log(Change(ChangeKind.DELETE, table.instance_path(inst), None))
    return True
