"""TriggerAction Config / NotifyAndConfig (TP-469 1.93, 1.94) and the disabled-Controller rule (5.3)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from helpers import CONTROLLER_ID, AgentPair

from simulator.agent.actions import Action, CancelTimer, Send
from simulator.agent.behaviour import AgentBehaviour
from simulator.agent.notifier import RETRY_TIMER
from simulator.agent.subscriptions import parse_config_settings
from simulator.usp.messages import Msg, MsgType
from simulator.usp.requests import (
    Add,
    CreateObject,
    CreateParamSetting,
    Notify,
    Set,
    UpdateObject,
    UpdateParamSetting,
    ValueChange,
)

PCODE = "Device.LocalAgent.Controller.1.ProvisioningCode"


def make(profile: str = "minimal") -> AgentPair:
    def factory(ctx: Any) -> AgentBehaviour:
        return AgentBehaviour(ctx, rng=random.Random(7))

    pair = AgentPair(profile, behaviour=factory)
    pair.actions += pair.agent.start(pair.now)
    pair.actions += pair.agent.mtp_connected(pair.now)
    return pair


def notifies(pair: AgentPair, actions: list[Action]) -> list[tuple[Send, Notify]]:
    out = []
    for send in AgentPair.sends(actions):
        if send.msg_type == "Connect":
            continue
        _, msg = pair.controller.decode(send.record)
        if msg.msg_type == MsgType.NOTIFY:
            assert isinstance(msg.body, Notify)
            out.append((send, msg.body))
    return out


def call(pair: AgentPair, body: Any) -> tuple[Msg, list[Action]]:
    _, record = pair.controller.request(body)
    actions = pair.send(record)
    resp = next(m for s in AgentPair.sends(actions) if (m := pair.controller.decode(s.record)[1]).msg_type
                != MsgType.NOTIFY)
    return resp, actions


def subscribe(pair: AgentPair, sub_id: str, refs: str, **params: str) -> str:
    settings = {"ID": sub_id, "NotifType": "ValueChange", "ReferenceList": refs, "Enable": "true", **params}
    create = CreateObject("Device.LocalAgent.Subscription.",
                          tuple(CreateParamSetting(k, v, True) for k, v in settings.items()))
    resp, _ = call(pair, Add(False, (create,)))
    path: str = resp.body.created_obj_results[0].oper_status.instantiated_path  # type: ignore[union-attr]
    return path


def set_param(pair: AgentPair, obj: str, name: str, value: str) -> list[Action]:
    resp, actions = call(pair, Set(False, (UpdateObject(obj, (UpdateParamSetting(name, value, True),)),)))
    assert resp.msg_type == MsgType.SET_RESP
    return actions


# -- TriggerAction ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", ["minimal", "home-gateway", "iot-hub"])
def test_subscription_schema_in_every_profile(profile: str) -> None:
    """TR-181 2.16: TriggerAction/TriggerConfigSettings RW; Recipient and CreationDate PARAM_READ_ONLY (0)."""
    pair = make(profile)
    (res,) = pair.supported("Device.LocalAgent.Subscription.{i}.").req_obj_results
    (obj,) = res.supported_objs
    access = {p.param_name: p.access for p in obj.supported_params}
    assert access["Recipient"] == 0 and access["CreationDate"] == 0
    assert access["TriggerAction"] == 1 and access["TriggerConfigSettings"] == 1
    sub = subscribe(pair, "t", PCODE)
    assert pair.value(sub + "Recipient") == "Device.LocalAgent.Controller.1"
    assert pair.value(sub + "TriggerAction") == "Notify"
    assert pair.value(sub + "TriggerConfigSettings") == ""


def test_tp469_1_93_trigger_action_config_applies_settings_without_notifying() -> None:
    """TP 1.93: a ProvisioningCode change applies TriggerConfigSettings (Enable=false) and sends no Notify."""
    pair = make()
    victim = subscribe(pair, "victim", "Device.DeviceInfo.ProvisioningCode")
    trigger = subscribe(pair, "cfg93", PCODE, TriggerAction="Config",
                        TriggerConfigSettings=f"{victim}Enable=false")
    assert pair.value(trigger + "TriggerAction") == "Config"
    out = notifies(pair, set_param(pair, "Device.LocalAgent.Controller.1.", "ProvisioningCode", "TP93"))
    assert out == []
    assert pair.value(victim + "Enable") == "false"
    assert pair.value(trigger + "Enable") == "true"


def test_tp469_1_94_trigger_action_notify_and_config_does_both() -> None:
    """TP 1.94: NotifyAndConfig sends the ValueChange and applies TriggerConfigSettings."""
    pair = make()
    victim = subscribe(pair, "victim", "Device.DeviceInfo.ProvisioningCode")
    subscribe(pair, "cfg94", PCODE, TriggerAction="NotifyAndConfig",
              TriggerConfigSettings=f'{victim}Enable=false,Device.DeviceInfo.ProvisioningCode="a,b"')
    out = notifies(pair, set_param(pair, "Device.LocalAgent.Controller.1.", "ProvisioningCode", "TP94"))
    assert [(n.subscription_id, n.notification) for _, n in out] == [("cfg94", ValueChange(PCODE, "TP94"))]
    assert pair.value(victim + "Enable") == "false"
    # the configured value (comma kept inside quotes) is set; the disabled victim does not notify it
    assert pair.value("Device.DeviceInfo.ProvisioningCode") == "a,b"


def test_tp469_1_93_config_changes_notify_other_subscriptions() -> None:
    """Applied settings are ordinary changes: a Notify-only subscription on the target sees them."""
    pair = make()
    subscribe(pair, "watch", "Device.DeviceInfo.ProvisioningCode")
    subscribe(pair, "cfg", PCODE, TriggerAction="Config",
              TriggerConfigSettings='Device.DeviceInfo.ProvisioningCode="from-trigger"')
    out = notifies(pair, set_param(pair, "Device.LocalAgent.Controller.1.", "ProvisioningCode", "x"))
    assert [(n.subscription_id, n.notification) for _, n in out] == [
        ("watch", ValueChange("Device.DeviceInfo.ProvisioningCode", "from-trigger"))]


def test_trigger_config_cascades_terminate_and_bad_entries_are_skipped() -> None:
    """Two Config subscriptions that trigger each other stop after one round; a bad entry is skipped."""
    pair = make()
    subscribe(pair, "a", PCODE, TriggerAction="Config",
              TriggerConfigSettings='Device.DeviceInfo.ProvisioningCode="from-a",Device.Nope.X=1')
    subscribe(pair, "b", "Device.DeviceInfo.ProvisioningCode", TriggerAction="Config",
              TriggerConfigSettings=f'{PCODE}="from-b"')
    actions = set_param(pair, "Device.LocalAgent.Controller.1.", "ProvisioningCode", "start")
    assert pair.value("Device.DeviceInfo.ProvisioningCode") == "from-a"
    assert pair.value(PCODE) == "from-b"
    assert [o.error for o in AgentPair.observes(actions, "trigger_config_failed")] == [7026]


def test_parse_config_settings() -> None:
    text = 'A.B.1.Enable=false, A.C="x,\\"y\\"", A.[N=="v"].P=3,junk,=1'
    assert parse_config_settings(text) == (
        ("A.B.1.Enable", "false"), ("A.C", 'x,"y"'), ('A.[N=="v"].P', "3"))


# -- Controller row disabled (5.3) ---------------------------------------------------------------------------
def test_disabled_controller_gets_the_enable_value_change_as_last_message() -> None:
    """5.3: Controller.{i}.Enable=false: the ValueChange still reaches it (no retries), then nothing more."""
    pair = make()
    subscribe(pair, "en", "Device.LocalAgent.Controller.1.Enable", NotifRetry="true")
    subscribe(pair, "pc", "Device.DeviceInfo.ProvisioningCode", NotifRetry="true")
    pair.dm.set("Device.DeviceInfo.", {"ProvisioningCode": "before"}, now=pair.now)
    before = notifies(pair, pair.agent.poll(pair.now))
    assert [n.subscription_id for _, n in before] == ["pc"]  # awaiting a NotifyResp
    actions = set_param(pair, "Device.LocalAgent.Controller.1.", "Enable", "false")
    out = notifies(pair, actions)
    assert [(s.to_id, n.subscription_id, n.notification) for s, n in out] == [
        (CONTROLLER_ID, "en", ValueChange("Device.LocalAgent.Controller.1.Enable", "false"))]
    cancelled = {a.timer.key[0] for a in actions
                 if isinstance(a, CancelTimer) and a.timer.kind == RETRY_TIMER}
    assert len(cancelled) == 2  # the earlier Notify's retries and the last message's own retries
    behaviour = pair.agent.behaviour
    assert isinstance(behaviour, AgentBehaviour) and behaviour.notifier.pending == []
    pair.dm.set("Device.DeviceInfo.", {"ProvisioningCode": "after"}, now=pair.now)
    assert notifies(pair, pair.agent.poll(pair.now)) == []


def test_other_controller_enable_changes_do_not_trigger_the_rule() -> None:
    """Only the row's own Enable counts: an MTP row's Enable=false notifies as usual and keeps retries."""
    pair = make()
    subscribe(pair, "mtp", "Device.LocalAgent.Controller.1.MTP.1.Enable", NotifRetry="true")
    out = notifies(pair, set_param(pair, "Device.LocalAgent.Controller.1.MTP.1.", "Enable", "false"))
    assert [n.subscription_id for _, n in out] == ["mtp"]
    behaviour = pair.agent.behaviour
    assert isinstance(behaviour, AgentBehaviour) and len(behaviour.notifier.pending) == 1
