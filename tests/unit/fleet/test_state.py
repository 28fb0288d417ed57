"""``--state``: the SQLite backend, group commit before the response, restore on a new Fleet."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import orjson
import pytest
from fleet_helpers import MemoryNetwork, scenario

from simulator.fleet.runner import Fleet
from simulator.fleet.state import FleetState, PersistentDriver, SqliteBackend, state_file
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
from simulator.usp.responses import AddResp, DeleteResp, GetResp, SetResp

SUB = "Device.LocalAgent.Subscription."
ADOPT = "Device.LocalAgent.MaxSubscriptionChangeAdoptionTime"


def sub_row(ident: str, persistent: bool) -> CreateObject:
    settings = {
        "ID": ident,
        "Enable": "true",
        "NotifType": "Event",
        "ReferenceList": "Device.Boot!",
        "Persistent": "true" if persistent else "false",
    }
    return CreateObject(SUB, tuple(CreateParamSetting(k, v, True) for k, v in settings.items()))


def set_adopt(value: str) -> Set:
    return Set(
        False, (UpdateObject("Device.LocalAgent.", (UpdateParamSetting(ADOPT.rsplit(".", 1)[1], value),)),)
    )


def get_value(msg: object) -> str:
    body = msg.body  # type: ignore[attr-defined]
    assert isinstance(body, GetResp)
    return next(iter(body.req_path_results[0].resolved_path_results[0].result_params.values()))


# -- backend --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sync", ["FULL", "NORMAL"])
def test_state_backend_commit_load_delete(tmp_path: Path, sync: str) -> None:
    path = state_file(tmp_path / "st", (0, 10))
    backend = SqliteBackend(path, synchronous=sync)
    backend.commit({"a": b"1", "b": b"2"})
    backend.commit({"a": b"3", "b": None})
    assert dict(backend.load()) == {"a": b"3"}
    backend.close()
    again = SqliteBackend(path)
    assert dict(again.load()) == {"a": b"3"}
    again.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_state_backend_rejects_bad_sync(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SqliteBackend(tmp_path / "x.sqlite3", synchronous="OFF")


def test_state_backend_committed_rows_survive_without_close(tmp_path: Path) -> None:
    """A commit is durable on return: a second connection sees it while the first never closed (crash)."""
    path = tmp_path / "a.sqlite3"
    backend = SqliteBackend(path)
    backend.commit({"a": b"1"})
    other = SqliteBackend(path)
    assert dict(other.load()) == {"a": b"1"}
    other.close()


# -- fleet ----------------------------------------------------------------------------------------------
async def run_fleet(directory: Path, network: MemoryNetwork, count: int = 2) -> tuple[Fleet, FleetState]:
    state = FleetState(SqliteBackend(state_file(directory, (0, count))))
    fleet = Fleet(scenario(count), transport_factory=network, strict_agents=True, state=state)
    await fleet.start()
    await fleet.wait_connected(2.0)
    assert all(isinstance(d, PersistentDriver) for d in fleet.drivers)
    return fleet, state


@pytest.mark.asyncio
async def test_state_commit_happens_before_the_response(tmp_path: Path) -> None:
    network = MemoryNetwork()
    fleet, state = await run_fleet(tmp_path, network)
    eid = fleet.drivers[0].endpoint_id
    end = network.controller_ends[eid]
    seen: list[tuple[int, bool]] = []
    commit = state.backend.commit

    def spying(changes: dict[str, bytes | None]) -> None:
        before = len(end.peer.sent) if end.peer else 0  # type: ignore[attr-defined]
        commit(changes)
        seen.append((before, eid in changes))

    state.backend.commit = spying  # type: ignore[method-assign]
    sent_before = len(end.peer.sent)  # type: ignore[union-attr]
    resp = await network.probes[eid].request(eid, set_adopt("42"))
    assert isinstance(resp.body, SetResp)
    assert seen == [(sent_before, True)]  # committed while the SetResp was still held back
    # a Get changes nothing: no commit
    await network.probes[eid].request(eid, Get((ADOPT,)))
    assert len(seen) == 1 and state.commits == 1
    await fleet.stop()


@pytest.mark.asyncio
async def test_state_restart_restores_acknowledged_changes(tmp_path: Path) -> None:
    network = MemoryNetwork()
    fleet, _ = await run_fleet(tmp_path, network)
    eid = fleet.drivers[1].endpoint_id
    probe = network.probes[eid]
    assert isinstance((await probe.request(eid, set_adopt("77"))).body, SetResp)
    added = await probe.request(
        eid, Add(False, (sub_row("keep", True), sub_row("lose", False), sub_row("x", True)))
    )
    assert isinstance(added.body, AddResp)
    assert isinstance((await probe.request(eid, Delete(False, (SUB + "4.",)))).body, DeleteResp)
    await fleet.stop()

    network2 = MemoryNetwork()
    fleet2, state2 = await run_fleet(tmp_path, network2)
    assert state2.restored == 1
    probe2 = network2.probes[eid]
    assert get_value(await probe2.request(eid, Get((ADOPT,)))) == "77"
    ids = await probe2.request(eid, Get((SUB + "*.ID",)))
    rows = {
        r.resolved_path: r.result_params["ID"] for r in ids.body.req_path_results[0].resolved_path_results
    }  # type: ignore[attr-defined]
    # 1 is the controller profile's boot subscription; non-persistent (3) and deleted (4) rows are gone
    assert rows == {SUB + "1.": "uspsim-boot", SUB + "2.": "keep"}
    again = await probe2.request(eid, Add(False, (sub_row("new", True),)))
    assert again.body.created_obj_results[0].oper_status.instantiated_path == SUB + "3."  # type: ignore[attr-defined]
    other = fleet2.drivers[0].endpoint_id
    assert get_value(await network2.probes[other].request(other, Get((ADOPT,)))) == "5"  # untouched agent
    await fleet2.stop()


@pytest.mark.asyncio
async def test_state_factory_reset_wipes_the_agent_record(tmp_path: Path) -> None:
    network = MemoryNetwork()
    fleet, _ = await run_fleet(tmp_path, network, count=1)
    eid = fleet.drivers[0].endpoint_id
    probe = network.probes[eid]
    await probe.request(eid, set_adopt("9"))
    db = state_file(tmp_path, (0, 1))
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM agent").fetchone()[0] == 1
    await probe.request(eid, Operate("Device.FactoryReset()"))
    await asyncio.sleep(0.05)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM agent").fetchone()[0] == 0
    await fleet.stop()


@pytest.mark.asyncio
async def test_state_unreadable_record_is_ignored(tmp_path: Path) -> None:
    backend = SqliteBackend(state_file(tmp_path, (0, 1)))
    backend.commit({"os::012345-T0000": orjson.dumps({"format": 99}), "os::gone": b"{}"})
    backend.close()
    network = MemoryNetwork()
    fleet, state = await run_fleet(tmp_path, network, count=1)
    assert state.restored == 0 and state.skipped == 1
    eid = fleet.drivers[0].endpoint_id
    assert get_value(await network.probes[eid].request(eid, Get((ADOPT,)))) == "5"
    await fleet.stop()
    with sqlite3.connect(state_file(tmp_path, (0, 1))) as conn:  # the unreadable row is dropped, others kept
        assert [r[0] for r in conn.execute("SELECT eid FROM agent")] == ["os::gone"]
