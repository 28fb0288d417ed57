"""TP-469 section 1 (Messages and Path Names) cases handled by the agent's request handlers.

Not applicable here (covered elsewhere or out of scope), per usp-protocol.md section 12.1:
- 1.52-1.60, 1.84, 1.93, 1.94 (notifications, subscriptions, Periodic!, OnBoardRequest, TriggerAction),
  1.61, 1.62, 1.64, 1.65, 1.79, 1.91, 1.92, 1.100 (command execution), 1.78 (cascade of subscription
  deletion), 1.101-1.103 (OnBoarding): the behaviour/notification modules and their test_tp469_notify*
  and test_commands* suites.
- 1.10, 1.71, 1.83 with BootParameter (feature 31): minimal.yaml has no Controller.{i}.BootParameter table;
  the same rules are exercised on other nested tables (Controller.{i}.MTP.{i}.).
- 1.63, 1.69 deleted/deprecated; 1.85 reserved.
"""

from __future__ import annotations

import pytest
from helpers import AgentPair

from simulator.usp.errors import ErrorCode
from simulator.usp.responses import (
    AddOperationSuccess,
    DeleteOperationSuccess,
    ErrorMessage,
    OperationFailure,
    SetOperationFailure,
    SetOperationSuccess,
)

SUB = "Device.LocalAgent.Subscription."
CTRL1 = "Device.LocalAgent.Controller.1"


def _sub(pair: AgentPair, sub_id: str, **params: str) -> str:
    return pair.subscription(sub_id, **params)


def _count(pair: AgentPair) -> int:
    return int(pair.value("Device.LocalAgent.SubscriptionNumberOfEntries"))


# -- Add ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("allow_partial", [False, True])
def test_tp469_1_1_add_allow_partial_single_object(pair: AgentPair, allow_partial: bool) -> None:
    """TP-469 1.1/1.2 (R-ADD.5): Add succeeds, unique_keys = {Alias, Recipient, ID}, values stick."""
    resp = pair.add(
        SUB,
        {"ID": "t1", "NotifType": "ValueChange", "Enable": "true"},
        allow_partial=allow_partial,
    )
    (res,) = resp.created_obj_results
    assert res.requested_path == SUB
    assert isinstance(res.oper_status, AddOperationSuccess)
    assert res.oper_status.instantiated_path == SUB + "1."
    assert res.oper_status.unique_keys == {"Alias": "cpe-1", "Recipient": CTRL1, "ID": "t1"}
    assert pair.value(SUB + "1.NotifType") == "ValueChange" and pair.value(SUB + "1.Enable") == "true"


def test_tp469_1_3_add_allow_partial_false_invalid_required_value(pair: AgentPair) -> None:
    """TP-469 1.3 (R-ADD.2a): a required Enable=InvalidValue -> Error naming Enable; nothing created."""
    err = pair.add(SUB, {"ID": "t", "Enable": "InvalidValue"})
    assert isinstance(err, ErrorMessage) and err.err_code == ErrorCode.INVALID_ARGUMENTS
    paths = {e.param_path: e.err_code for e in err.param_errs}
    assert paths[SUB + "{i}.Enable"] == ErrorCode.INVALID_TYPE
    assert _count(pair) == 0


def test_tp469_1_4_add_allow_partial_false_invalid_object(pair: AgentPair) -> None:
    """TP-469 1.4: obj_path Device.LocalAgent.InvalidObject. -> Error with param_path = that path."""
    err = pair.add("Device.LocalAgent.InvalidObject.", {"Enable": "true"})
    assert isinstance(err, ErrorMessage)
    assert [(e.param_path, e.err_code) for e in err.param_errs] == [
        ("Device.LocalAgent.InvalidObject.", ErrorCode.INVALID_PATH)
    ]


def test_tp469_1_5_add_allow_partial_false_multiple_objects(pair: AgentPair) -> None:
    """TP-469 1.5: two valid objects -> two successes."""
    resp = pair.add_many(
        [(SUB, {"ID": "a"}, True), (SUB, {"ID": "b"}, True)],
        allow_partial=False,
    )
    assert [r.oper_status.instantiated_path for r in resp.created_obj_results] == [SUB + "1.", SUB + "2."]


def test_tp469_1_6_add_allow_partial_false_valid_and_invalid_object(pair: AgentPair) -> None:
    """TP-469 1.6 (R-ADD.1): a valid and an invalid object -> Error, neither created."""
    err = pair.add_many(
        [(SUB, {"ID": "a"}, True), ("Device.LocalAgent.InvalidObject.", {}, True)],
        allow_partial=False,
    )
    assert isinstance(err, ErrorMessage)
    assert err.param_errs[0].param_path == "Device.LocalAgent.InvalidObject."
    assert _count(pair) == 0


