"""MqttTransport / EmbeddedBroker / WebSocketTransport against real peers on 127.0.0.1 (TR-369 7.1, 7.2).

The MQTT tests run twice: against a real mosquitto (marker ``mqtt``) and against our embedded broker.
paho-mqtt serves as an independent oracle on both ends of the embedded broker.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import paho.mqtt.client as paho
import pytest
import pytest_asyncio
from fixtures_broker import _own_mosquitto, embedded_broker, mosquitto_address, topic_prefix
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as PahoProperties
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from simulator.mqtt import MqttClient, MqttClientSettings
from simulator.transports.base import (
    ConnectError,
    ConnectionLostError,
    MqttSettings,
    Packet,
    TransportError,
    TransportState,
    WebSocketSettings,
    is_retryable,
)
from simulator.transports.broker import EmbeddedBroker
from simulator.transports.mqtt import MqttTransport
from simulator.transports.websocket import WebSocketTransport

__all__ = ["_own_mosquitto", "embedded_broker", "mosquitto_address", "topic_prefix"]

TIMEOUT = 10


# ----------------------------------------------------------------------------------------------- helpers


class Inbox:
    """Collects packets and losses from a transport's callbacks."""

    def __init__(self) -> None:
        self.packets: asyncio.Queue[Packet] = asyncio.Queue()
        self.lost: asyncio.Queue[TransportError | None] = asyncio.Queue()

    def on_packet(self, packet: Packet) -> None:
        self.packets.put_nowait(packet)

    def on_lost(self, error: TransportError | None) -> None:
        self.lost.put_nowait(error)


def mqtt_agent(
    host: str,
    port: int,
    eid: str,
    agent_topic: str | None,
    controller_topic: str | None,
    version: int,
    **kw: Any,
) -> tuple[MqttTransport, Inbox]:
    inbox = Inbox()
    settings = MqttSettings(
        host,
        port,
        endpoint_id=eid,
        agent_topic=agent_topic,
        controller_topic=controller_topic,
        protocol_version=version,
        connect_timeout=5,
        **kw,
    )
    return MqttTransport(settings, inbox.on_packet, inbox.on_lost), inbox


@pytest.fixture(params=[pytest.param("mosquitto", marks=pytest.mark.mqtt), "embedded"])
def broker_address(request: pytest.FixtureRequest) -> tuple[str, int]:
    """Each MQTT test against mosquitto (marker ``mqtt``) and against the embedded broker."""
    if request.param == "mosquitto":
        address: tuple[str, int] = request.getfixturevalue("mosquitto_address")
        return address
    broker: EmbeddedBroker = request.getfixturevalue("embedded_broker")
    return broker.host, broker.port


class PahoClient:
    """paho-mqtt on its own thread, bridged to asyncio: the independent oracle."""

    def __init__(self, host: str, port: int, version: int, client_id: str) -> None:
        self.loop = asyncio.get_running_loop()
        protocol = paho.MQTTv5 if version == 5 else paho.MQTTv311
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        self.host, self.port, self.version = host, port, version
        self.messages: asyncio.Queue[paho.MQTTMessage] = asyncio.Queue()
        self._events: dict[str, asyncio.Future[Any]] = {}
        self.client.on_connect = lambda c, u, f, rc, p: self._done("connect", rc)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._done(f"sub{mid}", rcs)
        self.client.on_message = lambda c, u, msg: self.loop.call_soon_threadsafe(
            self.messages.put_nowait, msg
        )
        self.client.on_publish = lambda c, u, mid, rc, p: self._done(f"pub{mid}", rc)

    def _future(self, key: str) -> asyncio.Future[Any]:
        return self._events.setdefault(key, self.loop.create_future())

    def _done(self, key: str, value: Any) -> None:
        def settle() -> None:
            fut = self._future(key)
            if not fut.done():
                fut.set_result(value)

        self.loop.call_soon_threadsafe(settle)

    async def connect(self, will: tuple[str, bytes] | None = None) -> None:
        if will is not None:
            self.client.will_set(will[0], will[1], qos=0)
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        rc = await self._future("connect")
        assert not rc.is_failure, rc

    async def subscribe(self, topic: str, qos: int = 0) -> list[Any]:
        _, mid = self.client.subscribe(topic, qos)
        return list(await self._future(f"sub{mid}"))

    async def publish(
        self, topic: str, payload: bytes, qos: int = 0, retain: bool = False, **props: Any
    ) -> None:
        properties = None
        if self.version == 5 and props:
            properties = PahoProperties(PacketTypes.PUBLISH)
            for name, value in props.items():
                setattr(properties, name, value)
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        await self._future(f"pub{info.mid}")

    def close(self, graceful: bool = True) -> None:
        if graceful:
            self.client.disconnect()
        else:
            sock = self.client.socket()
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        self.client.loop_stop()


