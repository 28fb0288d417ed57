"""A tiny asyncio driver for the sans-I/O MqttClient, for integration tests (not the fleet's transport)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import ClassVar, TypeVar, cast

from simulator.mqtt import (
    ClientState,
    Connected,
    Event,
    MqttClient,
    MqttClientSettings,
    Subscribed,
    TopicLike,
    Unsubscribed,
)

E = TypeVar("E")


class MqttDriver(asyncio.Protocol):
    """Feeds socket bytes to the client, writes its output, and keeps one ``loop.call_at`` timer."""

    def __init__(self, client: MqttClient) -> None:
        self.client = client
        self.loop = asyncio.get_running_loop()
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self.pings_sent = 0
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None

    # asyncio.Protocol ------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop transports are not subclasses
        self.client.connect(self.loop.time())
        self._after([])

    def data_received(self, data: bytes) -> None:
        self._after(self.client.receive_data(data, self.loop.time()))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for event in self.client.connection_lost(self.loop.time()):
            self.events.put_nowait(event)
        if not self.closed.done():
            self.closed.set_result(None)

    # plumbing ----------------------------------------------------------------------------------------
    def _after(self, events: list[Event]) -> None:
        for event in events:
            self.events.put_nowait(event)
        out = self.client.data_to_send()
        assert self.transport is not None
        if out:
            self.transport.write(out)
        if self.client.state is ClientState.CLOSED:
            self.transport.close()
        deadline = self.client.next_deadline()
        if deadline != self._deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None if deadline is None else self.loop.call_at(deadline, self._fire)
            self._deadline = deadline

    def _fire(self) -> None:
        self._timer = self._deadline = None
        was_pinging = self.client.ping_outstanding
        events = self.client.on_timer(self.loop.time())
        if self.client.ping_outstanding and not was_pinging:
            self.pings_sent += 1
        self._after(events)

    def call(self, events: list[Event] | None = None) -> None:
        """Flush and re-arm after a command was issued on ``client``."""
        self._after(events or [])


class MqttConnection:
    """Test-facing handle: open, wait for typed events, subscribe, publish, disconnect."""

    opened: ClassVar[list[MqttConnection]] = []
    """Every connection opened; ``close_all`` aborts leftovers after a failed test."""

    def __init__(self, driver: MqttDriver) -> None:
        MqttConnection.opened.append(self)
        self.driver = driver
        self.client = driver.client
        self.skipped: list[Event] = []

    @classmethod
    async def open(cls, host: str, port: int, settings: MqttClientSettings) -> tuple[MqttConnection, Event]:
        """Connect and return the connection with its first event (Connected or ConnectionRefused)."""
        loop = asyncio.get_running_loop()
        client = MqttClient(settings)
        _, driver = await loop.create_connection(lambda: MqttDriver(client), host, port)
        conn = cls(driver)
        return conn, await asyncio.wait_for(driver.events.get(), 5)

    async def expect(self, kind: type[E], timeout: float = 5.0) -> E:
        """Return the next event of type ``kind``; other events are kept in ``skipped``.

        The broker may order independent packets either way (e.g. PUBACK vs the echoed PUBLISH), so
        an event skipped by an earlier ``expect`` is returned first.
        """
        for i, event in enumerate(self.skipped):
            if isinstance(event, kind):
                del self.skipped[i]
                return event
        async with asyncio.timeout(timeout):
            while True:
                event = await self.driver.events.get()
                if isinstance(event, kind):
                    return event
                self.skipped.append(event)

    async def subscribe(self, topics: Iterable[TopicLike], **kw: object) -> Subscribed:
        pid = self.client.subscribe(topics, self.driver.loop.time(), **kw)  # type: ignore[arg-type]
        self.driver.call()
        event = await self.expect(Subscribed)
        assert event.packet_id == pid
        return event

    async def unsubscribe(self, topics: Iterable[str]) -> Unsubscribed:
        pid = self.client.unsubscribe(topics, self.driver.loop.time())
        self.driver.call()
        event = await self.expect(Unsubscribed)
        assert event.packet_id == pid
        return event

    def publish(self, topic: str, payload: bytes, qos: int = 0, **kw: object) -> int | None:
        pid = self.client.publish(topic, payload, qos, self.driver.loop.time(), **kw)  # type: ignore[arg-type]
        self.driver.call()
        return pid

    async def disconnect(self, reason_code: int = 0) -> None:
        self.client.disconnect(self.driver.loop.time(), reason_code)
        self.driver.call()
        await asyncio.wait_for(self.driver.closed, 5)

    @classmethod
    async def close_all(cls) -> None:
        """Abort every connection still open (test teardown)."""
        for conn in cls.opened:
            if conn.driver.transport is not None and not conn.driver.closed.done():
                conn.driver.transport.abort()
                await asyncio.wait_for(conn.driver.closed, 5)
        cls.opened.clear()

    async def abort(self) -> None:
        """Drop the TCP connection without DISCONNECT (the broker then publishes the Will)."""
        assert self.driver.transport is not None
        self.driver.transport.abort()
        await asyncio.wait_for(self.driver.closed, 5)


async def open_connected(
    host: str, port: int, settings: MqttClientSettings
) -> tuple[MqttConnection, Connected]:
    conn, event = await MqttConnection.open(host, port, settings)
    assert isinstance(event, Connected), event
    return conn, event
