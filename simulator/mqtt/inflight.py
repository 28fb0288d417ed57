"""Packet ids awaiting acknowledgement and the QoS 1 send window (MQTT 5.0 sections 2.2.1, 4.4, 4.9)."""

from __future__ import annotations

from simulator.mqtt.errors import MqttStateError

__all__ = ["SUBSCRIBE", "UNSUBSCRIBE", "Inflight"]

SUBSCRIBE, UNSUBSCRIBE = 8, 10
"""Markers stored for SUBSCRIBE / UNSUBSCRIBE ids (their packet types); PUBLISH ids store the bytes."""


class Inflight:
    """Which packet ids are in use, and which QoS 1 PUBLISH packets are sent, queued or acknowledged.

    Strategy: one dict maps every id awaiting an ack to either the encoded PUBLISH (kept for the DUP
    re-send of section 4.4) or a SUBSCRIBE/UNSUBSCRIBE marker; it exists only while something is
    pending, so an idle connection holds no dict. QoS 1 messages beyond the broker's Receive Maximum
    (section 4.9) wait in ``_queued`` in order.
    """

    __slots__ = ("_awaiting", "_next_id", "_queued", "send_maximum", "sent")

    def __init__(self) -> None:
        """Start with no ids in use; the first id is 1."""
        self._awaiting: dict[int, bytes | int] | None = None
        self._queued: list[int] | None = None
        self._next_id = 1
        self.send_maximum = 65535
        """The broker's Receive Maximum (MQTT 5 CONNACK), else 65,535."""
        self.sent = 0
        """QoS 1 PUBLISH packets sent and not yet acknowledged."""

    def __len__(self) -> int:
        """Number of ids in use."""
        return len(self._awaiting) if self._awaiting else 0

    def allocate(self, marker: bytes | int) -> int:
        """Reserve the next free id in 1..65535 ([MQTT-2.2.1-3]) for ``marker``.

        Raises:
            MqttStateError: When all 65,535 ids are awaiting acknowledgement.
        """
        pid = self._next_id
        awaiting = self._awaiting
        if awaiting is None:
            awaiting = self._awaiting = {}
        elif len(awaiting) >= 65535:
            msg = "all 65535 packet identifiers are in use"
            raise MqttStateError(msg)
        while pid in awaiting:
            pid = pid % 65535 + 1
        self._next_id = pid % 65535 + 1
        awaiting[pid] = marker
        return pid

    def release(self, pid: int) -> None:
        """Free ``pid``."""
        awaiting = self._awaiting
        if awaiting is not None:
            awaiting.pop(pid, None)
            if not awaiting:
                self._awaiting = None

    def holds(self, pid: int, marker: int) -> bool:
        """Whether ``pid`` awaits the ack of a SUBSCRIBE (``marker`` 8) or UNSUBSCRIBE (10)."""
        return self._awaiting is not None and self._awaiting.get(pid) == marker

    def add_publish(self, pid: int, data: bytes) -> bool:
        """Record the encoded QoS 1 PUBLISH for ``pid``; returns whether the window lets it go now."""
        assert self._awaiting is not None
        self._awaiting[pid] = data
        if self.sent < self.send_maximum:
            self.sent += 1
            return True
        if self._queued is None:
            self._queued = []
        self._queued.append(pid)
        return False

    def acknowledge(self, pid: int) -> tuple[bool, bytes | None]:
        """Handle PUBACK for ``pid``.

        Returns:
            ``(known, next)``: whether ``pid`` was a sent QoS 1 PUBLISH (unknown ids, e.g. a duplicate
            ack, are ignored), and a queued PUBLISH the freed window slot now lets through.
        """
        awaiting = self._awaiting
        if awaiting is None or type(awaiting.get(pid)) is not bytes or pid in (self._queued or ()):
            return False, None
        self.release(pid)
        self.sent -= 1
        if not self._queued:
            return True, None
        next_pid = self._queued.pop(0)
        if not self._queued:
            self._queued = None
        assert self._awaiting is not None
        data = self._awaiting[next_pid]
        assert isinstance(data, bytes)
        self.sent += 1
        return True, data

    def drop_requests(self) -> None:
        """Forget the SUBSCRIBE/UNSUBSCRIBE ids of a closed connection: their acks will never come."""
        awaiting = self._awaiting
        if awaiting:
            for pid in [pid for pid, data in awaiting.items() if data.__class__ is int]:
                del awaiting[pid]
            if not awaiting:
                self._awaiting = None

    def restart(self, session_present: bool, send_maximum: int) -> list[bytes]:
        """Start a new network connection's window after CONNACK.

        SUBSCRIBE/UNSUBSCRIBE ids still held were sent on *this* connection, pipelined after CONNECT
        (MQTT 5.0 section 3.1.4; ``drop_requests`` ran at ``connect``), so they are kept.

        Args:
            session_present: CONNACK Session Present.
            send_maximum: The broker's Receive Maximum.

        Returns:
            PUBLISH packets to send now: unacknowledged ones with DUP=1 and their original ids
            ([MQTT-4.4.0-1]), then never-sent queued ones. Without a session present our session state
            is discarded instead ([MQTT-3.2.2-5] in 5.0, [MQTT-3.2.2-4] in 3.1.1).
        """
        self.sent = 0
        self.send_maximum = send_maximum
        awaiting = self._awaiting
        queued = self._queued or []
        self._queued = None
        requests: dict[int, bytes | int] = (
            {pid: data for pid, data in awaiting.items() if data.__class__ is int} if awaiting else {}
        )
        if not awaiting or not session_present:
            self._awaiting = requests or None
            return []
        publishes = {pid: data for pid, data in awaiting.items() if isinstance(data, bytes)}
        never_sent = set(queued)
        for pid, data in publishes.items():
            if pid not in never_sent:
                publishes[pid] = bytes((data[0] | 0x08,)) + data[1:]
        self._awaiting = {**publishes, **requests} or None
        out = []
        for pid in [pid for pid in publishes if pid not in never_sent] + queued:
            if self.sent < send_maximum:
                self.sent += 1
                out.append(publishes[pid])
            else:
                self._queued = [*(self._queued or []), pid]
        return out
