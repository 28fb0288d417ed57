"""TP-469 notification cases (usp-protocol.md 5 and 12.1) driven through the real Agent + AgentBehaviour."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from helpers import CONTROLLER_ID, AgentPair, ControllerStub

from simulator.agent.actions import Action, CancelTimer, Schedule, Send, Timer
from simulator.agent.behaviour import AgentBehaviour
from simulator.agent.notifier import RETRY_TIMER
from simulator.agent.subscriptions import validate_reference_list
from simulator.usp.errors import InvalidPathError, InvalidValueError
from simulator.usp.messages import Msg, MsgType, notify_resp
from simulator.usp.records import encode_no_session_context
from simulator.usp.requests import (
    Add,
    CreateObject,
    CreateParamSetting,
    Delete,
    Event,
    Notify,
    ObjectCreation,
    ObjectDeletion,
    OnBoardRequest,
    Operate,
    Set,
    UpdateObject,
    UpdateParamSetting,
    ValueChange,
)


def make(profile: str = "home-gateway", **kw: Any) -> AgentPair:
    def factory(ctx: Any) -> AgentBehaviour:
        return AgentBehaviour(ctx, rng=random.Random(42), **kw)

    pair = AgentPair(profile, behaviour=factory)
    pair.actions += pair.agent.start(pair.now)
    return pair


def call(pair: AgentPair, body: Any) -> tuple[Msg | None, list[tuple[Send, Msg]]]:
    """Send a request; returns (the response Msg or None, [(Send, Notify Msg)])."""
    _, record = pair.controller.request(body)
    return split(pair, pair.send(record))


def split(pair: AgentPair, actions: list[Action]) -> tuple[Msg | None, list[tuple[Send, Msg]]]:
    resp = None
    notifies = []
    for send in AgentPair.sends(actions):
        if send.msg_type == "Connect":
            continue
        _, msg = pair.controller.decode(send.record)
        if msg.msg_type == MsgType.NOTIFY:
            notifies.append((send, msg))
        else:
            resp = msg
    return resp, notifies


def subscribe(pair: AgentPair, sub_id: str, notif_type: str, refs: str, **params: str) -> str:
    settings = {
        "ID": sub_id,
        "NotifType": notif_type,
        "ReferenceList": refs,
        "Enable": "true",
        **params,
    }
    resp, _ = call(
        pair,
        Add(
            False,
            (
                CreateObject(
                    "Device.LocalAgent.Subscription.",
                    tuple(CreateParamSetting(k, v, True) for k, v in settings.items()),
                ),
            ),
        ),
    )
    assert resp is not None
    path: str = resp.body.created_obj_results[0].oper_status.instantiated_path  # type: ignore[union-attr]
    return path


def set_param(pair: AgentPair, obj: str, name: str, value: str) -> list[tuple[Send, Msg]]:
    _, notifies = call(pair, Set(False, (UpdateObject(obj, (UpdateParamSetting(name, value, True),)),)))
    return notifies


def body(msg: Msg) -> Notify:
    assert isinstance(msg.body, Notify)
    return msg.body


def schedules(actions: list[Action], kind: str) -> list[Schedule]:
    return [a for a in actions if isinstance(a, Schedule) and a.timer.kind == kind]


def connect(pair: AgentPair) -> list[Action]:
    out = pair.agent.mtp_connected(pair.now)
    pair.actions += out
    return out


def test_tp469_1_52_value_change_notification() -> None:
    """TP 1.52: a ValueChange subscription on ProvisioningCode fires on a Set by the subscriber (R-NOT.0)."""
    pair = make()
    connect(pair)
    subscribe(pair, "Notify52", "ValueChange", "Device.LocalAgent.Controller.1.ProvisioningCode")
    notifies = set_param(pair, "Device.LocalAgent.Controller.1.", "ProvisioningCode", "TestValue52")
    assert len(notifies) == 1
    send, msg = notifies[0]
    n = body(msg)
    assert n.subscription_id == "Notify52" and n.send_resp is False
    assert n.notification == ValueChange("Device.LocalAgent.Controller.1.ProvisioningCode", "TestValue52")
    assert send.to_id == CONTROLLER_ID and send.reply_to is None and send.msg_type == "Notify:ValueChange"
    assert set_param(pair, "Device.LocalAgent.Controller.1.", "ProvisioningCode", "TestValue52") == []


def test_tp469_1_53_no_notification_after_subscription_deleted() -> None:
    """TP 1.53: after the subscription is deleted no ValueChange is sent."""
    pair = make()
    connect(pair)
    path = subscribe(pair, "Notify53", "ValueChange", "Device.LocalAgent.Controller.1.ProvisioningCode")
    call(pair, Delete(False, (path,)))
    assert set_param(pair, "Device.LocalAgent.Controller.1.", "ProvisioningCode", "x") == []


def test_tp469_object_path_filter_covers_parameters_below() -> None:
    """5.2: an object path in a ValueChange ReferenceList covers every parameter below it."""
    pair = make()
    connect(pair)
    subscribe(pair, "vc-obj", "ValueChange", "Device.DeviceInfo.")
    notifies = set_param(pair, "Device.DeviceInfo.", "FriendlyName", "Den")
    assert [body(m).notification for _, m in notifies] == [
        ValueChange("Device.DeviceInfo.FriendlyName", "Den")
    ]


def test_tp469_1_54_notif_retry_timing() -> None:
    """TP 1.54 / R-NOT.1-3: first retry 5-10 s after the Notify, second 10-20 s later, identical Record."""
    pair = make()
    connect(pair)
    subscribe(
        pair, "Notify54", "ValueChange", "Device.LocalAgent.Controller.1.ProvisioningCode", NotifRetry="true"
    )
    _, record = pair.controller.request(
        Set(
            False,
            (
                UpdateObject(
                    "Device.LocalAgent.Controller.1.", (UpdateParamSetting("ProvisioningCode", "v54", True),)
                ),
            ),
        )
    )
    out = pair.send(record)
    _, notifies = split(pair, out)
    send, msg = notifies[0]
    assert body(msg).send_resp is True
    first = schedules(out, RETRY_TIMER)
    assert len(first) == 1 and 5 <= first[0].at - pair.now <= 10
    pair.now = first[0].at
    out2 = pair.agent.fire(first[0].timer, pair.now)
    resent = [a for a in out2 if isinstance(a, Send)]
    assert [s.record for s in resent] == [send.record]  # same bytes, same msg_id
    second = schedules(out2, RETRY_TIMER)
    assert len(second) == 1 and 10 <= second[0].at - pair.now <= 20
    # NotifyResp with that msg_id stops the retries (R-NOT.9: subscription_id ignored)
    resp_record = encode_no_session_context(
        "1.3", pair.agent.endpoint_id, CONTROLLER_ID, notify_resp(msg.msg_id, "whatever")
    )
    out3 = pair.send(resp_record)
    assert CancelTimer(Timer(RETRY_TIMER, (msg.msg_id,))) in out3
    assert pair.agent.fire(second[0].timer, second[0].at) == []


def test_tp469_1_56_notif_expiration_stops_retries() -> None:
    """TP 1.56: with NotifExpiration=20 no retry goes out more than 20 s after the first attempt."""
    pair = make()
    connect(pair)
    subscribe(
        pair,
        "Notify56",
        "ValueChange",
        "Device.LocalAgent.Controller.1.ProvisioningCode",
        NotifRetry="true",
        NotifExpiration="20",
    )
    start = pair.now
    _, record = pair.controller.request(
        Set(
            False,
            (
                UpdateObject(
                    "Device.LocalAgent.Controller.1.", (UpdateParamSetting("ProvisioningCode", "v56", True),)
                ),
            ),
        )
    )
    pending = schedules(pair.send(record), RETRY_TIMER)
    sent_at = []
    while pending:
        timer = pending[0]
        out = pair.agent.fire(timer.timer, timer.at)
        sent_at += [timer.at for a in out if isinstance(a, Send)]
        pending = schedules(out, RETRY_TIMER)
    assert sent_at and all(t - start <= 20 for t in sent_at)
    assert AgentPair.observes(pair.agent.fire(Timer(RETRY_TIMER, ("gone",)), start + 100)) == []


def test_tp469_1_55_time_to_live_removes_subscription() -> None:
    """TP 1.55: TimeToLive removes the row; later changes do not notify."""
    pair = make()
    connect(pair)
    subscribe(
        pair, "Notify55", "ValueChange", "Device.LocalAgent.Controller.1.ProvisioningCode", TimeToLive="30"
    )
    ttl = [a for a in pair.actions if isinstance(a, Schedule) and a.timer.kind == "subscription-ttl"]
    assert len(ttl) == 1 and ttl[0].at == pytest.approx(pair.now + 30, abs=1)
    pair.agent.fire(ttl[0].timer, ttl[0].at)
    assert pair.dm.instances("Device.LocalAgent.Subscription.", now=pair.now) == []
    assert set_param(pair, "Device.LocalAgent.Controller.1.", "ProvisioningCode", "late") == []


def test_tp469_1_57_object_creation_notification() -> None:
    """TP 1.57: ObjectCreation carries obj_path and unique_keys, also for the subscriber's own Add."""
    pair = make()
    connect(pair)
    subscribe(pair, "Notify57", "ObjectCreation", "Device.LocalAgent.Subscription.")
    _, notifies = call(
        pair,
        Add(
            False,
            (
                CreateObject(
                    "Device.LocalAgent.Subscription.",
                    (
                        CreateParamSetting("ID", "other", True),
                        CreateParamSetting("NotifType", "Event", True),
                    ),
                ),
            ),
        ),
    )
    assert len(notifies) == 1
    n = body(notifies[0][1]).notification
    assert isinstance(n, ObjectCreation) and n.obj_path == "Device.LocalAgent.Subscription.2."
    assert n.unique_keys["ID"] == "other" and n.unique_keys["Recipient"] == "Device.LocalAgent.Controller.1"


