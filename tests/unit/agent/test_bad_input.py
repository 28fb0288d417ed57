"""Bad input on the receive path (issue 8): each case has one defined outcome (docs/reliability.md).

Every case asserts what the agent does (drop with a counted reason, per-path error, or Error message)
and that it never raises (the AgentPair is strict: an unexpected exception fails the test).
"""

from __future__ import annotations

import pytest
from helpers import AGENT_ID, CONTROLLER_ID, AgentPair

from simulator.agent.actions import Observe, Send
from simulator.usp._pb import usp_msg_1_4_pb2 as pb_msg
from simulator.usp.errors import ErrorCode
from simulator.usp.messages import Msg, encode_msg
from simulator.usp.records import decode_record, encode_no_session_context
from simulator.usp.requests import Get, Set, UpdateObject, UpdateParamSetting
from simulator.usp.responses import ErrorMessage, GetResp, SetResp

MB5 = 5 * 1024 * 1024


def _dropped(actions: list, reason: str) -> None:  # type: ignore[type-arg]
    assert not [a for a in actions if isinstance(a, Send)], "a dropped Record must not be answered"
    drops = [a for a in actions if isinstance(a, Observe) and a.name == "dropped_record"]
    assert [dict(d.labels)["reason"] for d in drops] == [reason]


def _raw(pair: AgentPair, payload: bytes, *, to_id: str = AGENT_ID, from_id: str = CONTROLLER_ID) -> bytes:
    return encode_no_session_context("1.3", to_id, from_id, payload)


# -- size ------------------------------------------------------------------------------------------


def test_bad_input_record_over_5mb_is_dropped_before_decoding(pair: AgentPair) -> None:
    """> max_message_bytes (5 MiB): dropped unparsed, counted as ``oversized``, never answered."""
    msg = Msg.of("big-1", Get(("Device." + "x" * MB5,)))
    record = pair.controller.record(msg)
    assert len(record) > MB5
    _dropped(pair.send(record), "oversized")
    _dropped(pair.send(b"\x00" * (MB5 + 1)), "oversized")


def test_bad_input_record_just_under_the_limit_is_processed(pair: AgentPair) -> None:
    """A legal but large Record (one 1 MB path) is answered with a per-path error, not dropped."""
    body = pair.get("Device." + "A" * 1_000_000)
    assert isinstance(body, GetResp)
    assert body.req_path_results[0].err_code in (ErrorCode.INVALID_PATH, ErrorCode.INVALID_PATH_SYNTAX)


# -- paths -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100, 5000])
def test_bad_input_deep_path_is_a_per_path_error(pair: AgentPair, depth: int) -> None:
    """``Device.A.A.A....`` (thousands of levels): 7026 Invalid Path for that path only; others answer."""
    body = pair.get(["Device." + "A." * depth, "Device.DeviceInfo.ProvisioningCode"])
    assert isinstance(body, GetResp)
    bad, good = body.req_path_results
    assert bad.err_code == ErrorCode.INVALID_PATH
    assert good.err_code == 0


def test_bad_input_deeply_nested_search_expression_is_a_per_path_error(pair: AgentPair) -> None:
    path = "Device.LocalAgent.Subscription." + "[" * 2000 + "Enable==true" + "]" * 2000 + "."
    body = pair.get(path)
    assert isinstance(body, GetResp)
    assert body.req_path_results[0].err_code in (ErrorCode.INVALID_PATH_SYNTAX, ErrorCode.INVALID_PATH)


@pytest.mark.parametrize(
    "instance", ["2147483648", "4294967296", "99999999999999999999999999999999", "1" * 5000]
)
def test_bad_input_huge_instance_number_is_invalid_path_syntax(pair: AgentPair, instance: str) -> None:
    """Instance numbers above 2^31-1 are refused with 7008; paths over the length limit with 7026 first."""
    expected = ErrorCode.INVALID_PATH if len(instance) > 1000 else ErrorCode.INVALID_PATH_SYNTAX
    body = pair.get(f"Device.LocalAgent.Subscription.{instance}.")
    assert isinstance(body, GetResp)
    assert body.req_path_results[0].err_code == expected
    inst = pair.instances(f"Device.LocalAgent.Subscription.{instance}.")
    assert inst.req_path_results[0].err_code == expected


