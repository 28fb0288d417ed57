"""Typed data-model discovery results: GetSupportedDMResp and GetInstancesResp (TR-369 2).

# Same mapping rules as responses.py, which re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from simulator.usp.requests import map_dict

__all__ = [
    "CmdType",
    "CurrInstance",
    "GetInstancesResp",
    "GetSupportedDMResp",
    "ObjAccessType",
    "ParamAccessType",
    "ParamValueType",
    "RequestedInstancesResult",
    "RequestedObjectResult",
    "SupportedCommandResult",
    "SupportedEventResult",
    "SupportedObjectResult",
    "SupportedParamResult",
    "SupportedUniqueKeySet",
    "ValueChangeType",
]


def _open_enum(enum_cls: type[IntEnum], value: int) -> Any:
    # an enum value newer than our table stays a plain int rather than failing the decode
    try:
        return enum_cls(value)
    except ValueError:
        return value


# --- GetSupportedDMResp --------------------------------------------------------------------------


class ParamAccessType(IntEnum):
    """GetSupportedDMResp.ParamAccessType."""

    PARAM_READ_ONLY = 0
    PARAM_READ_WRITE = 1
    PARAM_WRITE_ONLY = 2


class ObjAccessType(IntEnum):
    """GetSupportedDMResp.ObjAccessType."""

    OBJ_READ_ONLY = 0
    OBJ_ADD_DELETE = 1
    OBJ_ADD_ONLY = 2
    OBJ_DELETE_ONLY = 3


class ParamValueType(IntEnum):
    """GetSupportedDMResp.ParamValueType (1.2+)."""

    PARAM_UNKNOWN = 0
    PARAM_BASE_64 = 1
    PARAM_BOOLEAN = 2
    PARAM_DATE_TIME = 3
    PARAM_DECIMAL = 4
    PARAM_HEX_BINARY = 5
    PARAM_INT = 6
    PARAM_LONG = 7
    PARAM_STRING = 8
    PARAM_UNSIGNED_INT = 9
    PARAM_UNSIGNED_LONG = 10


class ValueChangeType(IntEnum):
    """GetSupportedDMResp.ValueChangeType (1.2+)."""

    VALUE_CHANGE_UNKNOWN = 0
    VALUE_CHANGE_ALLOWED = 1
    VALUE_CHANGE_WILL_IGNORE = 2


class CmdType(IntEnum):
    """GetSupportedDMResp.CmdType (1.2+)."""

    CMD_UNKNOWN = 0
    CMD_SYNC = 1
    CMD_ASYNC = 2


@dataclass(frozen=True, slots=True)
class SupportedParamResult:
    """GetSupportedDMResp.SupportedParamResult."""

    param_name: str
    access: ParamAccessType | int = ParamAccessType.PARAM_READ_ONLY
    value_type: ParamValueType | int = ParamValueType.PARAM_UNKNOWN
    value_change: ValueChangeType | int = ValueChangeType.VALUE_CHANGE_UNKNOWN


@dataclass(frozen=True, slots=True)
class SupportedCommandResult:
    """GetSupportedDMResp.SupportedCommandResult."""

    command_name: str
    input_arg_names: tuple[str, ...] = ()
    output_arg_names: tuple[str, ...] = ()
    command_type: CmdType | int = CmdType.CMD_UNKNOWN


@dataclass(frozen=True, slots=True)
class SupportedEventResult:
    """GetSupportedDMResp.SupportedEventResult."""

    event_name: str
    arg_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SupportedUniqueKeySet:
    """GetSupportedDMResp.SupportedUniqueKeySet (1.4+): relative names forming one unique key."""

    key_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SupportedObjectResult:
    """GetSupportedDMResp.SupportedObjectResult (path in {i} notation)."""

    supported_obj_path: str
    access: ObjAccessType | int = ObjAccessType.OBJ_READ_ONLY
    is_multi_instance: bool = False
    supported_commands: tuple[SupportedCommandResult, ...] = ()
    supported_events: tuple[SupportedEventResult, ...] = ()
    supported_params: tuple[SupportedParamResult, ...] = ()
    divergent_paths: tuple[str, ...] = ()
    unique_key_sets: tuple[SupportedUniqueKeySet, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestedObjectResult:
    """GetSupportedDMResp.RequestedObjectResult."""

    req_obj_path: str
    err_code: int = 0
    err_msg: str = ""
    data_model_inst_uri: str = ""
    supported_objs: tuple[SupportedObjectResult, ...] = ()


def _fill_supported_obj(o: Any, s: SupportedObjectResult) -> None:
    for c in s.supported_commands:
        o.supported_commands.add(
            command_name=c.command_name, input_arg_names=c.input_arg_names,
            output_arg_names=c.output_arg_names, command_type=int(c.command_type),
        )
    for e in s.supported_events:
        o.supported_events.add(event_name=e.event_name, arg_names=e.arg_names)
    padd = o.supported_params.add
    for p in s.supported_params:
        padd(param_name=p.param_name, access=int(p.access), value_type=int(p.value_type),
             value_change=int(p.value_change))
    o.divergent_paths.extend(s.divergent_paths)
    for k in s.unique_key_sets:
        o.unique_key_sets.add(key_names=k.key_names)


def _supported_obj_from_pb(o: Any) -> SupportedObjectResult:
    return SupportedObjectResult(
        o.supported_obj_path,
        _open_enum(ObjAccessType, o.access),
        o.is_multi_instance,
        tuple([
            SupportedCommandResult(c.command_name, tuple(c.input_arg_names), tuple(c.output_arg_names),
                                   _open_enum(CmdType, c.command_type))
            for c in o.supported_commands
        ]),
        tuple([SupportedEventResult(e.event_name, tuple(e.arg_names)) for e in o.supported_events]),
        tuple([
            SupportedParamResult(p.param_name, _open_enum(ParamAccessType, p.access),
                                 _open_enum(ParamValueType, p.value_type),
                                 _open_enum(ValueChangeType, p.value_change))
            for p in o.supported_params
        ]),
        tuple(o.divergent_paths),
        tuple([SupportedUniqueKeySet(tuple(k.key_names)) for k in o.unique_key_sets]),
    )


@dataclass(frozen=True, slots=True)
class GetSupportedDMResp:
    """GetSupportedDMResp."""

    req_obj_results: tuple[RequestedObjectResult, ...]

    def _fill(self, pb: Any) -> None:
        add = pb.req_obj_results.add
        for r in self.req_obj_results:
            q = add(req_obj_path=r.req_obj_path, err_code=r.err_code, err_msg=r.err_msg,
                    data_model_inst_uri=r.data_model_inst_uri)
            oadd = q.supported_objs.add
            for s in r.supported_objs:
                _fill_supported_obj(oadd(supported_obj_path=s.supported_obj_path, access=int(s.access),
                                         is_multi_instance=s.is_multi_instance), s)

    @classmethod
    def _from_pb(cls, pb: Any) -> GetSupportedDMResp:
        return cls(tuple([
            RequestedObjectResult(q.req_obj_path, q.err_code, q.err_msg, q.data_model_inst_uri,
                                  tuple([_supported_obj_from_pb(o) for o in q.supported_objs]))
            for q in pb.req_obj_results
        ]))


# --- GetInstancesResp ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurrInstance:
    """GetInstancesResp.CurrInstance: an instance path (trailing dot) and its unique keys."""

    instantiated_obj_path: str
    unique_keys: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RequestedInstancesResult:
    """GetInstancesResp.RequestedPathResult (renamed: GetResp has its own RequestedPathResult)."""

    requested_path: str
    err_code: int = 0
    err_msg: str = ""
    curr_insts: tuple[CurrInstance, ...] = ()


@dataclass(frozen=True, slots=True)
class GetInstancesResp:
    """GetInstancesResp."""

    req_path_results: tuple[RequestedInstancesResult, ...]

    def _fill(self, pb: Any) -> None:
        add = pb.req_path_results.add
        for r in self.req_path_results:
            q = add(requested_path=r.requested_path, err_code=r.err_code, err_msg=r.err_msg)
            iadd = q.curr_insts.add
            for i in r.curr_insts:
                iadd(instantiated_obj_path=i.instantiated_obj_path).unique_keys.update(i.unique_keys)

    @classmethod
    def _from_pb(cls, pb: Any) -> GetInstancesResp:
        return cls(tuple([
            RequestedInstancesResult(q.requested_path, q.err_code, q.err_msg, tuple([
                CurrInstance(i.instantiated_obj_path, map_dict(i.unique_keys)) for i in q.curr_insts
            ]))
            for q in pb.req_path_results
        ]))