@pytest_asyncio.fixture
async def paho_factory() -> AsyncIterator[Callable[..., PahoClient]]:
    clients: list[PahoClient] = []

    def make(host: str, port: int, version: int, client_id: str) -> PahoClient:
        client = PahoClient(host, port, version, client_id)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.client.loop_stop()
        client.client.disconnect()


# ----------------------------------------------------------------------------------------------- MQTT


@pytest.mark.asyncio
@pytest.mark.parametrize("version", [5, 4])
async def test_mqtt_transport_request_reply_round_trip(
    broker_address: tuple[str, int], version: int, topic_prefix: str
) -> None:
    """A request carrying a reply-to (R-MQTT.23 / 3.1.1 ``/reply-to=``) is answered on that topic."""
    host, port = broker_address
    agent_topic, ctrl_topic = f"{topic_prefix}/agent/a1", f"{topic_prefix}/controller"
    agent, agent_in = mqtt_agent(host, port, "os::012345-SIM0001", agent_topic, ctrl_topic, version)
    ctrl, ctrl_in = mqtt_agent(host, port, "ctrl-1", ctrl_topic, agent_topic, version)
    async with asyncio.timeout(TIMEOUT):
        await agent.connect()
        await ctrl.connect()
        assert agent.state is TransportState.CONNECTED
        assert agent.reply_to == agent_topic
        ctrl.send(b"request-record")  # to its controller_topic = the agent topic
        request = await agent_in.packets.get()
        assert request == Packet(b"request-record", ctrl_topic)
        agent.send(b"response-record", request.reply_to)
        response = await ctrl_in.packets.get()
        assert response == Packet(b"response-record", agent_topic)
        agent.send(b"notify-record")  # agent-initiated: to controller_topic
        assert (await ctrl_in.packets.get()).payload == b"notify-record"
        await agent.close()
        await ctrl.close()
    assert agent_in.lost.get_nowait() is None
    assert agent.state is TransportState.CLOSED


@pytest.mark.asyncio
@pytest.mark.parametrize("version", [5, 4])
async def test_mqtt_transport_reply_format_seen_by_paho(
    broker_address: tuple[str, int], version: int, topic_prefix: str, paho_factory: Callable[..., PahoClient]
) -> None:
    """paho sees exactly what TR-369 7.1 requires: Response Topic + Content Type, or the topic suffix."""
    host, port = broker_address
    agent_topic, resp_topic = f"{topic_prefix}/agent/a1", f"{topic_prefix}/ctrl/resp"
    controller = paho_factory(host, port, version, f"paho-{topic_prefix[-6:]}")
    async with asyncio.timeout(TIMEOUT):
        await controller.connect()
        await controller.subscribe(f"{resp_topic}/#" if version == 4 else resp_topic)
        agent, inbox = mqtt_agent(host, port, "os::a1", agent_topic, None, version)
        await agent.connect()
        if version == 5:
            await controller.publish(agent_topic, b"get", ResponseTopic=resp_topic, ContentType="usp.msg")
        else:
            await controller.publish(f"{agent_topic}/reply-to={resp_topic.replace('/', '%2F')}", b"get")
        request = await inbox.packets.get()
        assert request == Packet(b"get", resp_topic)
        agent.send(b"get-resp", request.reply_to)
        msg = await controller.messages.get()
        assert msg.payload == b"get-resp"
        if version == 5:
            assert msg.topic == resp_topic
            assert msg.properties.ResponseTopic == agent_topic
            assert msg.properties.ContentType == "usp.msg"
        else:
            assert msg.topic == f"{resp_topic}/reply-to={agent_topic.replace('/', '%2F')}"
        await agent.close()


