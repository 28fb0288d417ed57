"""Our sans-I/O MqttClient against a real mosquitto, and against paho-mqtt as an independent oracle."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import paho.mqtt.client as paho
import pytest
import pytest_asyncio
from mqtt_driver import MqttConnection, open_connected
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as PahoProperties

from simulator.mqtt import (
    ClientState,
    ConnectionRefused,
    MessageReceived,
    MqttClientSettings,
    PublishAcknowledged,
    Will,
)

pytestmark = [pytest.mark.mqtt, pytest.mark.asyncio]


@pytest_asyncio.fixture(autouse=True)
async def _close_connections() -> AsyncIterator[None]:
    yield
    await MqttConnection.close_all()


VERSIONS = [pytest.param(4, id="mqtt311"), pytest.param(5, id="mqtt5")]


def settings(prefix: str, name: str, version: int, **kw: Any) -> MqttClientSettings:
    client_id = f"{prefix.rsplit('/', 1)[-1]}-{name}"
    return MqttClientSettings(client_id=client_id, protocol_version=version, keep_alive=30, **kw)


@pytest.mark.parametrize("version", VERSIONS)
async def test_connect_subscribe_publish_qos0_and_qos1_to_self(
    usp_broker_address: tuple[str, int], usp_topic_prefix: str, version: int
) -> None:
    host, port = usp_broker_address
    topic = f"{usp_topic_prefix}/agent"
    async with asyncio.timeout(10):
        conn, connected = await open_connected(host, port, settings(usp_topic_prefix, "a", version))
        assert connected.session_present is False
        suback = await conn.subscribe([(topic, 1)])
        assert suback.reason_codes == (1,)
        assert conn.publish(topic, b"qos0", 0) is None
        msg = await conn.expect(MessageReceived)
        assert (msg.topic, msg.payload, msg.qos) == (topic, b"qos0", 0)
        pid = conn.publish(topic, b"qos1" * 100, 1)
        assert pid is not None
        ack = await conn.expect(PublishAcknowledged)
        assert ack.packet_id == pid
        msg = await conn.expect(MessageReceived)
        assert (msg.payload, msg.qos) == (b"qos1" * 100, 1)
        assert conn.client.inflight == 0
        unsub = await conn.unsubscribe([topic])
        assert unsub.reason_codes == (() if version == 4 else (0,))
        await conn.disconnect()
        assert conn.client.state is ClientState.CLOSED


async def test_v5_usp_properties_round_trip(
    usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    """TR-369 R-MQTT.23/24: Response Topic and Content Type ``usp.msg`` survive the broker."""
    host, port = usp_broker_address
    topic = f"{usp_topic_prefix}/agent"
    endpoint = "os::012345-SIM000001"
    async with asyncio.timeout(10):
        conn, connected = await open_connected(
            host,
            port,
            settings(
                usp_topic_prefix,
                "props",
                5,
                user_properties=(("usp-endpoint-id", endpoint),),
                request_response_information=True,
            ),
        )
        assert connected.properties.receive_maximum is not None  # mosquitto announces its limits
        await conn.subscribe([topic], user_properties=[("usp-endpoint-id", endpoint)])
        pairs = [("usp-endpoint-id", endpoint), ("dup", "1"), ("dup", "2")]
        conn.publish(
            topic,
            b"\x08\x01record",
            1,
            response_topic=f"{usp_topic_prefix}/controller",
            content_type="usp.msg",
            correlation_data=b"\x00\x01",
            user_properties=pairs,
        )
        msg = await conn.expect(MessageReceived)
        assert msg.response_topic == f"{usp_topic_prefix}/controller"
        assert msg.content_type == "usp.msg"
        assert msg.correlation_data == b"\x00\x01"
        assert list(msg.user_properties) == pairs
        await conn.disconnect()


async def test_v5_assigned_client_identifier(usp_broker_address: tuple[str, int]) -> None:
    """[TP] 11.4: an empty client id on MQTT 5 gets one from the broker, reused afterwards."""
    host, port = usp_broker_address
    async with asyncio.timeout(10):
        conn, connected = await open_connected(
            host, port, MqttClientSettings(client_id="", protocol_version=5)
        )
        assert connected.assigned_client_id
        assert conn.client.client_id == connected.assigned_client_id
        await conn.disconnect()


async def test_v4_refused_connect(usp_broker_address: tuple[str, int]) -> None:
    """MQTT 3.1.1 [MQTT-3.1.3-8]: empty client id with Clean Session 0 is refused with code 2."""
    host, port = usp_broker_address
    async with asyncio.timeout(10):
        conn, event = await MqttConnection.open(
            host, port, MqttClientSettings(client_id="", protocol_version=4, clean_start=False)
        )
        assert isinstance(event, ConnectionRefused)
        assert (event.reason_code, event.reason) == (2, "identifier rejected")
        await asyncio.wait_for(conn.driver.closed, 5)


@pytest.mark.parametrize("version", VERSIONS)
async def test_keep_alive_pings_keep_the_connection(
    usp_broker_address: tuple[str, int], usp_topic_prefix: str, version: int
) -> None:
    """With Keep Alive 1 s the client pings every 0.75 s and mosquitto keeps it (MQTT 3.1.2.10)."""
    host, port = usp_broker_address
    topic = f"{usp_topic_prefix}/ka"
    async with asyncio.timeout(10):
        conn, _ = await open_connected(
            host,
            port,
            MqttClientSettings(
                client_id=f"ka-{usp_topic_prefix[-12:]}",
                protocol_version=version,
                keep_alive=1,
                ping_timeout=2.0,
            ),  # fmt: skip
        )
        await conn.subscribe([topic])
        await asyncio.sleep(2.7)  # > 1.5 x keep alive: mosquitto would have dropped a silent client
        assert conn.driver.pings_sent >= 3
        assert conn.client.state is ClientState.CONNECTED
        assert not conn.driver.closed.done()
        conn.publish(topic, b"still here")
        assert (await conn.expect(MessageReceived)).payload == b"still here"
        await conn.disconnect()


@pytest.mark.parametrize("version", VERSIONS)
async def test_will_only_on_unclean_close(
    usp_broker_address: tuple[str, int], usp_topic_prefix: str, version: int
) -> None:
    """A clean DISCONNECT discards the Will; a dropped connection publishes it."""
    host, port = usp_broker_address
    status = f"{usp_topic_prefix}/status"
    async with asyncio.timeout(10):
        watcher, _ = await open_connected(host, port, settings(usp_topic_prefix, "watch", version))
        await watcher.subscribe([status])
        will = Will(status, b"0", 0, False)
        clean, _ = await open_connected(host, port, settings(usp_topic_prefix, "clean", version, will=will))
        await clean.disconnect()
        dropped, _ = await open_connected(
            host, port, settings(usp_topic_prefix, "drop", version, will=Will(status, b"dropped"))
        )
        await dropped.abort()
        msg = await watcher.expect(MessageReceived)
        assert msg.payload == b"dropped"  # the clean client's "0" never arrived first
        await watcher.disconnect()


async def test_v5_session_resumes(usp_broker_address: tuple[str, int], usp_topic_prefix: str) -> None:
    host, port = usp_broker_address
    topic = f"{usp_topic_prefix}/s"
    opts = settings(usp_topic_prefix, "sess", 5, clean_start=False, session_expiry_interval=60)
    async with asyncio.timeout(10):
        first, connected = await open_connected(host, port, opts)
        await first.subscribe([(topic, 1)])
        await first.disconnect()
        second, connected = await open_connected(host, port, opts)
        assert connected.session_present is True
        second.publish(topic, b"kept", 1)
        assert (await second.expect(MessageReceived)).payload == b"kept"  # subscription survived
        await second.disconnect(reason_code=0)


# ------------------------------------------------------------------------------------------ paho oracle


class PahoPeer:
    """paho-mqtt on its own thread (loop_start), bridged to asyncio with thread-safe futures."""

    def __init__(self, host: str, port: int, version: int, client_id: str) -> None:
        self.loop = asyncio.get_running_loop()
        self.version = version
        protocol = paho.MQTTv5 if version == 5 else paho.MQTTv311
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.messages: asyncio.Queue[paho.MQTTMessage] = asyncio.Queue()
        self.client.on_connect = lambda *a: self.connected.set()
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = lambda c, u, m: self.loop.call_soon_threadsafe(self.messages.put_nowait, m)
        self.host, self.port = host, port

    async def start(self, topic: str) -> None:
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        assert await asyncio.to_thread(self.connected.wait, 5)
        self.client.subscribe(topic, qos=1)
        assert await asyncio.to_thread(self.subscribed.wait, 5)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.parametrize("version", VERSIONS)
async def test_interop_with_paho(
    usp_broker_address: tuple[str, int], usp_topic_prefix: str, version: int
) -> None:
    host, port = usp_broker_address
    ours_topic, paho_topic = f"{usp_topic_prefix}/ours", f"{usp_topic_prefix}/paho"
    peer = PahoPeer(host, port, version, f"paho-{usp_topic_prefix[-12:]}")
    try:
        async with asyncio.timeout(15):
            await peer.start(paho_topic)
            conn, _ = await open_connected(host, port, settings(usp_topic_prefix, "ours", version))
            await conn.subscribe([(ours_topic, 1)])

            # paho -> ours
            props = None
            if version == 5:
                props = PahoProperties(PacketTypes.PUBLISH)
                props.ResponseTopic = paho_topic
                props.ContentType = "usp.msg"
                props.UserProperty = [("usp-endpoint-id", "proto::ctrl"), ("k", "v")]
            peer.client.publish(ours_topic, b"from paho", qos=1, properties=props)
            msg = await conn.expect(MessageReceived)
            assert (msg.topic, msg.payload, msg.qos) == (ours_topic, b"from paho", 1)
            if version == 5:
                assert msg.response_topic == paho_topic
                assert msg.content_type == "usp.msg"
                assert list(msg.user_properties) == [("usp-endpoint-id", "proto::ctrl"), ("k", "v")]

            # ours -> paho, replying on the Response Topic as a USP agent does (R-MQTT.24)
            reply_to = msg.response_topic or paho_topic
            conn.publish(reply_to, b"from ours", 1, response_topic=ours_topic, content_type="usp.msg",
                         user_properties=[("a", "1")])  # fmt: skip
            await conn.expect(PublishAcknowledged)
            got = await peer.messages.get()
            assert (got.topic, got.payload) == (paho_topic, b"from ours")
            if version == 5:
                assert got.properties.ResponseTopic == ours_topic
                assert got.properties.ContentType == "usp.msg"
                assert got.properties.UserProperty == [("a", "1")]
            await conn.disconnect()
    finally:
        peer.stop()
