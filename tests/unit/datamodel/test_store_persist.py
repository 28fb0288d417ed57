"""InstanceStore.export_diff / apply_diff and the persist record: what a restart brings back."""

from __future__ import annotations

import orjson
import pytest

from simulator.datamodel.editing import DataModel
from simulator.datamodel.persist import StateFormatError, decode_into, drop_volatile, encode
from simulator.datamodel.personas import Persona
from simulator.datamodel.schema import Schema

SUB = "Device.LocalAgent.Subscription."
CTRL = "Device.LocalAgent.Controller.1"


def fresh(schema: Schema) -> DataModel:
    return DataModel(schema, Persona(7, boot_time=1000.0))


def restored(schema: Schema, model: DataModel) -> DataModel:
    record = encode(model.store)
    assert record is not None
    other = fresh(schema)
    assert decode_into(other.store, record) == 0
    return other


def snapshot(model: DataModel) -> list[tuple[str, dict[str, str]]]:
    return model.get("Device.", now=5000.0)


def test_store_persist_untouched_agent_exports_nothing(usp_minimal_schema: Schema) -> None:
    model = fresh(usp_minimal_schema)
    assert model.store.export_diff() is None
    assert encode(model.store) is None
    model.get("Device.", now=1.0)  # reads never create state
    assert model.store.export_diff() is None


def test_store_persist_round_trip_overrides_and_instances(usp_minimal_schema: Schema) -> None:
    model = fresh(usp_minimal_schema)
    model.set("Device.LocalAgent.", {"MaxSubscriptionChangeAdoptionTime": "42"}, now=0)
    model.add("Device.LocalAgent.Controller.", {"EndpointID": "proto::other"}, now=0)
    for ident in ("a", "b", "c"):
        model.add(SUB, {"ID": ident, "Recipient": CTRL, "NotifType": "Event", "Persistent": "true"}, now=0)
    model.delete(SUB + "2.", now=0)
    model.drain_changes()
    back = restored(usp_minimal_schema, model)
    assert snapshot(back) == snapshot(model)
    assert back.get_value("Device.LocalAgent.MaxSubscriptionChangeAdoptionTime", 0) == "42"
    assert back.get_value(SUB + "3.ID", 0) == "c"
    assert back.store.export_diff() == model.store.export_diff()
    assert back.drain_changes() == []  # loading logs nothing


def test_store_persist_next_instance_number_survives(usp_minimal_schema: Schema) -> None:
    """R-ARC.8: numbers of existing instances never change; the next number continues after them."""
    model = fresh(usp_minimal_schema)
    for ident in ("a", "b", "c"):
        model.add(SUB, {"ID": ident, "Recipient": CTRL, "Persistent": "true"}, now=0)
    model.delete(SUB + "1.", now=0)
    back = restored(usp_minimal_schema, model)
    ours = model.add(SUB, {"ID": "d", "Recipient": CTRL, "Persistent": "true"}, now=0)
    theirs = back.add(SUB, {"ID": "d", "Recipient": CTRL, "Persistent": "true"}, now=0)
    assert ours[0].path == theirs[0].path == SUB + "4."
    assert back.get_value(SUB + "2.ID", 0) == "b"


def test_store_persist_deleted_profile_instance_stays_deleted(usp_minimal_schema: Schema) -> None:
    model = fresh(usp_minimal_schema)
    client = "Device.MQTT.Client.1.Subscription."
    table = usp_minimal_schema.lookup("Device.MQTT.Client.{i}.Subscription.{i}.")
    before = model.store.instances(table, (1,))  # type: ignore[arg-type]
    assert before, "the minimal profile has a boot-time MQTT subscription"
    model.delete(client + f"{before[0]}.", now=0)
    back = restored(usp_minimal_schema, model)
    assert back.store.instances(table, (1,)) == model.store.instances(table, (1,))  # type: ignore[arg-type]
    assert before[0] not in back.store.instances(table, (1,))  # type: ignore[arg-type]
    # a re-created instance with the same number does not resurrect the profile's boot values
    model.add(client, now=0)
    back.add(client, now=0)
    assert snapshot(back) == snapshot(model)


def test_store_persist_drops_non_persistent_subscriptions(usp_minimal_schema: Schema) -> None:
    model = fresh(usp_minimal_schema)
    model.add(SUB, {"ID": "keep", "Recipient": CTRL, "Persistent": "true"}, now=0)
    model.add(SUB, {"ID": "lose", "Recipient": CTRL, "Persistent": "false"}, now=0)
    model.add(SUB, {"ID": "keep2", "Recipient": CTRL, "Persistent": "1"}, now=0)
    back = restored(usp_minimal_schema, model)
    table = usp_minimal_schema.lookup(SUB + "{i}.")
    assert back.store.instances(table, ()) == (1, 3)  # type: ignore[arg-type]
    assert back.get_value("Device.LocalAgent.SubscriptionNumberOfEntries", 0) == "2"
    assert back.get_value(SUB + "3.ID", 0) == "keep2"


def test_store_persist_drop_volatile_on_untouched_store_is_noop(usp_minimal_schema: Schema) -> None:
    model = fresh(usp_minimal_schema)
    drop_volatile(model.store)
    assert model.store.export_diff() is None


def test_store_persist_factory_reset_exports_nothing(usp_minimal_schema: Schema) -> None:
    model = fresh(usp_minimal_schema)
    model.set("Device.LocalAgent.", {"MaxSubscriptionChangeAdoptionTime": "42"}, now=0)
    store = model.store
    store.__init__(store.schema, store.persona)  # type: ignore[misc]  # what FactoryReset() does
    assert encode(store) is None


def test_store_persist_rejects_other_profile_and_garbage(usp_minimal_schema: Schema) -> None:
    model = fresh(usp_minimal_schema)
    model.set("Device.LocalAgent.", {"MaxSubscriptionChangeAdoptionTime": "42"}, now=0)
    record = encode(model.store)
    assert record is not None
    data = orjson.loads(record)
    with pytest.raises(StateFormatError):
        decode_into(fresh(usp_minimal_schema).store, orjson.dumps({**data, "profile": "other"}))
    with pytest.raises(StateFormatError):
        decode_into(fresh(usp_minimal_schema).store, orjson.dumps({**data, "format": 99}))
    with pytest.raises(StateFormatError):
        decode_into(fresh(usp_minimal_schema).store, b"{not json")


def test_store_persist_unknown_nodes_are_skipped(usp_minimal_schema: Schema) -> None:
    model = fresh(usp_minimal_schema)
    diff = {
        "values": [
            ["Device.Gone.Param", [], "x"],
            ["Device.LocalAgent.MaxSubscriptionChangeAdoptionTime", [], "9"],
        ],
        "tables": [["Device.Gone.{i}.", [], [1]]],
    }
    assert model.store.apply_diff(diff) == 2
    assert model.get_value("Device.LocalAgent.MaxSubscriptionChangeAdoptionTime", 0) == "9"
