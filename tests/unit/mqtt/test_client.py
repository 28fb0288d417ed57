"""MqttClient state machine: connect, keep-alive timers, QoS 1 flow, packet ids, errors (no I/O)."""

from __future__ import annotations

import pytest
from fixtures import h

from simulator.mqtt import (
    ClientState,
    Connected,
    ConnectionLost,
    ConnectionRefused,
    Disconnected,
    MessageReceived,
    MqttClient,
    MqttClientSettings,
    MqttProtocolError,
    MqttStateError,
    ProtocolViolation,
    PublishAcknowledged,
    Subscribed,
    Unsubscribed,
    Will,
)
from simulator.mqtt.packets import (
    Auth,
    ConnAck,
    Connect,
    Disconnect,
    Packet,
    PingResp,
    PubAck,
    Publish,
    PubRel,
    SubAck,
    Subscribe,
    Subscription,
    UnsubAck,
    Unsubscribe,
)
from simulator.mqtt.properties import Properties
from simulator.mqtt.stream import StreamDecoder
from simulator.mqtt.wire import encode_packet


def sent(client: MqttClient, version: int = 5) -> list[Packet]:
    return StreamDecoder(version).feed(client.data_to_send())


def connected(version: int = 5, now: float = 0.0, connack: ConnAck | None = None, **kw: object) -> MqttClient:
    client = MqttClient(MqttClientSettings(client_id="agent", protocol_version=version, **kw))  # type: ignore[arg-type]
    client.connect(now)
    client.data_to_send()
    events = client.receive_data(encode_packet(connack or ConnAck(), version), now)
    assert isinstance(events[0], Connected)
    return client


# --------------------------------------------------------------------------------------------- connect


def test_connect_v5_carries_usp_properties_in_order() -> None:
    """TR-369 R-MQTT.8 / Oktopus: first user property usp-endpoint-id, Request Response Information 1."""
    settings = MqttClientSettings(
        client_id="os::012345-SIM1",
        keep_alive=60,
        user_properties=(("usp-endpoint-id", "os::012345-SIM1"), ("x", "y")),
        request_response_information=True,
        session_expiry_interval=30,
        username="u",
        password=b"p",
        will=Will("status/x", b"0", 1, True),
    )
    client = MqttClient(settings)
    assert client.state is ClientState.IDLE
    client.connect(0.0)
    assert client.state is ClientState.CONNECTING
    [packet] = sent(client)
    assert packet == Connect(
        "os::012345-SIM1",
        5,
        True,
        60,
        "u",
        b"p",
        Will("status/x", b"0", 1, True),
        Properties(
            session_expiry_interval=30,
            request_response_information=1,
            user_properties=(("usp-endpoint-id", "os::012345-SIM1"), ("x", "y")),
        ),
    )


def test_connect_v4_is_plain_3_1_1() -> None:
    client = MqttClient(MqttClientSettings(client_id="a", protocol_version=4, keep_alive=30))
    client.connect(0.0)
    assert client.data_to_send() == h("10 0d 0004", b"MQTT", "04 02 001e 0001", b"a")


def test_connack_properties_surface_in_connected_event() -> None:
    client = MqttClient(MqttClientSettings(client_id=""))
    client.connect(0.0)
    client.data_to_send()
    props = Properties(
        assigned_client_identifier="auto-1",
        response_information="usp/agent/reply",
        server_keep_alive=20,
        user_properties=(("subscribe-topic", "oktopus/usp/v1/agent/x"), ("subscribe-topic", "b")),
    )
    [event] = client.receive_data(encode_packet(ConnAck(False, 0, props)), 0.5)
    assert isinstance(event, Connected)
    assert event.assigned_client_id == "auto-1"
    assert event.response_information == "usp/agent/reply"
    assert event.subscribe_topics == ("oktopus/usp/v1/agent/x", "b")
    assert event.session_present is False
    assert client.client_id == "auto-1"  # reused on the next CONNECT ([TP] 11.5)
    assert client.keep_alive == 20
    client.connection_lost(1.0)
    client.connect(2.0)
    [again] = sent(client)
    assert isinstance(again, Connect)
    assert again.client_id == "auto-1"


