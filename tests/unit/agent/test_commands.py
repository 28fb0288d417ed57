"""Simulated command flows: reboot, factory reset, firmware, diagnostics, software modules."""

from __future__ import annotations

from typing import Any

from test_tp469_notify import body, call, connect, make, schedules, split, subscribe

from simulator.agent.actions import Action, Disconnect
from simulator.agent.operate import CommandOptions
from simulator.usp.requests import (
    Event,
    Operate,
    OperationComplete,
    OutputArgs,
    Set,
    UpdateObject,
    UpdateParamSetting,
)


def run_async(pair: Any, limit: int = 10) -> list[Action]:
    """Fire command timers until none is left; returns every action."""
    out: list[Action] = []
    pending = schedules(pair.actions, "command")[-1:]
    while pending and limit:
        limit -= 1
        step = pair.agent.fire(pending[0].timer, pending[0].at)
        pair.now = pending[0].at
        out += step
        pending = schedules(step, "command")
    return out


def events(pair: Any, actions: list[Action]) -> list[Event]:
    return [n for _, m in split(pair, actions)[1] if isinstance(n := body(m).notification, Event)]


def test_reboot_then_boot_with_remote_cause_and_command_key() -> None:
    """6.3 Reboot(): reply, Disconnect(boot delay), then Boot! Cause=RemoteReboot with the CommandKey."""
    pair = make(options=CommandOptions(boot_delay=12.0))
    pair.dm.add(
        "Device.LocalAgent.Subscription.",
        {
            "ID": "boot",
            "Enable": "true",
            "NotifType": "Event",
            "ReferenceList": "Device.Boot!",
            "Persistent": "true",
            "Recipient": "Device.LocalAgent.Controller.1",
        },
        now=pair.now,
    )
    pair.dm.add(
        "Device.LocalAgent.Subscription.",
        {"ID": "temp", "NotifType": "Event", "Recipient": "Device.LocalAgent.Controller.1"},
        now=pair.now,
    )
    pair.agent.poll(pair.now)
    connect(pair)
    _, record = pair.controller.request(Operate("Device.Reboot()", "ck-reboot", True, {}))
    out = pair.send(record)
    assert [a for a in out if isinstance(a, Disconnect)] == [Disconnect("reboot", 12.0)]
    ids = [k["ID"] for _, k in pair.dm.instances("Device.LocalAgent.Subscription.", now=pair.now)]
    assert ids == ["boot"]  # non-persistent rows are gone after the restart
    pair.now += 12
    pair.agent.start(pair.now)
    boot = events(pair, connect(pair))
    assert len(boot) == 1 and boot[0].params["Cause"] == "RemoteReboot"
    assert boot[0].params["CommandKey"] == "ck-reboot"


def test_factory_reset_restores_profile() -> None:
    """6.3 FactoryReset(): profile values come back; Boot! Cause RemoteFactoryReset."""
    pair = make()
    call(
        pair,
        Set(
            False,
            (UpdateObject("Device.DeviceInfo.", (UpdateParamSetting("FriendlyName", "changed", True),)),),
        ),
    )
    assert pair.value("Device.DeviceInfo.FriendlyName") == "changed"
    _, record = pair.controller.request(Operate("Device.FactoryReset()", "fr", True, {}))
    out = pair.send(record)
    assert any(isinstance(a, Disconnect) and a.reason == "factory-reset" for a in out)
    assert pair.value("Device.DeviceInfo.FriendlyName") == "Home Gateway"
    behaviour = pair.agent.behaviour
    assert behaviour.boot.cause == "RemoteFactoryReset" and behaviour.boot.command_key == "fr"  # type: ignore[union-attr]


def test_firmware_download_autoactivate_flow() -> None:
    """TP 9.3: Download(AutoActivate) -> Downloading, Validating, Available, TransferComplete!, reboot, Boot!
    FirmwareUpdated=true with the new SoftwareVersion."""
    pair = make()
    connect(pair)
    subscribe(pair, "ev", "Event", "Device.LocalAgent.TransferComplete!")
    subscribe(pair, "oc", "OperationComplete", "Device.DeviceInfo.FirmwareImage.*.Download()")
    call(
        pair,
        Operate(
            "Device.DeviceInfo.FirmwareImage.2.Download()",
            "dl",
            True,
            {"URL": "http://fw.example.com/hgw5000-5.3.0.bin", "AutoActivate": "true"},
        ),
    )
    first = schedules(pair.actions, "command")[-1]
    second = schedules(pair.agent.fire(first.timer, first.at), "command")[0]
    assert pair.value("Device.DeviceInfo.FirmwareImage.2.Status") == "Downloading"
    third = schedules(pair.agent.fire(second.timer, second.at), "command")[0]
    assert pair.value("Device.DeviceInfo.FirmwareImage.2.Status") == "Validating"
    out = pair.agent.fire(third.timer, third.at)
    tc = events(pair, out)
    assert tc and tc[0].event_name == "TransferComplete!" and tc[0].params["FaultCode"] == "0"
    assert any(isinstance(a, Disconnect) for a in out)
    assert pair.value("Device.DeviceInfo.ActiveFirmwareImage") == "Device.DeviceInfo.FirmwareImage.2"
    assert pair.value("Device.DeviceInfo.SoftwareVersion") == "5.3.0"
    assert pair.agent.behaviour.boot.firmware_updated is True  # type: ignore[union-attr]


