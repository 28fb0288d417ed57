"""Mutating request handlers: Set, Add and Delete with allow_partial / required rules (TR-369 3.3, 3.4).

# Strategy: the data model facade applies one UpdateObject / CreateObject / obj_path as a unit (its own
# savepoint) and raises ObjectFailedError (7021, with param_errs) or a path UspError. These handlers add
# the message-level rules on top:
#   * allow_partial=false: the whole message runs in one transaction; the first failure rolls back
#     everything and becomes an ErrorMessage in obuspa's shape (outer 7004, or 7006 when every cause is a
#     permission denial; ``param_errs`` with full paths; Add parameter paths in ``{i}`` form).
#   * allow_partial=true: each entry stands alone; failures become ``oper_failure``.
#   * A parameter whose write permission is denied fails its object (7006), as TP-469 2.16/2.26 expect,
#     even when it was not marked required.
#   * Add runs in the data model's Controller mode: a readOnly parameter in param_settings fails with 7013
#     (object failure when required); only the agent's own auto-filled values (Subscription Recipient,
#     CreationDate, default ID) may initialise readOnly parameters (``agent_settings``).
#   * Values longer than ``AgentConfig.max_value_chars`` fail their parameter with 7012 before the data
#     model sees them (required -> the object fails).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.agent.subscription_writes import (
    plan_subscription_add,
    plan_subscription_set,
    touches_subscriptions,
)
from simulator.datamodel.editing import ObjectFailedError, ParamFailure
from simulator.usp.errors import ErrorCode, InvalidValueError, UspError
from simulator.usp.requests import Add, Delete, Set
from simulator.usp.responses import (
    AddOperationSuccess,
    AddResp,
    CreatedObjectResult,
    DeletedObjectResult,
    DeleteOperationSuccess,
    DeleteResp,
    ErrorMessage,
    OperationFailure,
    ParamErr,
    ParameterErr,
    SetOperationFailure,
    SetOperationSuccess,
    SetResp,
    UnaffectedPathErr,
    UpdatedInstanceFailure,
    UpdatedInstanceResult,
    UpdatedObjectResult,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from simulator.agent.access import Permissions
    from simulator.agent.context import AgentContext

__all__ = ["MessageFailure", "handle_add", "handle_delete", "handle_set"]

_DENIED = int(ErrorCode.PERMISSION_DENIED)


class MessageFailure(UspError):
    """An allow_partial=false failure: the agent answers ``self.error`` (an ErrorMessage)."""

    def __init__(self, error: ErrorMessage) -> None:
        super().__init__(error.err_msg, code=error.err_code)
        self.error = error


def _outer_code(codes: Sequence[int]) -> int:
    """obuspa's outer Error code: 7006 when only permissions failed, 7003 for internal faults, else 7004."""
    if codes and all(c == _DENIED for c in codes):
        return _DENIED
    if int(ErrorCode.INTERNAL_ERROR) in codes:
        return int(ErrorCode.INTERNAL_ERROR)
    return int(ErrorCode.INVALID_ARGUMENTS)


def _error(msg: str, errs: list[ParamErr]) -> MessageFailure:
    return MessageFailure(ErrorMessage(_outer_code([e.err_code for e in errs]), msg, tuple(errs)))


def _relative(full: str, base: str) -> str:
    return full[len(base):] if full.startswith(base) else full


def _limit(ctx: AgentContext, base: str, settings: Sequence[tuple[str, str, bool]]) -> tuple[
        list[tuple[str, str, bool]], list[ParamFailure], bool]:
    """Split settings into accepted ones and over-long ones (7012); True when a required one is too long."""
    limit = ctx.config.max_value_chars
    ok = []
    bad: list[ParamFailure] = []
    required_bad = False
    for name, value, required in settings:
        if len(value) > limit:
            bad.append(ParamFailure(base + name, InvalidValueError(f"value longer than {limit} characters")))
            required_bad = required_bad or required
        else:
            ok.append((name, value, required))
    return ok, bad, required_bad


def _deny_check(failures: list[ParamFailure], path: str) -> None:
    """Escalate permission-denied parameters to an object failure (TP-469 2.16, 2.26)."""
    denied = [f for f in failures if f.error.code == _DENIED]
    if denied:
        msg = f"{path}: permission denied"
        raise ObjectFailedError(msg, denied, path=path)


