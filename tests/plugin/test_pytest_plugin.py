"""The usp_simulator pytest plugin: registration, laziness, options, resets and background failures."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from simulator.fleet.localbroker import find_mosquitto
from simulator.integrations.sandbox import Sandbox


def test_plugin_registered_through_pytest11_entry_point() -> None:
    eps = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert eps.get("usp_simulator") == "simulator.integrations.pytest_plugin"


def test_plugin_options_in_help(plugin_tester: pytest.Pytester) -> None:
    result = plugin_tester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--usp-broker=URL*", "*--usp-agents=N*"])


def test_plugin_lazy_nothing_starts_without_fixtures(plugin_tester: pytest.Pytester) -> None:
    """A suite that never asks for a usp_* fixture imports no runtime module and starts no thread."""
    plugin_tester.makepyfile(
        """
        import sys
        import threading

        def test_untouched():
            assert "simulator.integrations.pytest_plugin" in sys.modules
            assert "simulator.integrations.sandbox" not in sys.modules
            assert "simulator.fleet.runner" not in sys.modules
            assert not [t for t in threading.enumerate() if t.name == "usp-sim-loop"]
        """
    )
    result = plugin_tester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1)


def test_plugin_usp_agents_option_sizes_usp_fleet(plugin_tester: pytest.Pytester) -> None:
    plugin_tester.makepyfile(
        """
        def test_size(usp_fleet, usp_broker):
            assert len(usp_fleet) == 3
            assert usp_fleet.status().connected == 3
            assert usp_broker.kind == "embedded"
        """
    )
    plugin_tester.runpytest("-q", "--usp-agents", "3").assert_outcomes(passed=1)


def test_plugin_background_failure_reraised_at_teardown(plugin_tester: pytest.Pytester) -> None:
    """An agent failure recorded in the loop thread fails the test that used the fleet (B7.8)."""
    plugin_tester.makepyfile(
        """
        def test_agent_crashes(usp_fleet, usp_sandbox):
            fleet = usp_fleet.fleet
            usp_sandbox.loop.call(lambda: fleet._record(fleet.drivers[0], RuntimeError("boom in driver")))

        def test_next_one_is_clean(usp_fleet, usp_probe):
            assert usp_probe.get(usp_fleet.endpoint_ids[0], "Device.DeviceInfo.SerialNumber")
        """
    )
    result = plugin_tester.runpytest("-q", "--usp-agents", "2")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_agent_crashes*", "*boom in driver*"])


def test_plugin_error_message_raises(plugin_tester: pytest.Pytester) -> None:
    plugin_tester.makepyfile(
        """
        import pytest
        from simulator.integrations.sandbox import UnexpectedResponseError

        def test_bad_set(usp_agent, usp_probe):
            with pytest.raises(UnexpectedResponseError) as info:
                usp_probe.set(usp_agent.endpoint_id, {"Device.DeviceInfo.SerialNumber": "x"})
            assert info.value.err_code >= 7000

        def test_bad_get_path_is_per_path(usp_agent, usp_probe):
            resp = usp_probe.get(usp_agent.endpoint_id, ["Device.Nope.", "Device.DeviceInfo.ModelName"])
            assert resp.req_path_results[0].err_code != 0
            assert resp.req_path_results[1].err_code == 0
        """
    )
    plugin_tester.runpytest("-q").assert_outcomes(passed=2)


def test_plugin_external_broker_from_env(
    plugin_tester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``USP_SIM_BROKER_URL`` points the fixtures at an already running broker (none is started)."""
    outside = Sandbox()
    try:
        broker = outside.start_broker("embedded")
        monkeypatch.setenv("USP_SIM_BROKER_URL", broker.url)
        plugin_tester.makepyfile(
            f"""
            def test_external(usp_broker, usp_broker_url, usp_fleet, usp_probe):
                assert usp_broker.kind == "external"
                assert usp_broker_url == "{broker.url}"
                assert usp_probe.get_values(usp_fleet.endpoint_ids[-1], "Device.DeviceInfo.SerialNumber")
            """
        )
        plugin_tester.runpytest("-q", "--usp-agents", "2").assert_outcomes(passed=1)
    finally:
        outside.close()


def test_plugin_usp_broker_url_override_skips_embedded_broker(plugin_tester: pytest.Pytester) -> None:
    outside = Sandbox()
    try:
        broker = outside.start_broker("embedded")
        plugin_tester.makeconftest(
            f"""
            import pytest

            @pytest.fixture(scope="session")
            def usp_broker_url():
                return "{broker.url}"
            """
        )
        plugin_tester.makepyfile(
            """
            def test_override(usp_fleet, usp_probe, request):
                assert "usp_broker" not in request.fixturenames
                assert usp_probe.get(usp_fleet.endpoint_ids[0], "Device.DeviceInfo.")
            """
        )
        plugin_tester.runpytest("-q", "--usp-agents", "1").assert_outcomes(passed=1)
    finally:
        outside.close()


@pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed (apt-get install mosquitto)")
def test_plugin_mosquitto_broker_option(plugin_tester: pytest.Pytester) -> None:
    plugin_tester.makepyfile(
        """
        def test_on_mosquitto(usp_broker, usp_fleet, usp_probe):
            assert usp_broker.kind == "mosquitto"
            for eid in usp_fleet:
                assert usp_probe.get_values(eid, "Device.DeviceInfo.SerialNumber")
        """
    )
    plugin_tester.runpytest("-q", "--usp-broker", "mosquitto", "--usp-agents", "4").assert_outcomes(passed=1)


def test_plugin_bad_broker_url_fails_setup(plugin_tester: pytest.Pytester) -> None:
    plugin_tester.makepyfile(
        """
        def test_never_runs(usp_fleet):
            raise AssertionError("unreachable")
        """
    )
    result = plugin_tester.runpytest("-q", "--usp-broker", "http://nope")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*expected mqtt://host:port*"])


def test_plugin_factory_caches_and_separates_fleets(plugin_tester: pytest.Pytester) -> None:
    plugin_tester.makepyfile(
        """
        def test_factory(make_usp_fleet, usp_fleet):
            a = make_usp_fleet(2)
            assert a is usp_fleet  # same options as usp_fleet (--usp-agents 2): the same fleet
            b = make_usp_fleet(2, mqtt_version=4)
            assert b is not a and make_usp_fleet(2, mqtt_version=4) is b
            assert len(set(a.endpoint_ids) | set(b.endpoint_ids)) == 4
            assert b.probe().get_values(b.endpoint_ids[0], "Device.DeviceInfo.SerialNumber")
        """
    )
    plugin_tester.runpytest("-q", "--usp-agents", "2").assert_outcomes(passed=1)
