"""Oktopus onboarding (controllers.md): one Get of five DeviceInfo leaves, max_depth 1, Record version 1.0."""

from __future__ import annotations

from helpers import AgentPair

from simulator.usp.messages import Msg, MsgType
from simulator.usp.records import decode_record
from simulator.usp.requests import Get

LEAVES = ("Manufacturer", "ModelName", "SoftwareVersion", "SerialNumber", "ProductClass")


def test_onboarding_oktopus_get_of_five_leaves(pair: AgentPair) -> None:
    """Results come back in request order, each with resolved_path_results[0] and relative names."""
    pair.controller.version = "1.0"
    paths = tuple(f"Device.DeviceInfo.{leaf}" for leaf in reversed(LEAVES))
    _, record = pair.controller.request(Get(paths, 1), "oktopus-onboard-1")
    (send,) = pair.sends(pair.send(record))
    rec = decode_record(send.record)
    assert rec.version == "1.3" and rec.to_id == "proto::controller"
    _, reply = pair.controller.decode(send.record)
    assert reply.msg_id == "oktopus-onboard-1" and reply.msg_type == MsgType.GET_RESP
    results = reply.body.req_path_results
    assert [r.requested_path for r in results] == list(paths)
    for leaf, result in zip(reversed(LEAVES), results, strict=True):
        assert result.err_code == 0
        first = result.resolved_path_results[0]
        assert first.resolved_path == "Device.DeviceInfo."
        assert list(first.result_params) == [leaf] and first.result_params[leaf]
    assert results[3].resolved_path_results[0].result_params["ModelName"] == "SIM-1"


def test_onboarding_openusp_full_tree_get(pair: AgentPair) -> None:
    """OpenUSP: Get Device. returns every object separately, keys relative."""
    reply = pair.request(Get(("Device.",)))
    rprs = reply.body.req_path_results[0].resolved_path_results
    assert rprs[0].resolved_path == "Device." and len(rprs) > 10
    assert all(r.resolved_path.endswith(".") and all("." not in k for k in r.result_params) for r in rprs)


def test_onboarding_answers_every_request_with_its_own_msg_id(pair: AgentPair) -> None:
    """Oktopus does not match msg_ids itself, but every answer must echo its request (pitfall 1)."""
    for i in range(3):
        msg = Msg.of(f"id-{i}", Get(("Device.DeviceInfo.SerialNumber",)))
        (send,) = pair.sends(pair.send(pair.controller.record(msg)))
        assert pair.controller.decode(send.record)[1].msg_id == f"id-{i}"
