"""Packet-id allocation and the QoS 1 window (MQTT 5.0 sections 2.2.1, 4.4, 4.9)."""

from __future__ import annotations

import pytest

from simulator.mqtt.errors import MqttStateError
from simulator.mqtt.inflight import SUBSCRIBE, Inflight


def test_ids_wrap_from_65535_to_1_skipping_ids_in_use() -> None:
    ids = Inflight()
    assert ids.allocate(SUBSCRIBE) == 1
    ids._next_id = 65535
    assert [ids.allocate(b"x") for _ in range(3)] == [65535, 2, 3]
    ids.release(2)
    assert len(ids) == 3
    assert ids.holds(1, SUBSCRIBE)
    assert not ids.holds(3, SUBSCRIBE)


def test_all_ids_in_use_is_a_local_error() -> None:
    ids = Inflight()
    for _ in range(65535):
        ids.allocate(SUBSCRIBE)
    with pytest.raises(MqttStateError):
        ids.allocate(SUBSCRIBE)
    ids.release(40_000)
    assert ids.allocate(SUBSCRIBE) == 40_000


def test_window_queue_and_release_order() -> None:
    ids = Inflight()
    ids.send_maximum = 1
    first, second = ids.allocate(b""), ids.allocate(b"")
    assert ids.add_publish(first, b"\x32A") is True
    assert ids.add_publish(second, b"\x32B") is False
    assert ids.acknowledge(second) == (False, None)  # queued, never sent: not acknowledgeable
    assert ids.acknowledge(first) == (True, b"\x32B")
    assert ids.acknowledge(second) == (True, None)
    assert len(ids) == 0 and ids.sent == 0


def test_restart_resends_with_dup_then_queued_and_drops_requests() -> None:
    ids = Inflight()
    ids.send_maximum = 1
    sub = ids.allocate(SUBSCRIBE)
    a, b = ids.allocate(b""), ids.allocate(b"")
    ids.add_publish(a, b"\x32a")
    ids.add_publish(b, b"\x32b")
    ids.drop_requests()  # connect(): the old connection's SUBACK will never come
    assert not ids.holds(sub, SUBSCRIBE)
    assert ids.restart(True, 10) == [b"\x3aa", b"\x32b"]  # DUP only on the one already sent
    assert ids.sent == 2
    assert ids.restart(False, 10) == []
    assert len(ids) == 0


def test_restart_keeps_requests_pipelined_before_connack() -> None:
    """A SUBSCRIBE sent right after CONNECT (MQTT 5.0 section 3.1.4) survives CONNACK, with or without
    a session present; the stale publishes of an old session without one do not."""
    for present in (True, False):
        ids = Inflight()
        old = ids.allocate(b"")
        ids.add_publish(old, b"\x32a")
        ids.drop_requests()
        sub = ids.allocate(SUBSCRIBE)
        assert sub != old
        assert ids.restart(present, 10) == ([b"\x3aa"] if present else [])
        assert ids.holds(sub, SUBSCRIBE)
        ids.release(sub)
        assert len(ids) == (1 if present else 0)
