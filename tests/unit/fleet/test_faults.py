"""FaultPolicy (simulator.agent.faults): deterministic decisions and their effect on the agent's answers."""

from __future__ import annotations

import random

import pytest
from helpers import AgentPair, ControllerStub

from simulator.agent.actions import Observe, Send
from simulator.agent.faults import (
    ONBOARDING_LEAVES,
    FaultDecision,
    FaultKind,
    FaultPolicy,
    FaultSpec,
    apply_fault,
)
from simulator.usp.errors import RecordNotParsedError
from simulator.usp.records import decode_record
from simulator.usp.requests import Get, Notify
from simulator.usp.responses import ErrorMessage, GetResp

ONBOARD = tuple(f"Device.DeviceInfo.{leaf}" for leaf in ONBOARDING_LEAVES)


def policy(*specs: FaultSpec, seed: int = 1) -> FaultPolicy:
    return FaultPolicy(specs, random.Random(seed))


def answer(pair: AgentPair, paths: tuple[str, ...] = ONBOARD) -> list:
    _, record = pair.controller.request(Get(paths, 1))
    return pair.send(record)


def sends(actions: list) -> list[Send]:
    return [a for a in actions if isinstance(a, Send)]


def faults(actions: list) -> list[str]:
    return [a.kind for a in actions if isinstance(a, Observe) and a.name == "fault"]


# -- decide ---------------------------------------------------------------------------------------------
def test_faults_rate_zero_never_and_rate_one_always() -> None:
    never = policy(FaultSpec(FaultKind.ERROR, 0.0))
    always = policy(FaultSpec(FaultKind.ERROR, 1.0))
    assert all(never.decide("Get", 0) is None for _ in range(100))
    expected = FaultDecision(FaultKind.ERROR, 0.0, always.specs[0])
    assert all(always.decide("Get", 0) == expected for _ in range(10))


def test_faults_rate_is_a_probability_per_request_and_reproducible() -> None:
    spec = FaultSpec(FaultKind.NO_ANSWER, 0.25)
    first, again = policy(spec, seed=42), policy(spec, seed=42)
    drawn = [first.decide("Get", 0) is not None for _ in range(2000)]
    assert drawn == [again.decide("Get", 0) is not None for _ in range(2000)]
    assert 0.2 < sum(drawn) / 2000 < 0.3


def test_faults_message_filter_and_time_window() -> None:
    p = policy(FaultSpec(FaultKind.ERROR, 1.0, frozenset({"Set"}), start=10, stop=20))
    assert p.decide("Get", 15) is None
    assert p.decide("Set", 5) is None
    assert p.decide("Set", 15) is not None
    assert p.decide("Set", 20) is None


def test_faults_omit_onboarding_only_answers_get() -> None:
    p = policy(FaultSpec(FaultKind.OMIT_ONBOARDING, 1.0))
    assert p.decide("Set", 0) is None
    assert p.decide("Get", 0) is not None


def test_faults_first_drawn_spec_wins() -> None:
    p = policy(FaultSpec(FaultKind.LATE, 1.0, delay=3), FaultSpec(FaultKind.ERROR, 1.0))
    decision = p.decide("Get", 0)
    assert decision is not None
    assert decision.kind is FaultKind.LATE
    assert decision.delay == 3


def test_faults_late_jitter_stays_within_bounds() -> None:
    p = policy(FaultSpec(FaultKind.LATE, 1.0, delay=11.0, jitter=1.5))
    delays = [p.decide("Get", 0).delay for _ in range(500)]  # type: ignore[union-attr]
    assert min(delays) >= 9.5
    assert max(delays) <= 12.5
    assert max(delays) - min(delays) > 2


# -- apply ----------------------------------------------------------------------------------------------
def test_faults_late_moves_the_answer_to_later() -> None:
    pair = AgentPair()
    actions = answer(pair)
    out = policy(FaultSpec(FaultKind.LATE, 1.0, delay=11.0)).process(actions, pair.agent.ctx, 0.0)
    assert not sends(out.now)
    assert [(d, s.msg_type) for d, s in out.later] == [(11.0, "GetResp")]
    assert faults(out.now) == ["late"]


def test_faults_no_answer_drops_the_answer_but_keeps_metrics() -> None:
    pair = AgentPair()
    out = policy(FaultSpec(FaultKind.NO_ANSWER, 1.0)).process(answer(pair), pair.agent.ctx, 0.0)
    assert not sends(out.now)
    assert not out.later
    assert faults(out.now) == ["no_answer"]
    assert any(isinstance(a, Observe) and a.name == "request" for a in out.now)


