"""Read-only request handlers: Get, GetInstances, GetSupportedDM, GetSupportedProtocol (TR-369 6.1, 11).

Path problems are always reported per requested path (``err_code`` inside that path's result), never
as an ErrorMessage (usp-protocol.md 3.2, TP-469 1.42/1.77).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.datamodel.access import Perm
from simulator.datamodel.resolver import ResolveOp
from simulator.datamodel.schema import ObjAccess, ParamAccess
from simulator.usp.errors import ErrorCode, UspError
from simulator.usp.messages import PlainRequestedPathResult
from simulator.usp.requests import Get, GetInstances, GetSupportedDM, GetSupportedProtocol
from simulator.usp.responses import (
    CmdType,
    CurrInstance,
    GetInstancesResp,
    GetResp,
    GetSupportedDMResp,
    GetSupportedProtocolResp,
    ObjAccessType,
    ParamAccessType,
    ParamValueType,
    RequestedInstancesResult,
    RequestedObjectResult,
    RequestedPathResult,
    ResolvedPathResult,
    SupportedCommandResult,
    SupportedEventResult,
    SupportedObjectResult,
    SupportedParamResult,
    SupportedUniqueKeySet,
    ValueChangeType,
)

if TYPE_CHECKING:
    from simulator.agent.access import Permissions
    from simulator.agent.context import AgentContext
    from simulator.datamodel.model import SupportedObject
    from simulator.datamodel.schema import ParamNode

__all__ = [
    "handle_get",
    "handle_get_instances",
    "handle_get_plain",
    "handle_get_supported_dm",
    "handle_get_supported_protocol",
]

_VALUE_TYPE = {
    "string": ParamValueType.PARAM_STRING, "boolean": ParamValueType.PARAM_BOOLEAN,
    "int": ParamValueType.PARAM_INT, "unsignedInt": ParamValueType.PARAM_UNSIGNED_INT,
    "long": ParamValueType.PARAM_LONG, "unsignedLong": ParamValueType.PARAM_UNSIGNED_LONG,
    "dateTime": ParamValueType.PARAM_DATE_TIME, "base64": ParamValueType.PARAM_BASE_64,
    "hexBinary": ParamValueType.PARAM_HEX_BINARY, "decimal": ParamValueType.PARAM_DECIMAL,
}
_PARAM_ACCESS = {
    ParamAccess.READ_ONLY: ParamAccessType.PARAM_READ_ONLY,
    ParamAccess.READ_WRITE: ParamAccessType.PARAM_READ_WRITE,
    ParamAccess.WRITE_ONLY: ParamAccessType.PARAM_WRITE_ONLY,
    ParamAccess.WRITE_ONCE_READ_ONLY: ParamAccessType.PARAM_READ_WRITE,  # 11.1: reported as READ_WRITE
}
_NARROW = {(True, True): ObjAccess.ADD_DELETE, (True, False): ObjAccess.ADD_ONLY,
           (False, True): ObjAccess.DELETE_ONLY, (False, False): ObjAccess.READ_ONLY}


def _too_deep(ctx: AgentContext, path: str) -> UspError | None:
    """Paths longer than the value limit are refused as invalid (7026) instead of being parsed."""
    if len(path) > ctx.config.max_value_chars:
        return UspError("Path too long", code=ErrorCode.INVALID_PATH)
    return None


def _check_hidden(ctx: AgentContext, path: str, depth: int) -> None:
    """R-GET.1: a non-search path whose data exists but is unreadable is reported as absent (7026)."""
    dm = ctx.datamodel
    if not dm.resolve(path, ResolveOp.GET, ctx.now).search and dm.get(path, depth, now=ctx.now):
        msg = "Path is not present in the data model"
        raise UspError(msg, code=ErrorCode.INVALID_PATH, path=path)


def handle_get(ctx: AgentContext, req: Get, perms: Permissions) -> GetResp:
    """Answer a Get: one RequestedPathResult per ``param_paths`` entry, in order (usp-protocol.md 4.5).

    Args:
        ctx: the agent context.
        req: the Get request.
        perms: the requesting controller's permissions (unreadable data is left out / treated as absent).

    Returns:
        The GetResp.
    """
    get = ctx.datamodel.get
    hook = perms.hook
    now = ctx.now
    depth = req.max_depth
    results = []
    for path in req.param_paths:
        try:
            bad = _too_deep(ctx, path)
            if bad is not None:
                raise bad
            found = get(path, depth, now=now, access=hook)
            if not found and hook is not None:
                _check_hidden(ctx, path, depth)
        except UspError as exc:
            results.append(RequestedPathResult(path, exc.code, exc.message))
            continue
        results.append(RequestedPathResult(path, 0, "", tuple(
            [ResolvedPathResult(obj_path, params) for obj_path, params in found])))
    return GetResp(tuple(results))


def handle_get_plain(ctx: AgentContext, req: Get,
                     perms: Permissions) -> list[RequestedPathResult | PlainRequestedPathResult]:
    """``handle_get`` for the one-pass encoder: successes as plain ``(path, [(obj_path, params)])`` tuples.

    Same results as ``handle_get`` (errors stay RequestedPathResult, the only carrier of err_code), without
    building a dataclass per resolved object; ``usp.messages.get_resp_record`` serialises either form.
    """
    get = ctx.datamodel.get
    hook = perms.hook
    now = ctx.now
    depth = req.max_depth
    limit = ctx.config.max_value_chars
    results: list[RequestedPathResult | PlainRequestedPathResult] = []
    for path in req.param_paths:
        try:
            if len(path) > limit:
                msg = "Path too long"
                raise UspError(msg, code=ErrorCode.INVALID_PATH)
            found = get(path, depth, now=now, access=hook)
            if not found and hook is not None:
                _check_hidden(ctx, path, depth)
        except UspError as exc:
            results.append(RequestedPathResult(path, exc.code, exc.message))
            continue
        results.append((path, found))
    return results


def handle_get_instances(ctx: AgentContext, req: GetInstances, perms: Permissions) -> GetInstancesResp:
    """Answer a GetInstances (usp-protocol.md 11.2): instance paths with their unique keys, per path.

    Args:
        ctx: the agent context.
        req: the request.
        perms: the controller's permissions (unreadable instances are absent, R-GIN.0).

    Returns:
        The GetInstancesResp.
    """
    results = []
    for path in req.obj_paths:
        try:
            bad = _too_deep(ctx, path)
            if bad is not None:
                raise bad
            found = ctx.datamodel.instances(path, req.first_level_only, now=ctx.now, access=perms.hook)
        except UspError as exc:
            results.append(RequestedInstancesResult(path, exc.code, exc.message))
            continue
        results.append(RequestedInstancesResult(path, 0, "", tuple(
            [CurrInstance(p, keys) for p, keys in found])))
    return GetInstancesResp(tuple(results))


def _param_result(param: ParamNode, perms: Permissions) -> SupportedParamResult:
    access = _PARAM_ACCESS[param.access]
    if access is not ParamAccessType.PARAM_READ_ONLY and not perms.may(param, (), Perm.PARAM_WRITE):
        access = ParamAccessType.PARAM_READ_ONLY
    return SupportedParamResult(
        param.name, access, _VALUE_TYPE.get(param.type.base, ParamValueType.PARAM_UNKNOWN),
        ValueChangeType.VALUE_CHANGE_WILL_IGNORE if param.value_change_ignore
        else ValueChangeType.VALUE_CHANGE_ALLOWED)


def _supported(obj: SupportedObject, perms: Permissions) -> SupportedObjectResult:
    node = obj.node
    access = node.access if node.is_table else ObjAccess.READ_ONLY
    if access is not ObjAccess.READ_ONLY and perms.hook is not None:  # Role restrictions narrow it
        can_add = access in (ObjAccess.ADD_DELETE, ObjAccess.ADD_ONLY) and perms.may(node, (), Perm.OBJ_ADD)
        can_delete = access in (ObjAccess.ADD_DELETE, ObjAccess.DELETE_ONLY) and perms.may(
            node, (), Perm.INST_DELETE)
        access = _NARROW[can_add, can_delete]
    return SupportedObjectResult(
        obj.path, ObjAccessType(int(access)), node.is_table,
        tuple([SupportedCommandResult(
            f"{c.name}()", tuple(c.input), tuple(c.output),
            CmdType.CMD_ASYNC if c.is_async else CmdType.CMD_SYNC) for c in obj.commands]),
        tuple([SupportedEventResult(f"{e.name}!", tuple(e.args)) for e in obj.events]),
        tuple([_param_result(p, perms) for p in obj.params]),
        (),
        tuple([SupportedUniqueKeySet(tuple(k)) for k in obj.unique_key_sets]),
    )


def handle_get_supported_dm(ctx: AgentContext, req: GetSupportedDM, perms: Permissions) -> GetSupportedDMResp:
    """Answer a GetSupportedDM (usp-protocol.md 11.1); unknown paths get 7026 inside their result.

    Args:
        ctx: the agent context.
        req: the request.
        perms: the controller's permissions (elements it cannot read are hidden, R-GSP.0).

    Returns:
        The GetSupportedDMResp.
    """
    uri = ctx.config.data_model_inst_uri or ctx.schema.uri
    results = []
    for path in req.obj_paths:
        try:
            bad = _too_deep(ctx, path)
            if bad is not None:
                raise bad
            objs = ctx.datamodel.supported(
                path, req.first_level_only, params=req.return_params, commands=req.return_commands,
                events=req.return_events, unique_keys=req.return_unique_key_sets, access=perms.hook)
        except UspError as exc:
            results.append(RequestedObjectResult(path, exc.code, exc.message))
            continue
        results.append(RequestedObjectResult(path, 0, "", uri, tuple([_supported(o, perms) for o in objs])))
    return GetSupportedDMResp(tuple(results))


def handle_get_supported_protocol(ctx: AgentContext, req: GetSupportedProtocol) -> GetSupportedProtocolResp:
    """Answer GetSupportedProtocol with our own version list, whatever the controller sent (2.6).

    Args:
        ctx: the agent context.
        req: the request (its controller_supported_protocol_versions is not used).

    Returns:
        The GetSupportedProtocolResp.
    """
    del req
    return GetSupportedProtocolResp(ctx.config.supported_versions)
