"""The fleet on real MTPs: agents on mosquitto (MQTT 5 and 3.1.1) answering the probe; WebSocket onboarding.

Everything binds 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import ServerConnection, serve

from simulator.fleet.config import BrokerConfig, ControllerConfig, GroupConfig, ScenarioConfig
from simulator.fleet.probe import mqtt_probe
from simulator.fleet.runner import Fleet
from simulator.usp.messages import Msg, decode_msg, encode_msg
from simulator.usp.records import RecordKind, decode_record, encode_no_session_context
from simulator.usp.requests import (
    Add,
    CreateObject,
    CreateParamSetting,
    Delete,
    Get,
    Operate,
    Set,
    UpdateObject,
    UpdateParamSetting,
)
from simulator.usp.responses import (
    AddOperationSuccess,
    AddResp,
    DeleteOperationSuccess,
    DeleteResp,
    GetResp,
    OperateResp,
    SetOperationSuccess,
    SetResp,
)

HOME = str(Path(__file__).resolve().parents[2] / "datamodels" / "home-gateway.yaml")
ONBOARD = tuple(
    f"Device.DeviceInfo.{leaf}"
    for leaf in ("Manufacturer", "ModelName", "SoftwareVersion", "SerialNumber", "ProductClass")
)


def mqtt_scenario(host: str, port: int, prefix: str, tag: str, count: int, version: int) -> ScenarioConfig:
    controller = ControllerConfig(
        endpoint_id=f"proto::ctl-{tag}",
        agent_topic=prefix + "/agent/{endpoint_id}",
        controller_topic=f"{prefix}/controller",
        boot_subscription=False,
    )
    group = GroupConfig(
        f"v{version}", HOME, count, f"os::012345-{tag}-{{index:04d}}", "mqtt", version, 2000.0, ""
    )
    return ScenarioConfig(
        "it", "<test>", BrokerConfig(f"mqtt://{host}:{port}", host, port), controller, (group,)
    )


@pytest.mark.mqtt
@pytest.mark.asyncio
@pytest.mark.parametrize("version", [5, 4], ids=["mqtt5", "mqtt311"])
async def test_fleet_50_agents_answer_probe_over_mosquitto(
    usp_broker_address: tuple[str, int], usp_topic_prefix: str, version: int
) -> None:
    host, port = usp_broker_address
    tag = uuid.uuid4().hex[:8]
    sc = mqtt_scenario(host, port, usp_topic_prefix, tag, 50, version)
    probe = mqtt_probe(sc.controller, host, port, protocol_version=version, timeout=10.0)
    fleet = Fleet(sc, strict_agents=True)
    async with asyncio.timeout(60):
        await probe.connect()
        try:
            await fleet.start()
            st = await fleet.wait_connected(20.0)
            assert st.connected == 50, st
            eids = [d.endpoint_id for d in fleet.drivers]
            # Oktopus onboarding Get on every agent, all at once
            answers = await asyncio.gather(*(probe.request(e, Get(ONBOARD, 1)) for e in eids))
            for eid, msg in zip(eids, answers, strict=True):
                assert isinstance(msg.body, GetResp), (eid, msg)
                assert [len(r.resolved_path_results) for r in msg.body.req_path_results] == [1] * 5
            assert fleet.metrics.stats.count("onboarding") == 50
            for i, eid in enumerate(eids[:10]):
                await edit_cycle(probe, eid, i)
            fleet.check()
        finally:
            await fleet.stop(timeout=5.0)
            await probe.close()
    assert probe.metrics.stats.count("response") == 50 + 10 * 5
    assert probe.metrics.stats.error_count() == 0
    # every agent announced itself with an MQTTConnect record carrying its reply-to topic
    assert all(probe.agents.get(e, "").startswith(f"{usp_topic_prefix}/agent/") for e in eids)


async def edit_cycle(probe, eid: str, i: int) -> None:  # type: ignore[no-untyped-def]
    value = f"it-{i}"
    msg = await probe.request(
        eid,
        Set(
            False,
            (UpdateObject("Device.DeviceInfo.", (UpdateParamSetting("ProvisioningCode", value, True),)),),
        ),
    )
    assert isinstance(msg.body, SetResp)
    assert isinstance(msg.body.updated_obj_results[0].oper_status, SetOperationSuccess)
    msg = await probe.request(eid, Get(("Device.DeviceInfo.ProvisioningCode",)))
    assert msg.body.req_path_results[0].resolved_path_results[0].result_params == {"ProvisioningCode": value}
    msg = await probe.request(
        eid,
        Add(
            False,
            (
                CreateObject(
                    "Device.LocalAgent.Subscription.",
                    (
                        CreateParamSetting("ID", f"it-{i}"),
                        CreateParamSetting("NotifType", "ValueChange"),
                        CreateParamSetting("ReferenceList", "Device.DeviceInfo.ProvisioningCode"),
                    ),
                ),
            ),
        ),
    )
    assert isinstance(msg.body, AddResp)
    status = msg.body.created_obj_results[0].oper_status
    assert isinstance(status, AddOperationSuccess)
    msg = await probe.request(eid, Delete(False, (status.instantiated_path,)))
    assert isinstance(msg.body, DeleteResp)
    assert isinstance(msg.body.deleted_obj_results[0].oper_status, DeleteOperationSuccess)
    msg = await probe.request(eid, Operate("Device.LocalAgent.Controller.1.SendOnBoardRequest()", "k", True))
    assert isinstance(msg.body, OperateResp), msg


@pytest.mark.asyncio
async def test_fleet_websocket_agents_are_onboarded() -> None:
    """Agents dial a controller-side websockets server (v1.usp); each answers the onboarding Get."""
    controller_id = "proto::ws-controller"
    results: dict[str, GetResp] = {}
    connect_records: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        eid = parse_qs(urlsplit(ws.request.path).query)["eid"][0] if ws.request else ""
        async for frame in ws:
            record = decode_record(frame if isinstance(frame, bytes) else frame.encode())
            if record.kind is RecordKind.WEBSOCKET_CONNECT:
                connect_records.append(record.from_id)
                get = encode_msg(Msg.of("onboard-1", Get(ONBOARD, 1)))
                await ws.send(encode_no_session_context("1.0", eid, controller_id, get))
            elif record.kind is RecordKind.NO_SESSION_CONTEXT:
                msg = decode_msg(record.payload)
                if isinstance(msg.body, GetResp) and msg.msg_id == "onboard-1":
                    results[record.from_id] = msg.body

    async with serve(handler, "127.0.0.1", 0, subprotocols=["v1.usp"]) as server:  # type: ignore[list-item]
        port = server.sockets[0].getsockname()[1]
        group = GroupConfig(
            "ws", HOME, 10, "os::012345-WS{index:04d}", "websocket", 5, 500.0, f"ws://127.0.0.1:{port}/usp"
        )
        sc = ScenarioConfig(
            "ws",
            "<test>",
            BrokerConfig(),
            ControllerConfig(endpoint_id=controller_id, boot_subscription=False),
            (group,),
        )
        fleet = Fleet(sc, strict_agents=True)
        async with asyncio.timeout(30):
            try:
                await fleet.start()
                st = await fleet.wait_connected(10.0)
                assert st.connected == 10, st
                while len(results) < 10:
                    await asyncio.sleep(0.02)
                fleet.check()
            finally:
                await fleet.stop(timeout=5.0)
    assert sorted(connect_records) == sorted(results) == [f"os::012345-WS{i:04d}" for i in range(10)]
    for body in results.values():
        assert [len(r.resolved_path_results) for r in body.req_path_results] == [1] * 5
    assert fleet.metrics.stats.count("connect", "websocket") == 10
