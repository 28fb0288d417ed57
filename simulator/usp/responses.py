"""Typed USP response bodies (GetResp ... DeregisterResp, ErrorMessage) and their protobuf mapping (TR-369 2).

# Strategy: same mapping rules as requests.py (same field names, tuples, dicts, a oneof is one union
# field). Nested protobuf types get flat names; where two nested types share a shape they share a
# class (OperationFailure, ParameterErr). Protobuf names ending in "Error" end in "Err" here, because
# in this code base only exceptions end in "Error" (architecture B6): Error -> ErrorMessage,
# Error.ParamError -> ParamErr, AddResp/SetResp.ParameterError -> ParameterErr,
# DeleteResp.UnaffectedPathError -> UnaffectedPathErr. GetSupportedDMResp and GetInstancesResp live in
# discovery.py and are re-exported here, where their many callers import them from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.usp.discovery import (
    CmdType,
    CurrInstance,
    GetInstancesResp,
    GetSupportedDMResp,
    ObjAccessType,
    ParamAccessType,
    ParamValueType,
    RequestedInstancesResult,
    RequestedObjectResult,
    SupportedCommandResult,
    SupportedEventResult,
    SupportedObjectResult,
    SupportedParamResult,
    SupportedUniqueKeySet,
    ValueChangeType,
)
from simulator.usp.requests import CommandFailure, OutputArgs, map_dict

__all__ = [
    "AddOperationSuccess",
    "AddResp",
    "CmdType",
    "CreatedObjectResult",
    "CurrInstance",
    "DeleteOperationSuccess",
    "DeleteResp",
    "DeletedObjectResult",
    "DeregisterOperationSuccess",
    "DeregisterResp",
    "DeregisteredPathResult",
    "ErrorMessage",
    "GetInstancesResp",
    "GetResp",
    "GetSupportedDMResp",
    "GetSupportedProtocolResp",
    "NotifyResp",
    "ObjAccessType",
    "OperateResp",
    "OperationFailure",
    "OperationResult",
    "ParamAccessType",
    "ParamErr",
    "ParamValueType",
    "ParameterErr",
    "RegisterOperationSuccess",
    "RegisterResp",
    "RegisteredPathResult",
    "RequestedInstancesResult",
    "RequestedObjectResult",
    "RequestedPathResult",
    "ResolvedPathResult",
    "SetOperationFailure",
    "SetOperationSuccess",
    "SetResp",
    "SupportedCommandResult",
    "SupportedEventResult",
    "SupportedObjectResult",
    "SupportedParamResult",
    "SupportedUniqueKeySet",
    "UnaffectedPathErr",
    "UpdatedInstanceFailure",
    "UpdatedInstanceResult",
    "UpdatedObjectResult",
    "ValueChangeType",
]


# --- Error ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParamErr:
    """Error.ParamError: one failing parameter or object of a whole-message failure."""

    param_path: str
    err_code: int
    err_msg: str = ""


@dataclass(frozen=True, slots=True)
class ErrorMessage:
    """The USP Error message (msg_type ERROR): a whole-message failure."""

    err_code: int
    err_msg: str = ""
    param_errs: tuple[ParamErr, ...] = ()

    def _fill(self, pb: Any) -> None:
        pb.err_code = self.err_code
        pb.err_msg = self.err_msg
        add = pb.param_errs.add
        for e in self.param_errs:
            add(param_path=e.param_path, err_code=e.err_code, err_msg=e.err_msg)

    @classmethod
    def _from_pb(cls, pb: Any) -> ErrorMessage:
        return cls(pb.err_code, pb.err_msg, tuple([
            ParamErr(e.param_path, e.err_code, e.err_msg) for e in pb.param_errs
        ]))


# --- GetResp -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolvedPathResult:
    """GetResp.ResolvedPathResult: an object/instance path (trailing dot) and its relative params."""

    resolved_path: str
    result_params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RequestedPathResult:
    """GetResp.RequestedPathResult: one per Get.param_paths entry; err_code 0 means OK."""

    requested_path: str
    err_code: int = 0
    err_msg: str = ""
    resolved_path_results: tuple[ResolvedPathResult, ...] = ()


@dataclass(frozen=True, slots=True)
class GetResp:
    """GetResp."""

    req_path_results: tuple[RequestedPathResult, ...]

    def _fill(self, pb: Any) -> None:
        add = pb.req_path_results.add
        for r in self.req_path_results:
            q = add(requested_path=r.requested_path)
            if r.err_code:
                q.err_code = r.err_code
            if r.err_msg:
                q.err_msg = r.err_msg
            radd = q.resolved_path_results.add
            for rp in r.resolved_path_results:
                mp = radd(resolved_path=rp.resolved_path).result_params
                for k, v in rp.result_params.items():  # item stores beat upb's map.update()
                    mp[k] = v

    @classmethod
    def _from_pb(cls, pb: Any) -> GetResp:
        return cls(tuple([
            RequestedPathResult(q.requested_path, q.err_code, q.err_msg, tuple([
                ResolvedPathResult(rp.resolved_path, map_dict(rp.result_params))
                for rp in q.resolved_path_results
            ]))
            for q in pb.req_path_results
        ]))


# --- GetSupportedProtocolResp / NotifyResp ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetSupportedProtocolResp:
    """GetSupportedProtocolResp: the Agent's comma-separated version list."""

    agent_supported_protocol_versions: str

    def _fill(self, pb: Any) -> None:
        pb.agent_supported_protocol_versions = self.agent_supported_protocol_versions

    @classmethod
    def _from_pb(cls, pb: Any) -> GetSupportedProtocolResp:
        return cls(pb.agent_supported_protocol_versions)