def test_tp469_1_58_object_deletion_notification() -> None:
    """TP 1.58: ObjectDeletion with the deleted instance path (trailing dot)."""
    pair = make()
    connect(pair)
    subscribe(pair, "Notify58", "ObjectDeletion", "Device.LocalAgent.Subscription.*.")
    other = subscribe(pair, "victim", "Event", "Device.Boot!")
    _, notifies = call(pair, Delete(False, (other,)))
    assert [body(m).notification for _, m in notifies] == [ObjectDeletion(other)]


def test_tp469_1_84_search_path_subscription() -> None:
    """TP 1.84: a search path in ReferenceList selects by current values."""
    pair = make()
    connect(pair)
    subscribe(pair, "Notify84", "ValueChange", "Device.LocalAgent.Controller.[Enable==true].ProvisioningCode")
    notifies = set_param(pair, "Device.LocalAgent.Controller.1.", "ProvisioningCode", "p84")
    assert len(notifies) == 1 and body(notifies[0][1]).subscription_id == "Notify84"
    subscribe(pair, "none", "ValueChange", "Device.LocalAgent.Controller.[Enable==false].ControllerCode")
    assert set_param(pair, "Device.LocalAgent.Controller.1.", "ControllerCode", "c") == []


def test_tp469_1_78_subscriptions_deleted_with_controller() -> None:
    """TP 1.78: deleting a Controller deletes the subscriptions it created (auto-filled Recipient)."""
    pair = make()
    connect(pair)
    call(
        pair,
        Add(
            False,
            (
                CreateObject(
                    "Device.LocalAgent.Controller.",
                    (
                        CreateParamSetting("EndpointID", "proto::other", True),
                        CreateParamSetting("Enable", "true", True),
                    ),
                ),
            ),
        ),
    )
    mine = subscribe(pair, "mine", "ValueChange", "Device.DeviceInfo.FriendlyName")
    other = ControllerStub("proto::other", pair.agent.endpoint_id)
    _, record = other.request(
        Add(
            False,
            (
                CreateObject(
                    "Device.LocalAgent.Subscription.",
                    (
                        CreateParamSetting("NotifType", "ValueChange", True),
                        CreateParamSetting("ReferenceList", "Device.DeviceInfo.FriendlyName", True),
                    ),
                ),
            ),
        )
    )
    (answer,) = [s for s in AgentPair.sends(pair.send(record)) if s.to_id == "proto::other"]
    status = other.decode(answer.record)[1].body.created_obj_results[0].oper_status  # type: ignore[union-attr]
    theirs = status.instantiated_path
    assert status.unique_keys["Recipient"] == "Device.LocalAgent.Controller.2"
    assert pair.value(theirs + "Recipient") == "Device.LocalAgent.Controller.2"
    call(pair, Delete(False, ("Device.LocalAgent.Controller.2.",)))
    remaining = [p for p, _ in pair.dm.instances("Device.LocalAgent.Subscription.", now=pair.now)]
    assert theirs not in remaining and mine in remaining