@pytest.mark.asyncio
async def test_mqtt_transport_v5_drops_foreign_content_type(
    broker_address: tuple[str, int], topic_prefix: str, paho_factory: Callable[..., PahoClient]
) -> None:
    """Content Type ``usp.msg`` and ``application/vnd.bbf.usp.msg`` are accepted, others dropped."""
    host, port = broker_address
    agent_topic = f"{topic_prefix}/agent"
    controller = paho_factory(host, port, 5, f"paho-ct-{topic_prefix[-6:]}")
    async with asyncio.timeout(TIMEOUT):
        await controller.connect()
        agent, inbox = mqtt_agent(host, port, "os::ct", agent_topic, None, 5)
        await agent.connect()
        await controller.publish(agent_topic, b"1", ResponseTopic="r", ContentType="text/plain")
        await controller.publish(
            agent_topic, b"2", ResponseTopic="r", ContentType="application/vnd.bbf.usp.msg"
        )
        assert (await inbox.packets.get()).payload == b"2"
        await agent.close()
    assert inbox.packets.empty()


@pytest.mark.asyncio
async def test_mqtt_transport_connect_user_property_first(embedded_broker: EmbeddedBroker) -> None:
    """[TP] 11.2/11.8: client id = EID, ``usp-endpoint-id`` first user property, Request Response Info 1."""
    agent, _ = mqtt_agent(
        embedded_broker.host,
        embedded_broker.port,
        "os::012345-SIM0042",
        "usp/agent/x",
        None,
        5,
        connect_user_properties=(("usp-endpoint-id", "decoy"), ("other", "1")),
        username="os::012345-SIM0042",
        password="secret",
        keep_alive=45,
    )
    async with asyncio.timeout(TIMEOUT):
        await agent.connect()
        await agent.close()
    (connect,) = embedded_broker.connects
    assert connect.client_id == "os::012345-SIM0042"
    assert connect.protocol_version == 5
    assert connect.keep_alive == 45
    assert connect.username == "os::012345-SIM0042" and connect.password == b"secret"
    assert connect.properties.user_properties[0] == ("usp-endpoint-id", "os::012345-SIM0042")
    assert connect.properties.user_properties[1:] == (("usp-endpoint-id", "decoy"), ("other", "1"))
    assert connect.properties.request_response_information == 1


@pytest.mark.asyncio
async def test_mqtt_transport_v311_connect_has_no_v5_fields(embedded_broker: EmbeddedBroker) -> None:
    agent, _ = mqtt_agent(embedded_broker.host, embedded_broker.port, "os::v3", "usp/agent/v3", None, 4)
    async with asyncio.timeout(TIMEOUT):
        await agent.connect()
        assert agent.subscriptions == ("usp/agent/v3/#",)
        await agent.close()
    (connect,) = embedded_broker.connects
    assert connect.protocol_version == 4 and connect.client_id == "os::v3"


@pytest.mark.asyncio
async def test_mqtt_transport_subscribes_to_connack_subscribe_topic() -> None:
    """R-MQTT.15: every CONNACK ``subscribe-topic`` is subscribed (Oktopus sends the agent topic)."""
    async with EmbeddedBroker(oktopus_prefix="oktopus/usp/v1") as broker:
        eid = "os::012345-SIM0007"
        agent, inbox = mqtt_agent(broker.host, broker.port, eid, None, "oktopus/usp/v1/controller", 5)
        ctrl, _ = mqtt_agent(broker.host, broker.port, "ctrl", "oktopus/usp/v1/controller/x", None, 5)
        async with asyncio.timeout(TIMEOUT):
            await agent.connect()
            await ctrl.connect()
            assert agent.subscribe_topics == (f"oktopus/usp/v1/agent/{eid}",)
            assert agent.subscriptions == (f"oktopus/usp/v1/agent/{eid}",)
            ctrl.send(b"onboard-get", f"oktopus/usp/v1/agent/{eid}")
            assert await inbox.packets.get() == Packet(b"onboard-get", "oktopus/usp/v1/controller/x")
            await agent.close()
            await ctrl.close()


