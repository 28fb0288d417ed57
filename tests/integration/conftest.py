"""Integration fixtures: one real mosquitto per session on 127.0.0.1 (or ``USP_SIM_BROKER_URL``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from simulator.fleet.localbroker import Mosquitto, find_mosquitto, free_port


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
    broker = Mosquitto(
        binary, tmp_path_factory.mktemp("mosquitto"), free_port(), log_types=("error", "warning")
    )
    try:
        broker.start()
        yield "127.0.0.1", broker.port
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def usp_broker_url(usp_broker_address: tuple[str, int]) -> str:
    """The session broker as ``mqtt://host:port``."""
    host, port = usp_broker_address
    return f"mqtt://{host}:{port}"


@pytest.fixture
def usp_topic_prefix() -> str:
    """A unique topic prefix per test (aiomqtt ``TOPIC_PREFIX`` idea), so tests never see each other."""
    return f"usp-sim-test/{uuid.uuid4().hex[:12]}"
