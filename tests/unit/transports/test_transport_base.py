"""Transport error classification, settings validation and retry timing (TR-369 R-MQTT.10, 7.2)."""

from __future__ import annotations

import random
import ssl

import pytest

from simulator.transports.base import (
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    DestinationError,
    MqttSettings,
    SendTimeoutError,
    TlsSettings,
    Transport,
    TransportError,
    WebSocketSettings,
    is_retryable,
)
from simulator.transports.memory import MemoryTransport
from simulator.transports.mqtt import MqttTransport
from simulator.transports.websocket import WebSocketTransport


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (ConnectError("unreachable"), True),
        (ConnectTimeoutError("slow"), True),
        (ConnectionLostError("reset"), True),
        (SendTimeoutError("full"), True),
        (ConnectError("bad password", refused=True, reason_code=0x86), False),
        (ConnectError("bad password", refused=True, reason_code=4), False),
        (ConnectError("not authorised", refused=True, reason_code=0x87), False),
        (ConnectError("server busy", refused=True, reason_code=0x89), True),
        (ConnectError("server unavailable v3", refused=True, reason_code=3), True),
        (ConnectError("HTTP 403", refused=True, reason_code=403), False),
        (ConnectError("HTTP 503", refused=True, reason_code=503), True),
        (ConnectError("no v1.usp", refused=True), False),
        (DestinationError("bad topic"), False),
        (ValueError("bug"), False),
        (OSError("unmapped"), False),
    ],
)
def test_is_retryable(exc: BaseException, retryable: bool) -> None:
    assert is_retryable(exc) is retryable


def test_error_tree() -> None:
    assert issubclass(ConnectTimeoutError, ConnectError)
    for cls in (ConnectError, ConnectionLostError, SendTimeoutError, DestinationError):
        assert issubclass(cls, TransportError)
    err = ConnectError("x", refused=True, reason="bad user name or password", reason_code=0x86)
    assert (err.refused, err.reason, err.reason_code) == (True, "bad user name or password", 0x86)
    assert ConnectError("unreachable").reason == "unreachable"


def test_mqtt_settings_validation() -> None:
    with pytest.raises(ValueError, match="protocol_version"):
        MqttSettings("h", protocol_version=3)
    with pytest.raises(ValueError, match="publish_qos"):
        MqttSettings("h", publish_qos=2)


def test_retry_delays_follow_tr369_window() -> None:
    """[TP] 11.6: the first retry falls in [ConnectRetryTime, ConnectRetryTime * k/1000]."""
    s = MqttSettings("h", connect_retry_time=5, connect_retry_multiplier=2000, connect_retry_max_interval=60)
    rng = random.Random(1)
    first = [s.retry_delay(1, rng) for _ in range(200)]
    assert all(5 <= d <= 10 for d in first)
    assert max(first) - min(first) > 2  # jittered
    assert all(s.retry_delay(10, rng) == 60 for _ in range(5))  # clamped by the max interval
    fixed = MqttSettings("h", connect_retry_time=5, jitter=False)
    assert [fixed.retry_delay(n, rng) for n in (1, 2, 3)] == [5, 10, 20]
    ws = WebSocketSettings(
        "ws://h/", "e", session_retry_min_wait=2, session_retry_multiplier=1500, jitter=False
    )
    assert ws.retry_delay(2, rng) == 3


def test_tls_context_verifies_by_default() -> None:
    ctx = TlsSettings().make_context()
    assert ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    insecure = TlsSettings(insecure=True).make_context()
    assert insecure.verify_mode is ssl.CERT_NONE and not insecure.check_hostname


def test_transports_satisfy_protocol() -> None:
    def ignore(_: object) -> None:
        return None

    assert isinstance(MemoryTransport(), Transport)
    assert isinstance(MqttTransport(MqttSettings("h"), ignore), Transport)
    assert isinstance(WebSocketTransport(WebSocketSettings("ws://h/", "e"), ignore), Transport)


def test_mqtt_transport_memory_footprint() -> None:
    """Per-connection Python state of MqttTransport + MqttClient stays small (target <= 4 KiB total)."""
    import tracemalloc

    def ignore(_: object) -> None:
        return None

    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    transports = [
        MqttTransport(
            MqttSettings("h", endpoint_id=f"os::012345-SIM{i:06d}", agent_topic=f"usp/agent/{i}"), ignore
        )
        for i in range(500)
    ]
    per = (tracemalloc.get_traced_memory()[0] - base) / len(transports)
    tracemalloc.stop()
    assert per < 1600, per  # asyncio's transport + socket (~1.5-2 KiB) come on top when connected