def test_tp469_1_7_add_allow_partial_false_one_required_failure(pair: AgentPair) -> None:
    """TP-469 1.7: two objects, one with a failing required param -> Error; neither created."""
    err = pair.add_many(
        [
            (SUB, {"ID": "a"}, True),
            (SUB, {"ID": "b", "Enable": "bad"}, True),
        ],
        allow_partial=False,
    )
    assert isinstance(err, ErrorMessage) and _count(pair) == 0


def test_tp469_1_8_add_allow_partial_true_invalid_required_type(pair: AgentPair) -> None:
    """TP-469 1.8 (R-ADD.0): allow_partial=true, required invalid type -> oper_failure; not created."""
    resp = pair.add(SUB, {"ID": "a", "NotifExpiration": "-5"}, allow_partial=True)
    (res,) = resp.created_obj_results
    assert (
        isinstance(res.oper_status, OperationFailure) and res.oper_status.err_code == ErrorCode.INVALID_TYPE
    )
    assert _count(pair) == 0


def test_tp469_1_9_add_allow_partial_true_one_of_two_failing(pair: AgentPair) -> None:
    """TP-469 1.9: one success and one oper_failure."""
    resp = pair.add_many(
        [
            (SUB, {"ID": "a"}, True),
            (SUB, {"ID": "b", "Enable": "bad"}, True),
        ],
        allow_partial=True,
    )
    ok, bad = resp.created_obj_results
    assert isinstance(ok.oper_status, AddOperationSuccess) and isinstance(bad.oper_status, OperationFailure)
    assert _count(pair) == 1


def test_tp469_1_10_add_with_unique_key_parent(pair: AgentPair) -> None:
    """TP-469 1.10 analogue: unique-key addressing in the parent path of a nested table."""
    resp = pair.add(
        'Device.LocalAgent.Controller.[EndpointID=="proto::controller"].MTP.', {"Protocol": "WebSocket"}
    )
    (res,) = resp.created_obj_results
    assert res.oper_status.instantiated_path == "Device.LocalAgent.Controller.1.MTP.2."
    assert res.oper_status.unique_keys == {"Alias": "cpe-2", "Protocol": "WebSocket"}


def test_tp469_1_81_add_twice_without_id_or_alias(pair: AgentPair) -> None:
    """TP-469 1.81 (R-ADD.5): agent-assigned distinct Aliases."""
    a = pair.add(SUB, {"ID": "x1"}).created_obj_results[0].oper_status
    b = pair.add(SUB, {"ID": "x2"}).created_obj_results[0].oper_status
    assert a.unique_keys["Alias"] != b.unique_keys["Alias"]
    assert a.unique_keys["Recipient"] == b.unique_keys["Recipient"] == CTRL1


def test_tp469_1_88_add_invalid_alias_not_required(pair: AgentPair) -> None:
    """TP-469 1.88: Alias 88InvalidAlias (required=false) is a unique key -> Error; not created."""
    err = pair.add(SUB, {"ID": "a", "Alias": "88InvalidAlias"}, required=False)
    assert isinstance(err, ErrorMessage) and _count(pair) == 0
    assert err.param_errs[0].param_path == SUB + "{i}.Alias"


def test_tp469_1_88_add_duplicate_key_is_7025(pair: AgentPair) -> None:
    """Pitfall 7: a duplicate unique key fails the object (7025)."""
    _sub(pair, "dup")
    resp = pair.add(SUB, {"ID": "dup"}, allow_partial=True)
    assert resp.created_obj_results[0].oper_status.err_code == ErrorCode.DUPLICATE_KEY


def test_tp469_1_95_add_with_search_in_parent(pair: AgentPair) -> None:
    """TP-469 1.95: Add with a search expression in the parent path."""
    resp = pair.add("Device.LocalAgent.Controller.[Enable==true].MTP.", {"Protocol": "WebSocket"})
    assert (
        resp.created_obj_results[0].oper_status.instantiated_path == "Device.LocalAgent.Controller.1.MTP.2."
    )


def test_add_non_required_failure_is_reported_inside_success(pair: AgentPair) -> None:
    """3.3 table: a failed non-required param -> oper_success with param_errs (relative name)."""
    resp = pair.add(SUB, {"ID": "a", "Enable": "maybe"}, required=False)
    status = resp.created_obj_results[0].oper_status
    assert isinstance(status, AddOperationSuccess)
    assert [(e.param, e.err_code) for e in status.param_errs] == [("Enable", ErrorCode.INVALID_TYPE)]


