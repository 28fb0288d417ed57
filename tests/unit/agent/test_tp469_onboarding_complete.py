"""TP-469 1.101-1.103: OnBoardingComplete / OnBoardingRestartTime (TR-181 2.17, usp-protocol.md 5.6)."""

from __future__ import annotations

import random
from typing import Any

from helpers import AgentPair

from simulator.agent.actions import Action, Schedule
from simulator.agent.behaviour import AgentBehaviour
from simulator.usp.messages import Msg, MsgType, notify_resp
from simulator.usp.records import encode_no_session_context
from simulator.usp.requests import OnBoardRequest, Operate, Set, UpdateObject, UpdateParamSetting

CTRL = "Device.LocalAgent.Controller.1."
SEND = CTRL + "SendOnBoardRequest()"


def _pair() -> AgentPair:
    pair = AgentPair("minimal", behaviour=lambda ctx: AgentBehaviour(ctx, rng=random.Random(1)))
    pair.actions += pair.agent.start(pair.now)
    return pair


def _onboards(pair: AgentPair, actions: list[Action]) -> list[Msg]:
    out = []
    for send in AgentPair.sends(actions):
        if send.msg_type == "Connect":
            continue
        _, msg = pair.controller.decode(send.record)
        if msg.msg_type == MsgType.NOTIFY and isinstance(msg.body.notification, OnBoardRequest):  # type: ignore[union-attr]
            out.append(msg)
    return out


def _request(pair: AgentPair, body: Any) -> list[Action]:
    _, record = pair.controller.request(body)
    return pair.send(record)


def _ack(pair: AgentPair, msg: Msg) -> list[Action]:
    ids = (pair.agent.endpoint_id, pair.controller.endpoint_id)
    return pair.send(encode_no_session_context("1.3", *ids, notify_resp(msg.msg_id, "")))


def _set(pair: AgentPair, **params: str) -> list[Action]:
    settings = tuple(UpdateParamSetting(k, v, True) for k, v in params.items())
    return _request(pair, Set(False, (UpdateObject(CTRL, settings),)))


def _fire_due(pair: AgentPair, actions: list[Action], kind: str) -> tuple[float, list[Action]]:
    (due,) = [a for a in actions if isinstance(a, Schedule) and a.timer.kind == kind]
    pair.now = due.at
    return due.at, pair.agent.fire(due.timer, due.at)


def test_tp469_1_101_send_onboard_request_resets_onboarding_complete() -> None:
    """TP-469 1.101: SendOnBoardRequest() sets OnBoardingComplete back to false and sends OnBoardRequest."""
    pair = _pair()
    _set(pair, OnBoardingComplete="true")
    assert pair.value(CTRL + "OnBoardingComplete") == "true"
    out = _request(pair, Operate(SEND, "", True, {}))
    assert len(_onboards(pair, out)) == 1
    assert pair.value(CTRL + "OnBoardingComplete") == "false"


def test_tp469_1_102_restart_time_repeats_until_onboarding_complete() -> None:
    """TP-469 1.102: after the NotifyResp, wait OnBoardingRestartTime and send another OnBoardRequest."""
    pair = _pair()
    _set(pair, OnBoardingRestartTime="30")
    (first,) = _onboards(pair, _request(pair, Operate(SEND, "", True, {})))
    acked_at = pair.now
    after_ack = _ack(pair, first)
    at, out = _fire_due(pair, after_ack, "onboard")
    assert at == acked_at + 30
    (second,) = _onboards(pair, out)
    assert second.msg_id != first.msg_id and second.body.send_resp is True  # type: ignore[union-attr]


def test_tp469_1_103_onboarding_complete_stops_the_repeats() -> None:
    """TP-469 1.103: once a controller sets OnBoardingComplete=true, no further OnBoardRequest is sent."""
    pair = _pair()
    _set(pair, OnBoardingRestartTime="30")
    (first,) = _onboards(pair, _request(pair, Operate(SEND, "", True, {})))
    after_ack = _ack(pair, first)
    _set(pair, OnBoardingComplete="true")
    _, out = _fire_due(pair, after_ack, "onboard")
    assert _onboards(pair, out) == []


def test_onboarding_restart_time_zero_means_no_repeat() -> None:
    """usp-protocol.md 5.6: RestartTime=0 (the default) means there is no repeat after the NotifyResp."""
    pair = _pair()
    (first,) = _onboards(pair, _request(pair, Operate(SEND, "", True, {})))
    after_ack = _ack(pair, first)
    assert not [a for a in after_ack if isinstance(a, Schedule) and a.timer.kind == "onboard"]
