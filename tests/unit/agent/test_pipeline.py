"""The Agent receive pipeline, rule by rule (usp-protocol.md 1.3-1.4): drops are never answered."""

from __future__ import annotations

import pytest
from helpers import AGENT_ID, CONTROLLER_ID, AgentPair

from simulator.agent.actions import Send
from simulator.agent.context import AgentConfig, AgentContext, iso8601
from simulator.usp.errors import ErrorCode
from simulator.usp.messages import Msg, MsgType, encode_msg
from simulator.usp.records import (
    MQTTVersion,
    PayloadSecurity,
    RecordKind,
    decode_record,
    encode_disconnect,
    encode_mqtt_connect,
    encode_no_session_context,
    encode_record,
    encode_session_context,
    encode_websocket_connect,
)
from simulator.usp.requests import Get, GetSupportedProtocol, Notify, ValueChange
from simulator.usp.responses import ErrorMessage, GetResp, NotifyResp


def _get_record(pair: AgentPair, **kw: str) -> bytes:
    return pair.controller.record(Msg.of("m1", Get(("Device.DeviceInfo.SerialNumber",))), **kw)


def _dropped(pair: AgentPair, actions: list, reason: str) -> None:
    assert pair.sends(actions) == []
    obs = pair.observes(actions, "dropped_record")
    assert [dict(o.labels)["reason"] for o in obs] == [reason]


def test_pipeline_answers_a_valid_get(pair: AgentPair) -> None:
    reply = pair.request(Get(("Device.DeviceInfo.SerialNumber",)), "m-1")
    assert reply.msg_type == MsgType.GET_RESP and isinstance(reply.body, GetResp)
    assert [o.kind for o in pair.observes(pair.actions, "request")] == ["Get"]


def test_pipeline_drops_undecodable_bytes(pair: AgentPair) -> None:
    """R-MTP.5: a Record that does not parse is dropped."""
    _dropped(pair, pair.send(b"\xff\xff\xff garbage"), "not_parsed")


def test_pipeline_drops_oversized_records() -> None:
    pair = AgentPair(max_message_bytes=1000)
    big = pair.controller.record(Msg.of("m", Get(("Device." + "x" * 2000,))))
    _dropped(pair, pair.send(big), "oversized")


def test_pipeline_drops_wrong_to_id(pair: AgentPair) -> None:
    """TP-469 2.2: a Record not addressed to us gets no response."""
    _dropped(pair, pair.send(_get_record(pair, to_id="os::someone-else")), "to_id")


@pytest.mark.parametrize("from_id", ["", AGENT_ID])
def test_pipeline_drops_empty_or_own_from_id(pair: AgentPair, from_id: str) -> None:
    """TP-469 2.1: from_id equal to our own EndpointID (or empty) gets no response."""
    _dropped(pair, pair.send(_get_record(pair, from_id=from_id)), "from_id")


def test_pipeline_drops_unknown_controller(pair: AgentPair) -> None:
    """[obuspa] the sender must be a Device.LocalAgent.Controller.{i}.EndpointID."""
    _dropped(pair, pair.send(_get_record(pair, from_id="proto::stranger")), "unknown_controller")


def test_pipeline_accepts_unknown_controller_when_configured() -> None:
    pair = AgentPair(require_known_controller=False)
    pair.controller.endpoint_id = "proto::stranger"
    reply = pair.request(Get(("Device.DeviceInfo.SerialNumber",)))
    # no Controller row -> UntrustedRole (Role.2, no permissions): the parameter is invisible
    assert reply.body.req_path_results[0].err_code == ErrorCode.INVALID_PATH


def test_pipeline_without_reply_to_uses_controller_mtp(pair: AgentPair) -> None:
    """No reply_to on the frame: still answered when the controller row has an MTP."""
    sends = pair.sends(pair.send(_get_record(pair), reply_to=None))
    assert len(sends) == 1 and sends[0].reply_to is None


def test_pipeline_drops_when_no_reply_path(pair: AgentPair) -> None:
    """[obuspa] no reply-to and no MTP configured for the controller: drop."""
    pair.dm.delete("Device.LocalAgent.Controller.1.MTP.1.", now=pair.now)
    pair.dm.drain_changes()
    _dropped(pair, pair.send(_get_record(pair), reply_to=None), "no_reply_path")


def test_pipeline_drops_record_without_record_type(pair: AgentPair) -> None:
    from simulator.usp.records import Record

    data = encode_record(Record("1.3", AGENT_ID, CONTROLLER_ID, RecordKind.NONE))
    _dropped(pair, pair.send(data), "no_record_type")


def test_pipeline_drops_empty_payload(pair: AgentPair) -> None:
    _dropped(pair, pair.send(encode_no_session_context("1.3", AGENT_ID, CONTROLLER_ID, b"")), "empty_payload")