def test_firmware_validation_failure() -> None:
    """TP 9.6: a failing validation leaves Status ValidationFailed and OperationComplete cmd_failure."""
    pair = make(options=CommandOptions(validation_failure_rate=1.0))
    connect(pair)
    subscribe(pair, "oc", "OperationComplete", "Device.DeviceInfo.FirmwareImage.*.Download()")
    call(
        pair,
        Operate(
            "Device.DeviceInfo.FirmwareImage.2.Download()",
            "dl",
            True,
            {"URL": "http://fw.example.com/x-5.3.0.bin", "AutoActivate": "false"},
        ),
    )
    out = run_async(pair)
    assert pair.value("Device.DeviceInfo.FirmwareImage.2.Status") == "ValidationFailed"
    n = [body(m).notification for _, m in split(pair, out)[1]]
    assert any(isinstance(x, OperationComplete) and not isinstance(x.operation_resp, OutputArgs) for x in n)


def test_firmware_activate_time_window() -> None:
    """TP 9.4: Activate() with an Immediately window reboots into the image."""
    pair = make()
    call(
        pair,
        Operate(
            "Device.DeviceInfo.FirmwareImage.2.Activate()",
            "act",
            True,
            {"TimeWindow.1.Start": "0", "TimeWindow.1.End": "60", "TimeWindow.1.Mode": "Immediately"},
        ),
    )
    out = run_async(pair)
    assert any(isinstance(a, Disconnect) for a in out)
    assert pair.value("Device.DeviceInfo.SoftwareVersion") == "5.1.4"


def test_ipping_outputs_are_plausible_and_deterministic() -> None:
    """6.3 IPPing(): Complete with consistent counts and min <= avg <= max, same per agent and host."""
    results = []
    for _ in range(2):
        pair = make()
        connect(pair)
        subscribe(pair, "oc", "OperationComplete", "Device.IP.Diagnostics.IPPing()")
        call(
            pair,
            Operate(
                "Device.IP.Diagnostics.IPPing()",
                "p",
                True,
                {
                    "ProtocolVersion": "Any",
                    "Host": "192.0.2.1",
                    "NumberOfRepetitions": "5",
                    "Timeout": "1000",
                    "DataBlockSize": "64",
                },
            ),
        )
        n = body(split(pair, run_async(pair))[1][0][1]).notification
        assert isinstance(n, OperationComplete) and isinstance(n.operation_resp, OutputArgs)
        results.append(n.operation_resp.output_args)
    out = results[0]
    assert results[0] == results[1]
    assert out["Status"] == "Complete"
    assert int(out["SuccessCount"]) + int(out["FailureCount"]) == 5
    assert (
        int(out["MinimumResponseTime"]) <= int(out["AverageResponseTime"]) <= int(out["MaximumResponseTime"])
    )


def test_neighboring_wifi_diagnostic() -> None:
    """6.3 NeighboringWiFiDiagnostic(): a plausible neighbourhood of Result.{i}. entries."""
    pair = make()
    connect(pair)
    subscribe(pair, "oc", "OperationComplete", "Device.WiFi.NeighboringWiFiDiagnostic()")
    call(pair, Operate("Device.WiFi.NeighboringWiFiDiagnostic()", "w", True, {}))
    n = body(split(pair, run_async(pair))[1][0][1]).notification
    args = n.operation_resp.output_args  # type: ignore[union-attr]
    assert args["Status"] == "Complete" and "Result.1.BSSID" in args
    assert -100 < int(args["Result.1.SignalStrength"]) < 0


def test_software_module_install_and_uninstall() -> None:
    """6.3 InstallDU()/Uninstall(): DU/EU rows appear and go, DUStateChange! each time."""
    pair = make()
    connect(pair)
    subscribe(pair, "du", "Event", "Device.SoftwareModules.DUStateChange!")
    call(
        pair,
        Operate(
            "Device.SoftwareModules.InstallDU()",
            "i",
            True,
            {"URL": "https://apps.example.com/weather-2.0.1.tar"},
        ),
    )
    ev = events(pair, run_async(pair))
    assert ev[0].params["OperationPerformed"] == "Install" and ev[0].params["CurrentState"] == "Installed"
    du = ev[0].params["DeploymentUnitRef"]
    assert pair.value(du + ".Version") == "2.0.1"
    eu = pair.value(du + ".ExecutionUnitList")
    resp, _ = call(pair, Operate(eu + ".SetRequestedState()", "", True, {"RequestedState": "Active"}))
    assert pair.value(eu + ".Status") == "Active"
    call(pair, Operate(du + ".Uninstall()", "u", True, {}))
    ev = events(pair, run_async(pair))
    assert ev[0].params["OperationPerformed"] == "Uninstall"
    assert du + "." not in [
        p for p, _ in pair.dm.instances("Device.SoftwareModules.DeploymentUnit.", now=pair.now)
    ]


def test_mqtt_force_reconnect() -> None:
    """6.3 ForceReconnect(): answered, then a short Disconnect with reconnect."""
    pair = make(options=CommandOptions(reconnect_delay=1.5))
    _, record = pair.controller.request(Operate("Device.MQTT.Client.1.ForceReconnect()", "", True, {}))
    out = pair.send(record)
    assert Disconnect("force-reconnect", 1.5) in out
