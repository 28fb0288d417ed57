"""WebSocket MTP client driver on ``websockets.asyncio`` (TR-369 7.2): subprotocol ``v1.usp``, binary frames.

# Strategy: websockets sends with a coroutine, but the agent driver emits records from plain
# callbacks; so ``send()`` appends to a deque and one long-lived writer task per connection awaits
# ``ws.send`` (bounded by ``send_timeout``), and one reader task feeds ``on_packet``. There is never a
# task per message. Ping/Pong keep-alive is websockets' own (``ping_interval`` / ``ping_timeout``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import ssl
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

from simulator.transports.base import (
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    LostCallback,
    Packet,
    PacketCallback,
    SendTimeoutError,
    TransportError,
    TransportState,
    WebSocketSettings,
)

__all__ = ["USP_SUBPROTOCOL", "WebSocketTransport", "build_agent_uri", "encode_eid"]

logger = logging.getLogger(__name__)

USP_SUBPROTOCOL = Subprotocol("v1.usp")
"""``Sec-WebSocket-Protocol`` value both sides must agree on (R-WS.9-12a)."""

_CLOSE_UNSUPPORTED_DATA = 1003  # R-WS.16: a frame that cannot be processed (text frame)


def encode_eid(endpoint_id: str) -> str:
    """Percent-encode every character outside the URI unreserved set, as obuspa does (R-WS.10b/c).

    Example: ``"os::012345-SIM0001"`` -> ``"os%3A%3A012345-SIM0001"``.
    """
    return quote(endpoint_id, safe="")


def build_agent_uri(url: str, endpoint_id: str) -> str:
    """Append ``eid=<encoded EID>`` to ``url``'s query, joining existing parts with ``&`` (R-WS.10b)."""
    parts = urlsplit(url)
    eid = f"eid={encode_eid(endpoint_id)}"
    query = f"{parts.query}&{eid}" if parts.query else eid
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, parts.fragment))


