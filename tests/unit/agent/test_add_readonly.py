"""Controller Add with readOnly parameters (obuspa: 7013 in param_errs; usp-protocol.md 2.7, 3.3)."""

from __future__ import annotations

from helpers import AgentPair

from simulator.usp.errors import ErrorCode
from simulator.usp.responses import AddOperationSuccess, ErrorMessage, OperationFailure

CTRL = "Device.LocalAgent.Controller."
SUB = "Device.LocalAgent.Subscription."
RO = ErrorCode.PARAMETER_READ_ONLY


def test_add_read_only_parameter_not_required_is_reported_and_ignored(pair: AgentPair) -> None:
    """3.3 row 2: the object is created, the readOnly parameter fails with 7013 and keeps its default."""
    role = "Device.LocalAgent.ControllerTrust.Role.1"
    resp = pair.add(CTRL, {"EndpointID": "proto::ro", "InheritedRole": role}, required=False)
    status = resp.created_obj_results[0].oper_status
    assert isinstance(status, AddOperationSuccess)
    assert [(e.param, e.err_code) for e in status.param_errs] == [("InheritedRole", RO)]
    assert pair.value(status.instantiated_path + "EndpointID") == "proto::ro"
    assert pair.value(status.instantiated_path + "InheritedRole") == ""


def test_add_read_only_parameter_required_fails_the_message(pair: AgentPair) -> None:
    """3.3 last row: allow_partial=false + required failure -> Error (7004, 7013 inside), nothing made."""
    before = pair.dm.instances(CTRL, now=pair.now)
    err = pair.add(CTRL, {"EndpointID": "proto::ro", "MTPNumberOfEntries": "3"})
    assert isinstance(err, ErrorMessage) and err.err_code == ErrorCode.INVALID_ARGUMENTS
    assert [(e.param_path, e.err_code) for e in err.param_errs] == [(CTRL + "{i}.MTPNumberOfEntries", RO)]
    assert pair.dm.instances(CTRL, now=pair.now) == before


def test_add_read_only_parameter_required_with_allow_partial_fails_the_object(pair: AgentPair) -> None:
    """3.3: allow_partial=true + required failure -> oper_failure for that object only."""
    resp = pair.add_many([(CTRL, {"EndpointID": "proto::a", "InheritedRole": ""}, True),
                          (CTRL, {"EndpointID": "proto::b"}, True)], allow_partial=True)
    first, second = (r.oper_status for r in resp.created_obj_results)
    assert isinstance(first, OperationFailure) and first.err_code == RO
    assert isinstance(second, AddOperationSuccess)
    assert pair.value(second.instantiated_path + "EndpointID") == "proto::b"
    assert second.instantiated_path == CTRL + "2."  # the failed object took no instance


def test_subscription_add_still_autofills_read_only_recipient_and_creation_date(pair: AgentPair) -> None:
    """The agent's own autofill writes the readOnly Recipient/CreationDate; a Controller's value cannot."""
    resp = pair.add(SUB, {"ID": "auto", "CreationDate": "2020-01-01T00:00:00Z"}, required=False)
    status = resp.created_obj_results[0].oper_status
    assert isinstance(status, AddOperationSuccess)
    assert [(e.param, e.err_code) for e in status.param_errs] == [("CreationDate", RO)]
    assert pair.value(status.instantiated_path + "Recipient") == "Device.LocalAgent.Controller.1"
    assert pair.value(status.instantiated_path + "CreationDate") != "2020-01-01T00:00:00Z"
    assert status.unique_keys["Recipient"] == "Device.LocalAgent.Controller.1"
