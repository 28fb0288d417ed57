"""Scenario behaviours: rates, tickers, agent selection and each family's effect, on a fake loop clock.

The families act on real sans-I/O agents (home-gateway profile) through a fake driver that records what
the real ``AgentDriver`` would execute; no event loop, no sockets, no sleeping.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from typing import Any

import pytest
from helpers import AgentPair

from simulator.agent.actions import Action, CancelTimer, Disconnect, Observe, Schedule, Send, Timer
from simulator.agent.behaviour import AgentBehaviour
from simulator.agent.commands.rows import table_node
from simulator.agent.faults import FaultKind, FaultSpec
from simulator.fleet.behaviours import ScenarioEngine
from simulator.fleet.behaviours.schedule import Ticker
from simulator.fleet.behaviours.spec import OPTIONS, AgentSelection, BehaviourSpec, FaultConfig, Rate
from simulator.fleet.behaviours.values import new_value
from simulator.fleet.driver import DriverState
from simulator.fleet.metrics import Metrics

EPOCH = 1_700_000_000.0


class FakeClock:
    """``time()`` + ``call_at`` over a heap; time moves only in ``advance``."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self._heap: list[tuple[float, int, Callable[..., Any], tuple[Any, ...], list[bool]]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Any:
        cancelled = [False]
        heapq.heappush(self._heap, (when, next(self._seq), callback, args, cancelled))

        class _Handle:
            def cancel(self) -> None:
                cancelled[0] = True

        return _Handle()

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while self._heap and self._heap[0][0] <= end:
            when, _, callback, args, cancelled = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            if not cancelled[0]:
                callback(*args)
        self.now = end


class FakeDriver:
    """What the families use of AgentDriver, recording instead of doing I/O."""

    def __init__(self, pair: AgentPair, clock: FakeClock, state: DriverState = DriverState.CONNECTED) -> None:
        self.pair = pair
        self.agent = pair.agent
        self.clock = clock
        self.state = state
        self.executed: list[Action] = []
        self.disconnects: list[tuple[str, float | None, bool]] = []
        self.fault_hook: Any = None
        self.timers: dict[Timer, Any] = {}

    @property
    def endpoint_id(self) -> str:
        return self.agent.endpoint_id

    def now(self) -> float:
        return self.clock.time() + EPOCH

    def apply(self, call: Callable[..., list[Action]], *args: Any) -> None:
        actions = call(*args)
        self.executed += actions
        for action in actions:  # agent timers run on the fake clock, like AgentDriver's loop.call_at
            if isinstance(action, Schedule):
                old = self.timers.pop(action.timer, None)
                if old is not None:
                    old.cancel()
                self.timers[action.timer] = self.clock.call_at(action.at - EPOCH, self._fire, action.timer)
            elif isinstance(action, CancelTimer) and action.timer in self.timers:
                self.timers.pop(action.timer).cancel()

    def _fire(self, timer: Timer) -> None:
        self.timers.pop(timer, None)
        self.apply(self.agent.fire, timer, self.now())

    def disconnect_now(self, reason: str, reconnect_after: float | None, *, graceful: bool = True) -> bool:
        if self.state is not DriverState.CONNECTED:
            return False
        self.disconnects.append((reason, reconnect_after, graceful))
        return True

    def sent(self, prefix: str = "") -> list[Send]:
        return [a for a in self.executed if isinstance(a, Send) and a.msg_type.startswith(prefix)]


def spec(kind: str, *, rate: Rate | None = None, agents: AgentSelection | None = None, start: float = 0.0,
         stop: float | None = None, **options: Any) -> BehaviourSpec:
    return BehaviourSpec(kind, kind, start, stop, agents or AgentSelection(), rate, options)


def fleet(behaviours: tuple[BehaviourSpec, ...], n: int = 3, faults: tuple[FaultConfig, ...] = (),
          ) -> tuple[ScenarioEngine, FakeClock, list[FakeDriver], Metrics]:
    clock, metrics = FakeClock(), Metrics()
    engine = ScenarioEngine(behaviours, faults, metrics.events, n, seed=3)
    engine.start(clock)
    drivers = []
    for i in range(n):
        pair = AgentPair("home-gateway", endpoint_id=f"os::012345-U{i:03d}", behaviour=True, now=EPOCH + 100)
        driver = FakeDriver(pair, clock)
        pair.agent.start(driver.now())
        pair.agent.mtp_connected(driver.now())  # the controller is ready: Notifies are sent, not held
        engine.attach(driver, i)  # type: ignore[arg-type]
        drivers.append(driver)
    return engine, clock, drivers, metrics


