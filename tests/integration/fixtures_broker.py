"""Broker fixtures for the transport tests: a session mosquitto (reused when conftest offers one) and ours.

Import the fixtures into a test module (``from fixtures_broker import mosquitto_address, ...``).
``mosquitto_address`` prefers, in order: ``USP_SIM_BROKER_URL``; the suite's own session fixture
``usp_broker_url`` from ``tests/integration/conftest.py`` when it exists; else it starts one Debian
mosquitto for the session on a free 127.0.0.1 port (aiomqtt ``scripts/mosquitto.conf`` style).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from simulator.transports.broker import EmbeddedBroker


def find_mosquitto() -> str | None:
    """The mosquitto binary from PATH or /usr/sbin, or None."""
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def _own_mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    binary = find_mosquitto()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto is required in CI (apt-get install mosquitto)")
        pytest.skip("mosquitto not installed (apt-get install mosquitto)")
    workdir: Path = tmp_path_factory.mktemp("mosquitto-transports")
    port = _free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "log_dest stderr\nlog_type error\nset_tcp_nodelay true\nmax_connections -1\n"
    )
    proc = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mosquitto did not start on 127.0.0.1:{port}")
            time.sleep(0.05)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def mosquitto_address(request: pytest.FixtureRequest) -> tuple[str, int]:
    """``(host, port)`` of a real mosquitto for this session."""
    url = os.environ.get("USP_SIM_BROKER_URL")
    if not url:
        with contextlib.suppress(pytest.FixtureLookupError):
            url = request.getfixturevalue("usp_broker_url")
    if url:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        return parts.hostname or "127.0.0.1", parts.port or 1883
    address: tuple[str, int] = request.getfixturevalue("_own_mosquitto")
    return address


@pytest_asyncio.fixture
async def embedded_broker() -> AsyncIterator[EmbeddedBroker]:
    """A fresh embedded broker per test: Oktopus mode off, CONNECT packets recorded."""
    async with EmbeddedBroker(record_connects=True) as broker:
        yield broker


@pytest.fixture
def topic_prefix() -> str:
    """A unique topic prefix per test (aiomqtt ``TOPIC_PREFIX`` idea)."""
    return f"usp-sim-test/{uuid.uuid4().hex[:12]}"