def test_add_value_longer_than_limit_fails_the_parameter() -> None:
    pair = AgentPair(max_value_chars=10)
    err = pair.add(SUB, {"ID": "a", "ReferenceList": "Device." * 5})
    assert isinstance(err, ErrorMessage) and err.param_errs[0].err_code == ErrorCode.INVALID_VALUE


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (SUB + "1.", ErrorCode.OBJECT_NOT_CREATED),  # ends in an instance number
        ("Device.LocalAgent.", ErrorCode.NOT_A_TABLE),
        ("Device.LocalAgent.Request.", ErrorCode.NOT_CREATABLE),
        ("Device.LocalAgent.Controller.7.MTP.", ErrorCode.OBJECT_DOES_NOT_EXIST),
        ("Device.LocalAgent..", ErrorCode.INVALID_PATH_SYNTAX),
    ],
)
def test_add_path_error_matrix(pair: AgentPair, path: str, code: int) -> None:
    """usp-protocol.md 3.2 Add column."""
    _sub(pair, "s")
    resp = pair.add(path, {}, allow_partial=True)
    assert resp.created_obj_results[0].oper_status.err_code == code


# -- Set ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("allow_partial", [False, True])
def test_tp469_1_11_set_allow_partial_required_ok(pair: AgentPair, allow_partial: bool) -> None:
    """TP-469 1.11/1.12: one UpdatedInstanceResult with updated_params{NotifRetry}."""
    path = _sub(pair, "s")
    resp = pair.set(path, {"NotifRetry": "true"}, allow_partial=allow_partial)
    (res,) = resp.updated_obj_results
    assert isinstance(res.oper_status, SetOperationSuccess)
    (inst,) = res.oper_status.updated_inst_results
    assert inst.affected_path == path and inst.updated_params == {"NotifRetry": "true"}


def test_tp469_1_13_set_two_objects(pair: AgentPair) -> None:
    """TP-469 1.13."""
    a, b = _sub(pair, "a"), _sub(pair, "b")
    resp = pair.set_many(
        [(a, {"NotifRetry": "true"}, True), (b, {"NotifRetry": "true"}, True)], allow_partial=False
    )
    assert [r.oper_status.updated_inst_results[0].affected_path for r in resp.updated_obj_results] == [a, b]


def test_tp469_1_14_set_allow_partial_false_invalid_parameter(pair: AgentPair) -> None:
    """TP-469 1.14: required InvalidParameter -> Error, param_path = full path."""
    path = _sub(pair, "s")
    err = pair.set(path, {"InvalidParameter": "1"})
    assert isinstance(err, ErrorMessage)
    assert [(e.param_path, e.err_code) for e in err.param_errs] == [
        (path + "InvalidParameter", ErrorCode.UNSUPPORTED_PARAMETER)
    ]


def test_tp469_1_15_set_allow_partial_false_rolls_back_other_object(pair: AgentPair) -> None:
    """TP-469 1.15 (R-SET.1): the other object is left unchanged."""
    a, b = _sub(pair, "a"), _sub(pair, "b")
    err = pair.set_many(
        [(a, {"NotifRetry": "true"}, True), (b, {"InvalidParameter": "x"}, True)], allow_partial=False
    )
    assert isinstance(err, ErrorMessage) and pair.value(a + "NotifRetry") == "false"


def test_tp469_1_16_set_allow_partial_true_one_failure(pair: AgentPair) -> None:
    """TP-469 1.16: one success and one oper_failure with UpdatedInstanceFailure."""
    a, b = _sub(pair, "a"), _sub(pair, "b")
    ok, bad = pair.set_many(
        [(a, {"NotifRetry": "true"}, True), (b, {"InvalidParameter": "x"}, True)], allow_partial=True
    ).updated_obj_results
    assert isinstance(ok.oper_status, SetOperationSuccess)
    assert isinstance(bad.oper_status, SetOperationFailure)
    assert bad.oper_status.err_code == ErrorCode.REQUIRED_PARAM_FAILED
    (fail,) = bad.oper_status.updated_inst_failures
    assert fail.affected_path == b and fail.param_errs[0].param == "InvalidParameter"
    assert pair.value(a + "NotifRetry") == "true"