def subscribe(driver: FakeDriver, notif_type: str, reference: str) -> None:
    driver.pair.now = driver.now()
    driver.pair.subscription(f"s-{notif_type}", NotifType=notif_type, ReferenceList=reference, Enable="true")


def stations(driver: FakeDriver, ap: int = 1) -> int:
    ctx = driver.agent.ctx
    table = table_node(ctx, "Device.WiFi.AccessPoint.{i}.AssociatedDevice.{i}.")
    assert table is not None
    return len(ctx.store.instances(table, (ap,)))


# -- timing primitives ------------------------------------------------------------------------------------
def test_behaviours_poisson_gaps_average_one_over_rate() -> None:
    rng = random.Random(1)
    gaps = [Rate(4.0).next_gap(rng) for _ in range(4000)]
    assert 0.23 < sum(gaps) / len(gaps) < 0.27
    assert min(gaps) > 0


def test_behaviours_uniform_gaps_with_jitter_stay_within_bounds() -> None:
    rng = random.Random(1)
    gaps = [Rate(2.0, "uniform", 0.2).next_gap(rng) for _ in range(1000)]
    assert min(gaps) >= 0.4
    assert max(gaps) <= 0.6
    assert Rate(2.0, "uniform").next_gap(rng) == 0.5


def test_behaviours_ticker_runs_between_begin_and_end_without_drift() -> None:
    clock = FakeClock(0.0)
    times: list[float] = []
    rate = Rate(2.0, "uniform")
    ticker = Ticker(clock, rate, random.Random(1), lambda: times.append(clock.time()), 10.0, 15.0)
    ticker.start()
    clock.advance(30)
    assert times == [10.5 + 0.5 * i for i in range(9)]
    assert ticker.calls == 9


def test_behaviours_ticker_cancel_stops_calls() -> None:
    clock = FakeClock(0.0)
    calls: list[float] = []
    ticker = Ticker(clock, Rate(10.0), random.Random(1), lambda: calls.append(clock.time()), 0.0, None)
    ticker.start()
    clock.advance(1.0)
    ticker.cancel()
    seen = len(calls)
    clock.advance(5.0)
    assert len(calls) == seen > 0


def test_behaviours_selection_is_reproducible_and_exact() -> None:
    share = AgentSelection(share=0.1)
    assert share.resolve(1000, "x", 1) == share.resolve(1000, "x", 1)
    assert len(share.resolve(1000, "x", 1)) == 100
    assert share.resolve(1000, "x", 1) != share.resolve(1000, "y", 1)
    assert len(AgentSelection(count=7).resolve(1000, "x")) == 7
    assert AgentSelection(indexes=((2, 5), (8, 9))).resolve(1000, "x") == {2, 3, 4, 8}
    assert AgentSelection(count=2, indexes=((0, 4),)).resolve(1000, "x") <= {0, 1, 2, 3}
    assert AgentSelection().resolve(5, "x") == {0, 1, 2, 3, 4}


def test_behaviours_selection_is_the_same_in_every_shard() -> None:
    b = spec("churn", rate=Rate(1.0), agents=AgentSelection(share=0.5))
    metrics = Metrics()
    whole = ScenarioEngine((b,), (), metrics.events, 100, seed=9).families[0].selected
    low = ScenarioEngine((b,), (), metrics.events, 100, (0, 50), seed=9).families[0].selected
    high = ScenarioEngine((b,), (), metrics.events, 100, (50, 50), seed=9).families[0].selected
    assert low | high == whole
    assert not low & high


def test_behaviours_every_kind_has_a_family() -> None:
    from simulator.fleet.behaviours import FAMILIES

    assert set(FAMILIES) == set(OPTIONS)