def test_faults_error_replaces_the_answer_with_the_code() -> None:
    pair = AgentPair()
    actions = answer(pair)
    _, original = ControllerStub.decode(sends(actions)[0].record)
    out = policy(FaultSpec(FaultKind.ERROR, 1.0, error_code=7005)).process(actions, pair.agent.ctx, 0.0)
    (send,) = sends(out.now)
    _, msg = ControllerStub.decode(send.record)
    assert isinstance(msg.body, ErrorMessage)
    assert msg.body.err_code == 7005
    assert msg.msg_id == original.msg_id
    assert send.msg_type == "Error"


def test_faults_malformed_answer_is_not_a_record() -> None:
    pair = AgentPair()
    out = policy(FaultSpec(FaultKind.MALFORMED, 1.0)).process(answer(pair), pair.agent.ctx, 0.0)
    (send,) = sends(out.now)
    with pytest.raises(RecordNotParsedError):
        decode_record(send.record)
    assert faults(out.now) == ["malformed"]


@pytest.mark.parametrize("delay", [0.0, 0.5])
def test_faults_duplicate_sends_the_answer_twice(delay: float) -> None:
    pair = AgentPair()
    actions = answer(pair)
    out = policy(FaultSpec(FaultKind.DUPLICATE, 1.0, delay=delay)).process(actions, pair.agent.ctx, 0.0)
    copies = sends(out.now) + [s for _, s in out.later]
    assert len(copies) == 2
    assert copies[0] == copies[1] == sends(actions)[0]
    assert [d for d, _ in out.later] == ([delay] if delay else [])


def test_faults_unsolicited_notify_precedes_the_answer_on_the_same_path() -> None:
    pair = AgentPair()
    out = policy(FaultSpec(FaultKind.UNSOLICITED_NOTIFY, 1.0)).process(answer(pair), pair.agent.ctx, 0.0)
    notify, resp = sends(out.now)
    assert notify.reply_to == resp.reply_to == pair.reply_to
    _, msg = ControllerStub.decode(notify.record)
    assert isinstance(msg.body, Notify)
    assert msg.body.subscription_id == "uspsim-unsolicited"
    assert not msg.body.send_resp
    assert resp.msg_type == "GetResp"


@pytest.mark.parametrize("mode", ["error", "missing"])
def test_faults_omit_onboarding_leaves(mode: str) -> None:
    pair = AgentPair()
    spec = FaultSpec(FaultKind.OMIT_ONBOARDING, 1.0, mode=mode, leaves=("SerialNumber", "ProductClass"))
    out = policy(spec).process(answer(pair), pair.agent.ctx, 0.0)
    (send,) = sends(out.now)
    _, msg = ControllerStub.decode(send.record)
    assert isinstance(msg.body, GetResp)
    results = {r.requested_path: r for r in msg.body.req_path_results}
    for leaf in ("SerialNumber", "ProductClass"):
        r = results[f"Device.DeviceInfo.{leaf}"]
        assert r.err_code == (7026 if mode == "error" else 0)
        assert not r.resolved_path_results
    assert results["Device.DeviceInfo.Manufacturer"].resolved_path_results


def test_faults_omit_onboarding_strips_leaves_from_an_object_get() -> None:
    pair = AgentPair()
    out = policy(FaultSpec(FaultKind.OMIT_ONBOARDING, 1.0)).process(
        answer(pair, ("Device.DeviceInfo.",)), pair.agent.ctx, 0.0
    )
    _, msg = ControllerStub.decode(sends(out.now)[0].record)
    params = msg.body.req_path_results[0].resolved_path_results[0].result_params
    assert not set(ONBOARDING_LEAVES) & params.keys()
    assert params  # the other DeviceInfo parameters stay


def test_faults_without_a_matching_answer_change_nothing() -> None:
    pair = AgentPair()
    actions = answer(pair, ("Device.LocalAgent.EndpointID",))
    out = policy(FaultSpec(FaultKind.OMIT_ONBOARDING, 1.0)).process(actions, pair.agent.ctx, 0.0)
    assert out.now == actions
    no_answer = [Observe("request", "Operate")]  # Operate with send_resp false
    assert apply_fault(FaultDecision(FaultKind.ERROR), no_answer, pair.agent.ctx).now == no_answer


def test_faults_ignore_batches_that_answer_no_request() -> None:
    pair = AgentPair()
    actions = [Observe("notify_resp", "NotifyResp")]
    assert policy(FaultSpec(FaultKind.NO_ANSWER, 1.0)).process(actions, pair.agent.ctx, 0.0).now == actions
