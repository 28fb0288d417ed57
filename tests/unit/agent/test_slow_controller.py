"""Controllers that never answer Notifies or answer late (issue 8): bounded memory, counted drops."""

from __future__ import annotations

import tracemalloc

from helpers import AgentPair
from test_tp469_notify import connect, make, subscribe

from simulator.agent.actions import Send, Timer
from simulator.agent.behaviour import AgentBehaviour
from simulator.agent.notifier import RETRY_TIMER
from simulator.usp.messages import Msg, MsgType, decode_msg
from simulator.usp.records import decode_record
from simulator.usp.requests import Set, UpdateObject, UpdateParamSetting
from simulator.usp.responses import NotifyResp

CTRL = "Device.LocalAgent.Controller.1."


def _change(pair: AgentPair, value: str) -> list[Send]:
    _, record = pair.controller.request(
        Set(False, (UpdateObject(CTRL, (UpdateParamSetting("ProvisioningCode", value, True),)),))
    )
    return [a for a in pair.send(record) if isinstance(a, Send) and a.msg_type.startswith("Notify")]


def _notifier(pair: AgentPair):  # type: ignore[no-untyped-def]
    behaviour = pair.agent.behaviour
    assert isinstance(behaviour, AgentBehaviour)
    return behaviour.notifier


def _notify_resp(pair: AgentPair, msg_id: str) -> list:  # type: ignore[type-arg]
    msg = Msg(msg_id, MsgType.NOTIFY_RESP, NotifyResp("r"))
    return pair.send(pair.controller.record(msg))


def test_never_answering_controller_keeps_memory_bounded() -> None:
    """1,300 ValueChanges with NotifRetry to a controller that never answers: 64 pending, memory flat."""
    pair = make()
    connect(pair)
    subscribe(pair, "r", "ValueChange", CTRL + "ProvisioningCode", NotifRetry="true")
    notifier = _notifier(pair)

    def changes(n: int, tag: str) -> int:
        dropped = 0
        for i in range(n):
            _change(pair, f"{tag}{i}")
            dropped += len(AgentPair.observes(pair.actions, "notify_dropped"))
            pair.actions.clear()
        return dropped

    changes(300, "w")  # warm-up: the pending table is full from here on
    tracemalloc.start()
    try:
        dropped = changes(500, "a")
        first = tracemalloc.get_traced_memory()[0]
        dropped += changes(500, "b")
        grown = tracemalloc.get_traced_memory()[0] - first
    finally:
        tracemalloc.stop()
    assert len(notifier.pending) == notifier.max_pending == 64
    assert dropped == 1000  # each new Notify evicts the oldest pending one, counted
    assert grown < 64 * 1024, grown


def test_late_notify_resp_stops_retries_and_unknown_ones_are_counted() -> None:
    """NotifyResp after several retries still matches (same msg_id); one for an evicted Notify is counted."""
    pair = make(max_pending=2)
    connect(pair)
    subscribe(pair, "r", "ValueChange", CTRL + "ProvisioningCode", NotifRetry="true")
    notifier = _notifier(pair)
    (sent,) = _change(pair, "late")
    msg_id = decode_msg(decode_record(sent.record).payload).msg_id
    for _ in range(3):  # three retries, identical Record
        pair.advance(60)
        out = pair.agent.fire(Timer(RETRY_TIMER, (msg_id,)), pair.now)
        resent = [a for a in out if isinstance(a, Send)]
        assert [a.record for a in resent] == [sent.record]
    out = _notify_resp(pair, msg_id)  # answered late
    assert not [a for a in out if isinstance(a, Send)]
    assert msg_id not in {p.msg_id for p in notifier.pending}
    first_ids = []
    for i in range(3):  # the third evicts the first (max_pending=2)
        (s,) = _change(pair, f"x{i}")
        first_ids.append(decode_msg(decode_record(s.record).payload).msg_id)
    out = _notify_resp(pair, first_ids[0])  # for a Notify dropped meanwhile
    assert AgentPair.observes(out, "notify_resp_unmatched")
    assert not [a for a in out if isinstance(a, Send)]
    assert len(notifier.pending) == 2