# -- families ---------------------------------------------------------------------------------------------
def test_behaviours_churn_disconnects_at_the_rate_until_stop() -> None:
    b = spec("churn", rate=Rate(2.0, "uniform"), start=1.0, stop=6.0, abrupt=0.5, downtime=1.0,
             downtime_max=3.0)
    _, clock, drivers, metrics = fleet((b,))
    clock.advance(20)
    events = [d for driver in drivers for d in driver.disconnects]
    assert len(events) == 9  # every 0.5 s in (1, 6)
    assert {graceful for _, _, graceful in events} == {True, False}
    assert all(1.0 <= after <= 3.0 for _, after, _ in events)  # type: ignore[operator]
    stats = metrics.stats
    assert stats.count("behaviour", "churn:graceful") + stats.count("behaviour", "churn:abrupt") == 9


def test_behaviours_churn_skips_agents_that_are_not_connected() -> None:
    _, clock, drivers, metrics = fleet((spec("churn", rate=Rate(1.0, "uniform"), stop=3.5),))
    for d in drivers:
        d.state = DriverState.WAITING
    clock.advance(5)
    assert not any(d.disconnects for d in drivers)
    assert metrics.stats.count("behaviour", "churn:skipped") == 3


def test_behaviours_boot_storm_power_cycles_everyone_with_a_ramp() -> None:
    b = spec("boot_storm", start=2.0, ramp=4.0, downtime=1.0)
    _, clock, drivers, metrics = fleet((b,), n=4)
    clock.advance(1.9)
    assert not any(d.disconnects for d in drivers)
    clock.advance(0.2)
    backs = sorted(after for d in drivers for _, after, graceful in d.disconnects if not graceful)  # type: ignore[misc]
    assert backs == [1.0, 2.0, 3.0, 4.0]
    assert all(not any(isinstance(a, Disconnect) for a in d.executed) for d in drivers)
    for d in drivers:
        behaviour = d.agent.behaviour
        assert isinstance(behaviour, AgentBehaviour)
        assert behaviour.boot.cause == "LocalReboot"
    assert metrics.stats.count("behaviour", "boot_storm") == 4


def test_behaviours_boot_storm_at_once() -> None:
    _, clock, drivers, _ = fleet((spec("boot_storm", start=1.0, downtime=0.5),), n=3)
    clock.advance(2)
    assert [d.disconnects for d in drivers] == [[("power-cycle", 0.5, False)]] * 3


def test_behaviours_reboot_goes_through_the_agent_reboot() -> None:
    b = spec("reboot", rate=Rate(1.0, "uniform"), stop=1.5, downtime=0.7)
    _, clock, drivers, metrics = fleet((b,), n=1)
    clock.advance(3)
    (driver,) = drivers
    assert [a for a in driver.executed if isinstance(a, Disconnect)] == [Disconnect("reboot", 0.7)]
    assert metrics.stats.count("behaviour", "reboot") == 1


def test_behaviours_value_change_writes_and_notifies_subscribers() -> None:
    path = "Device.WiFi.Radio.1.Channel"
    _, clock, drivers, metrics = fleet((spec("value_change", rate=Rate(1.0, "uniform"), stop=3.5,
                                              params=(path,)),), n=1)
    (driver,) = drivers
    subscribe(driver, "ValueChange", path)
    before = driver.pair.value(path)
    clock.advance(1.1)
    assert driver.pair.value(path) != before
    assert len(driver.sent("Notify:ValueChange")) == 1
    clock.advance(5)
    assert metrics.stats.count("behaviour", "value_change") == 3


def test_behaviours_value_change_counts_missing_parameters() -> None:
    _, clock, _, metrics = fleet((spec("value_change", rate=Rate(1.0, "uniform"), stop=1.5,
                                       params=("Device.Nope.X",)),), n=1)
    clock.advance(2)
    assert metrics.stats.errors == {("behaviour", "value_change:missing"): 1}