@dataclass(frozen=True, slots=True)
class NotifyResp:
    """NotifyResp (the Agent matches on msg_id and ignores subscription_id, R-NOT.9)."""

    subscription_id: str

    def _fill(self, pb: Any) -> None:
        pb.subscription_id = self.subscription_id

    @classmethod
    def _from_pb(cls, pb: Any) -> NotifyResp:
        return cls(pb.subscription_id)


# --- Add / Delete / Set --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OperationFailure:
    """OperationStatus.OperationFailure of AddResp, DeleteResp, RegisterResp and DeregisterResp."""

    err_code: int
    err_msg: str = ""


@dataclass(frozen=True, slots=True)
class ParameterErr:
    """AddResp.ParameterError / SetResp.ParameterError: a failed parameter (relative name)."""

    param: str
    err_code: int
    err_msg: str = ""


def _param_errs_from_pb(errs: Any) -> tuple[ParameterErr, ...]:
    return tuple([ParameterErr(e.param, e.err_code, e.err_msg) for e in errs])


def _fill_param_errs(repeated: Any, errs: tuple[ParameterErr, ...]) -> None:
    add = repeated.add
    for e in errs:
        add(param=e.param, err_code=e.err_code, err_msg=e.err_msg)


def _fill_failure(status: Any, f: OperationFailure) -> None:
    status.oper_failure.err_code = f.err_code
    status.oper_failure.err_msg = f.err_msg
    status.oper_failure.SetInParent()


@dataclass(frozen=True, slots=True)
class AddOperationSuccess:
    """AddResp.CreatedObjectResult.OperationStatus.OperationSuccess."""

    instantiated_path: str
    param_errs: tuple[ParameterErr, ...] = ()
    unique_keys: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CreatedObjectResult:
    """AddResp.CreatedObjectResult; ``oper_status`` is the OperationStatus oneof (None when unset)."""

    requested_path: str
    oper_status: OperationFailure | AddOperationSuccess | None


