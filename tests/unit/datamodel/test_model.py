"""The agent-facing facade: Get grouping/max_depth, GetInstances, GetSupportedDM, Add/Delete/Set."""

from __future__ import annotations

import pytest

from simulator.datamodel.access import Perm
from simulator.datamodel.editing import ObjectFailedError
from simulator.datamodel.store import ChangeKind
from simulator.usp.errors import UspError


def test_model_get_parameter_groups_per_parent(dm) -> None:
    assert dm.get("Device.LocalAgent.Subscription.*.Enable", now=0) == [
        ("Device.LocalAgent.Subscription.1.", {"Enable": "true"}),
        ("Device.LocalAgent.Subscription.4.", {"Enable": "false"}),
    ]


def test_model_get_max_depth_levels(dm) -> None:
    d1 = dm.get("Device.LocalAgent.", 1, now=1100)
    assert [p for p, _ in d1] == ["Device.LocalAgent."]
    assert d1[0][1]["SubscriptionNumberOfEntries"] == "2" and d1[0][1]["UpTime"] == "100"
    d2 = {p for p, _ in dm.get("Device.LocalAgent.", 2, now=0)}
    assert {
        "Device.LocalAgent.Controller.1.",
        "Device.LocalAgent.Controller.2.",
        "Device.LocalAgent.MTP.1.",
        "Device.LocalAgent.Subscription.1.",
        "Device.LocalAgent.Subscription.4.",
        "Device.LocalAgent.ControllerTrust.",
    } <= d2
    assert "Device.LocalAgent.Controller.1.MTP.1." not in d2
    d3 = {p for p, _ in dm.get("Device.LocalAgent.", 3, now=0)}
    assert {"Device.LocalAgent.Controller.1.MTP.1.", "Device.LocalAgent.ControllerTrust.Role.1."} <= d3
    assert "Device.LocalAgent.Controller.1.MTP.1.MQTT." not in d3
    full = [p for p, _ in dm.get("Device.LocalAgent.", 0, now=0)]
    assert "Device.LocalAgent.Controller.1.MTP.1.MQTT." in full and len(full) == len(set(full))


def test_model_get_table_and_empty_results(dm) -> None:
    assert [p for p, _ in dm.get("Device.LocalAgent.Subscription.", now=0)] == [
        "Device.LocalAgent.Subscription.1.",
        "Device.LocalAgent.Subscription.4.",
    ]
    assert dm.get("Device.LocalAgent.Request.", now=0) == []
    assert dm.get('Device.LocalAgent.Subscription.[ID=="zzz"].', now=0) == []
    with pytest.raises(UspError) as info:
        dm.get("Device.LocalAgent.Subscription.9.", now=0)
    assert info.value.code == 7026


def test_model_secured_and_write_only_read_empty(dm) -> None:
    dm.set("Device.MQTT.Client.1.", {"Password": "secret"}, now=0)
    assert dm.get("Device.MQTT.Client.1.Password", now=0)[0][1] == {"Password": ""}


def test_model_access_hook_filters_reads(dm) -> None:
    def hook(node, inst, perm):
        return not (perm is Perm.PARAM_READ and getattr(node, "name", "") == "EndpointID")

    values = dm.get("Device.LocalAgent.Controller.1.", 1, now=0, access=hook)[0][1]
    assert "EndpointID" not in values and "Enable" in values
    assert dm.instances("Device.LocalAgent.Controller.", True, now=0, access=hook)[0][1] == {"Alias": "cpe-1"}


def test_model_get_instances(dm) -> None:
    first = dm.instances("Device.LocalAgent.Controller.", True, now=0)
    assert first == [
        ("Device.LocalAgent.Controller.1.", {"Alias": "cpe-1", "EndpointID": "proto::controller"}),
        ("Device.LocalAgent.Controller.2.", {"Alias": "cpe-2", "EndpointID": "proto::other"}),
    ]
    deep = [p for p, _ in dm.instances("Device.LocalAgent.Controller.", False, now=0)]
    assert deep == [
        "Device.LocalAgent.Controller.1.",
        "Device.LocalAgent.Controller.1.MTP.1.",
        "Device.LocalAgent.Controller.2.",
        "Device.LocalAgent.Controller.2.MTP.1.",
    ]
    assert dm.instances("Device.LocalAgent.Request.", now=0) == []
    assert dm.instances("Device.DeviceInfo.", True, now=0) == []