@pytest.mark.asyncio
async def test_mqtt_transport_uses_response_information_as_reply_to() -> None:
    """CONNACK Response Information becomes our reply-to topic and is subscribed (R-MQTT.15 item 3)."""
    async with EmbeddedBroker(response_information_prefix="resp") as broker:
        agent, agent_in = mqtt_agent(broker.host, broker.port, "a1", "usp/agent/a1", "usp/ctrl", 5)
        # With Response Information the agent topic is not subscribed; a Subscription row still is.
        ctrl, ctrl_in = mqtt_agent(
            broker.host, broker.port, "c1", "usp/ctrl", None, 5, subscriptions=("usp/ctrl",)
        )
        async with asyncio.timeout(TIMEOUT):
            await agent.connect()
            await ctrl.connect()
            assert agent.response_information == "resp/a1"
            assert agent.reply_to == "resp/a1"
            agent.send(b"boot")
            assert await ctrl_in.packets.get() == Packet(b"boot", "resp/a1")
            assert ctrl.subscriptions == ("usp/ctrl", "resp/c1")
            ctrl.send(b"get", "resp/a1")
            assert await agent_in.packets.get() == Packet(b"get", "resp/c1")
            await agent.close()
            await ctrl.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("version", [5, 4])
async def test_mqtt_transport_bad_credentials_refused_not_retryable(version: int) -> None:
    async with EmbeddedBroker(users={"good": "pw"}) as broker:
        agent, inbox = mqtt_agent(
            broker.host, broker.port, "a", "t", None, version, username="bad", password="x"
        )
        async with asyncio.timeout(TIMEOUT):
            with pytest.raises(ConnectError) as info:
                await agent.connect()
    assert info.value.refused
    assert info.value.reason_code == (0x86 if version == 5 else 4)
    assert not is_retryable(info.value)
    assert agent.state is TransportState.CLOSED
    assert inbox.lost.empty()  # on_lost is only for connections that were up


@pytest.mark.asyncio
async def test_mqtt_transport_unreachable_is_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connection refused
        agent, _ = mqtt_agent("127.0.0.1", port, "a", "t", None, 5)
        async with asyncio.timeout(TIMEOUT):
            with pytest.raises(ConnectError) as info:
                await agent.connect()
    assert not info.value.refused
    assert is_retryable(info.value)
    # The same object connects again later (the driver's reconnect).
    async with EmbeddedBroker() as broker:
        agent.settings = MqttSettings("127.0.0.1", broker.port, endpoint_id="a", agent_topic="t")
        async with asyncio.timeout(TIMEOUT):
            await agent.connect()
            await agent.close()


@pytest.mark.asyncio
async def test_mqtt_transport_connect_timeout_when_broker_silent() -> None:
    writers: list[asyncio.StreamWriter] = []
    server = await asyncio.start_server(lambda r, w: writers.append(w), "127.0.0.1", 0)  # never answers
    port = server.sockets[0].getsockname()[1]
    agent, _ = mqtt_agent("127.0.0.1", port, "a", "t", None, 5)
    agent.settings = MqttSettings("127.0.0.1", port, endpoint_id="a", agent_topic="t", connect_timeout=0.3)
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(ConnectError, match="took more than") as info:
            await agent.connect()
        for writer in writers:
            writer.close()
            await writer.wait_closed()
        server.close()
        await server.wait_closed()
    assert is_retryable(info.value)
    assert agent.state is TransportState.CLOSED


@pytest.mark.asyncio
@pytest.mark.parametrize("version", [5, 4])
async def test_mqtt_transport_takeover_reports_loss(broker_address: tuple[str, int], version: int) -> None:
    """A second CONNECT with the same client id disconnects the first (MQTT 5.0 [MQTT-3.1.4-3])."""
    host, port = broker_address
    first, first_in = mqtt_agent(host, port, f"dup-{version}-{port}", "usp/dup", None, version)
    second, _ = mqtt_agent(host, port, f"dup-{version}-{port}", "usp/dup", None, version)
    async with asyncio.timeout(TIMEOUT):
        await first.connect()
        await second.connect()
        error = await first_in.lost.get()
        assert isinstance(error, ConnectionLostError)
        assert is_retryable(error)
        assert first.state is TransportState.CLOSED
        await second.close()