@dataclass(frozen=True, slots=True)
class AddResp:
    """AddResp."""

    created_obj_results: tuple[CreatedObjectResult, ...]

    def _fill(self, pb: Any) -> None:
        add = pb.created_obj_results.add
        for r in self.created_obj_results:
            st = add(requested_path=r.requested_path).oper_status
            s = r.oper_status
            if isinstance(s, AddOperationSuccess):
                ok = st.oper_success
                ok.instantiated_path = s.instantiated_path
                _fill_param_errs(ok.param_errs, s.param_errs)
                ok.unique_keys.update(s.unique_keys)
                ok.SetInParent()
            elif s is not None:
                _fill_failure(st, s)

    @classmethod
    def _from_pb(cls, pb: Any) -> AddResp:
        out = []
        for r in pb.created_obj_results:
            st = r.oper_status
            which = st.WhichOneof("oper_status")
            s: OperationFailure | AddOperationSuccess | None = None
            if which == "oper_success":
                ok = st.oper_success
                s = AddOperationSuccess(ok.instantiated_path, _param_errs_from_pb(ok.param_errs),
                                        map_dict(ok.unique_keys))
            elif which == "oper_failure":
                s = OperationFailure(st.oper_failure.err_code, st.oper_failure.err_msg)
            out.append(CreatedObjectResult(r.requested_path, s))
        return cls(tuple(out))


@dataclass(frozen=True, slots=True)
class UnaffectedPathErr:
    """DeleteResp.UnaffectedPathError: a matched instance that could not be deleted."""

    unaffected_path: str
    err_code: int
    err_msg: str = ""


@dataclass(frozen=True, slots=True)
class DeleteOperationSuccess:
    """DeleteResp.DeletedObjectResult.OperationStatus.OperationSuccess."""

    affected_paths: tuple[str, ...] = ()
    unaffected_path_errs: tuple[UnaffectedPathErr, ...] = ()


@dataclass(frozen=True, slots=True)
class DeletedObjectResult:
    """DeleteResp.DeletedObjectResult; ``oper_status`` is the OperationStatus oneof."""

    requested_path: str
    oper_status: OperationFailure | DeleteOperationSuccess | None


@dataclass(frozen=True, slots=True)
class DeleteResp:
    """DeleteResp."""

    deleted_obj_results: tuple[DeletedObjectResult, ...]

    def _fill(self, pb: Any) -> None:
        add = pb.deleted_obj_results.add
        for r in self.deleted_obj_results:
            st = add(requested_path=r.requested_path).oper_status
            s = r.oper_status
            if isinstance(s, DeleteOperationSuccess):
                ok = st.oper_success
                ok.affected_paths.extend(s.affected_paths)
                eadd = ok.unaffected_path_errs.add
                for e in s.unaffected_path_errs:
                    eadd(unaffected_path=e.unaffected_path, err_code=e.err_code, err_msg=e.err_msg)
                ok.SetInParent()
            elif s is not None:
                _fill_failure(st, s)

    @classmethod
    def _from_pb(cls, pb: Any) -> DeleteResp:
        out = []
        for r in pb.deleted_obj_results:
            st = r.oper_status
            which = st.WhichOneof("oper_status")
            s: OperationFailure | DeleteOperationSuccess | None = None
            if which == "oper_success":
                ok = st.oper_success
                s = DeleteOperationSuccess(tuple(ok.affected_paths), tuple([
                    UnaffectedPathErr(e.unaffected_path, e.err_code, e.err_msg)
                    for e in ok.unaffected_path_errs
                ]))
            elif which == "oper_failure":
                s = OperationFailure(st.oper_failure.err_code, st.oper_failure.err_msg)
            out.append(DeletedObjectResult(r.requested_path, s))
        return cls(tuple(out))