def test_tp469_boot_event_once_per_start_with_parameter_map() -> None:
    """5.4 / TP 9.10: Boot! after the MTP is up, once, ParameterMap from the recipient's BootParameters."""
    pair = make()
    pair.dm.add(
        "Device.LocalAgent.Subscription.",
        {
            "ID": "boot",
            "Enable": "true",
            "NotifType": "Event",
            "ReferenceList": "Device.Boot!",
            "Recipient": "Device.LocalAgent.Controller.1",
        },
        now=pair.now,
    )
    pair.dm.add(
        "Device.LocalAgent.Controller.1.BootParameter.",
        {"Enable": "true", "ParameterName": "Device.DeviceInfo.FirmwareImage.*.Version"},
        now=pair.now,
    )
    pair.agent.poll(pair.now)
    _, notifies = split(pair, connect(pair))
    assert len(notifies) == 1
    event = body(notifies[0][1]).notification
    assert isinstance(event, Event) and (event.obj_path, event.event_name) == ("Device.", "Boot!")
    assert event.params["Cause"] == "LocalReboot" and event.params["CommandKey"] == ""
    assert event.params["FirmwareUpdated"] == "false"
    pmap = json.loads(event.params["ParameterMap"])
    assert pmap["Device.DeviceInfo.FirmwareImage.1.Version"] == "5.2.1"
    assert pmap["Device.DeviceInfo.FirmwareImage.2.Version"] == "5.1.4"
    assert split(pair, connect(pair))[1] == []


