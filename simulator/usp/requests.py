"""Typed USP request bodies (Get ... Deregister, Notify) and their protobuf mapping (TR-369 section 2).

# Strategy: every class mirrors one usp-msg-1-4.proto message with the same field names. Repeated
# fields are tuples, map<string,string> fields are plain dicts, and a oneof is one field holding a union
# (None when unset). ``_fill`` writes into an existing protobuf message top-down (``.add()`` and
# sub-message attributes), because building children first and passing them to a parent constructor
# makes upb deep-copy every subtree once per nesting level. ``_from_pb`` reads a parsed message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Add",
    "CommandFailure",
    "CreateObject",
    "CreateParamSetting",
    "Delete",
    "Deregister",
    "Event",
    "Get",
    "GetInstances",
    "GetSupportedDM",
    "GetSupportedProtocol",
    "Notification",
    "Notify",
    "ObjectCreation",
    "ObjectDeletion",
    "OnBoardRequest",
    "Operate",
    "OperationComplete",
    "OutputArgs",
    "Register",
    "Set",
    "UpdateObject",
    "UpdateParamSetting",
    "ValueChange",
]


@dataclass(frozen=True, slots=True)
class Get:
    """Get: read parameters (``max_depth`` 0 = unlimited; fixed32 on the wire)."""

    param_paths: tuple[str, ...]
    max_depth: int = 0

    def _fill(self, pb: Any) -> None:
        pb.param_paths.extend(self.param_paths)
        if self.max_depth:
            pb.max_depth = self.max_depth

    @classmethod
    def _from_pb(cls, pb: Any) -> Get:
        return cls(tuple(pb.param_paths), pb.max_depth)


@dataclass(frozen=True, slots=True)
class GetSupportedDM:
    """GetSupportedDM: describe the supported data model (return_unique_key_sets is 1.4+)."""

    obj_paths: tuple[str, ...]
    first_level_only: bool = False
    return_commands: bool = False
    return_events: bool = False
    return_params: bool = False
    return_unique_key_sets: bool = False

    def _fill(self, pb: Any) -> None:
        pb.obj_paths.extend(self.obj_paths)
        pb.first_level_only = self.first_level_only
        pb.return_commands = self.return_commands
        pb.return_events = self.return_events
        pb.return_params = self.return_params
        pb.return_unique_key_sets = self.return_unique_key_sets

    @classmethod
    def _from_pb(cls, pb: Any) -> GetSupportedDM:
        return cls(
            tuple(pb.obj_paths), pb.first_level_only, pb.return_commands, pb.return_events,
            pb.return_params, pb.return_unique_key_sets,
        )


@dataclass(frozen=True, slots=True)
class GetInstances:
    """GetInstances: list the instances of multi-instance objects."""

    obj_paths: tuple[str, ...]
    first_level_only: bool = False

    def _fill(self, pb: Any) -> None:
        pb.obj_paths.extend(self.obj_paths)
        pb.first_level_only = self.first_level_only

    @classmethod
    def _from_pb(cls, pb: Any) -> GetInstances:
        return cls(tuple(pb.obj_paths), pb.first_level_only)


@dataclass(frozen=True, slots=True)
class GetSupportedProtocol:
    """GetSupportedProtocol: the Controller's comma-separated version list."""

    controller_supported_protocol_versions: str

    def _fill(self, pb: Any) -> None:
        pb.controller_supported_protocol_versions = self.controller_supported_protocol_versions

    @classmethod
    def _from_pb(cls, pb: Any) -> GetSupportedProtocol:
        return cls(pb.controller_supported_protocol_versions)


@dataclass(frozen=True, slots=True)
class UpdateParamSetting:
    """Set.UpdateParamSetting: one relative parameter name and its new value."""

    param: str
    value: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class UpdateObject:
    """Set.UpdateObject: an object, instance or search path and the parameters to set on it."""

    obj_path: str
    param_settings: tuple[UpdateParamSetting, ...] = ()


@dataclass(frozen=True, slots=True)
class Set:
    """Set: update parameters of existing objects."""

    allow_partial: bool
    update_objs: tuple[UpdateObject, ...]

    def _fill(self, pb: Any) -> None:
        pb.allow_partial = self.allow_partial
        add = pb.update_objs.add
        for obj in self.update_objs:
            o = add(obj_path=obj.obj_path)
            padd = o.param_settings.add
            for s in obj.param_settings:
                padd(param=s.param, value=s.value, required=s.required)

    @classmethod
    def _from_pb(cls, pb: Any) -> Set:
        return cls(pb.allow_partial, tuple([
            UpdateObject(o.obj_path, tuple([
                UpdateParamSetting(s.param, s.value, s.required) for s in o.param_settings
            ]))
            for o in pb.update_objs
        ]))


