"""MqttTransport pipelines SUBSCRIBE(agent topic) behind CONNECT (MQTT 5.0 / 3.1.1 section 3.1.4)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from simulator.mqtt.packets import ConnAck, Connect, Packet, SubAck, Subscribe, Unsubscribe
from simulator.mqtt.properties import Properties
from simulator.mqtt.stream import StreamDecoder
from simulator.mqtt.wire import encode_packet
from simulator.transports.base import ConnectError, MqttSettings, TransportState
from simulator.transports.mqtt import MqttTransport


class FakeSocket:
    """The asyncio.Transport surface MqttTransport uses; records every write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0


def opened(version: int = 5, **kw: Any) -> tuple[MqttTransport, FakeSocket, asyncio.Future[None]]:
    """A transport as ``connect()`` leaves it when the socket opens, after ``connection_made``."""
    settings = MqttSettings("h", endpoint_id="e", agent_topic="usp/agent/e", protocol_version=version, **kw)
    t = MqttTransport(settings, lambda _p: None)
    loop = asyncio.get_running_loop()
    t._loop = loop
    t._state = TransportState.CONNECTING
    ready = t._ready = loop.create_future()
    sock = FakeSocket()
    t.connection_made(sock)  # type: ignore[arg-type]
    return t, sock, ready


def packets(data: bytes, version: int = 5) -> list[Packet]:
    return StreamDecoder(version).feed(data)


@pytest.mark.asyncio
@pytest.mark.parametrize("version", [5, 4])
async def test_connect_and_agent_subscribe_go_in_one_write(version: int) -> None:
    t, sock, ready = opened(version)
    [write] = sock.writes
    connect, subscribe = packets(write, version)
    assert isinstance(connect, Connect) and isinstance(subscribe, Subscribe)
    wanted = "usp/agent/e" if version == 5 else "usp/agent/e/#"
    assert [s.topic_filter for s in subscribe.subscriptions] == [wanted]
    if version == 5:
        assert subscribe.properties.user_properties == (("usp-endpoint-id", "e"),)
    t.data_received(
        encode_packet(ConnAck(), version) + encode_packet(SubAck(subscribe.packet_id, (0,)), version)
    )
    assert ready.done() and ready.exception() is None
    assert t.state is TransportState.CONNECTED
    assert t.subscriptions == (wanted,)
    assert len(sock.writes) == 1  # nothing more to send: one round trip for the whole MQTT session
    t.abort()


@pytest.mark.asyncio
async def test_connack_topics_follow_the_connack_and_both_subacks_are_awaited() -> None:
    """Response Information replaces the pipelined agent topic: subscribed after CONNACK, the agent
    topic unsubscribed; the transport is connected once every SUBACK arrived."""
    t, sock, ready = opened(subscriptions=("extra/t",))
    [early] = [p for p in packets(sock.writes[0]) if isinstance(p, Subscribe)]
    assert [s.topic_filter for s in early.subscriptions] == ["extra/t", "usp/agent/e"]
    t.data_received(encode_packet(ConnAck(properties=Properties(response_information="resp/e"))))
    late, unsub = packets(sock.writes[1])
    assert isinstance(late, Subscribe) and [s.topic_filter for s in late.subscriptions] == ["resp/e"]
    assert isinstance(unsub, Unsubscribe) and unsub.topic_filters == ("usp/agent/e",)
    t.data_received(encode_packet(SubAck(early.packet_id, (0, 0))))
    assert not ready.done()
    t.data_received(encode_packet(SubAck(late.packet_id, (0,))))
    assert ready.done() and t.state is TransportState.CONNECTED
    assert t.subscriptions == ("extra/t", "resp/e")
    assert t.reply_to == "resp/e"
    t.abort()


@pytest.mark.asyncio
async def test_every_pipelined_subscription_refused_fails_the_connect() -> None:
    t, sock, ready = opened()
    [_connect, subscribe] = packets(sock.writes[0])
    assert isinstance(subscribe, Subscribe)
    t.data_received(encode_packet(ConnAck()) + encode_packet(SubAck(subscribe.packet_id, (0x87,))))
    t.connection_lost(None)  # the client queued DISCONNECT and closed; the socket follows
    assert ready.done()
    error = ready.exception()
    assert isinstance(error, ConnectError) and error.refused and error.reason_code == 0x87
