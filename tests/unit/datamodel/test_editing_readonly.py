"""DataModel.add in Controller mode: readOnly parameters (7013) and agent-filled values (3.3)."""

from __future__ import annotations

import pytest

from simulator.datamodel.access import Perm
from simulator.datamodel.editing import DataModel, ObjectFailedError

SUB = "Device.LocalAgent.Subscription."
CTRL1 = "Device.LocalAgent.Controller.1"
WHEN = "2024-01-01T00:00:00Z"


def test_controller_add_read_only_not_required_goes_to_param_errs(dm: DataModel) -> None:
    [r] = dm.add(SUB, [("ID", "x", False), ("CreationDate", WHEN, False)], now=0, controller=True)
    assert [(f.path, f.error.code) for f in r.param_errs] == [(r.path + "CreationDate", 7013)]
    assert dm.get_value(r.path + "CreationDate", 0) != WHEN
    assert dm.get_value(r.path + "ID", 0) == "x"


def test_controller_add_read_only_required_fails_and_creates_nothing(dm: DataModel) -> None:
    before = dm.instances(SUB, now=0)
    with pytest.raises(ObjectFailedError) as info:
        dm.add(SUB, [("ID", "x", False), ("CreationDate", WHEN, True)], now=0, controller=True)
    assert info.value.code == 7021 and [f.error.code for f in info.value.param_errs] == [7013]
    assert dm.instances(SUB, now=0) == before
    assert dm.drain_changes() == []


def test_controller_add_read_only_unique_key_fails_even_when_not_required(dm: DataModel) -> None:
    """Recipient is part of the [Recipient, ID] key: supplied keys count as required (TP 1.88)."""
    with pytest.raises(ObjectFailedError) as info:
        dm.add(SUB, [("ID", "x", False), ("Recipient", CTRL1, False)], now=0, controller=True)
    assert [f.error.code for f in info.value.param_errs] == [7013]


def test_agent_settings_write_read_only_and_bypass_access(dm: DataModel) -> None:
    """Only agent_settings may initialise readOnly parameters; they skip the Controller's write permission."""

    def no_param_write(node: object, inst: object, perm: Perm) -> bool:
        return perm is not Perm.PARAM_WRITE

    [r] = dm.add(
        SUB,
        [("Enable", "true", False)],
        now=0,
        access=no_param_write,
        controller=True,
        agent_settings=[("Recipient", CTRL1, True), ("ID", "auto", True), ("CreationDate", WHEN, True)],
    )
    assert dm.get_value(r.path + "Recipient", 0) == CTRL1
    assert dm.get_value(r.path + "CreationDate", 0) == WHEN
    assert [(f.path, f.error.code) for f in r.param_errs] == [(r.path + "Enable", 7006)]
    assert r.unique_keys["ID"] == "auto"


def test_controller_add_write_once_read_only_alias_is_allowed(dm: DataModel) -> None:
    [r] = dm.add(SUB, [("Alias", "mine", True), ("ID", "m", False)], now=0, controller=True)
    assert r.unique_keys["Alias"] == "mine" and r.param_errs == []


def test_internal_add_may_initialise_read_only_parameters(dm: DataModel) -> None:
    """Agent-internal calls (the default) keep writing readOnly values at creation."""
    [r] = dm.add(SUB, {"ID": "i", "Recipient": CTRL1, "CreationDate": WHEN}, now=0)
    assert r.param_errs == [] and dm.get_value(r.path + "CreationDate", 0) == WHEN
