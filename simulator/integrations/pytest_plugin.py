"""pytest plugin: USP agents, a broker and a probe controller as fixtures for controller integration tests.

Registered through the ``pytest11`` entry point, so it is active wherever usp-simulator is installed;
nothing starts unless a test requests a ``usp_*`` fixture (heavy modules are imported inside the
fixtures). The fixtures come in three layers (architecture.md B10.8, pytest-httpserver):

- configuration, overridable in a conftest.py: ``usp_broker_url``, ``usp_agents``, ``usp_datamodel``,
  ``usp_fleet_options`` (and the options ``--usp-broker`` / ``--usp-agents``, env ``USP_SIM_BROKER_URL``);
- session factories: ``make_usp_fleet`` (expensive: builds and connects a fleet once per option set),
  ``usp_sandbox`` (the background event-loop thread that runs broker, fleets and probes);
- per-test handles with a cheap reset: ``usp_fleet``, ``usp_agent``, ``usp_probe``.

Background failures (an agent's driver crashing, the probe losing its connection) are re-raised at
the teardown of the test that used the fixture (architecture.md B7.8). See docs/pytest-plugin.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from simulator.integrations.sandbox import AgentHandle, BrokerInfo, FleetHandle, Sandbox, SyncProbe

ENV_BROKER_URL = "USP_SIM_BROKER_URL"
"""Environment variable naming the broker (same values as ``--usp-broker``)."""

DEFAULT_AGENTS = 10
"""Agents in ``usp_fleet`` unless ``--usp-agents`` or the ``usp_agents`` fixture says otherwise."""


class MakeUspFleet(Protocol):
    """Type of the ``make_usp_fleet`` factory."""

    def __call__(
        self, count: int | None = None, *, profile: str | None = None, **options: Any
    ) -> FleetHandle:
        """Return the (started, cached) fleet for these options."""
        ...


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--usp-broker`` and ``--usp-agents``."""
    group = parser.getgroup("usp-simulator", "USP agent simulator fixtures")
    group.addoption(
        "--usp-broker",
        default=None,
        metavar="URL",
        help=f"broker for the usp_* fixtures: embedded (default), mosquitto or mqtt://host:port "
        f"(env {ENV_BROKER_URL})",
    )
    group.addoption(
        "--usp-agents",
        type=int,
        default=None,
        metavar="N",
        help=f"agents in the usp_fleet fixture (default {DEFAULT_AGENTS})",
    )


# -- layer 1: configuration (override these in conftest.py) -------------------------------------------------
@pytest.fixture(scope="session")
def usp_broker(request: pytest.FixtureRequest, usp_sandbox: Sandbox) -> BrokerInfo:
    """The broker: ``--usp-broker``, else ``USP_SIM_BROKER_URL``, else our embedded broker on 127.0.0.1."""
    spec = request.config.getoption("--usp-broker") or os.environ.get(ENV_BROKER_URL) or "embedded"
    return usp_sandbox.start_broker(spec)


@pytest.fixture(scope="session")
def usp_broker_url(usp_broker: BrokerInfo) -> str:
    """``mqtt://host:port`` the agents connect to; override it to point the fleets elsewhere."""
    return usp_broker.url


@pytest.fixture(scope="session")
def usp_agents(request: pytest.FixtureRequest) -> int:
    """Default fleet size (``--usp-agents``)."""
    value = request.config.getoption("--usp-agents")
    return int(value) if value else DEFAULT_AGENTS


@pytest.fixture(scope="session")
def usp_datamodel() -> str:
    """Default data-model profile: a name under ``datamodels/`` or a YAML path."""
    return "minimal"


@pytest.fixture(scope="session")
def usp_fleet_options() -> dict[str, Any]:
    """Extra ``make_usp_fleet`` options for ``usp_fleet``, ``usp_agent`` and ``usp_probe``."""
    return {}


# -- layer 2: session factories ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def usp_sandbox() -> Iterator[Sandbox]:
    """The background event-loop thread and everything running on it (stopped at session end)."""
    from simulator.integrations.sandbox import Sandbox

    sandbox = Sandbox()
    yield sandbox
    sandbox.close()


@pytest.fixture(scope="session")
def make_usp_fleet(
    usp_sandbox: Sandbox, usp_broker_url: str, usp_agents: int, usp_datamodel: str
) -> MakeUspFleet:
    """Factory: ``make_usp_fleet(count=None, *, profile=None, **options) -> FleetHandle``.

    The first call with a given option set builds the fleet and waits until every agent is connected;
    later calls return the same running fleet. Options: ``endpoint_id`` (template over ``{index}``),
    ``mqtt_version`` (5 or 4), ``controller_profile`` ("generic", "oktopus", "openusp"...),
    ``controller_id``, ``agent_topic``, ``controller_topic``, ``send_connect_record``,
    ``boot_subscription``, ``spawn_rate``, ``seed``, ``command_options``, ``start``, ``connect_timeout``.
    """

    def make(count: int | None = None, *, profile: str | None = None, **options: Any) -> FleetHandle:
        return usp_sandbox.fleet(
            usp_broker_url, count or usp_agents, profile=profile or usp_datamodel, **options
        )

    return make


# -- layer 3: per-test handles ----------------------------------------------------------------------
def _fresh(handle: FleetHandle) -> Iterator[FleetHandle]:
    if handle.used:
        handle.restart()
    try:
        yield handle
    finally:
        handle.used = True
    handle.check()


@pytest.fixture
def usp_fleet(make_usp_fleet: MakeUspFleet, usp_fleet_options: dict[str, Any]) -> Iterator[FleetHandle]:
    """``usp_agents`` connected agents; each test gets them in their initial state (restarted if used)."""
    yield from _fresh(make_usp_fleet(**usp_fleet_options))


@pytest.fixture
def usp_agent(make_usp_fleet: MakeUspFleet, usp_fleet_options: dict[str, Any]) -> Iterator[AgentHandle]:
    """One connected agent (its own fleet of one, separate from ``usp_fleet``), fresh for each test."""
    options = {"endpoint_id": "os::012345-AGENT{index:06d}", **usp_fleet_options}
    for handle in _fresh(make_usp_fleet(1, **options)):
        yield handle.agent(0)


@pytest.fixture
def usp_probe(
    usp_sandbox: Sandbox, usp_broker_url: str, usp_fleet_options: dict[str, Any]
) -> Iterator[SyncProbe]:
    """The built-in controller, with the default fleets' controller identity; notifications cleared."""
    from simulator.integrations.sandbox import controller_config

    controller = controller_config(**usp_fleet_options)
    probe = usp_sandbox.probe(
        usp_broker_url, controller, mqtt_version=int(usp_fleet_options.get("mqtt_version", 5))
    )
    probe.clear()
    yield probe
    probe.check()
