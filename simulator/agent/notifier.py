"""Sending Notify messages: msg_ids, NotifRetry back-off, NotifExpiration and bounded memory (R-NOT.1-4).

# Strategy: a Notify that wants a NotifyResp (send_resp=true) is kept as the exact Record bytes already
# sent, so every retry resends the identical Record with the same msg_id (usp-protocol.md 5.3). Retry n
# waits a uniform random time in RW(m, k) = [m*(k/1000)**(n-1), m*(k/1000)**n] (n capped at 10, via
# usp.retry) drawn from the agent's injected rng, with m and k taken from the recipient Controller row.
# Retrying stops on a NotifyResp with that msg_id, when NotifExpiration (counted from the first attempt)
# would be passed, when the subscription goes away, or on restart. Controllers such as Oktopus never
# answer, so memory is bounded twice: at most ``max_pending`` Notifies awaiting a response and at most
# ``max_held`` Notifies held for a Controller whose MTP is not up yet (or that has not had its Boot!);
# past either cap the oldest entry is dropped and counted with an Observe, and nothing ever blocks.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simulator.agent.actions import Action, CancelTimer, Observe, Schedule, Send, Timer
from simulator.usp.messages import Msg
from simulator.usp.requests import (
    Event,
    Notification,
    Notify,
    ObjectCreation,
    ObjectDeletion,
    OnBoardRequest,
    OperationComplete,
    ValueChange,
)
from simulator.usp.retry import retry_delay

if TYPE_CHECKING:
    from simulator.agent.context import AgentContext

__all__ = ["RETRY_TIMER", "Notifier", "Pending", "notification_kind"]

RETRY_TIMER = "notify-retry"
"""Timer kind for Notify retries; the key is ``(msg_id,)``."""

DEFAULT_MIN_WAIT = 5
DEFAULT_MULTIPLIER = 2000


def notification_kind(n: Notification) -> str:
    """The low-cardinality name of a notification: ``Boot!``, ``ValueChange``, ``OperationComplete``..."""
    if isinstance(n, Event):
        return n.event_name
    names = {ValueChange: "ValueChange", ObjectCreation: "ObjectCreation", ObjectDeletion: "ObjectDeletion",
             OperationComplete: "OperationComplete", OnBoardRequest: "OnBoardRequest"}
    return names.get(type(n), "Notify")


@dataclass(slots=True)
class Pending:
    """A sent Notify waiting for its NotifyResp.

    Attributes:
        msg_id: the Notify's msg_id (NotifyResp is matched on it only, R-NOT.9).
        to_id: recipient EndpointID.
        record: the exact Record bytes, resent unchanged.
        kind: notification kind (metrics).
        subscription: Subscription instance number, or None (OnBoardRequest).
        first_sent: time of the first attempt.
        expires_at: first_sent + NotifExpiration, or None for no expiry.
        min_wait: m, USPNotifRetryMinimumWaitInterval.
        multiplier: k, USPNotifRetryIntervalMultiplier.
        attempt: retries done so far.
    """

    msg_id: str
    to_id: str
    record: bytes
    kind: str
    subscription: int | None
    first_sent: float
    expires_at: float | None
    min_wait: float
    multiplier: int
    attempt: int = 0


@dataclass(slots=True)
class _Held:
    to_id: str
    subscription_id: str
    send_resp: bool
    notification: Notification
    subscription: int | None
    expiration: int
    min_wait: float
    multiplier: int


class Notifier:
    """Builds, sends and retries one agent's Notify messages.

    Args:
        ctx: the agent context (Record building, msg_ids).
        rng: the agent's injected random source (retry jitter).
        max_pending: cap on Notifies awaiting a NotifyResp.
        max_held: cap on Notifies held for Controllers that are not ready.
    """

    __slots__ = ("_held", "_pending", "_ready", "ctx", "max_held", "max_pending", "rng")

    def __init__(self, ctx: AgentContext, rng: random.Random, *, max_pending: int = 64,
                 max_held: int = 64) -> None:
        self.ctx = ctx
        self.rng = rng
        self.max_pending = max_pending
        self.max_held = max_held
        self._pending: OrderedDict[str, Pending] = OrderedDict()
        self._held: list[_Held] = []
        self._ready: set[str] = set()

    # -- state -----------------------------------------------------------------------------------------
    @property
    def pending(self) -> list[Pending]:
        """Notifies awaiting a response, oldest first."""
        return list(self._pending.values())

    @property
    def held_count(self) -> int:
        """Notifies held back for Controllers that are not ready."""
        return len(self._held)

    def is_ready(self, to_id: str) -> bool:
        """Whether Notifies to ``to_id`` go out now (MTP up and Boot! handled)."""
        return to_id in self._ready

    def mark_ready(self, to_id: str, now: float) -> list[Action]:
        """Let Notifies flow to ``to_id`` and flush what was held for it, in order."""
        self._ready.add(to_id)
        out: list[Action] = []
        keep: list[_Held] = []
        for h in self._held:
            if h.to_id != to_id:
                keep.append(h)
                continue
            out += self._emit(h, now)
        self._held = keep
        return out

    def reset(self) -> list[Action]:
        """Agent restart: stop every retry, drop held Notifies, nobody is ready (R-NOT.4)."""
        out: list[Action] = [CancelTimer(Timer(RETRY_TIMER, (mid,))) for mid in self._pending]
        self._pending.clear()
        self._held.clear()
        self._ready.clear()
        return out

    # -- sending -----------------------------------------------------------------------------------------
    def notify(self, to_id: str, subscription_id: str, send_resp: bool,
               notification: Notification, now: float,
               *, subscription: int | None = None, expiration: int = 0, min_wait: float = DEFAULT_MIN_WAIT,
               multiplier: int = DEFAULT_MULTIPLIER, force: bool = False) -> list[Action]:
        """Send (or hold) one Notify.

        Args:
            to_id: recipient Controller EndpointID.
            subscription_id: Subscription ID ("" for OnBoardRequest, R-NOT.7).
            send_resp: NotifRetry (always true for OnBoardRequest).
            notification: the notification body.
            now: current time.
            subscription: the Subscription instance (retries stop when it is deleted).
            expiration: NotifExpiration seconds (0 = retry until answered or restart).
            min_wait: the recipient's USPNotifRetryMinimumWaitInterval.
            multiplier: the recipient's USPNotifRetryIntervalMultiplier.
            force: send even when the Controller is not ready (Boot! itself, OnBoardRequest).

        Returns:
            The Send and retry Schedule actions, or an Observe when the hold queue overflowed.
        """
        held = _Held(to_id, subscription_id, send_resp, notification, subscription, expiration, min_wait,
                     multiplier)
        if force or to_id in self._ready:
            return self._emit(held, now)
        out: list[Action] = []
        if len(self._held) >= self.max_held:
            dropped = self._held.pop(0)
            out.append(Observe("notify_dropped", f"Notify:{notification_kind(dropped.notification)}",
                               labels=(("reason", "held-cap"),)))
        self._held.append(held)
        return out

    def _emit(self, h: _Held, now: float) -> list[Action]:
        kind = notification_kind(h.notification)
        msg_id = self.ctx.next_msg_id(kind, now)
        msg = Msg.of(msg_id, Notify(h.subscription_id, h.send_resp, h.notification))
        record = self.ctx.build_record(h.to_id, msg)
        label = f"Notify:{kind}"
        out: list[Action] = [Send(h.to_id, record, None, label)]
        if not h.send_resp:
            return out
        if len(self._pending) >= self.max_pending:
            _, old = self._pending.popitem(last=False)
            out.append(CancelTimer(Timer(RETRY_TIMER, (old.msg_id,))))
            out.append(Observe("notify_dropped", f"Notify:{old.kind}", labels=(("reason", "pending-cap"),)))
        expires = now + h.expiration if h.expiration > 0 else None
        p = Pending(msg_id, h.to_id, record, kind, h.subscription, now, expires, h.min_wait, h.multiplier)
        self._pending[msg_id] = p
        out += self._schedule_retry(p, now)
        return out

    def _schedule_retry(self, p: Pending, now: float) -> list[Action]:
        delay = retry_delay(p.attempt + 1, max(p.min_wait, 1), max(p.multiplier, 1000), self.rng)
        at = now + delay
        if p.expires_at is not None and at > p.expires_at:
            del self._pending[p.msg_id]
            return [Observe("notify_expired", f"Notify:{p.kind}", value=float(p.attempt))]
        return [Schedule(at, Timer(RETRY_TIMER, (p.msg_id,)))]

    # -- timers and responses ------------------------------------------------------------------------------
    def retry(self, msg_id: str, now: float) -> list[Action]:
        """The retry timer of ``msg_id`` fired: resend the identical Record and schedule the next retry."""
        p = self._pending.get(msg_id)
        if p is None:
            return []
        if p.expires_at is not None and now > p.expires_at:
            del self._pending[msg_id]
            return [Observe("notify_expired", f"Notify:{p.kind}", value=float(p.attempt))]
        p.attempt += 1
        out: list[Action] = [Send(p.to_id, p.record, None, f"Notify:{p.kind}"),
                             Observe("notify_retry", f"Notify:{p.kind}", value=float(p.attempt))]
        return out + self._schedule_retry(p, now)

    def on_resp(self, msg_id: str, now: float) -> tuple[list[Action], Pending | None]:
        """A NotifyResp arrived: stop retrying (its subscription_id is ignored, R-NOT.9).

        Returns:
            (actions, the Pending entry answered or None when the msg_id is unknown).
        """
        p = self._pending.pop(msg_id, None)
        if p is None:
            return [Observe("notify_resp_unmatched", "NotifyResp")], None
        return [CancelTimer(Timer(RETRY_TIMER, (msg_id,))),
                Observe("notify_resp", f"Notify:{p.kind}", value=now - p.first_sent)], p

    def forget_subscription(self, instance: int) -> list[Action]:
        """Stop retries and drop held Notifies of a deleted subscription."""
        out: list[Action] = []
        for mid in [m for m, p in self._pending.items() if p.subscription == instance]:
            del self._pending[mid]
            out.append(CancelTimer(Timer(RETRY_TIMER, (mid,))))
        self._held = [h for h in self._held if h.subscription != instance]
        return out

    def forget_controller(self, to_id: str) -> list[Action]:
        """Stop sending to ``to_id`` (its Controller row was disabled, usp-protocol.md 5.3).

        Retries of Notifies already sent to it stop (the last one sent stays its last message) and
        Notifies held for it are dropped; whether it is ready is left to the MTP layer.
        """
        out: list[Action] = []
        for mid in [m for m, p in self._pending.items() if p.to_id == to_id]:
            del self._pending[mid]
            out.append(CancelTimer(Timer(RETRY_TIMER, (mid,))))
        self._held = [h for h in self._held if h.to_id != to_id]
        return out
