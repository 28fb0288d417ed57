"""Subscription rows written by Controllers: auto-filled Recipient/ID/CreationDate, immutable keys and
ReferenceList, strict ReferenceList validation (usp-protocol.md 5.1, 5.2; obuspa device_subscription.c),
and the 'n' permission on notifications (9.4, TP-469 2.19/2.20)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from helpers import CONTROLLER_ID, AgentPair

from simulator.agent.actions import Send
from simulator.agent.behaviour import AgentBehaviour
from simulator.agent.context import iso8601
from simulator.usp.errors import ErrorCode
from simulator.usp.messages import MsgType
from simulator.usp.responses import AddOperationSuccess, ErrorMessage, OperationFailure

SUB = "Device.LocalAgent.Subscription."
CTRL1 = "Device.LocalAgent.Controller.1"
ROLE = "Device.LocalAgent.ControllerTrust.Role."


def test_add_autofills_recipient_creation_date_and_id(pair: AgentPair) -> None:
    """5.1 / TP 1.81: Recipient = the creating Controller (no dot), CreationDate = Add time, ID cpe-<n>."""
    pair.now = 1_700_000_123.0
    a = pair.add(SUB, {"NotifType": "ValueChange"}).created_obj_results[0].oper_status
    b = pair.add(SUB, {}).created_obj_results[0].oper_status
    assert isinstance(a, AddOperationSuccess) and isinstance(b, AddOperationSuccess)
    assert a.unique_keys == {"Alias": "cpe-1", "Recipient": CTRL1, "ID": "cpe-1"}
    assert b.unique_keys == {"Alias": "cpe-2", "Recipient": CTRL1, "ID": "cpe-2"}
    assert pair.value(SUB + "1.CreationDate") == iso8601(1_700_000_123.0) == "2023-11-14T22:15:23Z"
    assert pair.value(SUB + "1.Recipient") == CTRL1


def test_add_keeps_an_explicit_id(pair: AgentPair) -> None:
    status = pair.add(SUB, {"ID": "mine"}).created_obj_results[0].oper_status
    assert status.unique_keys["ID"] == "mine" and status.unique_keys["Recipient"] == CTRL1


@pytest.mark.parametrize("name", ["Recipient", "CreationDate"])
def test_add_with_read_only_parameter_fails(pair: AgentPair, name: str) -> None:
    """Recipient and CreationDate are read-only for Controllers (7013); required -> Error, nothing created."""
    err = pair.add(SUB, {"ID": "a", name: "Device.LocalAgent.Controller.9"})
    assert isinstance(err, ErrorMessage)
    assert [(e.param_path, e.err_code) for e in err.param_errs] == [
        (SUB + "{i}." + name, ErrorCode.PARAMETER_READ_ONLY)
    ]
    assert pair.dm.instances(SUB, now=pair.now) == []


def test_add_with_read_only_recipient_not_required_is_ignored(pair: AgentPair) -> None:
    """A non-required read-only parameter is reported in param_errs and the auto value is kept."""
    resp = pair.add(SUB, {"ID": "a", "Recipient": "Device.LocalAgent.Controller.9"}, required=False)
    status = resp.created_obj_results[0].oper_status
    assert isinstance(status, AddOperationSuccess)
    assert [(e.param, e.err_code) for e in status.param_errs] == [
        ("Recipient", ErrorCode.PARAMETER_READ_ONLY)
    ]
    assert pair.value(status.instantiated_path + "Recipient") == CTRL1


def test_add_with_empty_id_fails(pair: AgentPair) -> None:
    """[obuspa] Validate_SubsID: an empty ID is refused (7004)."""
    err = pair.add(SUB, {"ID": ""})
    assert isinstance(err, ErrorMessage) and err.param_errs[0].err_code == ErrorCode.INVALID_ARGUMENTS


def test_set_recipient_is_read_only(pair: AgentPair) -> None:
    path = pair.subscription("a")
    err = pair.set(path, {"Recipient": "Device.LocalAgent.Controller.1"})
    assert isinstance(err, ErrorMessage)
    assert [(e.param_path, e.err_code) for e in err.param_errs] == [
        (path + "Recipient", ErrorCode.PARAMETER_READ_ONLY)
    ]


def test_tp469_1_96_set_on_non_functional_key_id(pair: AgentPair) -> None:
    """TP 1.96: Set of the non-functional unique key ID after creation -> Error; unchanged."""
    path = pair.subscription("a")
    err = pair.set(path, {"ID": "b"})
    assert isinstance(err, ErrorMessage) and err.param_errs[0].err_code == ErrorCode.PARAMETER_READ_ONLY
    assert err.param_errs[0].param_path == path + "ID"
    assert pair.value(path + "ID") == "a"
    resp = pair.set(path, {"ID": "a", "Enable": "true"})  # rewriting the same value is harmless
    assert resp.updated_obj_results[0].oper_status.updated_inst_results[0].updated_params["Enable"] == "true"


def test_set_id_not_required_is_reported_and_others_applied(pair: AgentPair) -> None:
    path = pair.subscription("a")
    resp = pair.set(path, {"ID": "b", "Enable": "true"}, required=False)
    (inst,) = resp.updated_obj_results[0].oper_status.updated_inst_results
    assert [(e.param, e.err_code) for e in inst.param_errs] == [("ID", ErrorCode.PARAMETER_READ_ONLY)]
    assert inst.updated_params == {"Enable": "true"}
    assert pair.value(path + "ID") == "a"


def test_reference_list_is_immutable_once_set(pair: AgentPair) -> None:
    """[obuspa] Validate_SubsRefList: a non-empty ReferenceList cannot change (7004)."""
    path = pair.subscription("a", ReferenceList="Device.DeviceInfo.")
    err = pair.set(path, {"ReferenceList": "Device.LocalAgent."})
    assert isinstance(err, ErrorMessage) and err.param_errs[0].err_code == ErrorCode.INVALID_ARGUMENTS
    assert pair.value(path + "ReferenceList") == "Device.DeviceInfo."


def test_reference_list_may_be_set_while_empty(pair: AgentPair) -> None:
    path = pair.subscription("a", ReferenceList="")
    pair.set(path, {"ReferenceList": "Device.LocalAgent.EndpointID"})
    assert pair.value(path + "ReferenceList") == "Device.LocalAgent.EndpointID"


@pytest.mark.parametrize(
    ("notif_type", "refs", "code"),
    [
        ("Event", "Device.LocalAgent.", ErrorCode.INVALID_VALUE),  # not an event path
        ("OperationComplete", "Device.LocalAgent.Controller.1.Enable", ErrorCode.INVALID_VALUE),
        ("ObjectCreation", "Device.DeviceInfo.", ErrorCode.INVALID_VALUE),  # not a table
        ("ValueChange", "Device.Bogus.Thing", ErrorCode.INVALID_PATH),
        ("Event", "Device.Nope!", ErrorCode.INVALID_PATH),
    ],
)
def test_add_validates_reference_list_strictly(
    pair: AgentPair, notif_type: str, refs: str, code: int
) -> None:
    """5.2 [obuspa]: a bad ReferenceList entry fails the Add (7012/7026); nothing is created."""
    err = pair.add(SUB, {"NotifType": notif_type, "ReferenceList": refs})
    assert isinstance(err, ErrorMessage)
    assert [(e.param_path, e.err_code) for e in err.param_errs] == [(SUB + "{i}.ReferenceList", code)]
    assert pair.dm.instances(SUB, now=pair.now) == []
    resp = pair.add(SUB, {"NotifType": notif_type, "ReferenceList": refs}, allow_partial=True)
    assert isinstance(resp.created_obj_results[0].oper_status, OperationFailure)


def test_add_accepts_device_root_for_events_and_commands(pair: AgentPair) -> None:
    for notif_type in ("Event", "OperationComplete"):
        resp = pair.add(SUB, {"NotifType": notif_type, "ReferenceList": "Device."})
        assert isinstance(resp.created_obj_results[0].oper_status, AddOperationSuccess)


def test_set_reference_list_is_validated(pair: AgentPair) -> None:
    path = pair.subscription("a", NotifType="Event", ReferenceList="")
    err = pair.set(path, {"ReferenceList": "Device.DeviceInfo."})
    assert isinstance(err, ErrorMessage) and err.param_errs[0].err_code == ErrorCode.INVALID_VALUE
    assert pair.value(path + "ReferenceList") == ""


def test_set_notif_type_is_checked_against_reference_list(pair: AgentPair) -> None:
    """[obuspa] Validate_SubsNotifType re-validates the existing ReferenceList."""
    path = pair.subscription("a", NotifType="ValueChange", ReferenceList="Device.LocalAgent.EndpointID")
    err = pair.set(path, {"NotifType": "Event"})
    assert isinstance(err, ErrorMessage) and err.param_errs[0].err_code == ErrorCode.INVALID_VALUE
    assert pair.value(path + "NotifType") == "ValueChange"


def test_set_on_other_objects_is_untouched(pair: AgentPair) -> None:
    resp = pair.set(CTRL1 + ".", {"ProvisioningCode": "x"})
    assert resp.updated_obj_results[0].oper_status.updated_inst_results[0].updated_params == {
        "ProvisioningCode": "x"
    }


# -- 'n' permission ------------------------------------------------------------------------------------------
def _notify_pair() -> AgentPair:
    def factory(ctx: Any) -> AgentBehaviour:
        return AgentBehaviour(ctx, rng=random.Random(1))

    pair = AgentPair("home-gateway", behaviour=factory)
    pair.actions += pair.agent.start(pair.now)
    pair.actions += pair.agent.mtp_connected(pair.now)
    return pair


def _grant(pair: AgentPair, param: str) -> None:
    dm, now = pair.dm, pair.now
    (role,) = dm.add(ROLE, {"Name": "NoNotify", "Enable": "true"}, now=now)
    dm.add(
        role.path + "Permission.",
        {
            "Enable": "true",
            "Order": "1",
            "Targets": "Device.",
            "Param": param,
            "Obj": "rw-n",
            "InstantiatedObj": "rw-n",
            "CommandEvent": "r-xn",
        },
        now=now,
    )
    dm.set(CTRL1 + ".", {"AssignedRole": role.path[:-1]}, now=now)
    pair.agent.poll(now)


def _notifies(pair: AgentPair, actions: list[Any]) -> list[Send]:
    out = []
    for send in AgentPair.sends(actions):
        if send.msg_type != "Connect" and pair.controller.decode(send.record)[1].msg_type == MsgType.NOTIFY:
            out.append(send)
    return out


@pytest.mark.parametrize(("param", "expected"), [("rw-n", 1), ("rw--", 0)])
def test_tp469_2_19_value_change_needs_n_permission(param: str, expected: int) -> None:
    """9.4 / TP-469 2.19-2.20: without Param 'n' the ValueChange Notify is dropped silently."""
    pair = _notify_pair()
    _grant(pair, param)
    pair.subscription("vc", ReferenceList="Device.DeviceInfo.FriendlyName", Enable="true")
    _, record = pair.controller.request(_set_friendly_name())
    out = pair.send(record)
    assert len(_notifies(pair, out)) == expected
    assert len(AgentPair.observes(out, "notify_dropped")) == 1 - expected
    assert all(s.to_id == CONTROLLER_ID for s in _notifies(pair, out))


def _set_friendly_name() -> Any:
    from simulator.usp.requests import Set, UpdateObject, UpdateParamSetting

    return Set(False, (UpdateObject("Device.DeviceInfo.", (UpdateParamSetting("FriendlyName", "n", True),)),))