@pytest.mark.parametrize(
    ("version", "code", "reason"), [(5, 0x87, "not authorized"), (4, 5, "not authorized")]
)
def test_refused_connect_closes(version: int, code: int, reason: str) -> None:
    client = MqttClient(MqttClientSettings(client_id="a", protocol_version=version))
    client.connect(0.0)
    [event] = client.receive_data(encode_packet(ConnAck(False, code), version), 0.1)
    assert isinstance(event, ConnectionRefused)
    assert (event.reason_code, event.reason) == (code, reason)
    assert client.state is ClientState.CLOSED
    with pytest.raises(MqttStateError):
        client.publish("t", b"", 0, 0.2)


def test_connect_twice_is_a_local_error() -> None:
    client = connected()
    with pytest.raises(MqttStateError):
        client.connect(1.0)


def test_connect_timeout() -> None:
    client = MqttClient(MqttClientSettings(client_id="a", connect_timeout=10))
    client.connect(5.0)
    assert client.next_deadline() == 15.0
    assert client.on_timer(14.9) == []
    [event] = client.on_timer(15.0)
    assert isinstance(event, ConnectionLost)
    assert client.state is ClientState.CLOSED
    assert client.next_deadline() is None


# ------------------------------------------------------------------------------------------ keep-alive


def test_keep_alive_deadlines_ping_and_pong() -> None:
    """PINGREQ after keep_alive * ping_ratio idle (MQTT 5.0 section 3.1.2.10, [TP] 11.7)."""
    client = connected(keep_alive=60, now=100.0)
    assert client.next_deadline() == 145.0  # 100 + 60 * 0.75
    client.publish("t", b"x", 0, 110.0)
    client.data_to_send()
    assert client.next_deadline() == 155.0  # any sent packet restarts the idle period
    assert client.on_timer(154.0) == []
    assert client.data_to_send() == b""
    assert client.on_timer(155.0) == []
    assert client.data_to_send() == b"\xc0\x00"
    assert client.ping_outstanding
    assert client.next_deadline() == 215.0  # PINGRESP due within one keep-alive
    assert client.receive_data(b"\xd0\x00", 156.0) == []
    assert not client.ping_outstanding
    assert client.next_deadline() == 200.0


def test_ping_timeout_reports_connection_lost() -> None:
    client = connected(keep_alive=10, ping_ratio=1.0, ping_timeout=3.0)
    assert client.next_deadline() == 10.0
    client.on_timer(10.0)
    assert client.data_to_send() == b"\xc0\x00"
    assert client.next_deadline() == 13.0
    assert client.on_timer(12.9) == []
    [event] = client.on_timer(13.0)
    assert isinstance(event, ConnectionLost)
    assert "PINGRESP" in event.reason
    assert client.state is ClientState.CLOSED


def test_server_keep_alive_overrides_ours() -> None:
    client = connected(keep_alive=60, connack=ConnAck(False, 0, Properties(server_keep_alive=8)))
    assert client.next_deadline() == 6.0


def test_keep_alive_zero_has_no_deadline() -> None:
    client = connected(keep_alive=0)
    assert client.next_deadline() is None
    assert client.on_timer(1e9) == []
    assert client.data_to_send() == b""


# ------------------------------------------------------------------------------------------ publishing


def test_publish_qos0_v5_bytes_with_usp_properties() -> None:
    client = connected()
    assert client.publish("c/t", b"rec", 0, 1.0, response_topic="a/r", content_type="usp.msg") is None
    assert client.data_to_send() == h(
        "30 19 0003", b"c/t", "10 03 0007", b"usp.msg", "08 0003", b"a/r", b"rec"
    )
    # the cached property block is not reused when the properties change
    client.publish("c/t", b"rec", 0, 1.0, response_topic="a/s", content_type="usp.msg")
    [packet] = sent(client)
    assert isinstance(packet, Publish)
    assert packet.properties.response_topic == "a/s"
    client.publish("d", b"", 0, 1.0, correlation_data=b"c", user_properties=[("k", "v")])
    [packet] = sent(client)
    assert isinstance(packet, Publish)
    assert packet.topic == "d"
    assert packet.properties == Properties(correlation_data=b"c", user_properties=(("k", "v"),))