def test_behaviours_new_value_follows_the_type() -> None:
    pair = AgentPair("home-gateway")
    ctx, rng = pair.agent.ctx, random.Random(1)

    def typ(path: str) -> Any:
        found = ctx.locate_param(path)
        assert found is not None
        return found[0].type

    assert new_value(typ("Device.WiFi.Radio.1.AutoChannelEnable"), "true", rng) == "false"
    for _ in range(50):
        value = int(new_value(typ("Device.WiFi.Radio.1.Channel"), "6", rng))
        assert 1 <= value <= 255
        assert value != 6
    assert new_value(typ("Device.WiFi.Radio.1.Channel"), "6", rng, ("6", "11")) == "11"


def test_behaviours_wifi_clients_join_and_leave_with_hosts() -> None:
    b = spec("wifi_clients", rate=Rate(1.0, "uniform"), stop=2.5, leave_rate=0.5, max_clients=8,
             access_points=(1,))
    _, clock, drivers, metrics = fleet((b,), n=1)
    (driver,) = drivers
    subscribe(driver, "ObjectCreation", "Device.WiFi.AccessPoint.1.AssociatedDevice.")
    subscribe(driver, "ObjectDeletion", "Device.Hosts.Host.")
    initial = stations(driver)
    clock.advance(1.05)
    created = driver.sent("Notify:ObjectCreation")
    assert len(created) == 1
    assert stations(driver) == initial + 1
    clock.advance(2)
    assert metrics.stats.count("behaviour", "wifi_clients:join") == 2
    assert metrics.stats.count("behaviour", "wifi_clients:leave") == 1
    # the leave removed a station and the Host rows pointing at it
    assert stations(driver) == initial + 1


def test_behaviours_wifi_clients_respect_max_clients() -> None:
    b = spec("wifi_clients", rate=Rate(5.0, "uniform"), stop=3.0, leave_rate=0.001, max_clients=4,
             access_points=(1,))
    _, clock, drivers, metrics = fleet((b,), n=1)
    clock.advance(3)
    assert stations(drivers[0]) == 4
    assert metrics.stats.count("behaviour", "wifi_clients:join_full") > 0


def test_behaviours_periodic_notify_configures_agents_attached_before_and_after_start() -> None:
    _, clock, drivers, metrics = fleet((spec("periodic_notify", start=1.0, interval=5),), n=2)
    assert drivers[0].pair.value("Device.LocalAgent.Controller.1.PeriodicNotifInterval") == "300"
    clock.advance(1.5)
    for d in drivers:
        assert d.pair.value("Device.LocalAgent.Controller.1.PeriodicNotifInterval") == "5"
        d.pair.now = d.now()
        ids = d.pair.get("Device.LocalAgent.Subscription.*.ID").req_path_results[0].resolved_path_results
        assert "uspsim-periodic" in {r.result_params["ID"] for r in ids}
    assert metrics.stats.count("behaviour", "periodic_notify") == 2


def test_behaviours_bulk_data_enables_the_profile() -> None:
    _, clock, drivers, _ = fleet((spec("bulk_data", interval=2, stop=5.0),), n=1)
    clock.advance(0.1)
    (driver,) = drivers
    assert driver.pair.value("Device.BulkData.Profile.1.Enable") == "true"
    assert driver.pair.value("Device.BulkData.Profile.1.ReportingInterval") == "2"
    clock.advance(5)
    assert driver.pair.value("Device.BulkData.Profile.1.Enable") == "false"


def test_behaviours_firmware_campaign_starts_a_download_on_the_inactive_bank() -> None:
    b = spec("firmware_campaign", start=1.0, ramp=2.0, version="7.0.0", agents=AgentSelection(count=2))
    _, clock, drivers, metrics = fleet((b,), n=4)
    clock.advance(1.5)
    assert metrics.stats.count("behaviour", "firmware_campaign:download") == 1
    clock.advance(2)
    assert metrics.stats.count("behaviour", "firmware_campaign:download") == 2
    updated = [d for d in drivers if d.pair.value("Device.DeviceInfo.FirmwareImage.2.Version") == "7.0.0"]
    assert len(updated) == 2
    assert {d.pair.value("Device.DeviceInfo.FirmwareImage.2.Status") for d in updated} == {
        "Downloading", "Validating"}
    clock.advance(5)  # download 2 s + validation 1 s, then AutoActivate reboots into the image
    for d in updated:
        d.pair.now = d.now()
        assert d.pair.value("Device.DeviceInfo.SoftwareVersion") == "7.0.0"
        assert d.pair.value("Device.DeviceInfo.ActiveFirmwareImage") == "Device.DeviceInfo.FirmwareImage.2"
        assert [n.msg_type for n in d.sent("Notify")] == ["Notify:TransferComplete!"]
        assert Disconnect("reboot", 2.0) in d.executed


