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
class Connect:
    """Bring up the MTP towards a Controller the agent was just configured with (TP-469 9.9).

    Emitted when a Device.LocalAgent.Controller row becomes usable while the agent runs: enabled, with
    an EndpointID and an enabled MTP row, and not yet connected since the last start. The driver
    connects (for MQTT: nothing more than using the row's Topic) and then calls
    ``Agent.mtp_connected(now, controller_id)``, which sends the Connect Record, Boot! when subscribed,
    and anything held for that Controller (e.g. the OnBoardRequest of SendOnBoardRequest()).

    Attributes:
        controller_id: the new Controller's EndpointID.
    """

    controller_id: str


@dataclass(frozen=True, slots=True)
class HttpPost:
    """POST (or PUT) a bulk-data report (the driver performs the request; the agent stays sans-I/O).

    The driver reports the outcome back with ``Agent.http_result(action.profile, ok, now)`` (ok = a 2xx
    status; a connection error or timeout is not ok). That call drives HTTP.RetryEnable retries and
    NumberOfRetainedFailedReports (usp-protocol.md 10, TP-469 10.7); a driver that never calls it gets
    fire-and-forget reports (an unanswered report counts as delivered).

    Attributes:
        url: collector URL.
        body: encoded report.
        headers: request headers (Content-Type, BBF-Report-Format, ...).
        profile: the BulkData profile instance path, so the driver can report the outcome back.
        method: HTTP method, Profile.{i}.HTTP.Method: "POST" (default) or "PUT".
    """

    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    profile: str = ""
    method: str = "POST"


@dataclass(frozen=True, slots=True)
class MqttPublish:
    """PUBLISH a bulk-data report over MQTT (Profile.{i}.Protocol = MQTT, usp-protocol.md 10, TP-469 10.13).

    The payload is the bare report: no USP Record around it. The driver publishes it through the MQTT
    connection of ``client`` (the agent has one per Device.MQTT.Client row; a driver with a single
    connection may ignore the field) and, on MQTT 5.0, sets the Content Type property to
    ``content_type`` (obuspa: ``application/json; charset=UTF-8``). Delivery follows the QoS; there is
    no outcome to report back.

    Attributes:
        client: the Device.MQTT.Client.{i} path from Profile.{i}.MQTT.Reference (no trailing dot).
        topic: Profile.{i}.MQTT.PublishTopic.
        payload: the encoded report (JSON or CSV text, UTF-8).
        qos: Profile.{i}.MQTT.PublishQoS (0, 1 or 2).
        retain: Profile.{i}.MQTT.PublishRetain.
        content_type: the report media type with charset (MQTT 5.0 Content Type property).
        profile: the BulkData profile instance path.
    """

    client: str
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    content_type: str = ""
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


Action = Send | Schedule | CancelTimer | Disconnect | Connect | HttpPost | MqttPublish | Observe