@pytest.mark.asyncio
async def test_mqtt_transport_keep_alive_pings_keep_connection_up(broker_address: tuple[str, int]) -> None:
    """With keep_alive 1 the client must PINGREQ (every 0.75 s); the broker would cut it at 1.5 s."""
    host, port = broker_address
    agent, inbox = mqtt_agent(host, port, f"ka-{port}", "usp/ka", "usp/ka", 5, keep_alive=1)
    async with asyncio.timeout(TIMEOUT):
        await agent.connect()
        await asyncio.sleep(2.5)
        assert inbox.lost.empty()
        agent.send(b"still-here")
        assert (await inbox.packets.get()).payload == b"still-here"
        await agent.close()


@pytest.mark.asyncio
async def test_mqtt_transport_broker_shutdown_is_connection_lost() -> None:
    broker = EmbeddedBroker()
    await broker.start()
    agent, inbox = mqtt_agent(broker.host, broker.port, "a", "t", None, 5)
    async with asyncio.timeout(TIMEOUT):
        await agent.connect()
        await broker.close()
        error = await inbox.lost.get()
    assert isinstance(error, ConnectionLostError)
    assert "0x8B" in str(error)
    with pytest.raises(ConnectionLostError):
        agent.send(b"x", "t")


# ----------------------------------------------------------------------------------------------- broker


@pytest.mark.asyncio
async def test_broker_keep_alive_enforced_at_one_and_a_half() -> None:
    async with EmbeddedBroker() as broker:
        reader, writer = await asyncio.open_connection(broker.host, broker.port)
        client = MqttClient(MqttClientSettings(client_id="silent", protocol_version=5, keep_alive=1))
        client.connect(0.0)
        writer.write(client.data_to_send())
        loop = asyncio.get_running_loop()
        start = loop.time()
        async with asyncio.timeout(TIMEOUT):
            data = b""
            while chunk := await reader.read(1024):
                data += chunk
        elapsed = loop.time() - start
        events = client.receive_data(data, 0.0)
        assert [type(e).__name__ for e in events] == ["Connected", "Disconnected"]
        assert events[1].reason_code == 0x8D  # type: ignore[union-attr]
        assert 1.4 <= elapsed < 3.0
        writer.close()
        await writer.wait_closed()


@pytest.mark.asyncio
@pytest.mark.parametrize("version", [5, 4])
async def test_broker_with_paho_wildcards_qos1_retained_will(
    embedded_broker: EmbeddedBroker, version: int, paho_factory: Callable[..., PahoClient]
) -> None:
    """paho (independent implementation) through the embedded broker, MQTT 3.1.1 and 5."""
    host, port = embedded_broker.host, embedded_broker.port
    sub = paho_factory(host, port, version, "sub")
    pub = paho_factory(host, port, version, "pub")
    dying = paho_factory(host, port, version, "dying")
    async with asyncio.timeout(TIMEOUT):
        await pub.connect()
        await pub.publish("a/retained", b"kept", qos=1, retain=True)
        await sub.connect()
        granted = await sub.subscribe("a/+/c", 1)
        assert [int(getattr(g, "value", g)) for g in granted] == [1]
        await sub.subscribe("a/#", 0)
        await sub.subscribe("$SYS/#" if version == 4 else "#", 0)
        retained = await sub.messages.get()
        assert (retained.topic, retained.payload, retained.retain) == ("a/retained", b"kept", True)
        if version == 5:
            # "#" also matches a/retained: a second retained copy for the second matching filter.
            assert (await sub.messages.get()).topic == "a/retained"
        await pub.publish("a/b/c", b"q1", qos=1)
        msg = await sub.messages.get()
        assert (msg.topic, msg.payload, msg.qos) == ("a/b/c", b"q1", 1)  # one copy, highest QoS
        await pub.publish("$SYS/x", b"dollar")  # "#" must not match $-topics; $SYS/# must
        if version == 4:
            assert (await sub.messages.get()).topic == "$SYS/x"
        await dying.connect(will=("a/will", b"gone"))
        dying.close(graceful=False)
        msg = await sub.messages.get()
        assert (msg.topic, msg.payload) == ("a/will", b"gone")
        if version == 5:
            await pub.publish(
                "a/props", b"p", ResponseTopic="r/t", ContentType="usp.msg", CorrelationData=b"c"
            )
            msg = await sub.messages.get()
            assert msg.properties.ResponseTopic == "r/t"
            assert msg.properties.ContentType == "usp.msg"
            assert msg.properties.CorrelationData == b"c"
    await asyncio.sleep(0.05)
    assert sub.messages.empty()


