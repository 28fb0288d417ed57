"""Tests for the shipped data-model profiles (datamodels/*.yaml) loaded through the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.datamodel.editing import DataModel
from simulator.datamodel.loader import load_schema
from simulator.datamodel.personas import Persona
from simulator.datamodel.resolver import ResolveOp, Resolver
from simulator.datamodel.schema import CommandNode, ObjectNode, ParamNode, Schema
from simulator.datamodel.store import InstanceStore
from simulator.usp.errors import UspError
from simulator.usp.paths import parse_path

DATAMODELS = Path(__file__).resolve().parents[3] / "datamodels"
PROFILES = sorted(DATAMODELS.glob("*.yaml"))
BOOT = 1_700_000_000.0
NOW = BOOT + 3 * 86400 + 1234.0  # three days of uptime
ONBOARDING_LEAVES = ("Manufacturer", "ModelName", "SoftwareVersion", "SerialNumber", "ProductClass")

Tree = dict[str, tuple[ParamNode, str]]


def _tree(schema: Schema, index: int, now: float = NOW) -> Tree:
    """Read every instantiated parameter of one agent: full path -> (node, value)."""
    store = InstanceStore(schema, Persona(index, boot_time=BOOT))
    out: Tree = {}

    def visit(obj: ObjectNode, inst: tuple[int, ...]) -> None:
        prefix = obj.instance_path(inst)
        for param in obj.param_list:
            out[prefix + param.name] = (param, store.read(param, inst, now))
        for child in obj.child_list:
            if child.is_table:
                for number in store.instances(child, inst):
                    visit(child, (*inst, number))
            else:
                visit(child, inst)

    visit(schema.root, ())
    return out


def _by_name(path: Path) -> str:
    return path.stem


@pytest.fixture(scope="module", params=PROFILES, ids=_by_name)
def schema(request: pytest.FixtureRequest) -> Schema:
    return load_schema(request.param)


def test_the_shipped_profiles_are_there() -> None:
    assert {p.stem for p in PROFILES} >= {"minimal", "home-gateway", "iot-hub"}


def test_every_profile_loads(schema: Schema) -> None:
    assert schema.root.path == "Device."
    assert schema.uri == "urn:broadband-forum-org:tr-181-2-16-0"
    assert _tree(schema, 1)


def test_every_instantiated_value_is_valid_for_its_type(schema: Schema) -> None:
    for index, now in ((0, BOOT), (1, NOW), (987_654, NOW + 10 * 86400)):
        bad = []
        for path, (param, value) in _tree(schema, index, now).items():
            try:
                canonical = param.type.normalize(value)
            except UspError as exc:
                bad.append(f"{path}={value!r}: {exc}")
                continue
            if canonical != value:
                bad.append(f"{path}={value!r} is not canonical ({canonical!r})")
        assert not bad, f"agent {index}: " + "; ".join(bad[:10])


def test_unique_keys_are_unique_within_each_table(schema: Schema) -> None:
    store = InstanceStore(schema, Persona(7, boot_time=BOOT))
    duplicates = []

    def visit(obj: ObjectNode, inst: tuple[int, ...]) -> None:
        for child in obj.child_list:
            if not child.is_table:
                visit(child, inst)
                continue
            numbers = store.instances(child, inst)
            for keyset in child.keys:
                values = [
                    tuple(store.read(child.params[k], (*inst, n), NOW) for k in keyset) for n in numbers
                ]
                if len(set(values)) != len(values):
                    duplicates.append((child.instance_path(inst), keyset, values))
            for number in numbers:
                visit(child, (*inst, number))

    visit(schema.root, ())
    assert not duplicates


def test_onboarding_leaves_resolve_and_are_not_empty(schema: Schema) -> None:
    """Oktopus onboarding: one Get of the five DeviceInfo leaves; every one must answer (controllers.md)."""
    store = InstanceStore(schema, Persona(42, boot_time=BOOT))
    resolver = Resolver(schema, store)
    for leaf in ONBOARDING_LEAVES:
        res = resolver.resolve(parse_path(f"Device.DeviceInfo.{leaf}"), ResolveOp.GET, NOW)
        assert res.leaf == leaf
        [(obj, inst)] = res.entries
        value = store.read(obj.params[leaf], inst, NOW)
        assert value.strip(), f"Device.DeviceInfo.{leaf} is empty in {schema.name}"


def test_home_gateway_instantiates_at_least_1000_parameters() -> None:
    tree = _tree(load_schema(DATAMODELS / "home-gateway.yaml"), 1)
    assert len(tree) >= 1000
    wifi = [p for p in tree if p.startswith("Device.WiFi.")]
    assert len(wifi) >= 500
    assert len(tree) == len(_tree(load_schema(DATAMODELS / "home-gateway.yaml"), 2))


def test_home_gateway_supports_at_least_130_wifi_parameters() -> None:
    schema = load_schema(DATAMODELS / "home-gateway.yaml")
    supported = sum(len(o.params) for o in schema.objects() if o.path.startswith("Device.WiFi."))
    assert supported >= 130


@pytest.mark.parametrize("profile", ["home-gateway"])
def test_firmware_images_for_the_oktopus_firmware_flow(profile: str) -> None:
    schema = load_schema(DATAMODELS / f"{profile}.yaml")
    store = InstanceStore(schema, Persona(3, boot_time=BOOT))
    table = schema.lookup("Device.DeviceInfo.FirmwareImage.{i}.")
    assert isinstance(table, ObjectNode) and table.is_table
    numbers = store.instances(table, ())
    assert len(numbers) >= 2
    assert all(1 <= n < 10 for n in numbers)
    download = schema.lookup("Device.DeviceInfo.FirmwareImage.{i}.Download()")
    assert download is not None and download.is_async
    assert {"URL", "AutoActivate"} <= {n for n, a in download.input.items() if a.mandatory}
    tree = _tree(schema, 3)
    active = tree["Device.DeviceInfo.ActiveFirmwareImage"][1]
    assert active == "Device.DeviceInfo.FirmwareImage.1"
    assert tree[active + ".Status"][1] == "Active"
    assert tree[active + ".Version"][1] == tree["Device.DeviceInfo.SoftwareVersion"][1]
    assert tree["Device.DeviceInfo.FirmwareImageNumberOfEntries"][1] == str(len(numbers))


@pytest.mark.parametrize("profile", ["home-gateway", "iot-hub"])
def test_two_agents_differ_in_identity_but_not_in_structure(profile: str) -> None:
    schema = load_schema(DATAMODELS / f"{profile}.yaml")
    one, two = _tree(schema, 1), _tree(schema, 2)
    assert one.keys() == two.keys()
    serial = "Device.DeviceInfo.SerialNumber"
    assert one[serial][1] != two[serial][1]
    assert one["Device.LocalAgent.EndpointID"][1] != two["Device.LocalAgent.EndpointID"][1]
    if profile == "home-gateway":
        macs = [p for p, (node, _) in one.items() if node.type.name == "MACAddress" and one[p][1]]
        assert len(macs) >= 15
        assert all(one[p][1] != two[p][1] for p in macs)
        assert len({one[p][1] for p in macs} & {two[p][1] for p in macs}) == 0
        # every Wi-Fi / Ethernet interface MAC of one agent is distinct
        own = [one[p][1] for p in macs if ".Ethernet.Interface." in p or p.endswith(".BSSID")]
        assert len(own) == len(set(own))


def test_home_gateway_counters_grow_and_signal_moves() -> None:
    schema = load_schema(DATAMODELS / "home-gateway.yaml")
    early, late = _tree(schema, 5, NOW), _tree(schema, 5, NOW + 3600)
    sent = "Device.WiFi.AccessPoint.1.AssociatedDevice.1.Stats.BytesSent"
    assert int(late[sent][1]) > int(early[sent][1])
    signals = [p for p in early if p.endswith(".SignalStrength")]
    assert len(signals) >= 9
    assert any(early[p][1] != late[p][1] for p in signals)
    assert all(-200 <= int(late[p][1]) <= 0 for p in signals)
    assert int(late["Device.DeviceInfo.UpTime"][1]) - int(early["Device.DeviceInfo.UpTime"][1]) == 3600


def test_iot_hub_sensor_readings_change_over_time() -> None:
    schema = load_schema(DATAMODELS / "iot-hub.yaml")
    early, late = _tree(schema, 11, NOW), _tree(schema, 11, NOW + 2 * 3600)
    sensors = [p for p, (_, _) in early.items() if p.endswith(".LevelSensor.Value")]
    classes = {p: early[p.replace("LevelSensor.Value", "Class")][1] for p in sensors}
    readings = [p for p in sensors if classes[p] == "LevelSensor"]
    assert len(readings) >= 5
    changed = [p for p in readings if early[p][1] != late[p][1]]
    assert len(changed) >= 5, changed
    kinds = {early[p.replace(".Value", ".Type")][1] for p in readings}
    assert {"Temperature", "Humidity", "Power"} <= kinds


def test_iot_hub_exposes_every_capability_class() -> None:
    tree = _tree(load_schema(DATAMODELS / "iot-hub.yaml"), 1)
    classes = {value for path, (_, value) in tree.items() if path.endswith(".Class")}
    assert classes == {
        "BinaryControl",
        "LevelControl",
        "EnumControl",
        "BinarySensor",
        "LevelSensor",
        "MultiLevelSensor",
        "EnumSensor",
    }
    assert tree["Device.IoTCapabilityNumberOfEntries"][1] == str(
        len({p.split(".")[2] for p in tree if p.startswith("Device.IoTCapability.")})
    )


HOME_GATEWAY_COMMANDS = {
    "Device.Reboot()": False,
    "Device.FactoryReset()": False,
    "Device.SelfTestDiagnostics()": True,
    "Device.ScheduleTimer()": True,
    "Device.DeviceInfo.FirmwareImage.{i}.Download()": True,
    "Device.DeviceInfo.FirmwareImage.{i}.Activate()": True,
    "Device.LocalAgent.AddCertificate()": False,
    "Device.LocalAgent.Controller.{i}.SendOnBoardRequest()": False,
    "Device.LocalAgent.Request.{i}.Cancel()": False,
    "Device.MQTT.Client.{i}.ForceReconnect()": False,
    "Device.WiFi.NeighboringWiFiDiagnostic()": True,
    "Device.IP.Diagnostics.IPPing()": True,
    "Device.IP.Diagnostics.TraceRoute()": True,
    "Device.IP.Diagnostics.DownloadDiagnostics()": True,
    "Device.IP.Diagnostics.UploadDiagnostics()": True,
    "Device.BulkData.Profile.{i}.ForceCollection()": False,
    "Device.SoftwareModules.InstallDU()": True,
    "Device.SoftwareModules.DeploymentUnit.{i}.Update()": True,
    "Device.SoftwareModules.DeploymentUnit.{i}.Uninstall()": True,
    "Device.SoftwareModules.ExecutionUnit.{i}.SetRequestedState()": False,
}
HOME_GATEWAY_EVENTS = (
    "Device.Boot!",
    "Device.LocalAgent.Periodic!",
    "Device.LocalAgent.TransferComplete!",
    "Device.BulkData.Profile.{i}.Push!",
    "Device.SoftwareModules.DUStateChange!",
)


def test_home_gateway_commands_and_events_as_gsdm_reports_them() -> None:
    schema = load_schema(DATAMODELS / "home-gateway.yaml")
    gsdm = DataModel(schema, Persona(1, boot_time=BOOT)).supported("Device.", False)
    assert len(gsdm) == len(schema.objects())
    commands = {o.path + c.name + "()": c.is_async for o in gsdm for c in o.commands}
    assert {path: commands.get(path) for path in HOME_GATEWAY_COMMANDS} == HOME_GATEWAY_COMMANDS
    events = {o.path + e.name + "!" for o in gsdm for e in o.events}
    assert set(HOME_GATEWAY_EVENTS) <= events
    traceroute = schema.lookup("Device.IP.Diagnostics.TraceRoute()")
    assert isinstance(traceroute, CommandNode)
    assert {n: traceroute.input[n].default for n in ("NumberOfTries", "Timeout", "MaxHopCount")} == {
        "NumberOfTries": "3",
        "Timeout": "5000",
        "MaxHopCount": "30",
    }
    assert "RouteHops.{i}.Host" in traceroute.output


def test_home_gateway_tables_match_tr181_keys_and_subscription_parameters() -> None:
    schema = load_schema(DATAMODELS / "home-gateway.yaml")
    sub = schema.lookup("Device.LocalAgent.Subscription.{i}.")
    assert isinstance(sub, ObjectNode) and sub.keys == (("Alias",), ("Recipient", "ID"))
    assert set(sub.params) >= {
        "Alias", "Enable", "Recipient", "ID", "CreationDate", "NotifType", "ReferenceList", "Persistent",
        "TimeToLive", "NotifRetry", "NotifExpiration", "TriggerAction", "TriggerConfigSettings",
    }  # fmt: skip
    mapping = schema.lookup("Device.NAT.PortMapping.{i}.")
    assert isinstance(mapping, ObjectNode)
    assert ("RemoteHost", "ExternalPort", "Protocol") in mapping.keys
    permission = schema.lookup("Device.LocalAgent.ControllerTrust.Role.{i}.Permission.{i}.")
    assert isinstance(permission, ObjectNode)
    assert {"Targets", "Param", "Obj", "InstantiatedObj", "CommandEvent", "Order"} <= set(permission.params)
    password = schema.lookup("Device.MQTT.Client.{i}.Password")
    assert isinstance(password, ParamNode) and password.secured and not password.readable
    tree = _tree(schema, 1)
    roles = {tree[f"Device.LocalAgent.ControllerTrust.Role.{n}.Name"][1] for n in (1, 2)}
    assert roles == {"Full Access", "Untrusted"}