def test_publish_v4_ignores_v5_properties() -> None:
    client = connected(version=4)
    client.publish("a", b"p", 0, 1.0, response_topic="r", content_type="usp.msg")
    assert client.data_to_send() == h("30 04 0001", b"a", b"p")


def test_publish_rejects_wildcard_topics_and_qos2() -> None:
    client = connected()
    with pytest.raises(MqttProtocolError):
        client.publish("a/+", b"", 0, 0.0)
    with pytest.raises(MqttStateError):
        client.publish("a", b"", 2, 0.0)


def test_qos1_inflight_and_puback() -> None:
    client = connected()
    pid = client.publish("t", b"x", 1, 1.0)
    assert pid == 1
    assert sent(client) == [Publish("t", b"x", 1, packet_id=1)]
    assert client.inflight == 1
    assert client.receive_data(encode_packet(PubAck(99)), 2.0) == []  # unknown id is ignored
    [event] = client.receive_data(encode_packet(PubAck(1, 0x10)), 2.0)
    assert event == PublishAcknowledged(1, 0x10)
    assert client.inflight == 0
    assert client.receive_data(encode_packet(PubAck(1)), 2.0) == []  # duplicate ack


def test_receive_maximum_queues_extra_qos1_messages() -> None:
    client = connected(connack=ConnAck(False, 0, Properties(receive_maximum=2)))
    ids = [client.publish("t", bytes([i]), 1, 1.0) for i in range(3)]
    assert ids == [1, 2, 3]
    assert [p.packet_id for p in sent(client) if isinstance(p, Publish)] == [1, 2]
    client.receive_data(encode_packet(PubAck(2)), 2.0)
    assert sent(client) == [Publish("t", b"\x02", 1, packet_id=3)]
    assert client.inflight == 2


def test_maximum_qos_and_retain_available_are_honoured() -> None:
    """TR-369 R-MQTT.19: QoS clamped to the broker's Maximum QoS; RETAIN only if available."""
    client = connected(connack=ConnAck(False, 0, Properties(maximum_qos=0, retain_available=0)))
    assert client.publish("t", b"", 1, 0.0, retain=True) is None
    assert sent(client) == [Publish("t", b"", 0, retain=False)]


def test_packet_too_large_for_the_broker() -> None:
    client = connected(connack=ConnAck(False, 0, Properties(maximum_packet_size=50)))
    client.publish("t", b"x" * 40, 0, 0.0)
    with pytest.raises(MqttProtocolError) as info:
        client.publish("t", b"x" * 50, 0, 0.0)
    assert info.value.reason_code == 0x95


def test_packet_ids_wrap_and_skip_inflight_ones() -> None:
    client = connected()
    assert client.publish("t", b"", 1, 0.0) == 1  # stays inflight
    client._ids._next_id = 65534
    assert [client.publish("t", b"", 1, 0.0) for _ in range(3)] == [65534, 65535, 2]


def test_packet_ids_exhausted() -> None:
    client = connected()
    for _ in range(65535):
        client.publish("t", b"", 1, 0.0)
    client.data_to_send()
    with pytest.raises(MqttStateError):
        client.publish("t", b"", 1, 0.0)
    with pytest.raises(MqttStateError):
        client.subscribe(["x"], 0.0)
    client.receive_data(encode_packet(PubAck(777)), 0.0)
    assert client.publish("t", b"", 1, 0.0) == 777


def test_session_present_resends_unacknowledged_with_dup() -> None:
    """MQTT 5.0 section 4.4: re-send unacknowledged PUBLISH with DUP=1 and the original ids."""
    client = connected(clean_start=False, session_expiry_interval=600)
    client.publish("t", b"a", 1, 0.0)
    client.publish("t", b"b", 1, 0.0)
    client.data_to_send()
    client.receive_data(encode_packet(PubAck(1)), 0.5)
    assert client.connection_lost(1.0) == [ConnectionLost("connection closed by peer")]
    client.connect(2.0)
    client.data_to_send()
    client.receive_data(encode_packet(ConnAck(True, 0)), 2.1)
    assert client.data_to_send() == encode_packet(Publish("t", b"b", 1, dup=True, packet_id=2))
    [event] = client.receive_data(encode_packet(PubAck(2)), 2.2)
    assert event == PublishAcknowledged(2)