class WebSocketTransport:
    """One agent's WebSocket session to a controller (client role, TR-369 7.2).

    Records received in binary frames go to ``on_packet`` with ``reply_to=None`` (the session is the
    route back); ``send(payload)`` ignores ``destination``. A text frame closes the session with
    1003 (R-WS.16). ``on_lost`` is called once per connected session, as for ``MqttTransport``.
    """

    __slots__ = (
        "_drained",
        "_error",
        "_queue",
        "_reader",
        "_state",
        "_wakeup",
        "_writer",
        "_ws",
        "on_lost",
        "on_packet",
        "settings",
    )

    def __init__(
        self, settings: WebSocketSettings, on_packet: PacketCallback, on_lost: LostCallback | None = None
    ) -> None:
        """Create an unconnected transport.

        Args:
            settings: URL, EndpointID, keep-alive and timeouts.
            on_packet: Called with each received ``Packet``.
            on_lost: Called once when a connected session ends (``None`` after ``close()``).
        """
        self.settings = settings
        self.on_packet = on_packet
        self.on_lost = on_lost
        self._ws: ClientConnection | None = None
        self._state = TransportState.IDLE
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._queue: collections.deque[bytes] = collections.deque()
        self._wakeup: asyncio.Event | None = None
        self._drained: asyncio.Event | None = None
        self._error: TransportError | None = None

    @property
    def state(self) -> TransportState:
        """Current lifecycle state."""
        return self._state

    @property
    def reply_to(self) -> str | None:
        """Always ``None``: replies travel on the session."""
        return None

    @property
    def subprotocol(self) -> str | None:
        """The negotiated subprotocol (``v1.usp`` once connected)."""
        return None if self._ws is None else self._ws.subprotocol

    @property
    def latency(self) -> float:
        """Last measured Ping -> Pong round trip in seconds (0 until the first Pong)."""
        return 0.0 if self._ws is None else self._ws.latency

    @property
    def uri(self) -> str:
        """The request URI including the ``eid`` query."""
        return build_agent_uri(self.settings.url, self.settings.endpoint_id)

    async def connect(self) -> None:
        """Open the WebSocket session (TCP, TLS, HTTP upgrade with ``v1.usp``).

        Raises:
            ConnectError: Unreachable, or refused (HTTP status, no ``v1.usp``; ``refused`` True).
            ConnectTimeoutError: Not open within ``settings.connect_timeout``.
        """
        if self._state is TransportState.CONNECTING or self._state is TransportState.CONNECTED:
            msg = f"connect() while {self._state.name}"
            raise RuntimeError(msg)
        s = self.settings
        uri = self.uri
        self._state = TransportState.CONNECTING
        self._error = None
        self._queue.clear()
        options: dict[str, Any] = {}
        if uri.startswith("wss:"):
            context: ssl.SSLContext | None = s.ssl_context
            if context is None and s.tls is not None:
                context = s.tls.make_context()
            options["ssl"] = context if context is not None else True
            if s.tls is not None and s.tls.server_hostname:
                options["server_hostname"] = s.tls.server_hostname
        try:
            async with asyncio.timeout(s.connect_timeout):
                ws = await ws_connect(
                    uri,
                    subprotocols=[USP_SUBPROTOCOL],
                    compression=None,
                    open_timeout=None,
                    ping_interval=s.ping_interval,
                    ping_timeout=s.ping_timeout,
                    close_timeout=s.close_timeout,
                    max_size=s.max_size,
                    **options,
                )
        except TimeoutError:
            self._state = TransportState.CLOSED
            msg = f"WebSocket connect to {s.url} took more than {s.connect_timeout:g} s"
            raise ConnectTimeoutError(msg) from None
        except InvalidStatus as exc:
            self._state = TransportState.CLOSED
            status = exc.response.status_code
            msg = f"WebSocket upgrade to {s.url} refused: HTTP {status}"
            raise ConnectError(msg, refused=True, reason=f"HTTP {status}", reason_code=status) from exc
        except (InvalidHandshake, InvalidURI) as exc:
            self._state = TransportState.CLOSED
            msg = f"WebSocket handshake with {s.url} failed: {exc}"
            raise ConnectError(msg, refused=True, reason=str(exc)) from exc
        except (OSError, ssl.CertificateError) as exc:
            self._state = TransportState.CLOSED
            msg = f"cannot reach WebSocket controller {s.url}: {exc}"
            raise ConnectError(msg, reason=str(exc) or type(exc).__name__) from exc
        except BaseException:
            self._state = TransportState.CLOSED
            raise
        if ws.subprotocol != USP_SUBPROTOCOL:  # R-WS.12a: refuse a session without v1.usp
            ws.transport.abort()
            self._state = TransportState.CLOSED
            msg = f"controller {s.url} did not accept subprotocol v1.usp (got {ws.subprotocol!r})"
            raise ConnectError(msg, refused=True, reason="no v1.usp subprotocol")
        self._ws = ws
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._state = TransportState.CONNECTED
        self._reader = asyncio.create_task(self._read_loop(ws), name=f"ws-read {s.endpoint_id}")
        self._writer = asyncio.create_task(self._write_loop(ws), name=f"ws-write {s.endpoint_id}")

    def send(self, payload: bytes, destination: str | None = None) -> None:
        """Queue one record for a binary frame (``destination`` is ignored: the session is the route).

        Raises:
            ConnectionLostError: Not connected.
            SendTimeoutError: ``settings.max_queue`` records are already waiting for a slow peer.
        """
        if self._state is not TransportState.CONNECTED or self._wakeup is None:
            msg = f"cannot send: WebSocket transport is {self._state.name}"
            raise ConnectionLostError(msg)
        if len(self._queue) >= self.settings.max_queue:
            msg = f"controller not reading: {len(self._queue)} records queued"
            raise SendTimeoutError(msg)
        self._queue.append(payload)
        assert self._drained is not None
        self._drained.clear()
        self._wakeup.set()

    async def drain(self, timeout: float) -> None:
        """Wait until every queued record was handed to the socket.

        Raises:
            SendTimeoutError: Still queued after ``timeout`` seconds.
            ConnectionLostError: The session is not connected.
        """
        if self._drained is None or self._drained.is_set():
            return
        try:
            async with asyncio.timeout(timeout):
                await self._drained.wait()
        except TimeoutError:
            msg = f"{len(self._queue)} records still queued after {timeout:g} s"
            raise SendTimeoutError(msg) from None
        if self._state is not TransportState.CONNECTED:
            msg = "session closed while draining"
            raise ConnectionLostError(msg)

    async def close(self, graceful: bool = True) -> None:
        """Flush queued records and run the Close handshake (bounded), or abort when not ``graceful``."""
        ws = self._ws
        if ws is None:
            return
        if self._state is TransportState.CONNECTED:
            self._state = TransportState.CLOSING
            if graceful:
                with contextlib.suppress(TransportError):
                    await self.drain(self.settings.close_timeout)
        if self._writer is not None:
            self._writer.cancel()
        if graceful:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.close_timeout + 1):
                    await ws.close()
        ws.transport.abort()
        if self._reader is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                async with asyncio.timeout(self.settings.close_timeout):
                    await asyncio.shield(self._reader)

    def abort(self) -> None:
        """Drop the TCP connection at once."""
        if self._state is TransportState.CONNECTED:
            self._state = TransportState.CLOSING
        if self._ws is not None:
            self._ws.transport.abort()

    async def _read_loop(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                if isinstance(message, str):
                    self._error = ConnectionLostError("controller sent a text frame (R-WS.16)")
                    await ws.close(_CLOSE_UNSUPPORTED_DATA, "USP records travel in binary frames")
                    break
                try:
                    self.on_packet(Packet(message, None))
                except Exception:
                    logger.exception("x on_packet callback failed for %s", self.settings.endpoint_id)
        except ConnectionClosed:
            pass
        except Exception:
            logger.exception("x WebSocket reader failed for %s", self.settings.endpoint_id)
        finally:
            self._finish(ws)

    async def _write_loop(self, ws: ClientConnection) -> None:
        queue = self._queue
        wakeup = self._wakeup
        drained = self._drained
        assert wakeup is not None and drained is not None
        timeout = self.settings.send_timeout
        try:
            while True:
                while queue:
                    payload = queue[0]
                    try:
                        async with asyncio.timeout(timeout):
                            await ws.send(payload)
                    except TimeoutError:
                        msg = f"controller did not read a record within {timeout:g} s"
                        self._error = self._error or SendTimeoutError(msg)
                        ws.transport.abort()
                        return
                    queue.popleft()
                drained.set()
                wakeup.clear()
                await wakeup.wait()
        except ConnectionClosed:
            pass  # the reader reports the loss
        finally:
            drained.set()

    def _finish(self, ws: ClientConnection) -> None:
        if self._writer is not None:
            self._writer.cancel()
        state = self._state
        self._state = TransportState.CLOSED
        self._queue.clear()
        if self._drained is not None:
            self._drained.set()
        if state is TransportState.CLOSING:
            error: TransportError | None = None
        elif state is TransportState.CONNECTED:
            error = self._error or ConnectionLostError(
                f"WebSocket session lost: code {ws.close_code} {ws.close_reason or ''}".rstrip()
            )
        else:
            return
        if self.on_lost is not None:
            try:
                self.on_lost(error)
            except Exception:
                logger.exception("x on_lost callback failed for %s", self.settings.endpoint_id)