def test_model_supported_dm(dm) -> None:
    res = dm.supported("Device.LocalAgent.", True)
    assert res[0].path == "Device.LocalAgent." and res[0].params and res[0].events
    kids = {r.path: r for r in res[1:]}
    assert (
        "Device.LocalAgent.Controller.{i}." in kids and kids["Device.LocalAgent.Controller.{i}."].params == ()
    )
    sub = dm.supported("Device.LocalAgent.Subscription.{i}.", False)[0]
    assert sub.unique_key_sets == (("Alias",), ("Recipient", "ID"))
    assert dm.supported("Device.LocalAgent.Subscription.", False)[0].node is sub.node
    assert (
        dm.supported("Device.LocalAgent.Controller.1.", True)[0].node.path
        == "Device.LocalAgent.Controller.{i}."
    )
    reboot = dm.supported("Device.Reboot()")
    assert len(reboot) == 1 and [c.name for c in reboot[0].commands] == ["Reboot"] and not reboot[0].params
    for bad in ("Device.Nope.", "Device.LocalAgent.Controller.9.", "Device.Nope()"):
        with pytest.raises(UspError) as info:
            dm.supported(bad)
        assert info.value.code == 7026


def test_model_add_numbering_alias_counter_and_changes(dm) -> None:
    [r] = dm.add(
        "Device.LocalAgent.Subscription.", {"ID": "n", "Recipient": "Device.LocalAgent.Controller.2"}, now=0
    )
    assert r.path == "Device.LocalAgent.Subscription.5." and r.unique_keys["Alias"] == "cpe-5"
    assert dm.get_value("Device.LocalAgent.SubscriptionNumberOfEntries", 0) == "3"
    dm.delete("Device.LocalAgent.Subscription.5.")
    [r] = dm.add("Device.LocalAgent.Subscription.", [("Alias", "mine", True), ("ID", "m", False)], now=0)
    assert r.path == "Device.LocalAgent.Subscription.5." and r.unique_keys["Alias"] == "mine"
    assert dm.get_value("Device.LocalAgent.Subscription.5.Enable", 0) == "false"
    kinds = [(c.kind, c.path) for c in dm.drain_changes()]
    assert kinds == [
        (ChangeKind.CREATE, "Device.LocalAgent.Subscription.5."),
        (ChangeKind.DELETE, "Device.LocalAgent.Subscription.5."),
        (ChangeKind.CREATE, "Device.LocalAgent.Subscription.5."),
    ]
    assert dm.drain_changes() == []


def test_model_add_failures_create_nothing(dm) -> None:
    before = dm.instances("Device.LocalAgent.Subscription.", True, now=0)
    cases = [
        ({"Alias": "88InvalidAlias"}, 7012),
        ({"ID": "vc1", "Recipient": "Device.LocalAgent.Controller.1"}, 7025),
        ({"Alias": "cpe-1"}, 7025),
    ]
    for settings, code in cases:
        with pytest.raises(ObjectFailedError) as info:
            dm.add("Device.LocalAgent.Subscription.", settings, now=0)
        assert info.value.code == 7021 and info.value.param_errs[0].error.code == code
    with pytest.raises(ObjectFailedError):
        dm.add("Device.LocalAgent.Subscription.", [("Enable", "maybe", True)], now=0)
    [ok] = dm.add("Device.LocalAgent.Subscription.", [("Enable", "maybe", False)], now=0)
    assert ok.param_errs[0].error.code == 7011 and ok.param_errs[0].path.endswith(".Enable")
    assert dm.instances("Device.LocalAgent.Subscription.", True, now=0)[:2] == before
    with pytest.raises(UspError) as info:
        dm.add("Device.LocalAgent.Request.", {}, now=0)
    assert info.value.code == 7019


