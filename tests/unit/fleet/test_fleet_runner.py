"""Fleet on memory transports: build, ramp-up rate, shards, onboarding, check() and graceful stop."""

from __future__ import annotations

import asyncio
import gc

import pytest
from fleet_helpers import MemoryNetwork, scenario

from simulator.fleet.driver import DriverState
from simulator.fleet.runner import Fleet
from simulator.transports.base import ConnectError
from simulator.usp.records import RecordKind, decode_record
from simulator.usp.requests import Get
from simulator.usp.responses import GetResp


@pytest.mark.asyncio
async def test_fleet_starts_every_agent_and_answers(network: MemoryNetwork) -> None:
    fleet = Fleet(scenario(5), transport_factory=network, strict_agents=True)
    assert fleet.size == 5
    await fleet.start()
    st = await fleet.wait_connected(2.0)
    assert (st.total, st.started, st.connected, st.failed) == (5, 5, 5, 0)
    assert gc.is_tracked(fleet) and gc.get_freeze_count() > 0  # long-lived objects frozen after ramp-up
    eids = [d.endpoint_id for d in fleet.drivers]
    assert eids == [f"os::012345-T{i:04d}" for i in range(5)]
    answers = await asyncio.gather(
        *(network.probes[e].request(e, Get(("Device.DeviceInfo.SerialNumber",))) for e in eids)
    )
    serials = [
        a.body.req_path_results[0].resolved_path_results[0].result_params["SerialNumber"]
        for a in answers
        if isinstance(a.body, GetResp)
    ]
    assert serials == [f"SIM{i:08d}" for i in range(5)]  # per-agent persona values over one shared schema
    assert len({id(d.agent.ctx.schema) for d in fleet.drivers}) == 1
    await fleet.stop()
    assert all(d.state is DriverState.STOPPED for d in fleet.drivers)
    for eid in eids:  # DisconnectRecord sent to the controller on graceful stop
        kinds = [decode_record(p).kind for p, _ in network.controller_ends[eid].peer.sent]  # type: ignore[union-attr]
        assert kinds[0] is RecordKind.MQTT_CONNECT and kinds[-1] is RecordKind.DISCONNECT
    fleet.check()
    assert fleet.metrics.stats.count("connect") == 5


@pytest.mark.asyncio
async def test_fleet_shard_owns_an_index_range(network: MemoryNetwork) -> None:
    fleet = Fleet(scenario(10), shard=(4, 3), transport_factory=network)
    await fleet.start()
    assert [d.endpoint_id for d in fleet.drivers] == [f"os::012345-T{i:04d}" for i in (4, 5, 6)]
    await fleet.stop()


@pytest.mark.asyncio
async def test_fleet_ramp_up_respects_spawn_rate(network: MemoryNetwork) -> None:
    fleet = Fleet(scenario(6, rate=50.0), transport_factory=network)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await fleet.start()
    elapsed = loop.time() - t0
    assert 5 / 50.0 * 0.9 <= elapsed < 1.0  # 6 agents at 50/s: the last starts ~0.1 s after the first
    await fleet.stop()


@pytest.mark.asyncio
async def test_fleet_check_reraises_the_first_driver_failure(network: MemoryNetwork) -> None:
    refusal = ConnectError("not authorised", refused=True, reason_code=0x87)

    def refusing(agent, link):  # type: ignore[no-untyped-def]
        transport = network(agent, link)
        if agent.endpoint_id.endswith("1"):
            transport.faults.fail_connect = refusal
        return transport

    fleet = Fleet(scenario(3), transport_factory=refusing)
    await fleet.start()
    st = await fleet.wait_connected(2.0)
    assert (st.connected, st.failed) == (2, 1)  # one agent's failure does not stop the others
    with pytest.raises(ConnectError, match="not authorised"):
        fleet.check()
    assert fleet.errors[0][0] == "os::012345-T0001"
    await fleet.stop()


@pytest.mark.asyncio
async def test_fleet_stop_is_fast_for_many_agents(network: MemoryNetwork) -> None:
    fleet = Fleet(scenario(300, rate=100_000.0), transport_factory=network)
    await fleet.start()
    await fleet.wait_connected(5.0)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await fleet.stop(timeout=2.0)
    assert loop.time() - t0 < 2.0
    assert all(d.state is DriverState.STOPPED for d in fleet.drivers)


@pytest.mark.parametrize(
    ("total", "n", "expected"),
    [
        (10, 3, [(0, 4), (4, 3), (7, 3)]),
        (2, 4, [(0, 1), (1, 1)]),
        (10_000, 1, [(0, 10_000)]),
    ],
)
def test_processes_split_indexes_into_contiguous_shards(
    total: int, n: int, expected: list[tuple[int, int]]
) -> None:
    from simulator.integrations.processes import shards

    assert shards(total, n) == expected