def test_tp469_1_17_set_non_required_invalid_param(pair: AgentPair) -> None:
    """TP-469 1.17: oper_success with updated_params{NotifRetry} and param_errs[InvalidParameter]."""
    path = _sub(pair, "s")
    resp = pair.set(path, {"NotifRetry": "true", "InvalidParameter": "x"}, required=False, allow_partial=True)
    inst = resp.updated_obj_results[0].oper_status.updated_inst_results[0]
    assert inst.updated_params == {"NotifRetry": "true"}
    assert [e.param for e in inst.param_errs] == ["InvalidParameter"]


def test_tp469_1_18_set_unique_key_addressing(pair: AgentPair) -> None:
    """TP-469 1.18: affected_path in instance-number form."""
    path = _sub(pair, "k1")
    resp = pair.set(f'{SUB}[Recipient=="{CTRL1}"&&ID=="k1"].', {"NotifRetry": "true"})
    assert resp.updated_obj_results[0].oper_status.updated_inst_results[0].affected_path == path


def test_tp469_1_19_set_wildcard_allow_partial_false(pair: AgentPair) -> None:
    """TP-469 1.19: one UpdatedObjectResult holding one UpdatedInstanceResult per instance."""
    a, b = _sub(pair, "a"), _sub(pair, "b")
    (res,) = pair.set(SUB + "*.", {"NotifRetry": "true"}).updated_obj_results
    assert res.requested_path == SUB + "*."
    assert [i.affected_path for i in res.oper_status.updated_inst_results] == [a, b]


def test_tp469_1_20_set_wildcard_required_failure_is_error(pair: AgentPair) -> None:
    """TP-469 1.20 (R-SET.2a): Error with param_errs, no instance changed."""
    a, _ = _sub(pair, "a"), _sub(pair, "b")
    err = pair.set(SUB + "*.", {"NotifRetry": "true", "InvalidParameter": "x"})
    assert isinstance(err, ErrorMessage) and err.param_errs
    assert pair.value(a + "NotifRetry") == "false"


def test_tp469_1_21_set_wildcard_allow_partial_true_holistic_rollback(pair: AgentPair) -> None:
    """TP-469 1.21 (R-SET.2b): oper_failure with UpdatedInstanceFailure; the whole obj_path rolled back."""
    a, b = _sub(pair, "a"), _sub(pair, "b")
    pair.set(b, {"NotifExpiration": "10"})
    (res,) = pair.set(
        SUB + "*.", {"NotifRetry": "true", "Persistent": "x"}, allow_partial=True
    ).updated_obj_results
    assert isinstance(res.oper_status, SetOperationFailure)
    assert res.oper_status.updated_inst_failures[0].affected_path == a
    assert pair.value(a + "NotifRetry") == "false" and pair.value(b + "NotifRetry") == "false"


def test_tp469_1_22_set_search_expression(pair: AgentPair) -> None:
    """TP-469 1.22."""
    _sub(pair, "a")
    b = _sub(pair, "b", Enable="true")
    (res,) = pair.set(SUB + "[Enable==true].", {"NotifRetry": "true"}).updated_obj_results
    assert [i.affected_path for i in res.oper_status.updated_inst_results] == [b]


def test_tp469_1_23_set_search_matching_nothing(pair: AgentPair) -> None:
    """TP-469 1.23: one UpdatedObjectResult with an empty oper_success."""
    (res,) = pair.set(SUB + '[ID=="zzz"].', {"NotifRetry": "true"}).updated_obj_results
    assert res.oper_status == SetOperationSuccess(())


def test_tp469_1_96_set_on_immutable_alias_and_1_104(pair: AgentPair) -> None:
    """TP-469 1.104 (writeOnceReadOnly Alias): Set -> Error; the value is unchanged."""
    path = _sub(pair, "a")
    err = pair.set(path, {"Alias": "other"})
    assert isinstance(err, ErrorMessage) and err.param_errs[0].err_code == ErrorCode.PARAMETER_READ_ONLY
    assert pair.value(path + "Alias") == "cpe-1"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (SUB + "9.", ErrorCode.OBJECT_DOES_NOT_EXIST),
        ("Device.LocalAgent.Bogus.", ErrorCode.INVALID_PATH),
        ("Device.LocalAgent.EndpointID", ErrorCode.NOT_A_TABLE),
        ("Device.LocalAgent.[", ErrorCode.INVALID_PATH_SYNTAX),
    ],
)
def test_set_path_error_matrix(pair: AgentPair, path: str, code: int) -> None:
    """usp-protocol.md 3.2 Set column (allow_partial=true -> oper_failure; false -> Error param_errs)."""
    res = pair.set(path, {"Enable": "true"}, allow_partial=True).updated_obj_results[0]
    assert res.oper_status.err_code == code
    err = pair.set(path, {"Enable": "true"})
    assert isinstance(err, ErrorMessage) and err.param_errs[0].err_code == code