@pytest.mark.asyncio
async def test_broker_drops_v5_properties_for_v311_subscribers(
    embedded_broker: EmbeddedBroker, paho_factory: Callable[..., PahoClient]
) -> None:
    host, port = embedded_broker.host, embedded_broker.port
    v3 = paho_factory(host, port, 4, "v3")
    v5 = paho_factory(host, port, 5, "v5")
    async with asyncio.timeout(TIMEOUT):
        await v3.connect()
        await v5.connect()
        await v3.subscribe("mixed/#")
        await v5.subscribe("mixed/#")
        agent, _ = mqtt_agent(host, port, "agent", "mixed/agent", "mixed/ctrl", 5)
        await agent.connect()
        agent.send(b"rec")
        m3, m5 = await v3.messages.get(), await v5.messages.get()
        assert m3.payload == m5.payload == b"rec"
        assert m5.properties.ResponseTopic == "mixed/agent"
        assert not hasattr(m3.properties, "ResponseTopic") or m3.properties is None
        await agent.close()


@pytest.mark.asyncio
async def test_broker_oktopus_subscribe_topic_seen_by_paho(paho_factory: Callable[..., PahoClient]) -> None:
    async with EmbeddedBroker(oktopus_prefix="oktopus/usp/v1") as broker:
        client = paho_factory(broker.host, broker.port, 5, "ignored")
        connack: dict[str, Any] = {}
        client.client.on_connect = lambda c, u, f, rc, p: (connack.update(p=p), client._done("connect", rc))
        props = PahoProperties(PacketTypes.CONNECT)
        props.UserProperty = ("usp-endpoint-id", "os::abc")
        client.client.connect(broker.host, broker.port, properties=props)
        client.client.loop_start()
        async with asyncio.timeout(TIMEOUT):
            await client._future("connect")
        assert ("subscribe-topic", "oktopus/usp/v1/agent/os::abc") in connack["p"].UserProperty


# ----------------------------------------------------------------------------------------------- WebSocket


class WsServer:
    """A tiny USP controller endpoint on websockets' asyncio server."""

    def __init__(self, subprotocols: list[str] | None = None) -> None:
        self.subprotocols = subprotocols
        self.requests: list[Request] = []
        self.connections: list[ServerConnection] = []
        self.received: asyncio.Queue[bytes | str] = asyncio.Queue()
        self.close_codes: asyncio.Queue[int | None] = asyncio.Queue()

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.requests.append(request)
        if "eid=" not in request.path:
            return connection.respond(400, "missing eid\n")  # Oktopus behaviour
        if "eid=banned" in request.path:
            return connection.respond(403, "forbidden\n")
        return None

    async def handler(self, ws: ServerConnection) -> None:
        self.connections.append(ws)
        try:
            async for message in ws:
                await self.received.put(message)
                await ws.send(b"echo:" + (message if isinstance(message, bytes) else message.encode()))
        except Exception:
            pass
        await self.close_codes.put(ws.close_code)


@pytest_asyncio.fixture
async def ws_server_factory() -> AsyncIterator[Callable[..., Any]]:
    servers: list[Any] = []

    async def make(subprotocols: list[str] | None = None) -> tuple[WsServer, str]:
        app = WsServer(subprotocols)
        server = await serve(
            app.handler,
            "127.0.0.1",
            0,
            subprotocols=subprotocols,  # type: ignore[arg-type]
            process_request=app.process_request,
        )
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return app, f"ws://127.0.0.1:{port}/ws/agent"

    yield make
    for server in servers:
        server.close()
        async with asyncio.timeout(5):
            await server.wait_closed()


def ws_agent(url: str, eid: str, **kw: Any) -> tuple[WebSocketTransport, Inbox]:
    inbox = Inbox()
    settings = WebSocketSettings(url, eid, connect_timeout=5, **kw)
    return WebSocketTransport(settings, inbox.on_packet, inbox.on_lost), inbox


