"""A broker on 127.0.0.1 for ``broker: embedded``: mosquitto on a free port when installed, else ours."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from simulator.transports.broker import EmbeddedBroker

__all__ = ["LocalBroker", "find_mosquitto", "free_port", "local_broker"]


@dataclass(frozen=True, slots=True)
class LocalBroker:
    """A running local broker.

    Attributes:
        host: always 127.0.0.1.
        port: the listening port.
        kind: "mosquitto" or "embedded".
        versions: MQTT protocol levels it speaks (4 = 3.1.1, 5).
    """

    host: str
    port: int
    kind: str
    versions: frozenset[int]

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<port>``."""
        return f"mqtt://{self.host}:{self.port}"


def find_mosquitto() -> str | None:
    """The mosquitto binary from PATH, /usr/sbin or /usr/local/sbin, or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


@contextlib.asynccontextmanager
async def local_broker(
    *, prefer: str = "mosquitto", oktopus_prefix: str | None = None, startup_timeout: float = 10.0
) -> AsyncIterator[LocalBroker]:
    """Run a broker for the duration of the ``async with`` block.

    Args:
        prefer: "mosquitto" (used when the binary exists and no Oktopus behaviour is asked for) or
            "embedded" (always ours).
        oktopus_prefix: make the broker behave like Oktopus' (CONNACK ``subscribe-topic``); only our
            embedded broker can.
        startup_timeout: seconds mosquitto may take to accept connections.

    Yields:
        The running broker.

    Raises:
        RuntimeError: mosquitto exited or did not listen in time.
    """
    binary = find_mosquitto() if prefer == "mosquitto" and oktopus_prefix is None else None
    if binary is None:
        async with EmbeddedBroker("127.0.0.1", 0, oktopus_prefix=oktopus_prefix) as broker:
            yield LocalBroker("127.0.0.1", broker.port, "embedded", frozenset({4, 5}))
        return
    with tempfile.TemporaryDirectory(prefix="uspsim-mosquitto-") as tmp:
        port = free_port()
        conf = Path(tmp) / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "log_dest stderr\nlog_type error\nset_tcp_nodelay true\nmax_connections -1\n"
        )
        proc = subprocess.Popen(
            [binary, "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + startup_timeout
            while not await _port_open(port):
                if proc.poll() is not None:
                    msg = f"mosquitto exited with status {proc.returncode} (config {conf})"
                    raise RuntimeError(msg)
                if loop.time() > deadline:
                    msg = f"mosquitto did not listen on 127.0.0.1:{port} within {startup_timeout:g} s"
                    raise RuntimeError(msg)
                await asyncio.sleep(0.05)
            yield LocalBroker("127.0.0.1", port, "mosquitto", frozenset({4, 5}))
        finally:
            proc.terminate()
            try:
                await asyncio.wait_for(asyncio.to_thread(proc.wait), 5)
            except TimeoutError:
                proc.kill()