def test_set_same_value_is_still_listed(pair: AgentPair) -> None:
    """Pitfall 10: writing the current value still appears in updated_params."""
    path = _sub(pair, "a")
    inst = pair.set(path, {"Enable": "false"}).updated_obj_results[0].oper_status.updated_inst_results[0]
    assert inst.updated_params == {"Enable": "false"}


# -- Delete ------------------------------------------------------------------------------------------------
def test_tp469_1_24_delete_valid_instance(pair: AgentPair) -> None:
    """TP-469 1.24."""
    path = _sub(pair, "a")
    (res,) = pair.delete(path).deleted_obj_results
    assert res.oper_status == DeleteOperationSuccess((path,))
    assert _count(pair) == 0


@pytest.mark.parametrize("allow_partial", [False, True])
def test_tp469_1_25_delete_non_existent_instance(pair: AgentPair, allow_partial: bool) -> None:
    """TP-469 1.25/1.29 (R-DEL.2a, usp-protocol.md 3.4): empty oper_success even with allow_partial=false."""
    (res,) = pair.delete(SUB + "9.", allow_partial=allow_partial).deleted_obj_results
    assert res.oper_status == DeleteOperationSuccess()


def test_tp469_1_26_delete_invalid_object_allow_partial_false(pair: AgentPair) -> None:
    """TP-469 1.26: Error with param_errs naming the path."""
    err = pair.delete("Device.LocalAgent.InvalidObject.1.")
    assert (
        isinstance(err, ErrorMessage) and err.param_errs[0].param_path == "Device.LocalAgent.InvalidObject.1."
    )


def test_tp469_1_27_delete_two_instances(pair: AgentPair) -> None:
    """TP-469 1.27."""
    a, b = _sub(pair, "a"), _sub(pair, "b")
    res = pair.delete([a, b]).deleted_obj_results
    assert [r.oper_status.affected_paths for r in res] == [(a,), (b,)]


def test_tp469_1_28_delete_valid_and_invalid_allow_partial_false(pair: AgentPair) -> None:
    """TP-469 1.28 (R-DEL.1): Error; the valid instance is not deleted."""
    a = _sub(pair, "a")
    assert isinstance(pair.delete([a, "Device.LocalAgent.InvalidObject.1."]), ErrorMessage)
    assert _count(pair) == 1


def test_tp469_1_30_delete_invalid_object_allow_partial_true(pair: AgentPair) -> None:
    """TP-469 1.30/1.31: oper_failure for the invalid path, success for the valid one."""
    a = _sub(pair, "a")
    ok, bad = pair.delete([a, "Device.LocalAgent.InvalidObject.1."], allow_partial=True).deleted_obj_results
    assert ok.oper_status.affected_paths == (a,)
    assert (
        isinstance(bad.oper_status, OperationFailure) and bad.oper_status.err_code == ErrorCode.INVALID_PATH
    )


def test_tp469_1_32_delete_valid_and_non_existent_allow_partial_true(pair: AgentPair) -> None:
    """TP-469 1.32."""
    a = _sub(pair, "a")
    ok, empty = pair.delete([a, SUB + "9."], allow_partial=True).deleted_obj_results
    assert ok.oper_status.affected_paths == (a,) and empty.oper_status == DeleteOperationSuccess()


def test_tp469_1_33_delete_by_unique_key(pair: AgentPair) -> None:
    """TP-469 1.33: affected_paths in instance-number form."""
    a = _sub(pair, "a")
    (res,) = pair.delete(f'{SUB}[Recipient=="{CTRL1}"&&ID=="a"].').deleted_obj_results
    assert res.oper_status.affected_paths == (a,)


def test_tp469_1_34_delete_wildcard(pair: AgentPair) -> None:
    """TP-469 1.34: one result listing every deleted instance."""
    a, b = _sub(pair, "a"), _sub(pair, "b")
    (res,) = pair.delete(SUB + "*.").deleted_obj_results
    assert res.oper_status.affected_paths == (a, b)


def test_tp469_1_35_delete_search_expression(pair: AgentPair) -> None:
    """TP-469 1.35: only matching rows deleted."""
    _sub(pair, "a")
    b = _sub(pair, "b", Enable="true")
    (res,) = pair.delete(SUB + "[Enable==true].").deleted_obj_results
    assert res.oper_status.affected_paths == (b,) and _count(pair) == 1


