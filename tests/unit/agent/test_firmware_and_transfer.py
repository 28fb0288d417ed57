"""Firmware (TP-469 9.5, 9.7), factory reset of the firmware, TransferCompletePolicy, new Controller (9.9)."""

from __future__ import annotations

from typing import Any

from test_commands import events, run_async
from test_tp469_notify import body, call, connect, make, schedules, set_param, split, subscribe

from simulator.agent.actions import Action, Connect, Disconnect, Observe
from simulator.agent.operate import CommandOptions
from simulator.usp.requests import (
    Add,
    CommandFailure,
    CreateObject,
    CreateParamSetting,
    Event,
    OnBoardRequest,
    Operate,
    OperationComplete,
    OutputArgs,
)
from simulator.usp.responses import OperateResp

CTRL = "Device.LocalAgent.Controller.1."
IMAGE2 = "Device.DeviceInfo.FirmwareImage.2."
URL = "http://fw.example.com/hgw5000-5.3.0.bin"


def _download(pair: Any, image: str = IMAGE2, auto: str = "false") -> list[Action]:
    call(pair, Operate(image + "Download()", "dl", True, {"URL": URL, "AutoActivate": auto}))
    return run_async(pair)


def _transfer_completes(pair: Any, actions: list[Action]) -> list[Event]:
    return [e for e in events(pair, actions) if e.event_name == "TransferComplete!"]


def _policy_dropped(actions: list[Action]) -> int:
    return sum(1 for a in actions if isinstance(a, Observe) and a.name == "notify_dropped"
               and a.labels == (("reason", "policy"),))


def test_transfer_complete_policy_default_both_delivers_success() -> None:
    """5.7: ResultTypeFilter defaults to Both: a successful Download's TransferComplete! is delivered."""
    pair = make()
    connect(pair)
    subscribe(pair, "tc", "Event", "Device.LocalAgent.TransferComplete!")
    tc = _transfer_completes(pair, _download(pair))
    assert len(tc) == 1 and tc[0].params["FaultCode"] == "0"


def test_transfer_complete_policy_failure_filter_drops_success() -> None:
    """5.7: ResultTypeFilter=Failure: no TransferComplete! for a successful transfer (dropped, observed)."""
    pair = make()
    connect(pair)
    subscribe(pair, "tc", "Event", "Device.LocalAgent.TransferComplete!")
    set_param(pair, CTRL + "TransferCompletePolicy.", "ResultTypeFilter", "Failure")
    out = _download(pair)
    assert _transfer_completes(pair, out) == []
    assert _policy_dropped(out) == 1
    assert pair.value(IMAGE2 + "Status") == "Available"


def test_transfer_complete_policy_success_filter_drops_failure_keeps_success() -> None:
    """5.7: ResultTypeFilter=Success drops a failed transfer's event, Failure keeps it."""
    pair = make(options=CommandOptions(validation_failure_rate=1.0))
    connect(pair)
    subscribe(pair, "tc", "Event", "Device.LocalAgent.TransferComplete!")
    set_param(pair, CTRL + "TransferCompletePolicy.", "ResultTypeFilter", "Success")
    out = _download(pair)
    assert _transfer_completes(pair, out) == [] and _policy_dropped(out) == 1
    set_param(pair, CTRL + "TransferCompletePolicy.", "ResultTypeFilter", "Failure")
    tc = _transfer_completes(pair, _download(pair))
    assert len(tc) == 1 and tc[0].params["FaultCode"] == "9018"


def test_factory_reset_reverts_firmware_to_the_profile() -> None:
    """6.3 FactoryReset() after an activation: ActiveFirmwareImage/SoftwareVersion come back from the
    profile and the next Boot! says FirmwareUpdated=false."""
    pair = make()
    _activate(pair, "Immediately", 0)
    run_async(pair)
    assert pair.value("Device.DeviceInfo.ActiveFirmwareImage") == "Device.DeviceInfo.FirmwareImage.2"
    assert pair.value("Device.DeviceInfo.SoftwareVersion") == "5.1.4"
    call(pair, Operate("Device.FactoryReset()", "fr", True, {}))
    assert pair.value("Device.DeviceInfo.ActiveFirmwareImage") == "Device.DeviceInfo.FirmwareImage.1"
    assert pair.value("Device.DeviceInfo.BootFirmwareImage") == "Device.DeviceInfo.FirmwareImage.1"
    assert pair.value("Device.DeviceInfo.SoftwareVersion") == "5.2.1"
    assert pair.value(IMAGE2 + "Status") == "Available"
    assert pair.agent.behaviour.boot.firmware_updated is False  # type: ignore[union-attr]


def _activate(pair: Any, mode: str, start: int) -> None:
    call(pair, Operate(IMAGE2 + "Activate()", "act", True,
                       {"TimeWindow.1.Start": str(start), "TimeWindow.1.End": str(start + 3600),
                        "TimeWindow.1.Mode": mode}))


