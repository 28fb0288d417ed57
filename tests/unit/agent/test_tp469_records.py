"""TP-469 cases on instance-path Gets and malformed Records (sections 1.40 and 3.1)."""

from __future__ import annotations

import pytest
from helpers import AgentPair

from simulator.usp.records import encode_no_session_context


def test_tp469_1_40_get_instance_path(pair: AgentPair) -> None:
    """TP-469 1.40 (R-GET.2): an instance path returns that instance (and its sub-objects), keys relative."""
    inst = pair.subscription("s40", Enable="true")
    (res,) = pair.get(inst).req_path_results
    assert res.err_code == 0 and res.requested_path == inst
    (only,) = [r for r in res.resolved_path_results if r.resolved_path == inst]
    assert only.result_params["ID"] == "s40" and only.result_params["Enable"] == "true"
    assert all("." not in key for key in only.result_params)


@pytest.mark.parametrize(
    "record",
    [
        b"\xff\xff\xff\xff",  # not protobuf at all
        b"\x0a\x03" + b"1.3",  # truncated: version only, no ids, no record type
        b"\x12\x40" + b"x" * 8,  # length runs past the end
    ],
    ids=["garbage", "truncated", "overlong-length"],
)
def test_tp469_3_1_malformed_record_is_ignored(pair: AgentPair, record: bytes) -> None:
    """TP-469 3.1 (R-MTP.5): a malformed Record outside a session gets no answer and never raises."""
    out = pair.send(record)
    assert pair.sends(out) == []
    assert pair.observes(out, "dropped_record")


def test_tp469_3_1_undecodable_payload_is_ignored(pair: AgentPair) -> None:
    """TP-469 3.1: a well-formed Record whose payload is not a USP Msg is dropped (msg_id unknown)."""
    ids = (pair.agent.endpoint_id, pair.controller.endpoint_id)
    record = encode_no_session_context("1.3", *ids, b"\xff\x00")
    out = pair.send(record)
    assert pair.sends(out) == []
