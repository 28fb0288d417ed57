"""Deliberate agent faults (sans-I/O): decide per request, then rewrite the Actions the Agent returned.

Controllers are fragile in known ways (docs/controllers.md: late answers near Oktopus' 10 s REST timeout,
no answer, USP Error answers, malformed records, missing DeviceInfo leaves, unsolicited Notifies). A
``FaultPolicy`` holds one agent's ``FaultSpec`` list and its own seeded ``random.Random``; for each
answered request it draws at most one fault (``decide``) and applies it to the answer (``apply``),
returning the actions to execute now plus the Sends to execute later (the driver owns the clock).

# Strategy: the agent itself never knows it misbehaves. Faults are applied to its *output*: the response
# ``Send`` is found next to the ``Observe("request", <MsgType>)`` the agent emits for every answered
# request, then dropped, delayed, duplicated, replaced (USP Error, garbage bytes) or rewritten (GetResp
# without the onboarding leaves). Every injected fault adds ``Observe("fault", <kind>)``, so fault counts
# reach the fleet's metrics like any other observation. Faults are rare, so decoding the answer again
# (Error, omit_onboarding) costs nothing measurable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING

from simulator.agent.actions import Action, Observe, Send
from simulator.usp.errors import RecordNotParsedError
from simulator.usp.messages import MessageDecodeError, Msg, decode_record_msg
from simulator.usp.requests import Notify, ValueChange
from simulator.usp.responses import ErrorMessage, GetResp, RequestedPathResult, ResolvedPathResult

if TYPE_CHECKING:
    from simulator.agent.context import AgentContext

__all__ = [
    "MALFORMED_RECORD",
    "ONBOARDING_LEAVES",
    "FaultDecision",
    "FaultKind",
    "FaultPolicy",
    "FaultSpec",
    "Faulted",
]

ONBOARDING_LEAVES = ("Manufacturer", "ModelName", "SoftwareVersion", "SerialNumber", "ProductClass")
"""The Device.DeviceInfo leaves Oktopus reads in its one onboarding Get (docs/controllers.md)."""

MALFORMED_RECORD_PREFIX = b"\x08" + b"\xff" * 10 + b"\x01"
"""An 11-byte varint (protobuf allows 10): no Record parser accepts what follows it."""
MALFORMED_RECORD = MALFORMED_RECORD_PREFIX + b"uspsim-malformed"
"""Payload sent instead of the answer by the ``malformed`` fault."""

_DEVICE_INFO = "Device.DeviceInfo."


class FaultKind(Enum):
    """What goes wrong with one answer."""

    LATE = "late"
    """The answer is sent ``delay`` (+- ``jitter``) seconds late."""
    NO_ANSWER = "no_answer"
    """The answer is never sent (the request's side effects still happen)."""
    ERROR = "error"
    """A USP Error message with ``error_code`` replaces the answer."""
    MALFORMED = "malformed"
    """Bytes that are not a USP Record replace the answer."""
    DUPLICATE = "duplicate"
    """The answer is sent twice (the copy ``delay`` seconds later; 0 = back to back)."""
    UNSOLICITED_NOTIFY = "unsolicited_notify"
    """A Notify (ValueChange of DeviceInfo.UpTime, no subscription) is sent just before the answer."""
    OMIT_ONBOARDING = "omit_onboarding"
    """A GetResp loses the onboarding DeviceInfo leaves: 7026 per path (``mode: error``) or no value."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One configured fault (scenario ``faults:`` entry).

    Attributes:
        kind: what goes wrong.
        rate: probability (0..1) per answered request of the listed message types.
        messages: request types it applies to (``Get``, ``Set``, ``Operate``...); empty = every type.
        start: seconds after the fleet start before the fault is active.
        stop: seconds after the fleet start when it stops (None = never).
        delay: seconds (``late``: how late; ``duplicate``: gap before the copy).
        jitter: +- seconds drawn uniformly around ``delay``.
        error_code: USP error code of the ``error`` fault (7000-7999).
        mode: ``omit_onboarding``: "error" (err_code 7026) or "missing" (path resolves to nothing).
        leaves: ``omit_onboarding``: which DeviceInfo leaves are affected.
    """

    kind: FaultKind
    rate: float
    messages: frozenset[str] = frozenset()
    start: float = 0.0
    stop: float | None = None
    delay: float = 0.0
    jitter: float = 0.0
    error_code: int = 7003
    mode: str = "error"
    leaves: tuple[str, ...] = ONBOARDING_LEAVES

    def active(self, elapsed: float) -> bool:
        """True when ``elapsed`` seconds after the fleet start fall in [start, stop)."""
        return elapsed >= self.start and (self.stop is None or elapsed < self.stop)

    def applies_to(self, request: str) -> bool:
        """True when the fault may hit an answer to ``request`` (a USP message type name)."""
        if self.kind is FaultKind.OMIT_ONBOARDING and request != "Get":
            return False
        return not self.messages or request in self.messages


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """The fault drawn for one answer."""

    kind: FaultKind
    delay: float = 0.0
    spec: FaultSpec | None = None


@dataclass(slots=True)
class Faulted:
    """Actions after a fault: execute ``now`` at once and each ``(delay, Send)`` of ``later`` after delay."""

    now: list[Action]
    later: list[tuple[float, Send]] = field(default_factory=list)


class FaultPolicy:
    """The faults of one agent with its own deterministic random source.

    Args:
        specs: the faults that apply to this agent, in scenario order (the first one drawn wins).
        rng: per-agent random source (seed it from the fleet seed and the EndpointID).
    """

    __slots__ = ("rng", "specs")

    def __init__(self, specs: tuple[FaultSpec, ...], rng: random.Random) -> None:
        self.specs = specs
        self.rng = rng

    def decide(self, request: str, elapsed: float) -> FaultDecision | None:
        """Draw the fault for one answer to ``request`` at ``elapsed`` seconds, or None.

        Every spec that applies consumes one draw, so a run is reproducible for a given seed and
        request sequence regardless of which fault fires.
        """
        rng = self.rng
        for spec in self.specs:
            if not spec.applies_to(request) or not spec.active(elapsed):
                continue
            if rng.random() < spec.rate:
                delay = spec.delay
                if spec.jitter:
                    delay += rng.uniform(-spec.jitter, spec.jitter)
                return FaultDecision(spec.kind, max(0.0, delay), spec)
        return None

    def process(self, actions: list[Action], ctx: AgentContext, elapsed: float) -> Faulted:
        """Decide and apply in one call (what the driver hook uses); unchanged when no fault is drawn."""
        request = _request_kind(actions)
        if request is None:
            return Faulted(actions)
        decision = self.decide(request, elapsed)
        if decision is None:
            return Faulted(actions)
        return apply_fault(decision, actions, ctx)


def _request_kind(actions: list[Action]) -> str | None:
    for action in actions:
        if isinstance(action, Observe) and action.name == "request":
            return action.kind
    return None


def _answer_index(actions: list[Action]) -> int | None:
    """Position of the answer Send: the first Send that is not a Notify (a response or an Error)."""
    for i, action in enumerate(actions):
        if isinstance(action, Send) and not action.msg_type.startswith("Notify"):
            return i
    return None


def apply_fault(decision: FaultDecision, actions: list[Action], ctx: AgentContext) -> Faulted:
    """Apply ``decision`` to the actions of one answered request.

    Args:
        decision: the fault.
        actions: what the Agent returned (answer Send, Observe, behaviour actions...).
        ctx: the agent's context (Record building for Error and Notify records).

    Returns:
        The rewritten actions; unchanged (and not counted) when there is no answer to fault, e.g. an
        Operate with ``send_resp`` false or a Get without onboarding leaves.
    """
    i = _answer_index(actions)
    if i is None:
        return Faulted(actions)
    answer: Send = actions[i]  # type: ignore[assignment]
    kind = decision.kind
    rest = actions[:i] + actions[i + 1 :]
    if kind is FaultKind.LATE:
        out = Faulted(rest, [(decision.delay, answer)])
    elif kind is FaultKind.NO_ANSWER:
        out = Faulted(rest)
    elif kind is FaultKind.DUPLICATE:
        if decision.delay > 0:
            out = Faulted(actions[:], [(decision.delay, answer)])
        else:
            out = Faulted([*actions[: i + 1], answer, *actions[i + 1 :]])
    elif kind is FaultKind.MALFORMED:
        bad = replace(answer, record=MALFORMED_RECORD, msg_type="Malformed")
        out = Faulted([*actions[:i], bad, *actions[i + 1 :]])
    elif kind is FaultKind.UNSOLICITED_NOTIFY:
        notify = _unsolicited_notify(answer, ctx)
        out = Faulted([*actions[:i], notify, *actions[i:]])
    else:
        msg = _decode(answer.record)
        if msg is None:
            return Faulted(actions)
        spec = decision.spec or FaultSpec(kind, 1.0)
        if kind is FaultKind.ERROR:
            body: ErrorMessage | GetResp = ErrorMessage(spec.error_code, "Simulated failure (uspsim fault)")
            msg_type = "Error"
        else:
            if not isinstance(msg.body, GetResp):
                return Faulted(actions)
            stripped = strip_onboarding(msg.body, spec.leaves, spec.mode)
            if stripped is None:
                return Faulted(actions)
            body, msg_type = stripped, answer.msg_type
        record = ctx.build_record(answer.to_id, Msg.of(msg.msg_id, body))
        out = Faulted([*actions[:i], replace(answer, record=record, msg_type=msg_type), *actions[i + 1 :]])
    out.now.append(Observe("fault", kind.value))
    return out


def _decode(record: bytes) -> Msg | None:
    try:
        _, msg = decode_record_msg(record)
    except (RecordNotParsedError, MessageDecodeError):
        return None
    return msg


def _unsolicited_notify(answer: Send, ctx: AgentContext) -> Send:
    """A Notify nobody subscribed to, sent on the answer's path (so it arrives first, MQTT keeps order)."""
    now = ctx.now
    uptime = ctx.value(_DEVICE_INFO + "UpTime") or "0"
    notify = Notify("uspsim-unsolicited", False, ValueChange(_DEVICE_INFO + "UpTime", uptime))
    msg = Msg.of(ctx.next_msg_id("notify", now), notify)
    return Send(answer.to_id, ctx.build_record(answer.to_id, msg), answer.reply_to, "Notify:ValueChange")


def strip_onboarding(resp: GetResp, leaves: tuple[str, ...], mode: str) -> GetResp | None:
    """``resp`` without the DeviceInfo ``leaves``, or None when it contains none of them.

    Args:
        resp: the GetResp.
        leaves: DeviceInfo parameter names to remove.
        mode: "error": a requested leaf path fails with 7026 (Invalid Path); "missing": it resolves to
            nothing. Leaves inside a ``Device.DeviceInfo.`` result are removed in both modes.
    """
    full = {_DEVICE_INFO + leaf for leaf in leaves}
    names = set(leaves)
    changed = False
    results: list[RequestedPathResult] = []
    for r in resp.req_path_results:
        if r.requested_path in full and not r.err_code:
            changed = True
            if mode == "error":
                results.append(RequestedPathResult(r.requested_path, 7026, "Invalid path (uspsim fault)"))
            else:
                results.append(RequestedPathResult(r.requested_path))
            continue
        resolved = []
        for res in r.resolved_path_results:
            if res.resolved_path == _DEVICE_INFO and names & res.result_params.keys():
                changed = True
                params = {k: v for k, v in res.result_params.items() if k not in names}
                res = ResolvedPathResult(res.resolved_path, params)
            resolved.append(res)
        results.append(replace(r, resolved_path_results=tuple(resolved)))
    return GetResp(tuple(results)) if changed else None
