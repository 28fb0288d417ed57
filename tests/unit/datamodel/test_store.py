"""Per-agent values: generators, dynamic values, copy-on-write isolation, memory shape."""

from __future__ import annotations

from simulator.datamodel.editing import DataModel
from simulator.datamodel.generators import make_generator
from simulator.datamodel.personas import Persona


def fingerprint(schema) -> tuple:
    return (
        tuple(sorted(schema.initial_tables.items())),
        len(schema.initial_values),
        tuple((n.path, id(n)) for n in schema.nodes),
    )


def test_store_generators_reproducible_and_distinct(usp_minimal_schema) -> None:
    a1 = DataModel(usp_minimal_schema, Persona(1, boot_time=0))
    a1_again = DataModel(usp_minimal_schema, Persona(1, boot_time=0))
    a2 = DataModel(usp_minimal_schema, Persona(2, boot_time=0))
    for path in (
        "Device.DeviceInfo.SerialNumber",
        "Device.LocalAgent.EndpointID",
        "Device.MQTT.Client.1.Name",
        "Device.MQTT.Client.1.Stats.PublishSent",
    ):
        assert a1.get_value(path, 10_000) == a1_again.get_value(path, 10_000)
    assert a1.get_value("Device.DeviceInfo.SerialNumber", 0) == "SIM00000001"
    assert a2.get_value("Device.DeviceInfo.SerialNumber", 0) == "SIM00000002"
    assert a1.get_value("Device.LocalAgent.EndpointID", 0) != a2.get_value("Device.LocalAgent.EndpointID", 0)


def test_store_generator_kinds() -> None:
    p1, p2 = Persona(1, boot_time=100.0), Persona(2, boot_time=100.0)
    mac = make_generator({"gen": "mac", "base": "02:00:00:00:00:00", "step": 16}, 1)
    assert mac.value(p1, (3,), 0) == "02:00:00:00:00:12"
    ip = make_generator({"gen": "ipv4", "pool": "10.0.0.0/8"}, 1)
    assert ip.value(p2, (), 0) == "10.0.0.3"
    ip6 = make_generator({"gen": "ipv6", "pool": "2001:db8::/64"}, 1)
    assert ip6.value(p1, (), 0) == "2001:db8::2"
    faker = make_generator({"gen": "faker", "provider": "first_name"}, 5)
    names = {faker.value(Persona(i), (), 0) for i in range(50)}
    assert len(names) > 20 and faker.value(p1, (), 0) == faker.value(Persona(1), (), 0)
    choice = make_generator({"gen": "choice", "values": ["a", "b"]}, 1)
    assert {choice.value(Persona(i), (), 0) for i in range(20)} == {"a", "b"}
    assert make_generator({"gen": "uptime"}, 1).value(p1, (), 160.9) == "60"
    assert make_generator({"gen": "boot_time"}, 1).value(p1, (), 0) == "1970-01-01T00:01:40Z"


def test_store_dynamic_values_move_with_time() -> None:
    p = Persona(3, boot_time=0)
    counter = make_generator({"gen": "counter", "rate": 100, "jitter": 0.5}, 9)
    values = [int(counter.value(p, (), t)) for t in (0, 10, 20, 3600)]
    assert values == sorted(values) and values[0] == 0 and values[-1] > values[1] > 0
    assert counter.value(p, (), 10) != counter.value(Persona(4, boot_time=0), (), 10)
    wave = make_generator({"gen": "wave", "min": -80, "max": -40, "period": 600}, 9)
    samples = {int(wave.value(p, (), t)) for t in range(0, 600, 30)}
    assert len(samples) > 5 and all(-80 <= v <= -40 for v in samples)
    walk = make_generator({"gen": "walk", "min": 0, "max": 100, "interval": 60, "decimals": 1}, 9)
    series = [float(walk.value(p, (), t)) for t in range(0, 6000, 60)]
    assert len(set(series)) > 10 and all(0 <= v <= 100 for v in series)
    assert walk.value(p, (), 1234.5) == walk.value(p, (), 1234.5)


def test_store_copy_on_write_isolation(usp_minimal_schema) -> None:
    before = fingerprint(usp_minimal_schema)
    a = DataModel(usp_minimal_schema, Persona(1))
    b = DataModel(usp_minimal_schema, Persona(2))
    assert a.store._tables is b.store._tables is usp_minimal_schema.initial_tables
    assert a.store._values is None
    a.add("Device.LocalAgent.Controller.", {"EndpointID": "proto::a"}, now=0)
    a.set("Device.LocalAgent.Controller.1.", {"Enable": "false"}, now=0)
    a.delete("Device.MQTT.Client.1.")
    assert a.store._tables is not usp_minimal_schema.initial_tables
    assert b.store._tables is usp_minimal_schema.initial_tables
    assert b.get_value("Device.LocalAgent.ControllerNumberOfEntries", 0) == "1"
    assert b.get_value("Device.LocalAgent.Controller.1.Enable", 0) == "true"
    assert b.instances("Device.MQTT.Client.", now=0)[0][0] == "Device.MQTT.Client.1."
    assert fingerprint(usp_minimal_schema) == before


def test_store_schema_nodes_are_frozen(usp_minimal_schema) -> None:
    import pytest

    node = usp_minimal_schema.lookup("Device.DeviceInfo.")
    with pytest.raises(AttributeError):
        node.name = "x"
    with pytest.raises(AttributeError):
        node.params["UpTime"].type.base = "int"
