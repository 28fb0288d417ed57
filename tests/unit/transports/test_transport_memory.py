"""In-memory paired transport: delivery, reply-to, ordering and fault injection (delay, drop, disconnect)."""

from __future__ import annotations

import asyncio

import pytest

from simulator.transports.base import (
    ConnectError,
    ConnectionLostError,
    Packet,
    TransportError,
    TransportState,
)
from simulator.transports.memory import Faults, MemoryTransport, memory_pair


class Recorder:
    def __init__(self) -> None:
        self.packets: list[Packet] = []
        self.lost: list[TransportError | None] = []


def wire(transport: MemoryTransport) -> Recorder:
    rec = Recorder()
    transport.on_packet = rec.packets.append
    transport.on_lost = rec.lost.append
    return rec


async def connected_pair(**kw: Faults) -> tuple[MemoryTransport, MemoryTransport, Recorder, Recorder]:
    agent, ctrl = memory_pair("agent/topic", "ctrl/topic", **kw)
    a, c = wire(agent), wire(ctrl)
    await agent.connect()
    await ctrl.connect()
    return agent, ctrl, a, c


@pytest.mark.asyncio
async def test_memory_pair_delivers_in_order_with_reply_to() -> None:
    agent, ctrl, a, c = await connected_pair()
    ctrl.send(b"r1")
    ctrl.send(b"r2")
    assert a.packets == []  # never synchronous: delivery happens on a later loop iteration
    await asyncio.sleep(0)
    assert a.packets == [Packet(b"r1", "ctrl/topic"), Packet(b"r2", "ctrl/topic")]
    agent.send(b"resp", a.packets[0].reply_to)
    await asyncio.sleep(0)
    assert c.packets == [Packet(b"resp", "agent/topic")]
    assert agent.sent == [(b"resp", "ctrl/topic")]
    assert agent.reply_to == "agent/topic"


@pytest.mark.asyncio
async def test_memory_send_requires_connection() -> None:
    agent, _ = memory_pair()
    assert agent.state is TransportState.IDLE
    with pytest.raises(ConnectionLostError):
        agent.send(b"x")
    with pytest.raises(ConnectError):
        await MemoryTransport().connect()  # no peer


@pytest.mark.asyncio
async def test_memory_delay_fault() -> None:
    agent, ctrl, a, _ = await connected_pair(controller_faults=Faults(delay=0.05))
    loop = asyncio.get_running_loop()
    start = loop.time()
    ctrl.send(b"late")
    await asyncio.sleep(0.01)
    assert a.packets == []
    async with asyncio.timeout(2):
        while not a.packets:
            await asyncio.sleep(0.005)
    assert loop.time() - start >= 0.05


@pytest.mark.asyncio
async def test_memory_drop_faults() -> None:
    agent, ctrl, a, _ = await connected_pair(controller_faults=Faults(drop_next=2))
    for i in range(4):
        ctrl.send(bytes([i]))
    await asyncio.sleep(0)
    assert [p.payload for p in a.packets] == [b"\x02", b"\x03"]
    assert ctrl.dropped == 2
    assert len(ctrl.sent) == 4
    ctrl.faults.drop_rate = 1.0
    ctrl.send(b"gone")
    await asyncio.sleep(0)
    assert len(a.packets) == 2


@pytest.mark.asyncio
async def test_memory_drop_rate_is_reproducible() -> None:
    results = []
    for _ in range(2):
        _, ctrl, a, _ = await connected_pair(controller_faults=Faults(drop_rate=0.5))
        for i in range(50):
            ctrl.send(bytes([i]))
        await asyncio.sleep(0)
        results.append([p.payload for p in a.packets])
    assert results[0] == results[1]
    assert 10 < len(results[0]) < 40


@pytest.mark.asyncio
async def test_memory_disconnect_fault_reports_loss_on_both_ends_once() -> None:
    agent, ctrl, a, c = await connected_pair()
    ctrl.send(b"in-flight")
    agent.disconnect()
    await asyncio.sleep(0)
    assert a.packets == []  # in-flight records die with the link
    assert len(a.lost) == len(c.lost) == 1
    assert isinstance(a.lost[0], ConnectionLostError)
    agent.disconnect()
    assert len(a.lost) == 1
    await agent.connect()  # reconnect is allowed (the driver's retry)
    await ctrl.connect()
    ctrl.send(b"again")
    await asyncio.sleep(0)
    assert a.packets == [Packet(b"again", "ctrl/topic")]


@pytest.mark.asyncio
async def test_memory_close_is_clean_for_us_lost_for_peer() -> None:
    agent, ctrl, a, c = await connected_pair()
    await agent.close()
    assert a.lost == [None]
    assert isinstance(c.lost[0], ConnectionLostError)
    assert agent.state is ctrl.state is TransportState.CLOSED


@pytest.mark.asyncio
async def test_memory_fail_connect_fault() -> None:
    agent, _ = memory_pair(agent_faults=Faults(fail_connect=ConnectError("refused", refused=True)))
    with pytest.raises(ConnectError, match="refused"):
        await agent.connect()
    agent.faults.fail_connect = None
    await agent.connect()
    assert agent.state is TransportState.CONNECTED
