"""In-memory paired transport for tests and dry runs, with fault injection (delay, drop, disconnect).

Two ``MemoryTransport`` objects from ``memory_pair()`` deliver to each other on the running event loop
(``call_soon`` / ``call_later``), never synchronously, so ordering and re-entrancy match a network.
Like websockets' ``InterceptingConnection``, ``Faults`` lets a test delay or drop records, refuse
``connect()``, or cut the link (``disconnect()``) while the driver runs unchanged.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from simulator.transports.base import (
    ConnectError,
    ConnectionLostError,
    LostCallback,
    Packet,
    PacketCallback,
    TransportError,
    TransportState,
)

__all__ = ["Faults", "MemoryTransport", "memory_pair"]


def _ignore(packet: Packet) -> None:
    """Default ``on_packet``: drop."""


@dataclass(slots=True)
class Faults:
    """Fault injection for one direction (records *sent by* the transport that owns it).

    Attributes:
        delay: Seconds added to every delivery.
        drop_rate: Probability in [0, 1] that a sent record is silently lost.
        drop_next: Drop this many of the next records, then deliver again.
        fail_connect: ``connect()`` raises this error while it is set.
        rng: Random source for ``drop_rate`` (seeded for reproducible tests).
    """

    delay: float = 0.0
    drop_rate: float = 0.0
    drop_next: int = 0
    fail_connect: TransportError | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def should_drop(self) -> bool:
        """Consume one decision: True if this record is lost."""
        if self.drop_next > 0:
            self.drop_next -= 1
            return True
        return self.drop_rate > 0 and self.rng.random() < self.drop_rate


class MemoryTransport:
    """One end of an in-memory link; satisfies the ``Transport`` protocol."""

    __slots__ = ("_state", "dropped", "faults", "on_lost", "on_packet", "peer", "reply_to_topic", "sent")

    def __init__(
        self,
        reply_to: str | None = None,
        on_packet: PacketCallback = _ignore,
        on_lost: LostCallback | None = None,
        faults: Faults | None = None,
    ) -> None:
        """Create an unconnected end; ``memory_pair`` links two of them.

        Args:
            reply_to: The address the peer sees as ``Packet.reply_to`` on our records.
            on_packet: Receives the peer's records.
            on_lost: Called once per connection, like the real transports.
            faults: Fault injection for records we send.
        """
        self.reply_to_topic = reply_to
        self.on_packet = on_packet
        self.on_lost = on_lost
        self.faults = faults or Faults()
        self.peer: MemoryTransport | None = None
        self.sent: list[tuple[bytes, str | None]] = []
        """Every ``send`` as ``(payload, destination)``, dropped ones included."""
        self.dropped = 0
        """Records lost to faults or because the peer was not connected."""
        self._state = TransportState.IDLE

    @property
    def state(self) -> TransportState:
        """Current lifecycle state."""
        return self._state

    @property
    def reply_to(self) -> str | None:
        """Our address as the peer sees it."""
        return self.reply_to_topic

    async def connect(self) -> None:
        """Become connected (immediately), unless ``faults.fail_connect`` is set.

        Raises:
            ConnectError: No peer, or the injected failure.
        """
        await asyncio.sleep(0)
        if self.faults.fail_connect is not None:
            raise self.faults.fail_connect
        if self.peer is None:
            msg = "memory transport has no peer"
            raise ConnectError(msg)
        self._state = TransportState.CONNECTED

    def send(self, payload: bytes, destination: str | None = None) -> None:
        """Deliver to the peer on a later loop iteration (after ``faults.delay``).

        Raises:
            ConnectionLostError: Not connected.
        """
        if self._state is not TransportState.CONNECTED:
            msg = f"cannot send: memory transport is {self._state.name}"
            raise ConnectionLostError(msg)
        self.sent.append((payload, destination))
        if self.faults.should_drop():
            self.dropped += 1
            return
        loop = asyncio.get_running_loop()
        packet = Packet(payload, self.reply_to_topic)
        if self.faults.delay > 0:
            loop.call_later(self.faults.delay, self._deliver, packet)
        else:
            loop.call_soon(self._deliver, packet)

    def _deliver(self, packet: Packet) -> None:
        peer = self.peer
        if (
            peer is None
            or peer._state is not TransportState.CONNECTED
            or self._state is not TransportState.CONNECTED
        ):
            self.dropped += 1
            return
        peer.on_packet(packet)

    async def drain(self, timeout: float) -> None:
        """Nothing to wait for in memory."""

    async def close(self, graceful: bool = True) -> None:
        """Close our end (``on_lost(None)``); the peer sees ``ConnectionLostError``."""
        self.abort()

    def abort(self) -> None:
        """Close at once, as ``close``."""
        if self._state is not TransportState.CONNECTED:
            self._state = TransportState.CLOSED
            return
        self._end(None)
        peer = self.peer
        if peer is not None and peer._state is TransportState.CONNECTED:
            peer._end(ConnectionLostError("peer closed the memory link"))

    def disconnect(self, error: TransportError | None = None) -> None:
        """Fault: cut the link; both connected ends get ``on_lost(error or ConnectionLostError)``."""
        for end in (self, self.peer):
            if end is not None and end._state is TransportState.CONNECTED:
                end._end(error or ConnectionLostError("memory link cut (fault injection)"))

    def _end(self, error: TransportError | None) -> None:
        self._state = TransportState.CLOSED
        if self.on_lost is not None:
            self.on_lost(error)


def memory_pair(
    agent_reply_to: str | None = "agent",
    controller_reply_to: str | None = "controller",
    *,
    agent_faults: Faults | None = None,
    controller_faults: Faults | None = None,
) -> tuple[MemoryTransport, MemoryTransport]:
    """Two linked transports ``(agent_side, controller_side)``; set ``on_packet`` / ``on_lost`` on each.

    Args:
        agent_reply_to: ``Packet.reply_to`` the controller side sees on the agent's records.
        controller_reply_to: ``Packet.reply_to`` the agent side sees on the controller's records.
        agent_faults: Faults for records the agent sends.
        controller_faults: Faults for records the controller sends.
    """
    agent = MemoryTransport(agent_reply_to, faults=agent_faults)
    controller = MemoryTransport(controller_reply_to, faults=controller_faults)
    agent.peer, controller.peer = controller, agent
    return agent, controller