def test_pipeline_refuses_session_context_with_disconnect_7106(pair: AgentPair) -> None:
    """R-E2E.6a: a simple agent answers a session context Record with DisconnectRecord 7106."""
    payload = encode_msg(Msg.of("m", Get(("Device.",))))
    sends = pair.sends(pair.send(encode_session_context("1.3", AGENT_ID, CONTROLLER_ID, payload)))
    assert len(sends) == 1
    rec = decode_record(sends[0].record)
    assert rec.kind is RecordKind.DISCONNECT and rec.reason_code == ErrorCode.SESSION_CONTEXT_NOT_ALLOWED
    assert rec.to_id == CONTROLLER_ID and rec.from_id == AGENT_ID


def test_pipeline_refuses_non_plaintext_payload_with_7104(pair: AgentPair) -> None:
    """[obuspa] a TLS12 payload in no_session_context gets DisconnectRecord 7104."""
    from simulator.usp.records import Record

    payload = encode_msg(Msg.of("m", Get(("Device.",))))
    data = encode_record(
        Record(
            "1.3",
            AGENT_ID,
            CONTROLLER_ID,
            RecordKind.NO_SESSION_CONTEXT,
            payload,
            payload_security=PayloadSecurity.TLS12,
        )
    )
    sends = pair.sends(pair.send(data))
    assert decode_record(sends[0].record).reason_code == ErrorCode.INVALID_RECORD_VALUE


@pytest.mark.parametrize(
    "data",
    [
        encode_disconnect("1.3", AGENT_ID, CONTROLLER_ID, "bye", 0),
        encode_mqtt_connect("1.3", AGENT_ID, CONTROLLER_ID, MQTTVersion.V5, "t"),
        encode_websocket_connect("1.3", AGENT_ID, CONTROLLER_ID),
    ],
)
def test_pipeline_ignores_disconnect_and_connect_records(pair: AgentPair, data: bytes) -> None:
    """[obuspa] Connect Records from a controller are ignored; a DisconnectRecord clears (no) state."""
    assert pair.sends(pair.send(data)) == []


def test_pipeline_drops_payload_that_is_not_a_msg(pair: AgentPair) -> None:
    _dropped(
        pair,
        pair.send(encode_no_session_context("1.3", AGENT_ID, CONTROLLER_ID, b"\x0a\xff")),
        "msg_not_parsed",
    )


def test_pipeline_drops_msg_without_msg_id(pair: AgentPair) -> None:
    data = pair.controller.record(Msg("", MsgType.GET, Get(("Device.",))))
    _dropped(pair, pair.send(data), "no_msg_id")


def test_pipeline_empty_request_body_gets_error_7001(pair: AgentPair) -> None:
    """R-MSG.10 / pitfall 18: an empty oneof in a request -> Error (obuspa 7001, our default)."""
    sends = pair.sends(pair.send(pair.controller.record(Msg("e1", MsgType.GET, None))))
    _, reply = pair.controller.decode(sends[0].record)
    assert reply.msg_id == "e1" and reply.msg_type == MsgType.ERROR
    assert isinstance(reply.body, ErrorMessage) and reply.body.err_code == ErrorCode.MESSAGE_NOT_SUPPORTED


def test_pipeline_empty_body_error_code_is_configurable() -> None:
    pair = AgentPair(empty_body_error=7004)
    sends = pair.sends(pair.send(pair.controller.record(Msg("e1", MsgType.SET, None))))
    assert pair.controller.decode(sends[0].record)[1].body.err_code == 7004


def test_pipeline_header_body_mismatch_gets_error(pair: AgentPair) -> None:
    """[obuspa] a header msg_type inconsistent with the request body -> Error 7001."""
    data = pair.controller.record(Msg("x1", MsgType.SET, Get(("Device.",))))
    _, reply = pair.controller.decode(pair.sends(pair.send(data))[0].record)
    assert reply.body.err_code == ErrorCode.MESSAGE_NOT_SUPPORTED


def test_pipeline_empty_response_body_is_dropped(pair: AgentPair) -> None:
    _dropped(pair, pair.send(pair.controller.record(Msg("r1", MsgType.GET_RESP, None))), "empty_body")


@pytest.mark.parametrize(
    "body",
    [
        Notify("s", True, ValueChange("Device.X", "1")),
    ],
)
def test_pipeline_agent_only_requests_get_7002(pair: AgentPair, body: Notify) -> None:
    """[obuspa] NOTIFY/REGISTER/DEREGISTER from a controller -> Error 7002."""
    reply = pair.request(body)
    assert reply.msg_type == MsgType.ERROR and reply.body.err_code == ErrorCode.REQUEST_DENIED


def test_pipeline_register_from_controller_gets_7002(pair: AgentPair) -> None:
    from simulator.usp.requests import Deregister, Register

    assert pair.request(Register(False, ("Device.X.",))).body.err_code == ErrorCode.REQUEST_DENIED
    assert pair.request(Deregister(("",))).body.err_code == ErrorCode.REQUEST_DENIED


def test_pipeline_received_error_is_never_answered(pair: AgentPair) -> None:
    """R-MTP.5 / pitfall 25."""
    acts = pair.send(pair.controller.record(Msg.of("x", ErrorMessage(7003, "boom"))))
    assert pair.sends(acts) == [] and pair.observes(acts, "error_received")[0].error == 7003


