"""Scenario behaviours and faults on real mosquitto, observed by the probe controller.

Each test writes a small scenario (topics under the test's unique prefix), runs a fleet of a few agents
on 127.0.0.1 and checks what the probe sees. Rates and delays are short; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from simulator.fleet.config import ScenarioConfig, load_scenario
from simulator.fleet.probe import Notification, Probe, ProbeTimeoutError, mqtt_probe
from simulator.fleet.runner import Fleet
from simulator.usp.requests import Add, CreateObject, CreateParamSetting, Get, ObjectCreation, ObjectDeletion
from simulator.usp.responses import AddOperationSuccess, AddResp, ErrorMessage, GetResp

pytestmark = pytest.mark.mqtt

ROOT = Path(__file__).resolve().parents[2]
ONBOARD = tuple(
    f"Device.DeviceInfo.{leaf}"
    for leaf in ("Manufacturer", "ModelName", "SoftwareVersion", "SerialNumber", "ProductClass")
)


def scenario(tmp_path: Path, url: str, prefix: str, count: int, extra: str) -> ScenarioConfig:
    """A generic-profile scenario of ``count`` home gateways plus ``extra`` YAML (behaviours/faults)."""
    tag = uuid.uuid4().hex[:8]
    text = textwrap.dedent(
        f"""
        name: it-{tag}
        seed: 7
        broker:
          url: {url}
        controller:
          profile: generic
          endpoint_id: proto::ctl-{tag}
          agent_topic: "{prefix}/agent/{{endpoint_id}}"
          controller_topic: {prefix}/controller
        groups:
          - profile: home-gateway
            count: {count}
            spawn_rate: 1000
            endpoint_id: "os::012345-{tag}-{{index:03d}}"
        """
    ) + textwrap.dedent(extra)
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return load_scenario(path)


@contextlib.asynccontextmanager
async def running(sc: ScenarioConfig, host: str, port: int) -> AsyncIterator[tuple[Fleet, Probe]]:
    probe = mqtt_probe(sc.controller, host, port, timeout=5.0)
    fleet = Fleet(sc, strict_agents=True)
    await probe.connect()
    try:
        await fleet.start()
        st = await fleet.wait_connected(5.0)
        assert st.connected == sc.total_agents, st
        yield fleet, probe
        fleet.check()
    finally:
        await fleet.stop(timeout=2.0)
        await probe.close()


def eids(fleet: Fleet) -> list[str]:
    return [d.endpoint_id for d in fleet.drivers]


def count(fleet: Fleet, name: str, kind: str | None = None) -> float:
    return fleet.metrics.stats.count(name, kind)


async def wait_for(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def subscribe(probe: Probe, eid: str, notif_type: str, reference: str, sub_id: str) -> None:
    msg = await probe.request(
        eid,
        Add(False, (CreateObject("Device.LocalAgent.Subscription.", (
            CreateParamSetting("ID", sub_id),
            CreateParamSetting("Enable", "true"),
            CreateParamSetting("NotifType", notif_type),
            CreateParamSetting("ReferenceList", reference),
        )),)),
    )
    assert isinstance(msg.body, AddResp)
    assert isinstance(msg.body.created_obj_results[0].oper_status, AddOperationSuccess)


def of_kind(probe: Probe, kind: str, eid: str | None = None) -> list[Notification]:
    return [n for n in probe.notifications if n.kind == kind and (eid is None or n.endpoint_id == eid)]


# -- faults -------------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_fault_late_answer_arrives_after_configured_delay(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    extra = """
    faults:
      - {kind: late, rate: 1.0, delay: 1.5, messages: [Get]}
    """
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 1, extra)
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, probe):
        eid = eids(fleet)[0]
        started = time.monotonic()
        msg = await probe.request(eid, Get(ONBOARD))
        elapsed = time.monotonic() - started
        assert isinstance(msg.body, GetResp)
        assert 1.4 <= elapsed < 4.0, elapsed
        assert count(fleet, "fault", "late") == 1


@pytest.mark.asyncio
async def test_fault_no_answer_makes_the_probe_time_out(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 1, "faults: [{kind: no_answer, rate: 1.0}]\n")
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, probe):
        with pytest.raises(ProbeTimeoutError):
            await probe.request(eids(fleet)[0], Get(ONBOARD), timeout=1.0)
        assert count(fleet, "fault", "no_answer") == 1
        assert probe.metrics.stats.count("response_timeout", "Get") == 1


@pytest.mark.asyncio
async def test_fault_error_answer_carries_the_code(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    extra = "faults: [{kind: error, rate: 1.0, error_code: 7005}]\n"
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 1, extra)
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, probe):
        msg = await probe.request(eids(fleet)[0], Get(ONBOARD))
        assert isinstance(msg.body, ErrorMessage)
        assert msg.body.err_code == 7005
        assert count(fleet, "fault", "error") == 1


@pytest.mark.asyncio
async def test_fault_malformed_record_is_counted_by_the_probe(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 1, "faults: [{kind: malformed, rate: 1.0}]\n")
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, probe):
        with pytest.raises(ProbeTimeoutError):
            await probe.request(eids(fleet)[0], Get(ONBOARD), timeout=1.0)
        assert probe.metrics.stats.count("probe_dropped", "not_parsed") == 1
        assert count(fleet, "fault", "malformed") == 1


@pytest.mark.asyncio
async def test_fault_duplicate_answer_is_seen_twice(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 1, "faults: [{kind: duplicate, rate: 1.0}]\n")
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, probe):
        msg = await probe.request(eids(fleet)[0], Get(ONBOARD))
        assert isinstance(msg.body, GetResp)
        # the copy arrives after the request was answered: the probe sees an answer nobody waits for
        await wait_for(lambda: probe.metrics.stats.count("probe_dropped", "unsolicited") == 1, 3.0)
        assert count(fleet, "fault", "duplicate") == 1


@pytest.mark.asyncio
async def test_fault_unsolicited_notify_arrives_before_the_response(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    extra = "faults: [{kind: unsolicited_notify, rate: 1.0, messages: [Get]}]\n"
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 1, extra)
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, probe):
        order: list[str] = []
        probe.listeners.append(lambda n: order.append(n.notify.subscription_id))
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def answered(msg: object, _latency: float) -> None:
            order.append("response")
            fut.set_result(None)

        probe.send(eids(fleet)[0], Get(ONBOARD), answered)
        await fut
        assert order[-2:] == ["uspsim-unsolicited", "response"], order
        assert count(fleet, "fault", "unsolicited_notify") == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["error", "missing"])
async def test_fault_omit_onboarding_leaves(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str, mode: str
) -> None:
    extra = f"faults: [{{kind: omit_onboarding, rate: 1.0, mode: {mode}, leaves: [SerialNumber]}}]\n"
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 1, extra)
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, probe):
        msg = await probe.request(eids(fleet)[0], Get(ONBOARD))
        assert isinstance(msg.body, GetResp)
        results = {r.requested_path: r for r in msg.body.req_path_results}
        serial = results["Device.DeviceInfo.SerialNumber"]
        if mode == "error":
            assert serial.err_code == 7026
        else:
            assert serial.err_code == 0
            assert not serial.resolved_path_results
        assert results["Device.DeviceInfo.Manufacturer"].resolved_path_results
        assert count(fleet, "fault", "omit_onboarding") == 1


@pytest.mark.asyncio
async def test_faults_hit_only_the_selected_agents(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    extra = "faults: [{kind: error, rate: 1.0, agents: {indexes: '1'}}]\n"
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 3, extra)
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, probe):
        bodies = [(await probe.request(eid, Get(ONBOARD))).body for eid in eids(fleet)]
        assert [isinstance(b, ErrorMessage) for b in bodies] == [False, True, False]


# -- behaviours ---------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_boot_storm_reboots_everyone_and_all_reconnect(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    extra = """
    behaviours:
      - {kind: boot_storm, start: 1.5, ramp: 0.5, downtime: 0.3}
    """
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 5, extra)
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, probe):
        await wait_for(lambda: len(of_kind(probe, "Notify:Boot!")) >= 10, 6.0)  # 5 first boots + 5 again
        st = await fleet.wait_connected(3.0)
        assert st.connected == 5
        assert count(fleet, "behaviour", "boot_storm") == 5
        assert count(fleet, "agent_disconnect", "power-cycle") == 5
        assert all(d.connects == 2 for d in fleet.drivers)


@pytest.mark.asyncio
async def test_churn_disconnects_and_reconnects_are_counted(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    extra = """
    behaviours:
      - {kind: churn, rate: 6, distribution: uniform, jitter: 0.2, stop: 1.2, abrupt: 0.5, downtime: 0.2}
    """
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 3, extra)
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, _probe):
        await asyncio.sleep(1.6)
        st = await fleet.wait_connected(3.0)
        assert st.connected == 3
        churned = count(fleet, "behaviour", "churn:graceful") + count(fleet, "behaviour", "churn:abrupt")
        assert churned >= 2
        assert count(fleet, "reconnect") == churned
        assert sum(d.connects for d in fleet.drivers) == 3 + churned


@pytest.mark.asyncio
async def test_value_change_self_writes_notify_subscribers(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    extra = """
    behaviours:
      - {kind: value_change, start: 0.5, rate: 10, params: [Device.WiFi.Radio.1.Channel]}
    """
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 1, extra)
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, probe):
        await subscribe(probe, eids(fleet)[0], "ValueChange", "Device.WiFi.Radio.1.Channel", "vc")
        note = await probe.wait_notification(lambda n: n.kind == "Notify:ValueChange", 3.0)
        assert note.notify.notification.param_path == "Device.WiFi.Radio.1.Channel"  # type: ignore[union-attr]
        assert count(fleet, "behaviour", "value_change") >= 1


@pytest.mark.asyncio
async def test_wifi_clients_join_and_leave_as_object_creation_and_deletion(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    extra = """
    behaviours:
      - {kind: wifi_clients, start: 0.5, rate: 8, max_clients: 6, access_points: [1]}
    """
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 1, extra)
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, probe):
        eid = eids(fleet)[0]
        await subscribe(probe, eid, "ObjectCreation", "Device.WiFi.AccessPoint.1.AssociatedDevice.", "c")
        await subscribe(probe, eid, "ObjectDeletion", "Device.WiFi.AccessPoint.1.AssociatedDevice.", "d")
        await subscribe(probe, eid, "ObjectCreation", "Device.Hosts.Host.", "h")
        created = await probe.wait_notification(lambda n: n.kind == "Notify:ObjectCreation", 3.0)
        deleted = await probe.wait_notification(lambda n: n.kind == "Notify:ObjectDeletion", 3.0)
        assert isinstance(created.notify.notification, ObjectCreation)
        assert isinstance(deleted.notify.notification, ObjectDeletion)
        assert deleted.notify.notification.obj_path.startswith("Device.WiFi.AccessPoint.1.AssociatedDevice.")
        await probe.wait_notification(
            lambda n: n.kind == "Notify:ObjectCreation"
            and n.notify.notification.obj_path.startswith("Device.Hosts.Host."),  # type: ignore[union-attr]
            3.0,
        )
        assert count(fleet, "behaviour", "wifi_clients:join") >= 1


@pytest.mark.asyncio
async def test_periodic_notify_and_bulk_data_reach_the_controller(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    extra = """
    behaviours:
      - {kind: periodic_notify, interval: 1}
      - {kind: bulk_data, interval: 1}
    """
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 2, extra)
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, probe):
        everyone = set(eids(fleet))
        await wait_for(lambda: {n.endpoint_id for n in of_kind(probe, "Notify:Periodic!")} == everyone, 4.0)
        await wait_for(lambda: {n.endpoint_id for n in of_kind(probe, "Notify:Push!")} == everyone, 4.0)
        assert count(fleet, "behaviour", "periodic_notify") == 2
        assert count(fleet, "behaviour", "bulk_data") == 2


@pytest.mark.asyncio
async def test_reboots_send_boot_again(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    extra = """
    behaviours:
      - {kind: reboot, rate: 4, distribution: uniform, stop: 0.9, downtime: 0.2}
    """
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 2, extra)
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, probe):
        await asyncio.sleep(1.5)
        reboots = count(fleet, "behaviour", "reboot")
        assert reboots >= 1
        await wait_for(lambda: len(of_kind(probe, "Notify:Boot!")) >= 2 + reboots, 3.0)
        assert count(fleet, "agent_disconnect", "reboot") == reboots


@pytest.mark.asyncio
async def test_firmware_campaign_download_transfer_complete_boot_firmware_updated(
    tmp_path: Path, usp_broker_url: str, usp_broker_address: tuple[str, int], usp_topic_prefix: str
) -> None:
    extra = """
    behaviours:
      - kind: firmware_campaign
        start: 0.5
        agents: {share: 0.5}
        version: 6.0.1
        download_time: 0.3
        validate_time: 0.2
        boot_delay: 0.3
    """
    sc = scenario(tmp_path, usp_broker_url, usp_topic_prefix, 2, extra)
    async with asyncio.timeout(10), running(sc, *usp_broker_address) as (fleet, probe):
        transfer = await probe.wait_notification(lambda n: n.kind == "Notify:TransferComplete!", 4.0)
        eid = transfer.endpoint_id
        params = transfer.notify.notification.params  # type: ignore[union-attr]
        assert params["FaultCode"] == "0"
        assert params["TransferURL"].endswith("uspsim-6.0.1.bin")

        def updated(n: Notification) -> bool:
            return (
                n.kind == "Notify:Boot!"
                and n.endpoint_id == eid
                and n.notify.notification.params.get("FirmwareUpdated") == "true"  # type: ignore[union-attr]
            )

        await probe.wait_notification(updated, 4.0)
        await fleet.wait_connected(3.0)
        msg = await probe.request(eid, Get(("Device.DeviceInfo.SoftwareVersion",)))
        assert isinstance(msg.body, GetResp)
        version = msg.body.req_path_results[0].resolved_path_results[0].result_params["SoftwareVersion"]
        assert version == "6.0.1"
        assert count(fleet, "behaviour", "firmware_campaign:download") == 1  # a share of 0.5 of 2 agents


def test_cli_runs_ci_small_scenario(usp_broker_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "simulator.integrations.cli", "--no-color", "run",
         str(ROOT / "scenarios" / "ci-small.yaml"), "--broker", usp_broker_url, "--duration", "5"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
