"""The agent's Get fast path (fastwire.parse_get_record) answers exactly as the protobuf path does."""

from __future__ import annotations

import pytest
from helpers import AGENT_ID, CONTROLLER_ID, AgentPair

from simulator.usp._pb import usp_record_1_4_pb2 as rpb
from simulator.usp.fastwire import parse_get_record
from simulator.usp.messages import decode_record_msg, get_request_record

PATHS = [
    ("Device.DeviceInfo.",),
    ("Device.DeviceInfo.SoftwareVersion", "Device.Nope.", "Device.LocalAgent.Controller.*.EndpointID"),
    ("Device." + "X." * 3000,),
    (),
]


def _slow_form(canonical: bytes) -> bytes:
    """The same Record with payload_security=PLAINTEXT written out: valid, but not the canonical layout."""
    pb = rpb.Record.FromString(canonical)
    return pb.SerializeToString() + b"\x20\x00"


def _answers(record: bytes) -> list[tuple[object, ...]]:
    pair = AgentPair()
    out = []
    for action in pair.send(record):
        if hasattr(action, "record"):
            rec, msg = decode_record_msg(action.record)
            out.append((type(action).__name__, action.to_id, action.reply_to, action.msg_type,
                        rec.to_id, rec.from_id, msg))
        else:
            out.append((action,))
    return out


@pytest.mark.parametrize("paths", PATHS, ids=range(len(PATHS)))
@pytest.mark.parametrize(("to_id", "from_id", "msg_id"), [
    (AGENT_ID, CONTROLLER_ID, "m-1"),
    (AGENT_ID, CONTROLLER_ID, ""),
    ("os::someone-else", CONTROLLER_ID, "m-1"),
    (AGENT_ID, "", "m-1"),
    (AGENT_ID, AGENT_ID, "m-1"),
    (AGENT_ID, "proto::stranger", "m-1"),
])
def test_get_fast_path_matches_the_protobuf_path(paths: tuple[str, ...], to_id: str, from_id: str,
                                                 msg_id: str) -> None:
    canonical = get_request_record("1.3", to_id, from_id, msg_id, paths, max_depth=1)
    slow = _slow_form(canonical)
    assert parse_get_record(canonical) is not None
    assert parse_get_record(slow) is None
    assert _answers(canonical) == _answers(slow)


def test_get_fast_path_answers_a_get() -> None:
    pair = AgentPair()
    record = get_request_record("1.3", AGENT_ID, CONTROLLER_ID, "m-9", ("Device.DeviceInfo.SerialNumber",))
    sends = pair.sends(pair.send(record))
    _, msg = decode_record_msg(sends[0].record)
    assert msg is not None
    assert msg.msg_id == "m-9"
    assert msg.body.req_path_results[0].resolved_path_results[0].result_params  # type: ignore[union-attr]
    assert sends[0].msg_type == "GetResp"