def test_tp469_9_5_activate_time_window_immediately() -> None:
    """TP-469 9.5: Mode Immediately activates at once whatever the window Start: OperationComplete,
    reboot (Disconnect), ActiveFirmwareImage -> the image, Boot! FirmwareUpdated=true."""
    pair = make()
    connect(pair)
    subscribe(pair, "oc", "OperationComplete", "Device.DeviceInfo.FirmwareImage.*.Activate()")
    _activate(pair, "Immediately", 120)
    first = schedules(pair.actions, "command")[-1]
    (now,) = schedules(pair.agent.fire(first.timer, first.at), "command")
    assert now.at == first.at  # no wait for the window's Start
    out = pair.agent.fire(now.timer, now.at)
    assert any(isinstance(a, Disconnect) for a in out)
    done = [body(m).notification for _, m in split(pair, out)[1]]
    assert any(isinstance(n, OperationComplete) and isinstance(n.operation_resp, OutputArgs) for n in done)
    assert pair.value("Device.DeviceInfo.ActiveFirmwareImage") == "Device.DeviceInfo.FirmwareImage.2"
    assert pair.agent.behaviour.boot.firmware_updated is True  # type: ignore[union-attr]


def test_tp469_9_5_activate_time_window_anytime() -> None:
    """TP-469 9.5: Mode AnyTime activates at the window's Start offset, not before."""
    pair = make()
    _activate(pair, "AnyTime", 30)
    first = schedules(pair.actions, "command")[-1]
    wait = pair.agent.fire(first.timer, first.at)
    assert not any(isinstance(a, Disconnect) for a in wait)
    (later,) = schedules(wait, "command")
    assert later.at == first.at + 30
    assert pair.value("Device.DeviceInfo.ActiveFirmwareImage") == "Device.DeviceInfo.FirmwareImage.1"
    out = pair.agent.fire(later.timer, later.at)
    assert any(isinstance(a, Disconnect) for a in out)
    assert pair.value("Device.DeviceInfo.ActiveFirmwareImage") == "Device.DeviceInfo.FirmwareImage.2"
    assert pair.value("Device.DeviceInfo.SoftwareVersion") == "5.1.4"


def test_tp469_9_7_download_to_the_active_bank_is_refused() -> None:
    """TP-469 9.7 (documented choice, docs/agent-behaviour.md): Download() into the active image gets a
    Request (req_obj_path) then OperationComplete cmd_failure 7022; nothing is transferred (no
    TransferComplete!), the active image and SoftwareVersion are unchanged, no reboot."""
    pair = make()
    connect(pair)
    subscribe(pair, "oc", "OperationComplete", "Device.DeviceInfo.FirmwareImage.*.Download()")
    subscribe(pair, "tc", "Event", "Device.LocalAgent.TransferComplete!")
    resp, _ = call(pair, Operate("Device.DeviceInfo.FirmwareImage.1.Download()", "dl", True,
                                 {"URL": URL, "AutoActivate": "true"}))
    assert resp is not None and isinstance(resp.body, OperateResp)
    path = resp.body.operation_results[0].operation_resp
    assert isinstance(path, str) and path.startswith("Device.LocalAgent.Request.")
    out = run_async(pair)
    done = [body(m).notification for _, m in split(pair, out)[1]]
    failures = [n.operation_resp for n in done if isinstance(n, OperationComplete)]
    assert len(failures) == 1 and isinstance(failures[0], CommandFailure) and failures[0].err_code == 7022
    assert _transfer_completes(pair, out) == []
    assert not any(isinstance(a, Disconnect) for a in out)
    assert pair.value("Device.DeviceInfo.FirmwareImage.1.Status") == "Active"
    assert pair.value("Device.DeviceInfo.SoftwareVersion") == "5.2.1"


def _add(pair: Any, obj: str, **params: str) -> str:
    resp, _ = call(pair, Add(False, (CreateObject(obj, tuple(CreateParamSetting(k, v, True)
                                                            for k, v in params.items())),)))
    assert resp is not None
    path: str = resp.body.created_obj_results[0].oper_status.instantiated_path  # type: ignore[union-attr]
    return path


def test_tp469_9_9_new_controller_connect_then_onboard_request() -> None:
    """TP-469 9.9: a new enabled Controller row with an enabled MTP yields one Connect action; the
    OnBoardRequest of its SendOnBoardRequest() is held until the driver reports that MTP up, then goes to
    the new Controller (after its Connect Record), subscription_id "" and send_resp true."""
    pair = make()
    connect(pair)
    new = _add(pair, "Device.LocalAgent.Controller.", EndpointID="proto::ctrl2", Enable="true")
    assert not [a for a in pair.actions if isinstance(a, Connect)]  # no MTP yet
    before = len(pair.actions)
    _add(pair, new + "MTP.", Enable="true", Protocol="MQTT")
    connects = [a for a in pair.actions[before:] if isinstance(a, Connect)]
    assert connects == [Connect("proto::ctrl2")]
    _, notifies = call(pair, Operate(new + "SendOnBoardRequest()", "", True, {}))
    assert notifies == []  # held: the new Controller's MTP is not up yet
    out = pair.agent.mtp_connected(pair.now, "proto::ctrl2")
    sends = pair.sends(out)
    assert [s.msg_type for s in sends][:1] == ["Connect"] and all(s.to_id == "proto::ctrl2" for s in sends)
    onboard = [body(m) for _, m in split(pair, out)[1] if isinstance(body(m).notification, OnBoardRequest)]
    assert len(onboard) == 1 and onboard[0].subscription_id == "" and onboard[0].send_resp is True
    mark = len(pair.actions)
    _add(pair, new + "MTP.", Enable="true", Protocol="WebSocket")
    assert not [a for a in pair.actions[mark:] if isinstance(a, Connect)]  # already connected this boot
