"""TP-469 Operate cases (usp-protocol.md 6 and 12.1) through the real Agent + AgentBehaviour."""

from __future__ import annotations

from test_tp469_notify import body, call, connect, make, schedules, split, subscribe

from simulator.agent.actions import Disconnect
from simulator.usp.requests import CommandFailure, Operate, OperationComplete, OutputArgs
from simulator.usp.responses import ErrorMessage, OperateResp


def test_tp469_1_61_reboot_with_send_resp() -> None:
    """TP 1.61: Reboot() answers req_output_args with an empty map, then the agent reboots."""
    pair = make()
    _, record = pair.controller.request(Operate("Device.Reboot()", "reboot61", True, {}))
    out = pair.send(record)
    resp, _ = split(pair, out)
    assert resp is not None and isinstance(resp.body, OperateResp)
    result = resp.body.operation_results[0]
    assert result.executed_command == "Device.Reboot()" and result.operation_resp == OutputArgs({})
    disconnects = [a for a in out if isinstance(a, Disconnect)]
    assert len(disconnects) == 1 and out.index(disconnects[0]) > 0


def test_tp469_1_62_reboot_without_send_resp() -> None:
    """TP 1.62 / R-OPR.4: send_resp=false -> no answer at all, the reboot still happens."""
    pair = make()
    _, record = pair.controller.request(Operate("Device.Reboot()", "k", False, {}))
    out = pair.send(record)
    assert split(pair, out) == (None, [])
    assert any(isinstance(a, Disconnect) for a in out)


def test_tp469_1_64_1_79_async_command_request_table_and_operation_complete() -> None:
    """TP 1.64/1.79/9.11: ScheduleTimer() -> req_obj_path (no trailing dot), Request row, OperComplete."""
    pair = make()
    connect(pair)
    subscribe(pair, "oc", "OperationComplete", "Device.ScheduleTimer()")
    resp, _ = call(pair, Operate("Device.ScheduleTimer()", "test79", True, {"DelaySeconds": "3"}))
    assert resp is not None and isinstance(resp.body, OperateResp)
    assert resp.body.operation_results[0].operation_resp == "Device.LocalAgent.Request.1"
    assert pair.value("Device.LocalAgent.Request.1.Status") == "Requested"
    assert pair.value("Device.LocalAgent.Request.1.CommandKey") == "test79"
    timer = schedules(pair.actions, "command")[-1]
    out = pair.agent.fire(timer.timer, timer.at)
    assert pair.value("Device.LocalAgent.Request.1.Status") == "Active"
    done = schedules(out, "command")[0]
    assert done.at == timer.at + 3
    _, notifies = split(pair, pair.agent.fire(done.timer, done.at))
    assert [body(m).notification for _, m in notifies] == [
        OperationComplete("Device.", "ScheduleTimer()", "test79", OutputArgs({}))
    ]
    assert pair.dm.instances("Device.LocalAgent.Request.", now=pair.now) == []


def test_tp469_1_65_async_without_send_resp_still_completes() -> None:
    """TP 1.65: send_resp=false -> no OperateResp, OperationComplete still sent."""
    pair = make()
    connect(pair)
    subscribe(pair, "oc", "OperationComplete", "Device.")
    resp, _ = call(pair, Operate("Device.ScheduleTimer()", "k65", False, {"DelaySeconds": "1"}))
    assert resp is None
    first = schedules(pair.actions, "command")[-1]
    second = schedules(pair.agent.fire(first.timer, first.at), "command")[0]
    _, notifies = split(pair, pair.agent.fire(second.timer, second.at))
    assert len(notifies) == 1 and body(notifies[0][1]).notification.command_key == "k65"  # type: ignore[union-attr]


def test_tp469_1_91_unknown_argument_ignored() -> None:
    """TP 1.91 / R-OPR.6: an unknown input argument is ignored."""
    pair = make()
    resp, _ = call(pair, Operate("Device.ScheduleTimer()", "", True, {"DelaySeconds": "1", "Bogus": "x"}))
    assert isinstance(resp.body, OperateResp)  # type: ignore[union-attr]
    assert isinstance(resp.body.operation_results[0].operation_resp, str)  # type: ignore[union-attr]


def test_tp469_1_92_defaults_applied() -> None:
    """TP 1.92 / R-OPR.7: TraceRoute without NumberOfTries/Timeout uses 3 and 5000 ms."""
    pair = make()
    connect(pair)
    subscribe(pair, "oc", "OperationComplete", "Device.IP.Diagnostics.TraceRoute()")
    call(
        pair,
        Operate(
            "Device.IP.Diagnostics.TraceRoute()", "k", True, {"ProtocolVersion": "Any", "Host": "192.0.2.1"}
        ),
    )
    behaviour = pair.agent.behaviour
    run = behaviour.ops.running[1]  # type: ignore[union-attr]
    assert run.args["NumberOfTries"] == "3" and run.args["Timeout"] == "5000"
    first = schedules(pair.actions, "command")[-1]
    second = schedules(pair.agent.fire(first.timer, first.at), "command")[0]
    _, notifies = split(pair, pair.agent.fire(second.timer, second.at))
    output = body(notifies[0][1]).notification.operation_resp  # type: ignore[union-attr]
    assert isinstance(output, OutputArgs) and output.output_args["Status"] == "Complete"
    assert len(output.output_args["RouteHops.1.RTTimes"].split(",")) == 3


def test_tp469_1_100_missing_mandatory_argument() -> None:
    """TP 1.100 / R-OPR.5: missing DelaySeconds -> cmd_failure 7027 and no OperationComplete."""
    pair = make()
    connect(pair)
    subscribe(pair, "oc", "OperationComplete", "Device.")
    resp, _ = call(pair, Operate("Device.ScheduleTimer()", "k", True, {}))
    result = resp.body.operation_results[0].operation_resp  # type: ignore[union-attr]
    assert isinstance(result, CommandFailure) and result.err_code == 7027
    assert schedules(pair.actions, "command") == []


def test_operate_path_errors() -> None:
    """6.1.1: bad command paths are Error messages (7026, 7016, 7022 for a non-command)."""
    pair = make()
    for command, code in (
        ("Device.NoSuch()", 7026),
        ("Device.DeviceInfo.FirmwareImage.9.Download()", 7016),
        ("Device.DeviceInfo.", 7022),
    ):
        resp, _ = call(pair, Operate(command, "", True, {}))
        assert isinstance(resp.body, ErrorMessage) and resp.body.err_code == code, command  # type: ignore[union-attr]


def test_tp469_9_8_request_cancel() -> None:
    """6.2 / TP 9.8: Request.{i}.Cancel() -> Canceled, OperationComplete cmd_failure 7023, row removed."""
    pair = make()
    connect(pair)
    subscribe(pair, "oc", "OperationComplete", "Device.ScheduleTimer()")
    call(pair, Operate("Device.ScheduleTimer()", "c", True, {"DelaySeconds": "100"}))
    resp, notifies = call(pair, Operate("Device.LocalAgent.Request.1.Cancel()", "", True, {}))
    assert resp.body.operation_results[0].operation_resp == OutputArgs({})  # type: ignore[union-attr]
    n = body(notifies[0][1]).notification
    assert isinstance(n, OperationComplete) and n.operation_resp == CommandFailure(7023, "Command canceled")
    assert pair.dm.instances("Device.LocalAgent.Request.", now=pair.now) == []
