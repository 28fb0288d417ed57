"""Broker fixtures for the transport tests: a session mosquitto (reused when conftest offers one) and ours.

Import the fixtures into a test module (``from fixtures_broker import mosquitto_address, ...``).
``mosquitto_address`` prefers, in order: ``USP_SIM_BROKER_URL``; the suite's own session fixture
``usp_broker_url`` from ``tests/integration/conftest.py`` when it exists; else it starts one Debian
mosquitto for the session on a free 127.0.0.1 port (aiomqtt ``scripts/mosquitto.conf`` style).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from simulator.fleet.localbroker import Mosquitto, find_mosquitto, free_port
from simulator.transports.broker import EmbeddedBroker


def require_mosquitto() -> str:
    """The mosquitto binary; skips the test when it is missing (fails it under CI)."""
    binary = find_mosquitto()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto is required in CI (apt-get install mosquitto)")
        pytest.skip("mosquitto not installed (apt-get install mosquitto)")
    return binary


@pytest.fixture(scope="session")
def _own_mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    broker = Mosquitto(require_mosquitto(), tmp_path_factory.mktemp("mosquitto-transports"), free_port())
    try:
        broker.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield "127.0.0.1", broker.port
    finally:
        broker.stop()


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
