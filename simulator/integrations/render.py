"""Readable text and JSON-ready data for decoded USP responses and notifications (CLI output)."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from simulator.usp.messages import Msg
from simulator.usp.requests import (
    Event,
    Notify,
    ObjectCreation,
    ObjectDeletion,
    OperationComplete,
    ValueChange,
)
from simulator.usp.responses import (
    AddOperationSuccess,
    AddResp,
    DeleteOperationSuccess,
    DeleteResp,
    ErrorMessage,
    GetInstancesResp,
    GetResp,
    GetSupportedDMResp,
    GetSupportedProtocolResp,
    OperateResp,
    OperationFailure,
    SetOperationSuccess,
    SetResp,
)

__all__ = ["body_text", "to_data"]


def to_data(value: Any) -> Any:
    """Dataclasses, enums and tuples -> plain JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"type": type(value).__name__} if not isinstance(value, Msg) else {}
        for f in dataclasses.fields(value):
            out[f.name] = to_data(getattr(value, f.name))
        return out
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, tuple | list):
        return [to_data(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value


def _failure(status: Any) -> str:
    return f"FAILED {status.err_code} {status.err_msg}".rstrip()


def body_text(body: Any) -> str:
    """A readable multi-line rendering of one response body or Notify."""
    lines: list[str] = []
    if isinstance(body, ErrorMessage):
        lines.append(f"Error {body.err_code}: {body.err_msg}")
        lines += [f"  {e.param_path}: {e.err_code} {e.err_msg}" for e in body.param_errs]
    elif isinstance(body, GetResp):
        for rp in body.req_path_results:
            if rp.err_code:
                lines.append(f"{rp.requested_path}: error {rp.err_code} {rp.err_msg}")
            for res in rp.resolved_path_results:
                lines += [f"{res.resolved_path}{name} = {value}" for name, value in res.result_params.items()]
    elif isinstance(body, SetResp):
        for r in body.updated_obj_results:
            st = r.oper_status
            if isinstance(st, SetOperationSuccess):
                for inst in st.updated_inst_results:
                    lines += [f"{inst.affected_path}{k} = {v}" for k, v in inst.updated_params.items()]
                    lines += [
                        f"{inst.affected_path}{e.param}: error {e.err_code} {e.err_msg}"
                        for e in inst.param_errs
                    ]
            else:
                lines.append(f"{r.requested_path}: {_failure(st)}")
    elif isinstance(body, AddResp):
        for ar in body.created_obj_results:
            ast = ar.oper_status
            if isinstance(ast, AddOperationSuccess):
                keys = ", ".join(f"{k}={v}" for k, v in ast.unique_keys.items())
                lines.append(f"created {ast.instantiated_path}" + (f" ({keys})" if keys else ""))
            else:
                lines.append(f"{ar.requested_path}: {_failure(ast)}")
    elif isinstance(body, DeleteResp):
        for dr in body.deleted_obj_results:
            dst = dr.oper_status
            if isinstance(dst, DeleteOperationSuccess):
                lines += [f"deleted {p}" for p in dst.affected_paths] or [
                    f"{dr.requested_path}: nothing deleted"
                ]
            else:
                lines.append(f"{dr.requested_path}: {_failure(dst)}")
    elif isinstance(body, OperateResp):
        for opr in body.operation_results:
            resp = opr.operation_resp
            if isinstance(resp, str):
                lines.append(f"{opr.executed_command}: started, request {resp}")
            elif resp is None:
                lines.append(f"{opr.executed_command}: done")
            elif isinstance(resp, OperationFailure) or hasattr(resp, "err_code"):
                lines.append(f"{opr.executed_command}: {_failure(resp)}")
            else:
                args = getattr(resp, "output_args", {})
                lines.append(
                    f"{opr.executed_command}: done" + "".join(f"\n  {k} = {v}" for k, v in args.items())
                )
    elif isinstance(body, GetSupportedDMResp):
        for gr in body.req_obj_results:
            if gr.err_code:
                lines.append(f"{gr.req_obj_path}: error {gr.err_code} {gr.err_msg}")
            for obj in gr.supported_objs:
                lines.append(f"{obj.supported_obj_path} ({_obj_name(obj.access)})")
                lines += [f"  {p.param_name}" for p in obj.supported_params]
                lines += [f"  {c.command_name}" for c in obj.supported_commands]
                lines += [f"  {e.event_name}" for e in obj.supported_events]
    elif isinstance(body, GetInstancesResp):
        for ir in body.req_path_results:
            if ir.err_code:
                lines.append(f"{ir.requested_path}: error {ir.err_code} {ir.err_msg}")
            for cur in ir.curr_insts:
                keys = ", ".join(f"{k}={v}" for k, v in cur.unique_keys.items())
                lines.append(cur.instantiated_obj_path + (f" ({keys})" if keys else ""))
    elif isinstance(body, GetSupportedProtocolResp):
        lines.append(f"agent supports USP {body.agent_supported_protocol_versions}")
    elif isinstance(body, Notify):
        lines.append(_notification_text(body))
    else:
        lines.append(repr(body))
    return "\n".join(lines)


def _obj_name(access: Any) -> str:
    """Short text of an ObjAccessType."""
    return access.name.removeprefix("OBJ_").lower() if isinstance(access, enum.Enum) else str(access)


def _notification_text(notify: Notify) -> str:
    n = notify.notification
    head = f"Notify (subscription {notify.subscription_id!r}, send_resp={notify.send_resp}): "
    if isinstance(n, ValueChange):
        return head + f"ValueChange {n.param_path} = {n.param_value}"
    if isinstance(n, Event):
        args = ", ".join(f"{k}={v}" for k, v in n.params.items())
        return head + f"Event {n.obj_path}{n.event_name} {args}"
    if isinstance(n, ObjectCreation):
        return head + f"ObjectCreation {n.obj_path}"
    if isinstance(n, ObjectDeletion):
        return head + f"ObjectDeletion {n.obj_path}"
    if isinstance(n, OperationComplete):
        return head + f"OperationComplete {n.obj_path}{n.command_name} key={n.command_key!r}"
    return head + repr(n)