def test_no_session_present_discards_unacknowledged() -> None:
    client = connected()
    client.publish("t", b"a", 1, 0.0)
    client.connection_lost(1.0)
    client.connect(2.0)
    client.data_to_send()
    client.receive_data(encode_packet(ConnAck(False, 0)), 2.1)
    assert client.data_to_send() == b""
    assert client.inflight == 0
    assert client.publish("t", b"", 1, 3.0) == 2  # ids keep advancing


# ------------------------------------------------------------------------------------------ receiving


def test_incoming_qos1_is_acknowledged_and_delivered() -> None:
    client = connected()
    props = Properties(response_topic="ctl/r", content_type="usp.msg", correlation_data=b"7",
                       user_properties=(("a", "1"),))  # fmt: skip
    [event] = client.receive_data(encode_packet(Publish("me", b"rec", 1, packet_id=5, properties=props)), 1.0)
    assert isinstance(event, MessageReceived)
    assert (event.topic, event.payload, event.qos, event.retain) == ("me", b"rec", 1, False)
    assert (event.response_topic, event.content_type, event.correlation_data) == ("ctl/r", "usp.msg", b"7")
    assert event.user_properties == (("a", "1"),)
    assert client.data_to_send() == h("40 02 0005")
    assert client.next_deadline() == 1.0 + 45.0  # the PUBACK counts as sent


def test_incoming_qos2_gets_pubrec_then_pubcomp() -> None:
    client = connected()
    [event] = client.receive_data(encode_packet(Publish("me", b"x", 2, packet_id=9)), 1.0)
    assert isinstance(event, MessageReceived)
    assert client.data_to_send() == h("50 02 0009")
    assert client.receive_data(encode_packet(PubRel(9)), 1.0) == []
    assert client.data_to_send() == h("70 02 0009")


def test_topic_alias_is_resolved() -> None:
    client = connected(topic_alias_maximum=4)
    first = Publish("long/topic", b"1", properties=Properties(topic_alias=2))
    second = Publish("", b"2", properties=Properties(topic_alias=2))
    events = client.receive_data(encode_packet(first) + encode_packet(second), 1.0)
    assert [(e.topic, e.payload) for e in events if isinstance(e, MessageReceived)] == [
        ("long/topic", b"1"),
        ("long/topic", b"2"),
    ]


@pytest.mark.parametrize(
    "publish",
    [
        Publish("x", b"", properties=Properties(topic_alias=5)),  # above our maximum 4: 0x94
        Publish("", b"", properties=Properties(topic_alias=3)),  # never defined: 0x82
    ],
)
def test_invalid_topic_alias_is_a_protocol_violation(publish: Publish) -> None:
    client = connected(topic_alias_maximum=4)
    [event] = client.receive_data(encode_packet(publish), 1.0)
    assert isinstance(event, ProtocolViolation)
    assert event.error.reason_code in (0x94, 0x82)
    assert client.data_to_send() == bytes((0xE0, 1, event.error.reason_code))


def test_subscribe_and_unsubscribe_round_trip() -> None:
    client = connected()
    pid = client.subscribe(["a", ("b/#", 1)], 1.0, user_properties=[("usp-endpoint-id", "e")])
    [packet] = sent(client)
    assert isinstance(packet, Subscribe)
    assert [(s.topic_filter, s.qos) for s in packet.subscriptions] == [("a", 0), ("b/#", 1)]
    assert packet.properties.user_properties == (("usp-endpoint-id", "e"),)
    [event] = client.receive_data(encode_packet(SubAck(pid, (0, 1))), 1.1)
    assert event == Subscribed(pid, (0, 1))
    upid = client.unsubscribe(["a"], 2.0)
    assert sent(client) == [Unsubscribe(upid, ("a",))]
    [event] = client.receive_data(encode_packet(UnsubAck(upid, (0,))), 2.1)
    assert event == Unsubscribed(upid, (0,))


def test_suback_for_unknown_id_is_a_protocol_violation() -> None:
    client = connected()
    [event] = client.receive_data(encode_packet(SubAck(3, (0,))), 1.0)
    assert isinstance(event, ProtocolViolation)
    assert event.error.reason_code == 0x82


