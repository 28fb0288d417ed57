"""AgentDriver carries out bulk-data and new-controller actions (HttpPost, MqttPublish, Connect)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_fleet_driver import EID, Rig, until

from simulator.agent.actions import Action, Connect, HttpPost, MqttPublish
from simulator.agent.agent import Agent
from simulator.fleet.localbroker import free_port
from simulator.transports.memory import MemoryTransport
from simulator.usp.records import RecordKind, decode_record


class _Recorder:
    """Wraps Agent.http_result so the test sees the outcome the driver reports back."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.results: list[tuple[str, bool]] = []
        original = Agent.http_result

        def record(agent: Agent, profile: str, ok: bool, now: float) -> list[Action]:
            self.results.append((profile, ok))
            return original(agent, profile, ok, now)

        monkeypatch.setattr(Agent, "http_result", record)


async def _http_server(status: int, seen: list[bytes]) -> tuple[asyncio.AbstractServer, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            ),
            0,
        )
        seen.append(head + await reader.readexactly(length))
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.asyncio
@pytest.mark.parametrize(("status", "ok"), [(200, True), (503, False)])
async def test_driver_http_post_reports_the_outcome_to_the_agent(
    status: int, ok: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Rig()
    await rig.up()
    recorder = _Recorder(monkeypatch)
    seen: list[bytes] = []
    server, port = await _http_server(status, seen)
    async with server:
        action = HttpPost(
            f"http://127.0.0.1:{port}/bulk",
            b'{"Report":[]}',
            (("Content-Type", "application/json"),),
            profile="Device.BulkData.Profile.1",
            method="PUT",
        )
        rig.driver._execute([action])
        await until(lambda: recorder.results)
    assert recorder.results == [("Device.BulkData.Profile.1", ok)]
    assert seen[0].startswith(b"PUT /bulk HTTP/1.1") and seen[0].endswith(b'{"Report":[]}')
    await rig.driver.stop()


@pytest.mark.asyncio
async def test_driver_http_post_to_a_dead_collector_is_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = Rig()
    await rig.up()
    recorder = _Recorder(monkeypatch)
    rig.driver._execute(
        [HttpPost(f"http://127.0.0.1:{free_port()}/", b"x", profile="Device.BulkData.Profile.2")]
    )
    await until(lambda: recorder.results)
    assert recorder.results == [("Device.BulkData.Profile.2", False)]
    assert rig.metrics.stats.count("http_post", "error") == 1
    await rig.driver.stop()


@pytest.mark.asyncio
async def test_driver_mqtt_publish_without_an_mqtt_connection_is_counted() -> None:
    rig = Rig()  # the memory transport has no raw MQTT publish
    await rig.up()
    rig.driver._execute([MqttPublish("Device.MQTT.Client.1", "bulk/topic", b"{}")])
    assert rig.metrics.stats.count("bulkdata_mqtt", "unsupported") == 1
    await rig.driver.stop()


@pytest.mark.asyncio
async def test_driver_mqtt_publish_uses_the_transport_raw_publish(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = Rig()
    await rig.up()
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        MemoryTransport, "publish_raw", lambda _t, *a, **kw: calls.append((a, kw)), raising=False
    )
    rig.driver._execute(
        [
            MqttPublish(
                "Device.MQTT.Client.1",
                "bulk/topic",
                b"{}",
                qos=1,
                retain=True,
                content_type="application/json; charset=UTF-8",
            )
        ]
    )
    assert calls == [
        (
            ("bulk/topic", b"{}", 1),
            {"retain": True, "content_type": "application/json; charset=UTF-8"},
        )
    ]
    assert rig.metrics.stats.count("bulkdata_mqtt", "sent") == 1
    await rig.driver.stop()


@pytest.mark.asyncio
async def test_driver_connect_action_sends_the_new_controllers_connect_record() -> None:
    rig = Rig()
    await rig.up()
    await until(lambda: rig.agent_end.sent)
    before = len(rig.agent_end.sent)
    rig.driver._execute([Connect("proto::controller")])
    await until(lambda: len(rig.agent_end.sent) > before)
    assert decode_record(rig.agent_end.sent[before][0]).kind is RecordKind.MQTT_CONNECT
    assert EID in rig.probe.agents
    await rig.driver.stop()