# -- Set -------------------------------------------------------------------------------------------------
def _set_one(ctx: AgentContext, obj_path: str, settings: list[tuple[str, str, bool]],
             perms: Permissions) -> UpdatedObjectResult:
    dm = ctx.datamodel
    ok, too_long, required_bad = _limit(ctx, obj_path, settings)
    if required_bad:
        msg = f"{obj_path}: required value too long"
        raise ObjectFailedError(msg, too_long, path=obj_path)
    rejected: dict[str, list[ParamFailure]] = {}
    if touches_subscriptions(obj_path):
        plan = plan_subscription_set(ctx, obj_path, ok)
        if plan is not None:
            if plan.required_failed is not None:
                base, errs = plan.required_failed
                msg = f"{base}: required parameter failed: {errs[0].error.message}"
                raise ObjectFailedError(msg, errs, path=base)
            ok, rejected = plan.settings, plan.failures
    with dm.transaction():
        results = dm.set(obj_path, ok, now=ctx.now, access=perms.hook)
        for r in results:
            _deny_check(r.param_errs, r.path)
    out = []
    for r in results:
        errs = [*rejected.get(r.path, ()), *r.param_errs,
                *(ParamFailure(r.path + _relative(f.path, obj_path), f.error) for f in too_long)]
        param_errs = [ParameterErr(_relative(f.path, r.path), f.error.code, f.error.message) for f in errs]
        out.append(UpdatedInstanceResult(r.path, tuple(param_errs), r.updated))
    return UpdatedObjectResult(obj_path, SetOperationSuccess(tuple(out)))


def _set_failure(obj_path: str, exc: UspError) -> UpdatedObjectResult:
    if isinstance(exc, ObjectFailedError):
        base = exc.path or obj_path
        errs = tuple([ParameterErr(_relative(f.path, base), f.error.code, f.error.message)
                      for f in exc.param_errs])
        code = _DENIED if errs and all(e.err_code == _DENIED for e in errs) \
            else int(ErrorCode.REQUIRED_PARAM_FAILED)
        return UpdatedObjectResult(obj_path, SetOperationFailure(
            code, exc.message, (UpdatedInstanceFailure(base, errs),)))
    return UpdatedObjectResult(obj_path, SetOperationFailure(exc.code, exc.message))


def handle_set(ctx: AgentContext, req: Set, perms: Permissions) -> SetResp:
    """Apply a Set (R-SET.0-2b): per-object results with allow_partial=true, all-or-nothing otherwise.

    Args:
        ctx: the agent context.
        req: the Set request.
        perms: the controller's permissions.

    Returns:
        The SetResp.

    Raises:
        MessageFailure: allow_partial=false and an object failed (nothing was changed).
    """
    items = [(u.obj_path, [(s.param, s.value, s.required) for s in u.param_settings])
             for u in req.update_objs]
    if req.allow_partial:
        results = []
        for obj_path, settings in items:
            try:
                results.append(_set_one(ctx, obj_path, settings, perms))
            except UspError as exc:
                results.append(_set_failure(obj_path, exc))
        return SetResp(tuple(results))
    done = []
    try:
        with ctx.datamodel.transaction():
            for obj_path, settings in items:
                done.append(_set_one(ctx, obj_path, settings, perms))
    except ObjectFailedError as exc:
        raise _error(exc.message, [ParamErr(f.path, f.error.code, f.error.message)
                                   for f in exc.param_errs]) from None
    except UspError as exc:
        path = exc.path or items[len(done)][0]
        raise _error(exc.message, [ParamErr(path, exc.code, exc.message)]) from None
    return SetResp(tuple(done))


# -- Add -------------------------------------------------------------------------------------------------
def _table_form(inst_base: str) -> str:
    """``Device.X.3.`` -> ``Device.X.{i}.`` (obuspa's param_path form for Add failures)."""
    head, _, _ = inst_base[:-1].rpartition(".")
    return f"{head}.{{i}}."


def _add_one(ctx: AgentContext, obj_path: str, settings: list[tuple[str, str, bool]],
             perms: Permissions) -> list[CreatedObjectResult]:
    dm = ctx.datamodel
    ok, too_long, required_bad = _limit(ctx, "", settings)
    auto: list[tuple[str, str, bool]] = []
    if touches_subscriptions(obj_path):
        plan = plan_subscription_add(ctx, obj_path, ok)
        if plan is not None:
            ok, auto = plan.settings, plan.auto
            too_long += plan.failures
            required_bad = required_bad or plan.required_failed
    if required_bad:
        msg = f"{obj_path}: required parameter failed: {too_long[0].error.message}"
        raise ObjectFailedError(msg, [
            ParamFailure(obj_path + "{i}." + f.path, f.error) for f in too_long], path=None)
    with dm.transaction():
        results = dm.add(obj_path, ok, now=ctx.now, access=perms.hook, controller=True, agent_settings=auto)
        for r in results:
            _deny_check(r.param_errs, r.path)
    out = []
    for r in results:
        errs = [ParameterErr(_relative(f.path, r.path), f.error.code, f.error.message) for f in r.param_errs]
        errs += [ParameterErr(f.path, f.error.code, f.error.message) for f in too_long]
        out.append(CreatedObjectResult(obj_path, AddOperationSuccess(r.path, tuple(errs), r.unique_keys)))
    return out