def test_tp469_1_59_periodic_event() -> None:
    """TP 1.59: interval 60 anchored at 2019-01-01T00:00:00Z gives Periodic! every 60 s, after Boot!."""
    pair = make()
    connect(pair)
    subscribe(pair, "Notify59", "Event", "Device.LocalAgent.Periodic!")
    call(
        pair,
        Set(
            False,
            (
                UpdateObject(
                    "Device.LocalAgent.Controller.1.",
                    (
                        UpdateParamSetting("PeriodicNotifInterval", "60", True),
                        UpdateParamSetting("PeriodicNotifTime", "2019-01-01T00:00:00Z", True),
                    ),
                ),
            ),
        ),
    )
    timers = [a for a in pair.actions if isinstance(a, Schedule) and a.timer.kind == "periodic"]
    at = timers[-1].at
    assert at % 60 == 0 and pair.now < at <= pair.now + 60
    out = pair.agent.fire(timers[-1].timer, at)
    _, notifies = split(pair, out)
    assert [body(m).notification for _, m in notifies] == [Event("Device.LocalAgent.", "Periodic!", {})]
    assert schedules(out, "periodic")[0].at == at + 60


def test_tp469_1_60_onboard_request() -> None:
    """TP 1.60 / R-NOT.6-7: SendOnBoardRequest() -> OnBoardRequest with subscription_id "" and send_resp."""
    pair = make()
    resp, notifies = call(pair, Operate("Device.LocalAgent.Controller.1.SendOnBoardRequest()", "", True, {}))
    assert resp is not None
    assert len(notifies) == 1
    n = body(notifies[0][1])
    assert n.subscription_id == "" and n.send_resp is True
    assert n.notification == OnBoardRequest(
        "00D09E", "HomeGateway", "SIM00000007", pair.config.supported_versions
    )
    retry = [a for a in pair.actions if isinstance(a, Schedule) and a.timer.kind == RETRY_TIMER]
    assert len(retry) == 1  # never expires: retries until a NotifyResp