@dataclass(frozen=True, slots=True)
class CreateParamSetting:
    """Add.CreateParamSetting: one relative parameter name and its initial value."""

    param: str
    value: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class CreateObject:
    """Add.CreateObject: a table path (ending in '.') and the parameters of the new instance."""

    obj_path: str
    param_settings: tuple[CreateParamSetting, ...] = ()


@dataclass(frozen=True, slots=True)
class Add:
    """Add: create instances of multi-instance objects."""

    allow_partial: bool
    create_objs: tuple[CreateObject, ...]

    def _fill(self, pb: Any) -> None:
        pb.allow_partial = self.allow_partial
        add = pb.create_objs.add
        for obj in self.create_objs:
            o = add(obj_path=obj.obj_path)
            padd = o.param_settings.add
            for s in obj.param_settings:
                padd(param=s.param, value=s.value, required=s.required)

    @classmethod
    def _from_pb(cls, pb: Any) -> Add:
        return cls(pb.allow_partial, tuple([
            CreateObject(o.obj_path, tuple([
                CreateParamSetting(s.param, s.value, s.required) for s in o.param_settings
            ]))
            for o in pb.create_objs
        ]))


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete: remove instances (instance or search paths)."""

    allow_partial: bool
    obj_paths: tuple[str, ...]

    def _fill(self, pb: Any) -> None:
        pb.allow_partial = self.allow_partial
        pb.obj_paths.extend(self.obj_paths)

    @classmethod
    def _from_pb(cls, pb: Any) -> Delete:
        return cls(pb.allow_partial, tuple(pb.obj_paths))


@dataclass(frozen=True, slots=True)
class Operate:
    """Operate: run a command (path ending in '()'); input_args keys are relative to the command."""

    command: str
    command_key: str = ""
    send_resp: bool = True
    input_args: dict[str, str] = field(default_factory=dict)

    def _fill(self, pb: Any) -> None:
        pb.command = self.command
        pb.command_key = self.command_key
        pb.send_resp = self.send_resp
        if self.input_args:
            pb.input_args.update(self.input_args)

    @classmethod
    def _from_pb(cls, pb: Any) -> Operate:
        args = pb.input_args
        return cls(pb.command, pb.command_key, pb.send_resp, {k: args[k] for k in args})


@dataclass(frozen=True, slots=True)
class OutputArgs:
    """OperateResp.OperationResult.OutputArgs / Notify.OperationComplete.OutputArgs (sync success)."""

    output_args: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommandFailure:
    """OperateResp.OperationResult.CommandFailure / Notify.OperationComplete.CommandFailure."""

    err_code: int
    err_msg: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """Notify.Event, e.g. obj_path 'Device.', event_name 'Boot!'."""

    obj_path: str
    event_name: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ValueChange:
    """Notify.ValueChange: a full parameter path and its new value."""

    param_path: str
    param_value: str


@dataclass(frozen=True, slots=True)
class ObjectCreation:
    """Notify.ObjectCreation: the new instance (trailing dot) and its unique keys."""

    obj_path: str
    unique_keys: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ObjectDeletion:
    """Notify.ObjectDeletion: the deleted instance (trailing dot)."""

    obj_path: str


@dataclass(frozen=True, slots=True)
class OperationComplete:
    """Notify.OperationComplete; ``operation_resp`` is the oneof (OutputArgs, CommandFailure or None)."""

    obj_path: str
    command_name: str
    command_key: str = ""
    operation_resp: OutputArgs | CommandFailure | None = None


@dataclass(frozen=True, slots=True)
class OnBoardRequest:
    """Notify.OnBoardRequest (subscription_id '' and send_resp true, R-NOT.7)."""

    oui: str
    product_class: str
    serial_number: str
    agent_supported_protocol_versions: str


Notification = Event | ValueChange | ObjectCreation | ObjectDeletion | OperationComplete | OnBoardRequest
"""The six Notify.notification oneof members."""


def map_dict(m: Any) -> dict[str, str]:
    """A protobuf ``map<string, string>`` as a dict."""
    # upb maps: a key loop plus lookups beats dict(m) and dict(m.items()).
    return {k: m[k] for k in m}


def _fill_notification(pb: Any, n: Notification) -> None:
    if isinstance(n, Event):
        e = pb.event
        e.obj_path = n.obj_path
        e.event_name = n.event_name
        e.params.update(n.params)
        e.SetInParent()
    elif isinstance(n, ValueChange):
        v = pb.value_change
        v.param_path = n.param_path
        v.param_value = n.param_value
        v.SetInParent()
    elif isinstance(n, ObjectCreation):
        c = pb.obj_creation
        c.obj_path = n.obj_path
        c.unique_keys.update(n.unique_keys)
        c.SetInParent()
    elif isinstance(n, ObjectDeletion):
        pb.obj_deletion.obj_path = n.obj_path
        pb.obj_deletion.SetInParent()
    elif isinstance(n, OperationComplete):
        oc = pb.oper_complete
        oc.obj_path = n.obj_path
        oc.command_name = n.command_name
        oc.command_key = n.command_key
        r = n.operation_resp
        if isinstance(r, OutputArgs):
            oc.req_output_args.output_args.update(r.output_args)
            oc.req_output_args.SetInParent()
        elif isinstance(r, CommandFailure):
            oc.cmd_failure.err_code = r.err_code
            oc.cmd_failure.err_msg = r.err_msg
            oc.cmd_failure.SetInParent()
        oc.SetInParent()
    else:
        ob = pb.on_board_req
        ob.oui = n.oui
        ob.product_class = n.product_class
        ob.serial_number = n.serial_number
        ob.agent_supported_protocol_versions = n.agent_supported_protocol_versions
        ob.SetInParent()


def _notification_from_pb(pb: Any) -> Notification | None:
    kind = pb.WhichOneof("notification")
    if kind == "event":
        e = pb.event
        return Event(e.obj_path, e.event_name, map_dict(e.params))
    if kind == "value_change":
        return ValueChange(pb.value_change.param_path, pb.value_change.param_value)
    if kind == "obj_creation":
        return ObjectCreation(pb.obj_creation.obj_path, map_dict(pb.obj_creation.unique_keys))
    if kind == "obj_deletion":
        return ObjectDeletion(pb.obj_deletion.obj_path)
    if kind == "oper_complete":
        oc = pb.oper_complete
        which = oc.WhichOneof("operation_resp")
        resp: OutputArgs | CommandFailure | None = None
        if which == "req_output_args":
            resp = OutputArgs(map_dict(oc.req_output_args.output_args))
        elif which == "cmd_failure":
            resp = CommandFailure(oc.cmd_failure.err_code, oc.cmd_failure.err_msg)
        return OperationComplete(oc.obj_path, oc.command_name, oc.command_key, resp)
    if kind == "on_board_req":
        ob = pb.on_board_req
        return OnBoardRequest(
            ob.oui, ob.product_class, ob.serial_number, ob.agent_supported_protocol_versions
        )
    return None


@dataclass(frozen=True, slots=True)
class Notify:
    """Notify: sent by the Agent; ``notification`` is the oneof (None when the sender left it empty)."""

    subscription_id: str
    send_resp: bool
    notification: Notification | None

    def _fill(self, pb: Any) -> None:
        pb.subscription_id = self.subscription_id
        pb.send_resp = self.send_resp
        if self.notification is not None:
            _fill_notification(pb, self.notification)

    @classmethod
    def _from_pb(cls, pb: Any) -> Notify:
        return cls(pb.subscription_id, pb.send_resp, _notification_from_pb(pb))


@dataclass(frozen=True, slots=True)
class Register:
    """Register (1.3+): ``reg_paths`` are the RegistrationPath.path strings."""

    allow_partial: bool
    reg_paths: tuple[str, ...]

    def _fill(self, pb: Any) -> None:
        pb.allow_partial = self.allow_partial
        add = pb.reg_paths.add
        for p in self.reg_paths:
            add(path=p)

    @classmethod
    def _from_pb(cls, pb: Any) -> Register:
        return cls(pb.allow_partial, tuple([p.path for p in pb.reg_paths]))


@dataclass(frozen=True, slots=True)
class Deregister:
    """Deregister (1.3+): an empty string means everything the sender registered."""

    paths: tuple[str, ...]

    def _fill(self, pb: Any) -> None:
        pb.paths.extend(self.paths)

    @classmethod
    def _from_pb(cls, pb: Any) -> Deregister:
        return cls(tuple(pb.paths))