@pytest.mark.asyncio
async def test_websocket_transport_subprotocol_eid_binary_frames(
    ws_server_factory: Callable[..., Any],
) -> None:
    """R-WS.9-10c: ``v1.usp`` subprotocol, percent-encoded ``eid`` query; records in binary frames."""
    app, url = await ws_server_factory(["v1.usp"])
    agent, inbox = ws_agent(url, "os::012345-SIM0001", ping_interval=0.1, ping_timeout=2)
    async with asyncio.timeout(TIMEOUT):
        await agent.connect()
        assert agent.subprotocol == "v1.usp"
        (request,) = app.requests
        assert request.path == "/ws/agent?eid=os%3A%3A012345-SIM0001"
        assert request.headers["Sec-WebSocket-Protocol"] == "v1.usp"
        agent.send(b"\x00record\xff", "ignored-destination")
        assert await app.received.get() == b"\x00record\xff"  # bytes: a binary frame
        assert await inbox.packets.get() == Packet(b"echo:\x00record\xff", None)
        await asyncio.sleep(0.35)  # a few ping/pong cycles
        assert agent.latency > 0  # pongs came back
        await agent.drain(1)
        await agent.close()
        assert await app.close_codes.get() == 1000
    assert inbox.lost.get_nowait() is None


@pytest.mark.asyncio
async def test_websocket_transport_refuses_session_without_subprotocol(
    ws_server_factory: Callable[..., Any],
) -> None:
    _, url = await ws_server_factory(None)
    agent, _ = ws_agent(url, "eid-1")
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(ConnectError) as info:
            await agent.connect()
    assert info.value.refused


@pytest.mark.asyncio
async def test_websocket_transport_http_rejection_and_unreachable(
    ws_server_factory: Callable[..., Any],
) -> None:
    app, url = await ws_server_factory(["v1.usp"])
    banned, _ = ws_agent(url, "banned")
    agent, _ = ws_agent(url + "?x=1", "e")
    async with asyncio.timeout(TIMEOUT):
        with pytest.raises(ConnectError) as refused:
            await banned.connect()
        assert refused.value.refused and refused.value.reason_code == 403
        assert not is_retryable(refused.value)
        await agent.connect()
        assert app.requests[-1].path == "/ws/agent?x=1&eid=e"  # query parts joined with "&"
        await agent.close()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            down, _ = ws_agent(f"ws://127.0.0.1:{port}/", "e")
            with pytest.raises(ConnectError) as info:
                await down.connect()
    assert not info.value.refused and is_retryable(info.value)


@pytest.mark.asyncio
async def test_websocket_transport_text_frame_closes_with_1003(ws_server_factory: Callable[..., Any]) -> None:
    """R-WS.16: a frame that cannot be processed closes the session with 1003."""
    app, url = await ws_server_factory(["v1.usp"])
    agent, inbox = ws_agent(url, "e")
    async with asyncio.timeout(TIMEOUT):
        await agent.connect()
        await app.connections[0].send("text frame")
        error = await inbox.lost.get()
        assert isinstance(error, ConnectionLostError)
        assert await app.close_codes.get() == 1003


@pytest.mark.asyncio
async def test_websocket_transport_server_close_is_connection_lost(
    ws_server_factory: Callable[..., Any],
) -> None:
    app, url = await ws_server_factory(["v1.usp"])
    agent, inbox = ws_agent(url, "e")
    async with asyncio.timeout(TIMEOUT):
        await agent.connect()
        await app.connections[0].close(1001, "going away")
        error = await inbox.lost.get()
    assert isinstance(error, ConnectionLostError) and is_retryable(error)
    assert "1001" in str(error)
    with pytest.raises(ConnectionLostError):
        agent.send(b"late")


def test_paho_thread_helper_is_not_leaking_threads() -> None:
    """Guard: every paho loop thread of this module was stopped by its fixture."""
    assert not [t for t in threading.enumerate() if t.name.startswith("paho-mqtt-client-")]


def test_mqtt_transport_and_broker_on_uvloop() -> None:
    """uvloop's transports are not ``asyncio.Transport`` subclasses; the drivers must not care."""
    uvloop = pytest.importorskip("uvloop")

    async def round_trip() -> Packet:
        async with EmbeddedBroker() as broker:
            agent, inbox = mqtt_agent(broker.host, broker.port, "uv", "uv/agent", "uv/agent", 5)
            async with asyncio.timeout(TIMEOUT):
                await agent.connect()
                agent.send(b"loop")
                packet = await inbox.packets.get()
                await agent.close()
            return packet

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(round_trip()) == Packet(b"loop", "uv/agent")