def test_pipeline_unexpected_response_is_dropped(pair: AgentPair) -> None:
    _dropped(pair, pair.send(pair.controller.record(Msg.of("x", GetResp(())))), "unexpected_response")


def test_pipeline_notify_resp_is_not_answered(pair: AgentPair) -> None:
    acts = pair.send(pair.controller.record(Msg.of("Boot!-x-1", NotifyResp(""))))
    assert pair.sends(acts) == [] and pair.observes(acts, "notify_resp")


def test_pipeline_get_supported_protocol(pair: AgentPair) -> None:
    """TP-469 1.80."""
    assert (
        pair.request(GetSupportedProtocol("1.3")).body.agent_supported_protocol_versions == "1.0,1.1,1.2,1.3"
    )


def test_pipeline_internal_error_becomes_7003_and_reraises_only_in_strict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from simulator.agent import agent as agent_mod

    def boom(*_a: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(agent_mod, "handle_get_plain", boom)  # the Get hot path
    lax = AgentPair(strict=False)
    reply = lax.request(Get(("Device.",)))
    assert reply.body.err_code == ErrorCode.INTERNAL_ERROR
    assert lax.observes(lax.actions, "internal_error")
    strict = AgentPair()
    with pytest.raises(RuntimeError):
        strict.send(strict.controller.record(Msg.of("m", Get(("Device.",)))))


def test_pipeline_reply_record_swaps_ids_and_uses_our_version() -> None:
    pair = AgentPair()
    pair.controller.version = "1.0"
    sends = pair.sends(pair.send(_get_record(pair)))
    rec = decode_record(sends[0].record)
    assert (rec.version, rec.to_id, rec.from_id) == ("1.3", CONTROLLER_ID, AGENT_ID)
    assert sends[0].msg_type == "GetResp"


def test_pipeline_connect_and_disconnect_records_for_driver(pair: AgentPair) -> None:
    acts = pair.agent.mtp_connected(pair.now, mtp_kind="websocket")
    sends = [a for a in acts if isinstance(a, Send)]
    assert [s.to_id for s in sends] == [CONTROLLER_ID]
    assert decode_record(sends[0].record).kind is RecordKind.WEBSOCKET_CONNECT
    mqtt = decode_record(pair.agent.connect_record(CONTROLLER_ID, "mqtt", MQTTVersion.V5, "usp/agent/x"))
    assert mqtt.kind is RecordKind.MQTT_CONNECT and mqtt.subscribed_topic == "usp/agent/x"
    bye = pair.agent.stop(pair.now)
    assert decode_record(bye[0].record).kind is RecordKind.DISCONNECT  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        pair.agent.connect_record(CONTROLLER_ID, "carrier-pigeon")


def test_context_msg_ids_are_unique_and_obuspa_shaped(pair: AgentPair) -> None:
    ctx: AgentContext = pair.agent.ctx
    a = ctx.next_msg_id("Boot!", 0.0)
    b = ctx.next_msg_id("Boot!", 0.0)
    assert a == "Boot!-1970-01-01T00:00:00Z-1" and b.endswith("-2") and a != b
    assert iso8601(86400) == "1970-01-02T00:00:00Z"
    row = ctx.controller_for(CONTROLLER_ID)
    assert row is not None and row.path == "Device.LocalAgent.Controller.1." and row.instance == 1
    assert ctx.controller_for("nobody") is None


def test_context_controller_cache_follows_the_table(pair: AgentPair) -> None:
    pair.add("Device.LocalAgent.Controller.", {"EndpointID": "proto::second"})
    assert pair.agent.ctx.controller_for("proto::second") is not None
    pair.set("Device.LocalAgent.Controller.2.", {"EndpointID": "proto::renamed"})
    assert pair.agent.ctx.controller_for("proto::second") is None
    assert pair.agent.ctx.controller_for("proto::renamed") is not None


def test_agent_config_defaults() -> None:
    cfg = AgentConfig("os::x")
    assert (cfg.record_version, cfg.supported_versions, cfg.max_value_chars, cfg.max_message_bytes) == (
        "1.3",
        "1.0,1.1,1.2,1.3",
        4096,
        5 * 1024 * 1024,
    )


def test_pipeline_with_behaviour_answers_operate_and_notifies_own_set() -> None:
    """With simulator.agent.behaviour: Operate goes through it; a Set fires ValueChange (pitfall 12)."""
    pair = AgentPair(behaviour=True)
    assert pair.agent.behaviour is not None
    pair.agent.start(pair.now)
    pair.subscription("vc", Enable="true", ReferenceList="Device.LocalAgent.Controller.1.ProvisioningCode")
    pair.agent.mtp_connected(pair.now)
    pair.actions.clear()
    pair.set("Device.LocalAgent.Controller.1.", {"ProvisioningCode": "x"})
    kinds = [s.msg_type for s in pair.sends(pair.actions)]
    assert kinds == ["SetResp", "Notify:ValueChange"]
    resp = pair.operate("Device.Reboot()")
    assert resp.operation_results[0].executed_command == "Device.Reboot()"
