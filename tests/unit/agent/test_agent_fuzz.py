"""Property tests: random and mutated Records never make the agent raise, and drops are never answered."""

from __future__ import annotations

from helpers import AGENT_ID, CONTROLLER_ID, AgentPair
from hypothesis import given
from hypothesis import strategies as st

from simulator.agent.actions import Send
from simulator.usp.errors import RecordNotParsedError
from simulator.usp.messages import Msg, MsgType, encode_msg
from simulator.usp.records import RecordKind, decode_record, encode_no_session_context
from simulator.usp.requests import (
    Add,
    CreateObject,
    CreateParamSetting,
    Delete,
    Get,
    GetInstances,
    GetSupportedDM,
    Set,
    UpdateObject,
    UpdateParamSetting,
)

PAIR = AgentPair()  # strict: an unexpected exception inside the agent fails the property

_paths = st.one_of(
    st.sampled_from(
        [
            "Device.",
            "Device.LocalAgent.",
            "Device.LocalAgent.Subscription.*.",
            "Device.LocalAgent.Controller.1.",
            "Device.LocalAgent.Subscription.1.Enable",
            'Device.LocalAgent.Controller.[EndpointID=="proto::controller"].MTP.',
            "Device.Reboot()",
            "Device.LocalAgent.Subscription.[Enable==true].",
            "Device..",
            "Device.[",
            "",
        ]
    ),
    st.text(alphabet='Device.LocalAgent*[]="{}1#+!()', max_size=40),
)
_settings = st.lists(
    st.tuples(
        st.sampled_from(["Enable", "ID", "Alias", "NotifRetry", "Bogus", "Recipient"]),
        st.text(max_size=12),
        st.booleans(),
    ),
    max_size=3,
)
_bodies = st.one_of(
    st.builds(lambda p, d: Get(tuple(p), d), st.lists(_paths, max_size=3), st.integers(0, 4)),
    st.builds(
        lambda a, objs: Set(
            a, tuple(UpdateObject(p, tuple(UpdateParamSetting(*s) for s in ss)) for p, ss in objs)
        ),
        st.booleans(),
        st.lists(st.tuples(_paths, _settings), max_size=2),
    ),
    st.builds(
        lambda a, objs: Add(
            a, tuple(CreateObject(p, tuple(CreateParamSetting(*s) for s in ss)) for p, ss in objs)
        ),
        st.booleans(),
        st.lists(st.tuples(_paths, _settings), max_size=2),
    ),
    st.builds(lambda a, p: Delete(a, tuple(p)), st.booleans(), st.lists(_paths, max_size=2)),
    st.builds(lambda p, f: GetInstances(tuple(p), f), st.lists(_paths, max_size=2), st.booleans()),
    st.builds(
        lambda p, f: GetSupportedDM(tuple(p), f, True, True, True, True),
        st.lists(_paths, max_size=2),
        st.booleans(),
    ),
)
_ids = st.sampled_from([AGENT_ID, CONTROLLER_ID, "", "proto::other", "os::x"])


def _must_drop(data: bytes) -> bool:
    """True when the pipeline (usp-protocol.md 1.4 steps 1-3) forbids any answer."""
    try:
        rec = decode_record(data)
    except RecordNotParsedError:
        return True
    return rec.to_id != AGENT_ID or rec.from_id != CONTROLLER_ID or rec.kind is RecordKind.NONE


def _check(data: bytes) -> None:
    actions = PAIR.agent.receive(data, PAIR.now, "reply")
    PAIR.dm.drain_changes()
    sends = [a for a in actions if isinstance(a, Send)]
    if _must_drop(data):
        assert sends == []
    for s in sends:
        rec = decode_record(s.record)
        assert rec.to_id == CONTROLLER_ID and rec.from_id == AGENT_ID and s.reply_to == "reply"
    assert len(sends) <= 1


@given(st.binary(max_size=300))
def test_agent_fuzz_random_bytes(data: bytes) -> None:
    _check(data)


@given(_bodies, _ids, _ids, st.sampled_from(list(MsgType) + [99]), st.booleans())
def test_agent_fuzz_random_requests(
    body: object, to_id: str, from_id: str, mt: int, consistent: bool
) -> None:
    msg = Msg.of("fz", body) if consistent else Msg("fz", mt, body)  # type: ignore[arg-type]
    _check(encode_no_session_context("1.3", to_id, from_id, encode_msg(msg)))


@given(
    _bodies,
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=6),
    st.integers(0, 400),
)
def test_agent_fuzz_mutated_records(body: object, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(encode_no_session_context("1.3", AGENT_ID, CONTROLLER_ID, encode_msg(Msg.of("m", body))))  # type: ignore[arg-type]
    for pos, value in flips:
        if data:
            data[pos % len(data)] = value
    _check(bytes(data[: max(cut, 1)] if cut < len(data) else data))
