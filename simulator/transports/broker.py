"""Embedded MQTT 3.1.1 / 5.0 broker on asyncio, for ``uspsim demo`` and tests without mosquitto.

# Strategy: one ``BrokerSession`` protocol (brokersession.py) per TCP connection, the packet codec
# of ``simulator.mqtt`` (it decodes CONNECT/SUBSCRIBE and encodes CONNACK/SUBACK too, so no
# server-side codec was needed), and a ``SubscriptionIndex`` (exact-topic dict + wildcard tree).
# Frames are split in the session rather than by ``StreamDecoder`` so that the raw bytes of a QoS 0
# PUBLISH can be forwarded unchanged to every subscriber speaking the same protocol version: no
# re-encoding on the hot path. Output is queued per session and written once per loop iteration (one
# ``call_soon`` flush for all sessions).
#
# Scope: clean sessions only (a session's subscriptions end with its connection), QoS 0/1 (QoS 2
# publishes are accepted and delivered at QoS 1), retained messages, wills, client-id takeover,
# keep-alive enforcement at 1.5x. No persistence, no shared subscriptions, no topic aliases.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass
from types import TracebackType

from simulator.mqtt import Subscription
from simulator.mqtt.packets import (
    Connect,
    Publish,
)
from simulator.transports.brokersession import BrokerSession, Message
from simulator.transports.topics import SubscriptionIndex

__all__ = ["BrokerStats", "EmbeddedBroker"]

@dataclass(slots=True)
class BrokerStats:
    """Counters since start (cheap ints, read them any time)."""

    connections: int = 0
    """Currently open, CONNECT accepted."""
    connects: int = 0
    """CONNECT packets accepted in total."""
    messages_in: int = 0
    """PUBLISH packets received from clients (wills included)."""
    messages_out: int = 0
    """PUBLISH packets queued to subscribers."""
    dropped: int = 0
    """PUBLISH packets not queued because the subscriber's buffer was over ``max_buffer``."""


class EmbeddedBroker:
    """A small MQTT broker bound to ``host:port`` (default ``127.0.0.1``, port 0 = any free port).

    Example::

        async with EmbeddedBroker(oktopus_prefix="oktopus/usp/v1") as broker:
            settings = MqttSettings(host=broker.host, port=broker.port, ...)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        oktopus_prefix: str | None = None,
        response_information_prefix: str | None = None,
        users: dict[str, str] | None = None,
        record_connects: bool = False,
        keep_alive_factor: float = 1.5,
        max_buffer: int = 16 * 1024 * 1024,
    ) -> None:
        """Configure the broker (nothing is bound until ``start``).

        Args:
            host: Address to bind.
            port: Port to bind; 0 picks a free one (read ``port`` after ``start``).
            oktopus_prefix: Behave like Oktopus' mochi broker: CONNACK user property
                ``subscribe-topic = <prefix>/agent/<eid>`` where ``eid`` is the value of the first
                CONNECT user property when it is ``usp-endpoint-id`` (controllers.md).
            response_information_prefix: When a v5 client requests response information, answer
                ``<prefix>/<client id>`` as CONNACK Response Information.
            users: ``{username: password}``; when given, other credentials are refused.
            record_connects: Keep every received ``Connect`` in ``connects`` (tests).
            keep_alive_factor: Close a client silent for this many keep-alive periods (MQTT: 1.5).
            max_buffer: Bytes queued to a slow subscriber before its messages are dropped.
        """
        self.host = host
        self._requested_port = port
        self.oktopus_prefix = oktopus_prefix
        self.response_information_prefix = response_information_prefix
        self.users = users
        self.record_connects = record_connects
        self.keep_alive_factor = keep_alive_factor
        self.max_buffer = max_buffer
        self.connects: list[Connect] = []
        """Received CONNECT packets, in order, when ``record_connects`` is set."""
        self.stats = BrokerStats()
        self.clients: dict[str, BrokerSession] = {}
        """Connected sessions by client id."""
        self.index: SubscriptionIndex[BrokerSession, Subscription] = SubscriptionIndex()
        self.retained: dict[str, Publish] = {}
        self._server: asyncio.Server | None = None
        self._sessions: set[BrokerSession] = set()
        self._dirty: list[BrokerSession] = []
        self._flush_handle: asyncio.Handle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        """The bound port (valid after ``start``)."""
        if self._server is None or not self._server.sockets:
            msg = "broker not started"
            raise RuntimeError(msg)
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """``mqtt://host:port``."""
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind and start accepting connections."""
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(
            lambda: BrokerSession(self), self.host, self._requested_port, backlog=4096
        )

    async def close(self, timeout: float = 5.0) -> None:
        """Stop listening, send DISCONNECT 0x8B (server shutting down) to v5 clients, close all."""
        if self._server is None:
            return
        self._server.close()
        for session in list(self._sessions):
            session.shutdown()
        self._flush()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._sessions:
                    await asyncio.sleep(0.01)
        for session in list(self._sessions):
            session.abort()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> EmbeddedBroker:
        """Start the broker."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the broker."""
        await self.close()

    # ------------------------------------------------------------------------------------ internals

    def _next_client_id(self) -> str:
        return f"auto-{next(self._ids)}"

    def _mark_dirty(self, session: BrokerSession) -> None:
        self._dirty.append(session)
        if self._flush_handle is None:
            assert self._loop is not None
            self._flush_handle = self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        dirty = self._dirty
        self._dirty = []
        for session in dirty:
            session.flush()

    def route(self, message: Message, sender: BrokerSession | None) -> None:
        """Deliver ``message`` to every matching subscription (once per subscriber, highest QoS)."""
        self.stats.messages_in += 1
        publish = message.publish
        matches = self.index.match(publish.topic)
        if not matches:
            return
        if len(matches) > 1:
            best: dict[BrokerSession, Subscription] = {}
            for session, sub in matches:
                old = best.get(session)
                if old is None or sub.qos > old.qos:
                    best[session] = sub
            matches = list(best.items())
        for session, sub in matches:
            if sub.no_local and session is sender:
                continue
            session.deliver(message, sub)

    def retain(self, publish: Publish) -> None:
        """Store (or with an empty payload, clear) the retained message of a topic."""
        if publish.payload:
            self.retained[publish.topic] = publish
        else:
            self.retained.pop(publish.topic, None)