def test_tp469_1_90_delete_search_matching_nothing(pair: AgentPair) -> None:
    """TP-469 1.90."""
    (res,) = pair.delete(SUB + '[ID=="none"].').deleted_obj_results
    assert res.oper_status == DeleteOperationSuccess()


def test_delete_non_deletable_table_allow_partial_false(pair: AgentPair) -> None:
    """R-DEL.1: a matched instance that cannot be deleted -> Error 7024 in param_errs; nothing deleted."""
    table = pair.dm.schema.lookup("Device.LocalAgent.Request.{i}.")
    pair.dm.store.create(table, (), 1)  # read-only table: an agent-created row
    err = pair.delete("Device.LocalAgent.Request.1.")
    assert isinstance(err, ErrorMessage) and err.param_errs[0].err_code == ErrorCode.DELETE_FAILURE


# -- Get ---------------------------------------------------------------------------------------------------
def test_tp469_1_36_get_full_parameter_path(pair: AgentPair) -> None:
    """TP-469 1.36 (R-GET.2): resolved_path Device.LocalAgent., single key EndpointID."""
    (res,) = pair.get("Device.LocalAgent.EndpointID").req_path_results
    assert [(r.resolved_path, list(r.result_params)) for r in res.resolved_path_results] == [
        ("Device.LocalAgent.", ["EndpointID"])
    ]


def test_tp469_1_37_get_two_parameters(pair: AgentPair) -> None:
    """TP-469 1.37/1.38: two req_path_results, one resolved result each."""
    res = pair.get(["Device.LocalAgent.EndpointID", "Device.DeviceInfo.SerialNumber"]).req_path_results
    assert [r.resolved_path_results[0].resolved_path for r in res] == [
        "Device.LocalAgent.",
        "Device.DeviceInfo.",
    ]


def test_tp469_1_39_get_object_path(pair: AgentPair) -> None:
    """TP-469 1.39: the object and each sub-object separately, keys relative."""
    (res,) = pair.get("Device.LocalAgent.Controller.1.").req_path_results
    paths = [r.resolved_path for r in res.resolved_path_results]
    assert paths == [
        "Device.LocalAgent.Controller.1.",
        "Device.LocalAgent.Controller.1.MTP.1.",
        "Device.LocalAgent.Controller.1.MTP.1.MQTT.",
    ]
    assert all("." not in k for r in res.resolved_path_results for k in r.result_params)


def test_tp469_1_41_get_invalid_parameter(pair: AgentPair) -> None:
    """TP-469 1.41/1.42 (R-GET.0): per-path 7026, other paths still answer."""
    bad, ok = pair.get(
        ["Device.LocalAgent.InvalidParameter", "Device.LocalAgent.EndpointID"]
    ).req_path_results
    assert bad.err_code == ErrorCode.INVALID_PATH and not bad.resolved_path_results
    assert ok.err_code == 0 and ok.resolved_path_results


def test_get_missing_instance_is_7026(pair: AgentPair) -> None:
    """Pitfall 3: an explicit missing instance is 7026 in Get."""
    assert pair.get(SUB + "9.Enable").req_path_results[0].err_code == ErrorCode.INVALID_PATH


def test_tp469_1_43_get_unique_key_addressing(pair: AgentPair) -> None:
    """TP-469 1.43."""
    (res,) = pair.get(
        'Device.LocalAgent.Controller.[EndpointID=="proto::controller"].Enable'
    ).req_path_results
    assert res.resolved_path_results[0].resolved_path == "Device.LocalAgent.Controller.1."


def test_tp469_1_44_get_wildcard_parameter_and_object(pair: AgentPair) -> None:
    """TP-469 1.44/1.45: one ResolvedPathResult per matched instance."""
    a, b = _sub(pair, "a"), _sub(pair, "b")
    p, o = pair.get([SUB + "*.Enable", SUB + "*."]).req_path_results
    assert [r.resolved_path for r in p.resolved_path_results] == [a, b]
    assert [r.resolved_path for r in o.resolved_path_results] == [a, b]


@pytest.mark.parametrize(
    ("expr", "ids"),
    [
        ("Enable==true", ["b"]),
        ("Enable!=true", ["a"]),
        ("NotifExpiration>10", ["b"]),
        ("NotifExpiration<10", ["a"]),
        ("NotifExpiration>=20", ["b"]),
        ("NotifExpiration<=5", ["a"]),
    ],
)
def test_tp469_1_46_get_search_operators(pair: AgentPair, expr: str, ids: list[str]) -> None:
    """TP-469 1.46-1.51: only matching instances returned."""
    _sub(pair, "a", NotifExpiration="5")
    _sub(pair, "b", Enable="true", NotifExpiration="20")
    (res,) = pair.get(f"{SUB}[{expr}].ID").req_path_results
    assert [r.result_params["ID"] for r in res.resolved_path_results] == ids