def test_server_disconnect_v5() -> None:
    client = connected()
    props = Properties(reason_string="maintenance", server_reference="other:1883")
    [event] = client.receive_data(encode_packet(Disconnect(0x8B, props)), 1.0)
    assert event == Disconnected(0x8B, True, "maintenance", "other:1883")
    assert client.state is ClientState.CLOSED
    assert client.data_to_send() == b""
    assert client.receive_data(b"\xd0\x00", 1.1) == []  # closed: input ignored


def test_server_disconnect_is_a_violation_on_v4() -> None:
    client = connected(version=4)
    [event] = client.receive_data(b"\xe0\x00", 1.0)
    assert isinstance(event, ProtocolViolation)
    assert client.data_to_send() == b""  # 3.1.1: close without DISCONNECT, so the Will is published


def test_client_disconnect() -> None:
    client = connected()
    client.disconnect(1.0)
    assert client.data_to_send() == b"\xe0\x00"
    assert client.state is ClientState.CLOSED
    client.disconnect(1.0)  # no-op when closed
    assert client.data_to_send() == b""
    assert client.connection_lost(2.0) == []  # expected close: no event
    client2 = connected()
    client2.disconnect(1.0, reason_code=0x04)  # Disconnect with Will Message
    assert client2.data_to_send() == b"\xe0\x01\x04"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x30\x03\x00\x00\x00", 0x82),  # empty topic without alias
        (b"\x36\x03\x00\x01a", 0x81),  # QoS 3
        (b"\x10\x00", 0x81),  # truncated CONNECT body
        (encode_packet(Auth()), 0x82),  # AUTH without enhanced authentication
        (encode_packet(Subscribe(1, (Subscription("a"),))), 0x82),  # SUBSCRIBE sent to a client
        (b"\x30\xff\xff\xff\xff\x01", 0x81),  # five-byte remaining length
    ],
)
def test_protocol_violation_sends_disconnect_and_closes(data: bytes, reason: int) -> None:
    client = connected()
    events = client.receive_data(data, 1.0)
    assert len(events) == 1
    assert isinstance(events[0], ProtocolViolation)
    assert events[0].error.reason_code == reason
    assert client.data_to_send() == bytes((0xE0, 1, reason))
    assert client.state is ClientState.CLOSED


def test_packets_before_a_malformed_one_are_still_handled() -> None:
    client = connected()
    data = encode_packet(Publish("a", b"1", 1, packet_id=4)) + b"\x00\x00"
    events = client.receive_data(data, 1.0)
    assert isinstance(events[0], MessageReceived)
    assert isinstance(events[1], ProtocolViolation)
    assert client.data_to_send() == h("40 02 0004") + h("e0 01 81")


def test_packet_before_connack_is_a_protocol_violation() -> None:
    client = MqttClient(MqttClientSettings(client_id="a"))
    client.connect(0.0)
    client.data_to_send()
    [event] = client.receive_data(encode_packet(PingResp()), 0.1)
    assert isinstance(event, ProtocolViolation)
    assert client.data_to_send() == h("e0 01 82")


def test_connack_twice_is_a_protocol_violation() -> None:
    client = connected()
    [event] = client.receive_data(encode_packet(ConnAck()), 1.0)
    assert isinstance(event, ProtocolViolation)


def test_split_reads_deliver_one_message() -> None:
    client = connected()
    data = encode_packet(Publish("a", b"x" * 500, properties=Properties(content_type="usp.msg")))
    events = [e for i in range(0, len(data), 7) for e in client.receive_data(data[i : i + 7], 1.0)]
    assert [type(e) for e in events] == [MessageReceived]


@pytest.mark.parametrize("size", [0, 100, 128, 16_000, 16_384, 70_000])
def test_publish_remaining_length_encodings(size: int) -> None:
    """One-, two- and three-byte Remaining Lengths on the cached QoS 0 path and on QoS 1."""
    client = connected()
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    for _ in range(2):  # second call uses the cached prefix
        client.publish("t/x", payload, 0, 1.0, response_topic="r", content_type="usp.msg")
        [packet] = sent(client)
        assert packet == Publish(
            "t/x", payload, properties=Properties(content_type="usp.msg", response_topic="r")
        )
    client.publish("t/x", payload, 1, 1.0)
    [packet] = sent(client)
    assert packet == Publish("t/x", payload, 1, packet_id=1)


