"""What the sans-I/O Agent asks its driver to do: frozen action values returned by every Agent call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Timer:
    """A timer identity: the driver schedules it and hands it back to ``Agent.fire``.

    Attributes:
        kind: low-cardinality timer family, e.g. "notify-retry", "periodic", "command", "poll".
        key: what the timer is about inside that family (msg_id, instance path, ...).
    """

    kind: str
    key: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Send:
    """Send a Record to a controller.

    Attributes:
        to_id: the controller's EndpointID (the Record's to_id).
        record: the encoded USP Record.
        reply_to: the MTP return path of the request this answers (MQTT response topic,
            3.1.1 reply-to, WebSocket session, ...) or None for agent-initiated traffic, which the
            driver sends to the controller's configured MTP address.
        msg_type: low-cardinality name for metrics, e.g. "GetResp", "Notify:Boot!", "Connect".
    """

    to_id: str
    record: bytes
    reply_to: str | None = None
    msg_type: str = ""


@dataclass(frozen=True, slots=True)
class Schedule:
    """Call ``Agent.fire(timer, now)`` at time ``at`` (same clock as the ``now`` values passed in)."""

    at: float
    timer: Timer


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Forget a scheduled timer (no error if it already fired or was never scheduled)."""

    timer: Timer


@dataclass(frozen=True, slots=True)
class Disconnect:
    """Close the agent's MTP connections (after sending what precedes this action).

    Attributes:
        reason: why, for logs and metrics ("reboot", "factory-reset", "force-reconnect", ...).
        reconnect_after: seconds until the driver brings the MTP back (a reboot's boot delay);
            None means stay down until told otherwise.
    """

    reason: str
    reconnect_after: float | None = None


@dataclass(frozen=True, slots=True)
class HttpPost:
    """POST a bulk-data report (the driver performs the request; the agent stays sans-I/O).

    Attributes:
        url: collector URL.
        body: encoded report.
        headers: request headers (Content-Type, BBF-Report-Format, ...).
        profile: the BulkData profile instance path, so the driver can report the outcome back.
    """

    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    profile: str = ""


@dataclass(frozen=True, slots=True)
class Observe:
    """A metric observation (architecture.md B1.5): the driver publishes it on the event hook.

    Attributes:
        name: low-cardinality metric name, e.g. "request", "notify_resp", "dropped_record".
        kind: USP message type or notification kind, e.g. "Get", "Notify:ValueChange".
        value: a duration in seconds or a count.
        error: USP error code when the observation records a failure, else 0.
        labels: extra low-cardinality labels.
    """

    name: str
    kind: str = ""
    value: float = 1.0
    error: int = 0
    labels: tuple[tuple[str, str], ...] = field(default=())


Action = Send | Schedule | CancelTimer | Disconnect | HttpPost | Observe