@pytest.mark.parametrize("path", [SUB + "[Enable==true].", SUB, SUB + "*."])
def test_tp469_1_82_get_search_or_empty_table(pair: AgentPair, path: str) -> None:
    """TP-469 1.82/1.86/1.87: no error, empty resolved results."""
    (res,) = pair.get(path).req_path_results
    assert res.err_code == 0 and res.resolved_path_results == ()


def test_tp469_1_89_get_max_depth(pair: AgentPair) -> None:
    """TP-469 1.89: max_depth 1, 2 and 0 on Device.LocalAgent."""

    def paths(depth: int) -> list[str]:
        return [
            r.resolved_path
            for r in pair.get("Device.LocalAgent.", depth).req_path_results[0].resolved_path_results
        ]

    assert paths(1) == ["Device.LocalAgent."]
    two = paths(2)
    assert "Device.LocalAgent.Controller.1." in two and "Device.LocalAgent.Controller.1.MTP.1." not in two
    assert "Device.LocalAgent.Controller.1.MTP.1." in paths(3)
    assert "Device.LocalAgent.Controller.1.MTP.1.MQTT." in paths(0)


def test_get_command_path_is_7026(pair: AgentPair) -> None:
    assert pair.get("Device.Reboot()").req_path_results[0].err_code == ErrorCode.INVALID_PATH


def test_get_six_instance_levels_and_long_values() -> None:
    """obuspa limits: values up to 4096 characters are accepted and read back intact."""
    pair = AgentPair()
    refs = ",".join(f"Device.LocalAgent.Controller.{n}.ProvisioningCode" for n in range(1, 84))
    assert 4000 < len(refs) <= 4096
    path = pair.subscription("long", ReferenceList=refs)
    assert pair.value(path + "ReferenceList") == refs
    err = pair.set(path, {"NotifExpiration": "1" * 4097})
    assert isinstance(err, ErrorMessage) and err.param_errs[0].err_code == ErrorCode.INVALID_VALUE


# -- GetInstances ------------------------------------------------------------------------------------------
def test_tp469_1_66_get_instances_first_level_only(pair: AgentPair) -> None:
    """TP-469 1.66: only the addressed table's instances, with unique keys."""
    (res,) = pair.instances("Device.LocalAgent.Controller.", True).req_path_results
    assert [(c.instantiated_obj_path, c.unique_keys) for c in res.curr_insts] == [
        ("Device.LocalAgent.Controller.1.", {"Alias": "cpe-1", "EndpointID": "proto::controller"})
    ]


def test_tp469_1_67_get_instances_recursive(pair: AgentPair) -> None:
    """TP-469 1.67/1.68: nested tables too; several paths."""
    a, b = pair.instances(["Device.LocalAgent.Controller.", SUB], False).req_path_results
    assert [c.instantiated_obj_path for c in a.curr_insts] == [
        "Device.LocalAgent.Controller.1.",
        "Device.LocalAgent.Controller.1.MTP.1.",
    ]
    assert b.curr_insts == () and b.err_code == 0


def test_tp469_1_70_get_instances_wildcard_and_search(pair: AgentPair) -> None:
    """TP-469 1.70/1.71/1.83."""
    w, s, none = pair.instances(
        [
            "Device.LocalAgent.Controller.*.MTP.",
            "Device.LocalAgent.Controller.[Enable==true].MTP.",
            'Device.LocalAgent.Controller.[Alias=="zz"].MTP.',
        ],
        True,
    ).req_path_results
    assert [c.instantiated_obj_path for c in w.curr_insts] == ["Device.LocalAgent.Controller.1.MTP.1."]
    assert s.curr_insts == w.curr_insts and none.curr_insts == () and none.err_code == 0


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("Device.LocalAgent.Bogus.", ErrorCode.INVALID_PATH),
        ("Device.LocalAgent.EndpointID", ErrorCode.NOT_A_TABLE),
        (SUB + "7.", ErrorCode.OBJECT_DOES_NOT_EXIST),
    ],
)
def test_get_instances_errors_per_path(pair: AgentPair, path: str, code: int) -> None:
    """usp-protocol.md 11.2 errors, per requested path."""
    assert pair.instances(path).req_path_results[0].err_code == code


