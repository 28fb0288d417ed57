"""A broker on 127.0.0.1 for ``broker: embedded``: mosquitto on a free port when installed, else ours."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

from simulator.transports.broker import EmbeddedBroker

__all__ = [
    "LocalBroker",
    "Mosquitto",
    "find_mosquitto",
    "free_port",
    "local_broker",
    "mosquitto_conf",
    "wait_listening",
]


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
    """The mosquitto binary from PATH, /usr/sbin or /usr/local/sbin (Debian installs it there), or None."""
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


def mosquitto_conf(
    port: int, extra: str = "", *, log_types: Iterable[str] = ("error",), user: str | None = None
) -> str:
    """A mosquitto configuration: one 127.0.0.1 listener on ``port``, no persistence, no connection cap.

    Args:
        port: the listener port.
        extra: further lines (authentication, TLS...); ``allow_anonymous true`` when empty.
        log_types: the ``log_type`` lines (logging goes to stderr).
        user: the user to run as; mosquitto started as root otherwise drops to user "mosquitto".
    """
    return (
        f"listener {port} 127.0.0.1\npersistence false\nlog_dest stderr\n"
        + "".join(f"log_type {kind}\n" for kind in log_types)
        + "set_tcp_nodelay true\nmax_connections -1\n"
        + (f"user {user}\n" if user else "")
        + (extra or "allow_anonymous true\n")
    )


def _accepting(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float, name: str = "mosquitto") -> None:
    """Block until ``proc`` accepts TCP connections on 127.0.0.1:``port``.

    Raises:
        RuntimeError: the process exited, or did not listen within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while not _accepting(port):
        if proc.poll() is not None:
            msg = f"{name} exited with status {proc.returncode}"
            raise RuntimeError(msg)
        if time.monotonic() > deadline:
            msg = f"{name} did not listen on 127.0.0.1:{port} within {timeout:g} s"
            raise RuntimeError(msg)
        time.sleep(0.05)


class Mosquitto:
    """One mosquitto process on a fixed 127.0.0.1 port, which may be stopped or killed and started again.

    Attributes:
        port: the listener port (kept across restarts).
        conf: the configuration file (written once, in ``workdir``).
        log: the broker's log file (stdout + stderr, appended across restarts).
    """

    def __init__(
        self,
        binary: str,
        workdir: Path,
        port: int,
        extra_conf: str = "",
        *,
        log_types: Iterable[str] = ("error",),
        user: str | None = None,
    ) -> None:
        self.binary = binary
        self.port = port
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        self.conf.write_text(mosquitto_conf(port, extra_conf, log_types=log_types, user=user))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """The process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def launch(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting for its listener."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.conf)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        return self.proc

    def _failure(self, timeout: float) -> str:
        assert self.proc is not None
        if self.proc.poll() is not None:
            return f"mosquitto exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}"
        return f"mosquitto did not listen on 127.0.0.1:{self.port} within {timeout:g} s"

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker and wait until it accepts TCP connections on ``port``.

        Raises:
            RuntimeError: the process exited or did not listen in time (the message ends with its log).
        """
        proc = self.launch()
        try:
            wait_listening(self.port, proc, timeout)
        except RuntimeError:
            raise RuntimeError(self._failure(timeout)) from None

    async def start_async(self, timeout: float = 10.0) -> None:
        """``start`` without blocking the event loop.

        Raises:
            RuntimeError: the process exited or did not listen in time.
        """
        proc = self.launch()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await _port_open(self.port):
            if proc.poll() is not None or loop.time() > deadline:
                raise RuntimeError(self._failure(timeout))
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no DISCONNECT, no FIN handshake courtesy, every session state lost (persistence false)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)

    def stop(self) -> None:
        """Terminate (then kill) the process."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


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
        mosquitto = Mosquitto(binary, Path(tmp), free_port())
        try:
            await mosquitto.start_async(startup_timeout)
            yield LocalBroker("127.0.0.1", mosquitto.port, "mosquitto", frozenset({4, 5}))
        finally:
            # stop() waits up to 5 s for the exit: off the event loop
            await asyncio.to_thread(mosquitto.stop)