def test_bad_input_largest_instance_number_is_simply_absent(pair: AgentPair) -> None:
    body = pair.get("Device.LocalAgent.Subscription.2147483647.")
    assert isinstance(body, GetResp)
    assert body.req_path_results[0].err_code in (0, ErrorCode.INVALID_PATH, ErrorCode.OBJECT_DOES_NOT_EXIST)
    assert body.req_path_results[0].resolved_path_results == ()


# -- encoding --------------------------------------------------------------------------------------


def test_bad_input_invalid_utf8_in_record_header_is_dropped(pair: AgentPair) -> None:
    """Invalid UTF-8 in a Record string (from_id): the Record cannot be parsed -> dropped (R-MTP.5)."""
    record = bytearray(pair.controller.record(Msg.of("u-1", Get(("Device.",)))))
    at = record.find(CONTROLLER_ID.encode())
    record[at] = 0xFF
    _dropped(pair.send(bytes(record)), "not_parsed")


def test_bad_input_invalid_utf8_in_msg_is_dropped(pair: AgentPair) -> None:
    """Invalid UTF-8 inside the Msg (a path): the msg_id cannot be trusted -> dropped, not answered."""
    payload = bytearray(encode_msg(Msg.of("u-2", Get(("Device.DeviceInfo.",)))))
    at = payload.find(b"Device.DeviceInfo")
    payload[at : at + 2] = b"\xc3\x28"
    _dropped(pair.send(_raw(pair, bytes(payload))), "msg_not_parsed")


def test_bad_input_invalid_utf8_in_set_value_is_dropped(pair: AgentPair) -> None:
    upd = UpdateObject("Device.DeviceInfo.", (UpdateParamSetting("ProvisioningCode", "\u00e9t\u00e9", True),))
    payload = bytearray(encode_msg(Msg.of("u-3", Set(False, (upd,)))))
    at = payload.find("\u00e9".encode())
    payload[at + 1] = 0xFF
    _dropped(pair.send(_raw(pair, bytes(payload))), "msg_not_parsed")
    assert pair.value("Device.DeviceInfo.ProvisioningCode") == ""