def _add_error_paths(exc: ObjectFailedError) -> list[ParamErr]:
    base = exc.path
    out = []
    for f in exc.param_errs:
        path = f.path
        if base and path.startswith(base):
            path = _table_form(base) + path[len(base):]
        out.append(ParamErr(path, f.error.code, f.error.message))
    return out


def handle_add(ctx: AgentContext, req: Add, perms: Permissions) -> AddResp:
    """Apply an Add (R-ADD.0-5): one CreatedObjectResult per created instance (or failed entry).

    Args:
        ctx: the agent context.
        req: the Add request.
        perms: the controller's permissions.

    Returns:
        The AddResp (``unique_keys`` include agent-assigned keys such as ``Alias``).

    Raises:
        MessageFailure: allow_partial=false and an object failed (nothing was created).
    """
    items = [(c.obj_path, [(s.param, s.value, s.required) for s in c.param_settings])
             for c in req.create_objs]
    if req.allow_partial:
        results: list[CreatedObjectResult] = []
        for obj_path, settings in items:
            try:
                results += _add_one(ctx, obj_path, settings, perms)
            except ObjectFailedError as exc:
                codes = [f.error.code for f in exc.param_errs]
                code = _DENIED if codes and all(c == _DENIED for c in codes) else (
                    codes[0] if codes else exc.code)
                results.append(CreatedObjectResult(obj_path, OperationFailure(code, exc.message)))
            except UspError as exc:
                results.append(CreatedObjectResult(obj_path, OperationFailure(exc.code, exc.message)))
        return AddResp(tuple(results))
    done: list[CreatedObjectResult] = []
    index = 0
    try:
        with ctx.datamodel.transaction():
            for index, (obj_path, settings) in enumerate(items):  # noqa: B007 (index read after a failure)
                done += _add_one(ctx, obj_path, settings, perms)
    except ObjectFailedError as exc:
        raise _error(exc.message, _add_error_paths(exc)) from None
    except UspError as exc:
        raise _error(exc.message, [ParamErr(items[index][0], exc.code, exc.message)]) from None
    return AddResp(tuple(done))


# -- Delete ----------------------------------------------------------------------------------------------
def handle_delete(ctx: AgentContext, req: Delete, perms: Permissions) -> DeleteResp:
    """Apply a Delete (R-DEL.0-2a; a missing instance is success with no affected paths, 3.4).

    Args:
        ctx: the agent context.
        req: the Delete request.
        perms: the controller's permissions.

    Returns:
        The DeleteResp.

    Raises:
        MessageFailure: allow_partial=false and a path was invalid, not deletable or not permitted.
    """
    dm = ctx.datamodel
    results = []
    if req.allow_partial:
        for path in req.obj_paths:
            try:
                res = dm.delete(path, now=ctx.now, access=perms.hook)
            except UspError as exc:
                results.append(DeletedObjectResult(path, OperationFailure(exc.code, exc.message)))
                continue
            unaffected = [UnaffectedPathErr(p, e.code, e.message) for p, e in res.unaffected]
            results.append(DeletedObjectResult(path, DeleteOperationSuccess(
                tuple(res.affected), tuple(unaffected))))
        return DeleteResp(tuple(results))
    path = ""
    try:
        with dm.transaction():
            for path in req.obj_paths:
                res = dm.delete(path, now=ctx.now, access=perms.hook)
                if res.unaffected:
                    errs = [ParamErr(p, e.code, e.message) for p, e in res.unaffected]
                    raise _error(res.unaffected[0][1].message, errs)
                results.append(DeletedObjectResult(path, DeleteOperationSuccess(tuple(res.affected))))
    except MessageFailure:
        raise
    except UspError as exc:
        raise _error(exc.message, [ParamErr(path, exc.code, exc.message)]) from None
    return DeleteResp(tuple(results))