def test_notify_memory_is_bounded_when_controller_never_answers() -> None:
    """controllers.md (Oktopus): pending Notifies are capped and drops are counted, nothing blocks."""
    pair = make(max_pending=3)
    connect(pair)
    subscribe(pair, "r", "ValueChange", "Device.LocalAgent.Controller.1.ProvisioningCode", NotifRetry="true")
    dropped = 0
    for i in range(6):
        _, record = pair.controller.request(
            Set(
                False,
                (
                    UpdateObject(
                        "Device.LocalAgent.Controller.1.",
                        (UpdateParamSetting("ProvisioningCode", f"v{i}", True),),
                    ),
                ),
            )
        )
        dropped += len(AgentPair.observes(pair.send(record), "notify_dropped"))
    behaviour = pair.agent.behaviour
    assert isinstance(behaviour, AgentBehaviour)
    assert len(behaviour.notifier.pending) == 3 and dropped == 3


def test_notifications_held_until_mtp_up() -> None:
    """obuspa: notifications raised before the MTP is up (and Boot! sent) are flushed afterwards."""
    pair = make()
    pair.dm.add(
        "Device.LocalAgent.Subscription.",
        {
            "ID": "vc",
            "Enable": "true",
            "NotifType": "ValueChange",
            "ReferenceList": "Device.DeviceInfo.FriendlyName",
            "Recipient": "Device.LocalAgent.Controller.1",
        },
        now=pair.now,
    )
    pair.dm.set("Device.DeviceInfo.", {"FriendlyName": "early"}, now=pair.now)
    assert split(pair, pair.agent.poll(pair.now))[1] == []
    _, notifies = split(pair, connect(pair))
    assert [body(m).notification for _, m in notifies] == [
        ValueChange("Device.DeviceInfo.FriendlyName", "early")
    ]


def test_value_change_poll_detects_generated_values() -> None:
    """R-NOT.0a: values that move by themselves are detected by polling (obuspa every 15 s)."""
    pair = make(poll_period=15.0)
    connect(pair)
    subscribe(pair, "cpu", "ValueChange", "Device.SoftwareModules.ExecEnv.1.CreatedAt,Device.DeviceInfo.")
    polls = [a for a in pair.actions if isinstance(a, Schedule) and a.timer.kind == "vc-poll"]
    assert polls and polls[-1].at == pytest.approx(pair.now + 15)


def test_reference_list_validation_is_strict() -> None:
    """5.2 [obuspa]: bad entries give 7012/7026; Event must end in !, OperationComplete in ()."""
    pair = make()
    ctx = pair.agent.ctx
    validate_reference_list(ctx, "Event", "Device.Boot!,Device.LocalAgent.Periodic!")
    validate_reference_list(ctx, "ObjectCreation", "Device.LocalAgent.Controller.*.BootParameter.")
    validate_reference_list(
        ctx, "ValueChange", "Device.LocalAgent.Controller.[Enable==true].ProvisioningCode"
    )
    with pytest.raises(InvalidValueError):
        validate_reference_list(ctx, "Event", "Device.LocalAgent.")
    with pytest.raises(InvalidValueError):
        validate_reference_list(ctx, "OperationComplete", "Device.IP.Diagnostics.IPPing")
    with pytest.raises(InvalidValueError):
        validate_reference_list(ctx, "ObjectCreation", "Device.DeviceInfo.")
    with pytest.raises(InvalidValueError):
        validate_reference_list(ctx, "Event", "Device.Boot!,Device.Boot!")
    with pytest.raises(InvalidPathError):
        validate_reference_list(ctx, "Event", "Device.Nope!")