# -- GetSupportedDM ----------------------------------------------------------------------------------------
def test_tp469_1_72_gsdm_full_subtree_with_details(pair: AgentPair) -> None:
    """TP-469 1.72/1.76/1.99: every object with details; tables once as X.{i}.; unique_key_sets."""
    (res,) = pair.supported("Device.LocalAgent.").req_obj_results
    objs = {o.supported_obj_path: o for o in res.supported_objs}
    assert res.data_model_inst_uri == "urn:broadband-forum-org:tr-181-2-16-0"
    sub = objs["Device.LocalAgent.Subscription.{i}."]
    assert sub.is_multi_instance and "Device.LocalAgent.Subscription." not in objs
    assert [k.key_names for k in sub.unique_key_sets] == [("Alias",), ("Recipient", "ID")]
    alias = next(p for p in sub.supported_params if p.param_name == "Alias")
    assert alias.access == 1 and alias.value_type == 8  # writeOnceReadOnly -> READ_WRITE, STRING
    assert (
        objs["Device.LocalAgent.Controller.{i}."].supported_commands[0].command_name == "SendOnBoardRequest()"
    )


def test_tp469_1_73_gsdm_first_level_only(pair: AgentPair) -> None:
    """TP-469 1.73-1.75: immediate children carry no details."""
    (res,) = pair.supported("Device.LocalAgent.", first_level_only=True).req_obj_results
    first, *kids = res.supported_objs
    assert first.supported_params and first.supported_events
    assert all(not (k.supported_params or k.supported_commands or k.supported_events) for k in kids)
    (bare,) = pair.supported("Device.LocalAgent.", first_level_only=True, flags=False).req_obj_results
    assert not bare.supported_objs[0].supported_params


def test_tp469_1_77_gsdm_unsupported_object(pair: AgentPair) -> None:
    """TP-469 1.77: error code inside the result, never an Error message."""
    bad, ok = pair.supported(["Device.Bogus.", "Device.DeviceInfo."]).req_obj_results
    assert bad.err_code == ErrorCode.INVALID_PATH and ok.err_code == 0


def test_tp469_1_97_gsdm_commands_and_events(pair: AgentPair) -> None:
    """TP-469 1.97/1.98: command type and event argument names."""
    (res,) = pair.supported("Device.").req_obj_results
    root = res.supported_objs[0]
    assert {c.command_name: c.command_type for c in root.supported_commands}["Reboot()"] == 1  # CMD_SYNC
    boot = next(e for e in root.supported_events if e.event_name == "Boot!")
    assert set(boot.arg_names) == {"CommandKey", "Cause", "FirmwareUpdated", "ParameterMap"}


@pytest.mark.parametrize(
    ("path", "member"),
    [
        ("Device.Reboot()", "supported_commands"),
        ("Device.Boot!", "supported_events"),
        ("Device.LocalAgent.EndpointID", "supported_params"),
    ],
)
def test_tp469_1_105_gsdm_single_element(pair: AgentPair, path: str, member: str) -> None:
    """TP-469 1.105-1.107: only that element is listed."""
    (res,) = pair.supported(path).req_obj_results
    (obj,) = res.supported_objs
    lists = {m: getattr(obj, m) for m in ("supported_commands", "supported_events", "supported_params")}
    assert len(lists.pop(member)) == 1 and not any(lists.values())


def test_gsdm_instantiated_path(pair: AgentPair) -> None:
    """11.1: an existing instantiated object path is accepted; a missing instance is 7026."""
    ok, bad = pair.supported(
        ["Device.LocalAgent.Controller.1.", "Device.LocalAgent.Controller.5."]
    ).req_obj_results
    assert ok.err_code == 0 and bad.err_code == ErrorCode.INVALID_PATH


# -- Operate (built-in answer) -----------------------------------------------------------------------------
def test_operate_fallback_sync_command(pair: AgentPair) -> None:
    """TP-469 1.61 shape: OperateResp with empty output args; bad paths -> Error."""
    resp = pair.operate("Device.Reboot()")
    assert resp.operation_results[0].executed_command == "Device.Reboot()"
    assert pair.operate("Device.Bogus()").err_code == ErrorCode.INVALID_PATH


def test_operate_send_resp_false_sends_nothing(pair: AgentPair) -> None:
    from simulator.usp.requests import Operate

    _, record = pair.controller.request(Operate("Device.Reboot()", "k", False))
    assert pair.sends(pair.send(record)) == []