def test_model_set_validation_and_rollback(dm) -> None:
    [r] = dm.set("Device.LocalAgent.Subscription.1.", [("Enable", "0", True), ("Bogus", "1", False)], now=0)
    assert r.updated == {"Enable": "false"} and r.param_errs[0].error.code == 7010
    codes = {"Alias": 7013, "CreationDate": 7013, "NotifType": 7012, "NotifExpiration": 7011}
    for name, code in codes.items():
        with pytest.raises(ObjectFailedError) as info:
            dm.set("Device.LocalAgent.Subscription.1.", [(name, "x", True)], now=0)
        assert info.value.param_errs[0].error.code == code
    with pytest.raises(ObjectFailedError):  # search path: one unit, instance 1 changed then rolled back
        dm.set("Device.LocalAgent.Subscription.*.", [("ID", "same", True)], now=0)
    assert dm.get_value("Device.LocalAgent.Subscription.1.ID", 0) == "boot"
    with pytest.raises(ObjectFailedError):  # strong reference to a missing controller
        dm.set(
            "Device.LocalAgent.Subscription.1.",
            [("Recipient", "Device.LocalAgent.Controller.9", True)],
            now=0,
        )
    assert [c.path for c in dm.drain_changes()] == ["Device.LocalAgent.Subscription.1.Enable"]


def test_model_transaction_rolls_back_everything(dm) -> None:
    with pytest.raises(RuntimeError), dm.transaction():
        dm.add("Device.LocalAgent.Controller.", {"EndpointID": "proto::x"}, now=0)
        dm.set("Device.DeviceInfo.", {"ProvisioningCode": "abc"}, now=0)
        dm.delete("Device.LocalAgent.Subscription.1.")
        raise RuntimeError
    assert dm.get_value("Device.LocalAgent.ControllerNumberOfEntries", 0) == "2"
    assert dm.get_value("Device.DeviceInfo.ProvisioningCode", 0) == ""
    assert dm.get_value("Device.LocalAgent.Subscription.1.ID", 0) == "boot"
    assert dm.drain_changes() == []


def test_model_delete_clears_strong_references_and_nested(dm) -> None:
    res = dm.delete("Device.LocalAgent.Controller.1.")
    assert res.affected == ["Device.LocalAgent.Controller.1."]
    assert dm.get_value("Device.LocalAgent.Subscription.1.Recipient", 0) == ""
    [r] = dm.add("Device.LocalAgent.Controller.", {}, now=0)
    assert r.path == "Device.LocalAgent.Controller.3."
    assert dm.delete("Device.LocalAgent.Controller.9.").affected == []
    [r] = dm.add("Device.LocalAgent.Controller.", {}, now=0)
    dm.delete("Device.LocalAgent.Controller.*.")
    [r] = dm.add("Device.LocalAgent.Controller.", {}, now=0)
    assert r.path == "Device.LocalAgent.Controller.1."
    # the profile's boot values of the old Controller.1 do not come back
    assert dm.get_value("Device.LocalAgent.Controller.1.EndpointID", 0) == ""
    assert dm.instances("Device.LocalAgent.Controller.1.", now=0) == [
        ("Device.LocalAgent.Controller.1.", {"Alias": "cpe-1", "EndpointID": ""})
    ]
    denied = dm.delete("Device.LocalAgent.Subscription.*.", access=lambda n, i, p: p is not Perm.INST_DELETE)
    assert denied.affected == [] and {e.code for _, e in denied.unaffected} == {7006}


def test_model_commands(dm) -> None:
    out = dm.commands("Device.LocalAgent.Controller.*.SendOnBoardRequest()")
    assert [p for p, _, _ in out] == [
        "Device.LocalAgent.Controller.1.SendOnBoardRequest()",
        "Device.LocalAgent.Controller.2.SendOnBoardRequest()",
    ]
    assert dm.commands("Device.Reboot()")[0][1].is_async is False