def test_bad_input_truncated_and_garbage_records_are_dropped(pair: AgentPair) -> None:
    good = pair.controller.record(Msg.of("t-1", Get(("Device.",))))
    for data in (good[: len(good) // 2], b"\xff" * 64, b"", b"\x0a\xff\xff\xff\xff\x0f"):
        actions = pair.send(data)
        assert not [a for a in actions if isinstance(a, Send)]


# -- message types ---------------------------------------------------------------------------------


def test_bad_input_unknown_msg_type_with_empty_body_is_dropped(pair: AgentPair) -> None:
    """Header msg_type 99 and no body: no request to answer -> dropped (``empty_body``)."""
    m = pb_msg.Msg()
    m.header.msg_id = "x-1"
    m.header.msg_type = 99  # type: ignore[assignment]
    _dropped(pair.send(_raw(pair, m.SerializeToString())), "empty_body")


def test_bad_input_unknown_body_field_is_dropped(pair: AgentPair) -> None:
    """A body oneof from a future USP version (unknown field): nothing we understand -> dropped."""
    m = pb_msg.Msg()
    m.header.msg_id = "x-2"
    m.header.msg_type = 99  # type: ignore[assignment]
    _dropped(pair.send(_raw(pair, m.SerializeToString() + b"\x9a\x06\x02ab")), "empty_body")


def test_bad_input_unknown_msg_type_with_request_body_gets_error(pair: AgentPair) -> None:
    """Header msg_type 99 with a Get body: body authoritative but inconsistent -> Error 7001 [obuspa]."""
    m = pb_msg.Msg()
    m.header.msg_id = "x-3"
    m.header.msg_type = 99  # type: ignore[assignment]
    m.body.request.get.param_paths.append("Device.DeviceInfo.")
    actions = pair.send(_raw(pair, m.SerializeToString()))
    (send,) = [a for a in actions if isinstance(a, Send)]
    _, reply = pair.controller.decode(send.record)
    assert reply.msg_id == "x-3"
    assert isinstance(reply.body, ErrorMessage)
    assert reply.body.err_code == pair.config.empty_body_error


# -- identities ------------------------------------------------------------------------------------


def test_bad_input_wrong_to_id_is_dropped(pair: AgentPair) -> None:
    """TP-469 2.2: a Record for another agent is dropped silently."""
    _dropped(
        pair.send(pair.controller.record(Msg.of("w-1", Get(("Device.",))), to_id="os::012345-OTHER")), "to_id"
    )


def test_bad_input_from_id_of_unknown_controller_is_dropped(pair: AgentPair) -> None:
    """[obuspa] 1.4 step 3: a from_id that is no Controller row is dropped silently."""
    rec = pair.controller.record(Msg.of("s-1", Get(("Device.",))), from_id="proto::intruder")
    _dropped(pair.send(rec), "unknown_controller")


def test_bad_input_from_id_equal_to_own_id_is_dropped(pair: AgentPair) -> None:
    _dropped(pair.send(pair.controller.record(Msg.of("s-2", Get(("Device.",))), from_id=AGENT_ID)), "from_id")


def test_bad_input_spoofed_from_id_of_another_controller_gets_that_controllers_rights(
    pair: AgentPair,
) -> None:
    """A Record claiming to come from Controller.2 is handled with Controller.2's role, answered to it.

    USP has no authentication of from_id without E2E sessions: the MTP (broker ACLs, TLS client
    certificates) must stop spoofing. The agent's defined outcome is containment: the spoofed identity
    never gains more than that controller's own ControllerTrust permissions, and the answer's to_id is
    the claimed controller (never the spoofer's own EndpointID).
    """
    dm, now = pair.dm, pair.now
    (role,) = dm.add(
        "Device.LocalAgent.ControllerTrust.Role.", {"Name": "ReadOnly", "Enable": "true"}, now=now
    )
    dm.add(
        role.path + "Permission.",
        {"Enable": "true", "Order": "1", "Targets": "Device.", "Param": "r---", "Obj": "r---",
         "InstantiatedObj": "r---", "CommandEvent": "r---"},
        now=now,
    )  # fmt: skip
    dm.add(
        "Device.LocalAgent.Controller.",
        {"EndpointID": "proto::other", "Enable": "true", "AssignedRole": role.path[:-1]},
        now=now,
    )
    pair.agent.poll(now)
    upd = UpdateObject("Device.DeviceInfo.", (UpdateParamSetting("ProvisioningCode", "spoofed", True),))
    record = pair.controller.record(Msg.of("sp-1", Set(False, (upd,))), from_id="proto::other")
    sends = [a for a in pair.send(record) if isinstance(a, Send)]
    assert len(sends) == 1
    rec = decode_record(sends[0].record)
    assert rec.to_id == "proto::other"
    _, reply = pair.controller.decode(sends[0].record)
    body = reply.body
    assert isinstance(body, (SetResp, ErrorMessage))
    if isinstance(body, ErrorMessage):
        assert body.err_code == ErrorCode.PERMISSION_DENIED, body
    else:
        status = body.updated_obj_results[0].oper_status
        assert status.err_code == ErrorCode.PERMISSION_DENIED, status  # type: ignore[union-attr]
    assert pair.value("Device.DeviceInfo.ProvisioningCode") == ""
