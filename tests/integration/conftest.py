"""Integration fixtures: one real mosquitto per session on 127.0.0.1 (or ``USP_SIM_BROKER_URL``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest


def find_mosquitto() -> str | None:
    """The mosquitto binary from PATH or /usr/sbin (Debian installs it there), or None."""
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_accepting(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        if proc.poll() is not None:
            msg = f"mosquitto exited with code {proc.returncode}"
            raise RuntimeError(msg)
        time.sleep(0.05)
    msg = f"mosquitto did not accept connections on {host}:{port} within {timeout} s"
    raise RuntimeError(msg)


@pytest.fixture(scope="session")
def usp_broker_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """``(host, port)`` of a real MQTT broker for the whole session.

    ``USP_SIM_BROKER_URL=mqtt://host:port`` selects an external broker; otherwise a Debian mosquitto
    is started from a temporary config (aiomqtt ``scripts/mosquitto.conf`` style) on a free loopback
    port and terminated at the end. Skips when mosquitto is not installed.
    """
    url = os.environ.get("USP_SIM_BROKER_URL")
    if url:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        yield parts.hostname or "127.0.0.1", parts.port or 1883
        return
    binary = find_mosquitto()
    if binary is None:
        pytest.skip("mosquitto is not installed (PATH, /usr/sbin): apt-get install mosquitto")
    workdir: Path = tmp_path_factory.mktemp("mosquitto")
    port = _free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence false\n"
        "log_dest stderr\n"
        "log_type error\n"
        "log_type warning\n"
        "set_tcp_nodelay true\n"
    )
    log = (workdir / "mosquitto.log").open("wb")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
    try:
        _wait_accepting("127.0.0.1", port, proc, timeout=10)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def usp_broker_url(usp_broker_address: tuple[str, int]) -> str:
    """The session broker as ``mqtt://host:port``."""
    host, port = usp_broker_address
    return f"mqtt://{host}:{port}"


@pytest.fixture
def usp_topic_prefix() -> str:
    """A unique topic prefix per test (aiomqtt ``TOPIC_PREFIX`` idea), so tests never see each other."""
    return f"usp-sim-test/{uuid.uuid4().hex[:12]}"