def test_behaviours_firmware_offer_stages_the_image() -> None:
    b = spec("firmware_campaign", start=0.5, mode="offer", version="7.0.0")
    _, clock, drivers, metrics = fleet((b,), n=1)
    clock.advance(1)
    pair = drivers[0].pair
    assert pair.value("Device.DeviceInfo.FirmwareImage.2.Version") == "7.0.0"
    assert pair.value("Device.DeviceInfo.FirmwareImage.2.Status") == "Available"
    assert metrics.stats.count("behaviour", "firmware_campaign:offer") == 1


def test_behaviours_engine_stop_cancels_timers() -> None:
    engine, clock, drivers, _ = fleet((spec("churn", rate=Rate(1.0, "uniform")),), n=1)
    clock.advance(2.5)
    engine.stop()
    clock.advance(10)
    assert len(drivers[0].disconnects) == 2


def test_behaviours_engine_installs_fault_hooks_on_selected_agents_only() -> None:
    fault = FaultConfig(FaultSpec(FaultKind.ERROR, 1.0), AgentSelection(indexes=((1, 2),)))
    _, clock, drivers, _ = fleet((), n=3, faults=(fault,))
    assert [d.fault_hook is not None for d in drivers] == [False, True, False]
    pair = drivers[1].pair
    from simulator.usp.requests import Get

    _, record = pair.controller.request(Get(("Device.DeviceInfo.SerialNumber",)))
    actions = drivers[1].fault_hook(drivers[1], pair.send(record))
    assert [a.msg_type for a in actions if isinstance(a, Send)] == ["Error"]
    assert Observe("fault", "error") in actions


def test_behaviours_late_fault_hook_sends_through_the_clock() -> None:
    fault = FaultConfig(FaultSpec(FaultKind.LATE, 1.0, delay=2.0))
    _, clock, drivers, _ = fleet((), n=1, faults=(fault,))
    (driver,) = drivers
    from simulator.usp.requests import Get

    _, record = driver.pair.controller.request(Get(("Device.DeviceInfo.SerialNumber",)))
    now = driver.fault_hook(driver, driver.pair.send(record))
    assert not [a for a in now if isinstance(a, Send)]
    clock.advance(1.9)
    assert not driver.sent()
    clock.advance(0.2)
    assert [s.msg_type for s in driver.sent()] == ["GetResp"]


@pytest.mark.parametrize("kind", sorted(OPTIONS))
def test_behaviours_every_kind_runs_without_errors(kind: str) -> None:
    required: dict[str, Any] = {"value_change": {"params": ("Device.WiFi.Radio.1.Channel",)},
                                "periodic_notify": {"interval": 1}, "bulk_data": {"interval": 1}}
    rate = Rate(2.0) if kind in {"churn", "reboot", "value_change", "wifi_clients"} else None
    _, clock, _, metrics = fleet((spec(kind, rate=rate, stop=3.0, **required.get(kind, {})),), n=2)
    clock.advance(5)
    assert metrics.stats.error_count() == 0
    assert metrics.stats.count("behaviour") > 0


def test_behaviours_firmware_campaign_waits_for_agents_that_are_not_connected() -> None:
    _, clock, drivers, metrics = fleet((spec("firmware_campaign", start=1.0, version="7.0.0"),), n=1)
    (driver,) = drivers
    driver.state = DriverState.WAITING
    clock.advance(2.5)
    assert metrics.stats.count("behaviour", "firmware_campaign:deferred") == 1
    assert driver.pair.value("Device.DeviceInfo.FirmwareImage.2.Version") != "7.0.0"
    driver.state = DriverState.CONNECTED
    clock.advance(1.0)
    assert driver.pair.value("Device.DeviceInfo.FirmwareImage.2.Version") == "7.0.0"
    assert metrics.stats.count("behaviour", "firmware_campaign:download") == 1