# ------------------------------------------------------------------------- SUBSCRIBE pipelined on CONNECT


@pytest.mark.parametrize("version", [5, 4])
@pytest.mark.parametrize("session_present", [False, True])
def test_subscribe_pipelined_after_connect_before_connack(version: int, session_present: bool) -> None:
    """MQTT 5.0 / 3.1.1 section 3.1.4: a client may send SUBSCRIBE right after CONNECT; the SUBACK that
    follows the CONNACK (even in the same read) is matched, with or without a session present."""
    client = MqttClient(MqttClientSettings(client_id="agent", protocol_version=version))
    client.connect(0.0)
    pid = client.subscribe(["usp/agent/a"], 0.0)
    assert client.state is ClientState.CONNECTING
    packets = sent(client, version)
    assert [type(p) for p in packets] == [Connect, Subscribe]  # one write
    connack = encode_packet(ConnAck(session_present), version)
    events = client.receive_data(connack + encode_packet(SubAck(pid, (0,)), version), 0.1)
    assert [type(e) for e in events] == [Connected, Subscribed]
    assert events[1] == Subscribed(pid, (0,))
    assert client.state is ClientState.CONNECTED


def test_subscribe_pipelined_then_refused_connect() -> None:
    client = MqttClient(MqttClientSettings(client_id="agent"))
    client.connect(0.0)
    client.subscribe(["t"], 0.0)
    client.data_to_send()
    [event] = client.receive_data(encode_packet(ConnAck(False, 0x87)), 0.1)
    assert isinstance(event, ConnectionRefused)
    assert client.state is ClientState.CLOSED


def test_pipelined_subscribe_of_a_lost_connection_is_forgotten_on_reconnect() -> None:
    """The SUBACK of a SUBSCRIBE sent on a connection that died never comes; a new connect frees its id
    and a late SUBACK for it is a protocol violation (no stale request is held)."""
    client = MqttClient(MqttClientSettings(client_id="agent"))
    client.connect(0.0)
    old = client.subscribe(["t"], 0.0)
    client.connection_lost(0.5)
    client.connect(1.0)
    new = client.subscribe(["t"], 1.0)
    client.data_to_send()
    events = client.receive_data(encode_packet(ConnAck()) + encode_packet(SubAck(new, (0,))), 1.1)
    assert events[1] == Subscribed(new, (0,))
    if old != new:
        [event] = client.receive_data(encode_packet(SubAck(old, (0,))), 1.2)
        assert isinstance(event, ProtocolViolation)


def test_subscribe_refused_when_idle_or_closed() -> None:
    client = MqttClient(MqttClientSettings(client_id="agent"))
    with pytest.raises(MqttStateError):
        client.subscribe(["t"], 0.0)
    client.connect(0.0)
    client.disconnect(0.1)
    with pytest.raises(MqttStateError):
        client.subscribe(["t"], 0.2)


@pytest.mark.parametrize("version", [5, 4])
@pytest.mark.parametrize(
    ("topics", "props"),
    [(["usp/agent/a"], ()), (["a", "b/#", "é/+"], [("usp-endpoint-id", "os::1"), ("k", "v")])],
)
def test_subscribe_plain_filters_encode_like_the_generic_encoder(
    version: int, topics: list[str], props: list[tuple[str, str]]
) -> None:
    """The direct SUBSCRIBE encoding (plain QoS 0 filters) gives the bytes of ``encode_packet``."""
    client = connected(version)
    pid = client.subscribe(topics, 1.0, user_properties=props)
    user = Properties(user_properties=tuple(props)) if props and version == 5 else Properties()
    expected = Subscribe(pid, tuple(Subscription(t) for t in topics), user)
    assert client.data_to_send() == encode_packet(expected, version)


def test_subscribe_invalid_filter_releases_the_packet_id() -> None:
    client = connected()
    with pytest.raises(MqttProtocolError):
        client.subscribe(["bad\x00topic"], 1.0)
    assert client.data_to_send() == b""
    client.subscribe(["ok"], 1.0)
    assert len(client._ids) == 1  # only the SUBSCRIBE that went out holds an id