@dataclass(frozen=True, slots=True)
class UpdatedInstanceFailure:
    """SetResp.UpdatedInstanceFailure."""

    affected_path: str
    param_errs: tuple[ParameterErr, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdatedInstanceResult:
    """SetResp.UpdatedInstanceResult: updated_params maps relative names to values after the Set."""

    affected_path: str
    param_errs: tuple[ParameterErr, ...] = ()
    updated_params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SetOperationFailure:
    """SetResp.UpdatedObjectResult.OperationStatus.OperationFailure."""

    err_code: int
    err_msg: str = ""
    updated_inst_failures: tuple[UpdatedInstanceFailure, ...] = ()


@dataclass(frozen=True, slots=True)
class SetOperationSuccess:
    """SetResp.UpdatedObjectResult.OperationStatus.OperationSuccess."""

    updated_inst_results: tuple[UpdatedInstanceResult, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdatedObjectResult:
    """SetResp.UpdatedObjectResult; ``oper_status`` is the OperationStatus oneof."""

    requested_path: str
    oper_status: SetOperationFailure | SetOperationSuccess | None


@dataclass(frozen=True, slots=True)
class SetResp:
    """SetResp."""

    updated_obj_results: tuple[UpdatedObjectResult, ...]

    def _fill(self, pb: Any) -> None:
        add = pb.updated_obj_results.add
        for r in self.updated_obj_results:
            st = add(requested_path=r.requested_path).oper_status
            s = r.oper_status
            if isinstance(s, SetOperationSuccess):
                ok = st.oper_success
                iadd = ok.updated_inst_results.add
                for i in s.updated_inst_results:
                    q = iadd(affected_path=i.affected_path)
                    _fill_param_errs(q.param_errs, i.param_errs)
                    q.updated_params.update(i.updated_params)
                ok.SetInParent()
            elif s is not None:
                bad = st.oper_failure
                bad.err_code = s.err_code
                bad.err_msg = s.err_msg
                fadd = bad.updated_inst_failures.add
                for f in s.updated_inst_failures:
                    _fill_param_errs(fadd(affected_path=f.affected_path).param_errs, f.param_errs)
                bad.SetInParent()

    @classmethod
    def _from_pb(cls, pb: Any) -> SetResp:
        out = []
        for r in pb.updated_obj_results:
            st = r.oper_status
            which = st.WhichOneof("oper_status")
            s: SetOperationFailure | SetOperationSuccess | None = None
            if which == "oper_success":
                s = SetOperationSuccess(tuple([
                    UpdatedInstanceResult(i.affected_path, _param_errs_from_pb(i.param_errs),
                                          map_dict(i.updated_params))
                    for i in st.oper_success.updated_inst_results
                ]))
            elif which == "oper_failure":
                bad = st.oper_failure
                s = SetOperationFailure(bad.err_code, bad.err_msg, tuple([
                    UpdatedInstanceFailure(f.affected_path, _param_errs_from_pb(f.param_errs))
                    for f in bad.updated_inst_failures
                ]))
            out.append(UpdatedObjectResult(r.requested_path, s))
        return cls(tuple(out))


# --- OperateResp ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OperationResult:
    """OperateResp.OperationResult; ``operation_resp`` is the oneof.

    A ``str`` is ``req_obj_path`` (async command: the Device.LocalAgent.Request.{i}. path), OutputArgs is
    ``req_output_args`` (sync success) and CommandFailure is ``cmd_failure``.
    """

    executed_command: str
    operation_resp: str | OutputArgs | CommandFailure | None


@dataclass(frozen=True, slots=True)
class OperateResp:
    """OperateResp."""

    operation_results: tuple[OperationResult, ...]

    def _fill(self, pb: Any) -> None:
        add = pb.operation_results.add
        for r in self.operation_results:
            q = add(executed_command=r.executed_command)
            o = r.operation_resp
            if isinstance(o, str):
                q.req_obj_path = o
            elif isinstance(o, OutputArgs):
                q.req_output_args.output_args.update(o.output_args)
                q.req_output_args.SetInParent()
            elif isinstance(o, CommandFailure):
                q.cmd_failure.err_code = o.err_code
                q.cmd_failure.err_msg = o.err_msg
                q.cmd_failure.SetInParent()

    @classmethod
    def _from_pb(cls, pb: Any) -> OperateResp:
        out = []
        for q in pb.operation_results:
            which = q.WhichOneof("operation_resp")
            o: str | OutputArgs | CommandFailure | None = None
            if which == "req_obj_path":
                o = q.req_obj_path
            elif which == "req_output_args":
                o = OutputArgs(map_dict(q.req_output_args.output_args))
            elif which == "cmd_failure":
                o = CommandFailure(q.cmd_failure.err_code, q.cmd_failure.err_msg)
            out.append(OperationResult(q.executed_command, o))
        return cls(tuple(out))


# --- RegisterResp / DeregisterResp ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterOperationSuccess:
    """RegisterResp.RegisteredPathResult.OperationStatus.OperationSuccess."""

    registered_path: str


@dataclass(frozen=True, slots=True)
class RegisteredPathResult:
    """RegisterResp.RegisteredPathResult; ``oper_status`` is the OperationStatus oneof."""

    requested_path: str
    oper_status: OperationFailure | RegisterOperationSuccess | None


@dataclass(frozen=True, slots=True)
class RegisterResp:
    """RegisterResp (1.3+)."""

    registered_path_results: tuple[RegisteredPathResult, ...]

    def _fill(self, pb: Any) -> None:
        add = pb.registered_path_results.add
        for r in self.registered_path_results:
            st = add(requested_path=r.requested_path).oper_status
            s = r.oper_status
            if isinstance(s, RegisterOperationSuccess):
                st.oper_success.registered_path = s.registered_path
                st.oper_success.SetInParent()
            elif s is not None:
                _fill_failure(st, s)

    @classmethod
    def _from_pb(cls, pb: Any) -> RegisterResp:
        out = []
        for r in pb.registered_path_results:
            st = r.oper_status
            which = st.WhichOneof("oper_status")
            s: OperationFailure | RegisterOperationSuccess | None = None
            if which == "oper_success":
                s = RegisterOperationSuccess(st.oper_success.registered_path)
            elif which == "oper_failure":
                s = OperationFailure(st.oper_failure.err_code, st.oper_failure.err_msg)
            out.append(RegisteredPathResult(r.requested_path, s))
        return cls(tuple(out))


@dataclass(frozen=True, slots=True)
class DeregisterOperationSuccess:
    """DeregisterResp.DeregisteredPathResult.OperationStatus.OperationSuccess (a repeated path)."""

    deregistered_path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeregisteredPathResult:
    """DeregisterResp.DeregisteredPathResult; ``oper_status`` is the OperationStatus oneof."""

    requested_path: str
    oper_status: OperationFailure | DeregisterOperationSuccess | None


@dataclass(frozen=True, slots=True)
class DeregisterResp:
    """DeregisterResp (1.3+)."""

    deregistered_path_results: tuple[DeregisteredPathResult, ...]

    def _fill(self, pb: Any) -> None:
        add = pb.deregistered_path_results.add
        for r in self.deregistered_path_results:
            st = add(requested_path=r.requested_path).oper_status
            s = r.oper_status
            if isinstance(s, DeregisterOperationSuccess):
                st.oper_success.deregistered_path.extend(s.deregistered_path)
                st.oper_success.SetInParent()
            elif s is not None:
                _fill_failure(st, s)

    @classmethod
    def _from_pb(cls, pb: Any) -> DeregisterResp:
        out = []
        for r in pb.deregistered_path_results:
            st = r.oper_status
            which = st.WhichOneof("oper_status")
            s: OperationFailure | DeregisterOperationSuccess | None = None
            if which == "oper_success":
                s = DeregisterOperationSuccess(tuple(st.oper_success.deregistered_path))
            elif which == "oper_failure":
                s = OperationFailure(st.oper_failure.err_code, st.oper_failure.err_msg)
            out.append(DeregisteredPathResult(r.requested_path, s))
        return cls(tuple(out))
