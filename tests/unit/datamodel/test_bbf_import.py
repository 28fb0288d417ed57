"""Tests for the BBF ``*-usp-full.xml`` importer (simulator.datamodel.bbf)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulator.datamodel.bbf import BbfImportError, import_bbf_xml, main_import, write_yaml
from simulator.datamodel.editing import DataModel
from simulator.datamodel.errors import SimulatorError
from simulator.datamodel.loader import load_schema
from simulator.datamodel.personas import Persona
from simulator.datamodel.schema import CommandNode, ObjAccess, ObjectNode, ParamNode
from simulator.usp.errors import UspError

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini-usp-full.xml"
REPO_ROOT = Path(__file__).resolve().parents[3]


def _bbf_xml() -> Path:
    env = os.environ.get("USP_SIM_BBF_XML")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data" / "bbf" / "tr-181-2-16-0-usp-full.xml"


BBF_XML = _bbf_xml()

_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<dm:document xmlns:dm="urn:broadband-forum-org:cwmp:datamodel-1-14" spec="urn:example-org:t-1-0-usp">
"""


def _write(tmp_path: Path, body: str, header: str = _HEADER) -> Path:
    path = tmp_path / "t-usp-full.xml"
    path.write_text(header + body, encoding="utf-8")
    return path


def _error(path: Path) -> BbfImportError:
    with pytest.raises(BbfImportError) as info:
        import_bbf_xml(path)
    return info.value


@pytest.fixture(scope="module")
def mini() -> dict[str, Any]:
    return import_bbf_xml(MINI)


# -- the hand-written fixture -> profile format ----------------------------------------------------


def test_top_level_keys(mini: dict[str, Any]) -> None:
    assert list(mini) == ["format", "name", "uri", "objects"]
    assert mini["format"] == 1
    assert mini["uri"] == "urn:example-org:mini-1-0"  # the "-usp" suffix of spec= is dropped
    assert "Mini:1.0" in mini["name"]


def test_deleted_objects_parameters_and_commands_are_skipped(mini: dict[str, Any]) -> None:
    objects = mini["objects"]
    assert list(objects) == ["Device.", "Device.Gadget.{i}.", "Device.Gadget.{i}.Stats.", "Device.Port.{i}."]
    assert "Removed" not in objects["Device.Gadget.{i}."]["params"]
    assert "OldCommand()" not in objects["Device."]["commands"]


def test_root_object_commands_and_events(mini: dict[str, Any]) -> None:
    assert mini["objects"]["Device."] == {
        "params": {
            "RootDataModelVersion": {"type": "string", "max_length": 32, "pattern": r"2\.\d+"},
            "GadgetNumberOfEntries": {"type": "unsignedInt"},
            "PortNumberOfEntries": {"type": "unsignedInt"},
        },
        "commands": {
            "Reboot()": {},
            "Ping()": {
                "async": True,
                "input": {
                    "Host": {"type": "string", "max_length": 256, "mandatory": True},
                    "Count": {"type": "unsignedInt", "range": [1, 100], "default": "3"},
                    "Window.{i}.Start": {"type": "unsignedInt", "units": "seconds", "mandatory": True},
                },
                "output": {
                    # arguments never get a synthesized default: an omitted one is simply absent
                    "Status": {"type": "string", "enum": ["Complete", "Error_Other"]},
                    "Hop.{i}.Address": {"type": "IPAddress"},
                    "Hop.{i}.Detail.RTT": {"type": "unsignedInt"},
                },
            },
        },
        "events": {
            "Boot!": {
                "args": {
                    "CommandKey": {"type": "string"},
                    "Cause": {"type": "string", "enum": ["LocalReboot", "RemoteReboot"]},
                }
            },
            "Tick!": {},
        },
    }


def test_read_write_table_with_keys_and_typed_parameters(mini: dict[str, Any]) -> None:
    gadget = mini["objects"]["Device.Gadget.{i}."]
    assert gadget["access"] == "readWrite"
    assert gadget["keys"] == [["Alias"], ["Name", "Owner"]]
    # numEntriesParameter is the automatic <Table>NumberOfEntries name, so no num_entries line is needed
    assert "num_entries" not in gadget
    assert "max_entries" not in gadget  # unbounded
    assert gadget["commands"] == {"Reset()": {}}
    assert gadget["params"] == {
        "Alias": {"type": "Alias", "access": "readWrite"},
        "Enable": {"type": "boolean", "access": "readWrite", "default": "false"},
        "Name": {"type": "string", "access": "writeOnceReadOnly", "min_length": 1, "max_length": 32},
        "Owner": {
            "type": "string",
            "access": "readWrite",
            "reference": ["Device.Port.{i}."],
            "strong": True,
            "default": "",
        },
        # the type="object" default wins over the factory default; the deleted enumeration is gone
        "Mode": {"type": "string", "access": "readWrite", "enum": ["Auto", "Manual"], "default": "Auto"},
        "Tags": {
            "type": "list<string>",
            "access": "readWrite",
            "min_items": 0,
            "max_items": 8,
            "max_length": 256,
        },
        # two ranges [1,13] and [36,165]: the format has one range, so the envelope
        "Channels": {"type": "list<unsignedInt>", "range": [1, 165]},
        "Secret": {"type": "string", "access": "readWrite", "max_length": 64, "secured": True},
        "Address": {"type": "IPv4Address", "access": "readWrite"},
        "Homepage": {"type": "string", "access": "readWrite", "max_length": 2048},
        "Load": {"type": "unsignedInt", "range": [0, 50], "units": "percent"},
        "MAC": {"type": "MACAddress"},
        "Power": {"type": "Dbm1000", "range": [-90000, 30000], "units": "dBm/1000"},
    }


def test_single_instance_child_and_binary_sizes(mini: dict[str, Any]) -> None:
    stats = mini["objects"]["Device.Gadget.{i}.Stats."]
    assert "access" not in stats and "keys" not in stats
    assert stats["params"] == {
        "BytesSent": {"type": "StatsCounter64", "value_change": "ignore"},
        "Ratio": {"type": "decimal", "units": "percent"},
        "LastChange": {"type": "dateTime"},
        "Blob": {"type": "hexBinary", "max_length": 16},  # 8 bytes = 16 hex digits
    }


def test_read_only_table_with_functional_key_and_event_argument_objects(mini: dict[str, Any]) -> None:
    assert mini["objects"]["Device.Port.{i}."] == {
        "keys": [["Name"]],
        "max_entries": 4,
        "params": {"Name": {"type": "string", "max_length": 16}},
        "events": {
            "LinkChange!": {"args": {"Up": {"type": "boolean"}, "Peer.{i}.MAC": {"type": "MACAddress"}}}
        },
    }


def test_enumeration_without_empty_value_gets_a_valid_synthesized_default(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
  <model name="T:1.0">
    <object name="Device." access="readOnly" minEntries="1" maxEntries="1">
      <parameter name="Status" access="readOnly">
        <syntax><string><enumeration value="Up"/><enumeration value="Down"/></string></syntax>
      </parameter>
      <parameter name="Interval" access="readWrite">
        <syntax><unsignedInt><range minInclusive="30" maxInclusive="3600"/></unsignedInt></syntax>
      </parameter>
      <parameter name="Bad" access="readWrite">
        <syntax><unsignedInt><range maxInclusive="10"/></unsignedInt>
          <default type="object" value="99"/></syntax>
      </parameter>
    </object>
  </model>
</dm:document>
""",
    )
    params = import_bbf_xml(path)["objects"]["Device."]["params"]
    assert params["Status"] == {"type": "string", "enum": ["Up", "Down"], "default": "Up"}
    assert params["Interval"] == {
        "type": "unsignedInt",
        "access": "readWrite",
        "range": [30, 3600],
        "default": "30",
    }
    # a BBF default outside its own range is dropped; the implicit 0 is valid, so nothing is declared
    assert params["Bad"] == {"type": "unsignedInt", "access": "readWrite", "range": [None, 10]}


def test_relative_path_references_resolve_to_existing_tables(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
  <model name="T:1.0">
    <object name="Device." access="readOnly" minEntries="1" maxEntries="1"/>
    <object name="Device.WiFi." access="readOnly" minEntries="1" maxEntries="1"/>
    <object name="Device.WiFi.Radio.{i}." access="readOnly" minEntries="0" maxEntries="unbounded"/>
    <object name="Device.WiFi.SSID.{i}." access="readWrite" minEntries="0" maxEntries="unbounded">
      <parameter name="LowerLayers" access="readWrite">
        <syntax><list/><string>
          <pathRef refType="strong" targetParent="#.Radio. .Missing." targetType="row"/></string>
        </syntax>
      </parameter>
      <parameter name="Absolute" access="readWrite">
        <syntax><string>
          <pathRef refType="weak" targetParent="Device.WiFi.Radio." targetType="row"/></string></syntax>
      </parameter>
      <parameter name="AnyPath" access="readWrite">
        <syntax><string><pathRef refType="weak" targetType="any"/></string></syntax>
      </parameter>
    </object>
  </model>
</dm:document>
""",
    )
    params = import_bbf_xml(path)["objects"]["Device.WiFi.SSID.{i}."]["params"]
    assert params["LowerLayers"] == {
        "type": "list<string>",
        "access": "readWrite",
        "reference": ["Device.WiFi.Radio.{i}."],
        "strong": True,
    }
    assert params["Absolute"] == {
        "type": "string",
        "access": "readWrite",
        "reference": ["Device.WiFi.Radio.{i}."],
    }
    assert params["AnyPath"] == {"type": "string", "access": "readWrite"}


def test_num_entries_is_written_only_when_it_is_not_the_automatic_name(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
  <model name="T:1.0">
    <object name="Device." access="readOnly" minEntries="1" maxEntries="1">
      <parameter name="ForwardNumberOfEntries" access="readOnly"><syntax><unsignedInt/></syntax></parameter>
      <parameter name="RuleNumberOfEntries" access="readOnly"><syntax><unsignedInt/></syntax></parameter>
    </object>
    <object name="Device.Forwarding.{i}." access="readWrite" minEntries="0" maxEntries="8"
        numEntriesParameter="ForwardNumberOfEntries"/>
    <object name="Device.Rule.{i}." access="readOnly" minEntries="0" maxEntries="unbounded"/>
  </model>
</dm:document>
""",
    )
    objects = import_bbf_xml(path)["objects"]
    assert objects["Device.Forwarding.{i}."] == {
        "access": "readWrite",
        "num_entries": "ForwardNumberOfEntries",
        "max_entries": 8,
    }
    # the parent has RuleNumberOfEntries but BBF does not link it: opt out of the automatic link
    assert objects["Device.Rule.{i}."] == {"num_entries": None}


def test_write_yaml_round_trips_and_uses_one_line_per_parameter(mini: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "mini.yaml"
    write_yaml(mini, out)
    text = out.read_text(encoding="utf-8")
    assert yaml.safe_load(text) == mini
    assert "      Alias: {type: Alias, access: readWrite}\n" in text


def test_main_import_writes_the_profile(tmp_path: Path) -> None:
    out = tmp_path / "out.yaml"
    assert main_import([str(MINI), "-o", str(out)]) == 0
    assert yaml.safe_load(out.read_text(encoding="utf-8")) == import_bbf_xml(MINI)


def test_main_import_reports_errors_with_status_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.xml"
    assert main_import([str(missing), "-o", str(tmp_path / "out.yaml")]) == 1
    err = capsys.readouterr().err
    assert "nope.xml" in err and "cannot read" in err
    assert not (tmp_path / "out.yaml").exists()


# -- errors: file, line, what was expected ----------------------------------------------------------


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "  <model name='T:1.0'>\n    <object name='Device.'>\n  </model>\n</dm:document>\n"
    )
    exc = _error(path)
    assert exc.path == str(path)
    assert exc.line == 5
    assert str(exc).startswith(f"{path}:5: malformed XML")
    assert isinstance(exc, SimulatorError)


def test_external_entities_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    header = f"""<?xml version="1.0"?>
<!DOCTYPE dm:document [<!ENTITY xxe SYSTEM "file://{secret}">]>
<dm:document xmlns:dm="urn:broadband-forum-org:cwmp:datamodel-1-14">
"""
    path = _write(
        tmp_path,
        """  <model name="T:1.0">
    <object name="Device." access="readOnly" minEntries="1" maxEntries="1">
      <parameter name="Leak" access="readOnly">
        <syntax><string/><default type="object" value="&xxe;"/></syntax>
      </parameter>
    </object>
  </model>
</dm:document>
""",
        header=header,
    )
    exc = _error(path)
    assert exc.line == 2
    assert "DTD" in str(exc)
    assert "TOP-SECRET" not in str(exc)


def test_internal_entity_expansion_is_refused(tmp_path: Path) -> None:
    header = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<dm:document xmlns:dm="urn:broadband-forum-org:cwmp:datamodel-1-14">
"""
    path = _write(tmp_path, "<model name='T:1.0'/></dm:document>\n", header=header)
    assert "DTD" in str(_error(path))


def test_unknown_datatype_names_the_referring_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """  <model name="T:1.0">
    <object name="Device." access="readOnly" minEntries="1" maxEntries="1">
      <parameter name="X" access="readOnly">
        <syntax>
          <dataType ref="NoSuchType"/>
        </syntax>
      </parameter>
    </object>
  </model>
</dm:document>
""",
    )
    exc = _error(path)
    assert exc.line == 7
    assert "'NoSuchType'" in str(exc) and "expected a dataType defined in this file" in str(exc)


def test_circular_datatype_is_an_error(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """  <dataType name="A" base="B"/>
  <dataType name="B" base="A"/>
  <model name="T:1.0">
    <object name="Device." access="readOnly" minEntries="1" maxEntries="1">
      <parameter name="X" access="readOnly"><syntax><dataType ref="A"/></syntax></parameter>
    </object>
  </model>
</dm:document>
""",
    )
    assert "derives from itself" in str(_error(path))


# Each case is a list of lines; the document header takes lines 1-2, so case line k is file line k + 2.
@pytest.mark.parametrize(
    ("lines", "line", "expected"),
    [
        (
            [
                "<model name='T'><object name='Device.'>",
                "<parameter name='X' access='readOnly'/>",
                "</object></model>",
            ],
            4,
            "<parameter name='X'> expected a <syntax> child",
        ),
        (
            [
                "<model name='T'><object name='Device.'><parameter name='X'>",
                "<syntax/>",
                "</parameter></object></model>",
            ],
            4,
            "<syntax> expected a primitive type element",
        ),
        (["<model name='T'>", "<object name='Bogus'/>", "</model>"], 4, "expected a path like 'Device.X.'"),
        (
            ["<model name='T'>", "<object name='Device.' access='maybe'/>", "</model>"],
            4,
            "expected readOnly or readWrite, got 'maybe'",
        ),
        (
            [
                "<model name='T'><object name='Device.'>",
                "<parameter name='X' access='sometimes'><syntax><int/></syntax>",
                "</parameter></object></model>",
            ],
            4,
            "expected one of ['readOnly', 'readWrite', 'writeOnceReadOnly']",
        ),
        (
            ["<model name='T'><object name='Device.'>", "<command name='Go'/>", "</object></model>"],
            4,
            "expected a name ending in '()', got 'Go'",
        ),
        (
            ["<model name='T'><object name='Device.'>", "", "<event name='Went'/>", "</object></model>"],
            5,
            "expected a name ending in '!', got 'Went'",
        ),
        (
            [
                "<model name='T'>",
                "<object name='Device.X.{i}.'><uniqueKey><parameter ref='Y'/></uniqueKey></object>",
                "</model>",
            ],
            4,
            "names parameters not defined here: ['Y']",
        ),
        (
            [
                "<model name='T'><object name='Device.'><parameter name='X'><syntax><string>",
                "<size maxLength='many'/>",
                "</string></syntax></parameter></object></model>",
            ],
            4,
            "expected an integer, got 'many'",
        ),
        (
            ["<model name='T'><object name='Device.'/>", "", "<object name='Device.'/></model>"],
            5,
            "defined twice",
        ),
        (
            [
                "<model name='T'><object name='Device.'><command name='Go()'><input>",
                "<object name='.Bad.'/>",
                "</input></command></object></model>",
            ],
            4,
            "expected a relative path",
        ),
        ([], 2, "expected exactly one <model> element, found 0"),
    ],
)
def test_schema_errors_name_line_and_expectation(
    tmp_path: Path, lines: list[str], line: int, expected: str
) -> None:
    path = _write(tmp_path, "\n".join([*lines, "</dm:document>\n"]))
    exc = _error(path)
    assert exc.line == line
    assert expected in str(exc)
    assert str(exc).startswith(f"{path}:{line}: ")


def test_wrong_root_element(tmp_path: Path) -> None:
    path = _write(tmp_path, "", header="<?xml version='1.0'?>\n<catalog/>\n")
    exc = _error(path)
    assert exc.line == 2 and "expected a <dm:document> root element, got <catalog>" in str(exc)


# -- loading the emitted YAML with the engine -------------------------------------------------------


def test_emitted_yaml_loads_with_the_engine(mini: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "mini.yaml"
    write_yaml(mini, out)
    schema = load_schema(out)
    gadget = schema.lookup("Device.Gadget.{i}.")
    assert isinstance(gadget, ObjectNode) and gadget.is_table
    assert gadget.access is ObjAccess.ADD_DELETE
    assert gadget.keys == (("Alias",), ("Name", "Owner"))
    port = schema.lookup("Device.Port.{i}.")
    assert isinstance(port, ObjectNode) and port.access is ObjAccess.READ_ONLY and port.max_entries == 4
    counter = schema.lookup("Device.GadgetNumberOfEntries")
    assert isinstance(counter, ParamNode) and counter.counts is gadget
    ping = schema.lookup("Device.Ping()")
    assert isinstance(ping, CommandNode) and ping.is_async
    assert ping.input["Host"].mandatory and not ping.input["Count"].mandatory
    assert schema.lookup("Device.Port.{i}.LinkChange!") is not None
    secret = schema.lookup("Device.Gadget.{i}.Secret")
    assert isinstance(secret, ParamNode) and secret.secured
    with pytest.raises(UspError):
        secret.type.normalize("x" * 65)


def test_a_profile_can_extend_the_import_and_instantiate_a_subset(
    mini: dict[str, Any], tmp_path: Path
) -> None:
    """The import declares the whole supported model; an overlay instantiates only what it needs."""
    write_yaml(mini, tmp_path / "mini-full.yaml")
    overlay = tmp_path / "device.yaml"
    overlay.write_text(
        "format: 1\n"
        "name: subset\n"
        "extends: mini-full.yaml\n"
        "instances:\n"
        "  Device.Gadget.1.: {Name: first, Owner: Device.Port.1, Address: 192.0.2.7}\n"
        "  Device.Port.1..2.: {Name: {gen: template, format: 'port{instance}'}}\n",
        encoding="utf-8",
    )
    model = DataModel(load_schema(overlay), Persona(3, boot_time=0.0))
    gsdm = model.supported("Device.", False)
    assert [o.path for o in gsdm] == list(mini["objects"])
    store = model.store
    gadget = model.schema.lookup("Device.Gadget.{i}.")
    port = model.schema.lookup("Device.Port.{i}.")
    assert isinstance(gadget, ObjectNode) and isinstance(port, ObjectNode)
    assert store.instances(gadget, ()) == (1,)
    assert store.instances(port, ()) == (1, 2)
    assert store.read(gadget.params["Alias"], (1,), 0) == "cpe-1"
    assert store.read(gadget.params["Mode"], (1,), 0) == "Auto"
    assert store.read(port.params["Name"], (2,), 0) == "port2"
    counter = model.schema.lookup("Device.PortNumberOfEntries")
    assert isinstance(counter, ParamNode) and store.read(counter, (), 0) == "2"


# -- the real TR-181 2.16 file ----------------------------------------------------------------------

needs_bbf_xml = pytest.mark.skipif(not BBF_XML.is_file(), reason=f"BBF XML not found at {BBF_XML}")


def _count(doc: dict[str, Any]) -> tuple[int, int, int, int]:
    objects = doc["objects"]
    return (
        len(objects),
        sum(len(o.get("params", {})) for o in objects.values()),
        sum(len(o.get("commands", {})) for o in objects.values()),
        sum(len(o.get("events", {})) for o in objects.values()),
    )


@pytest.fixture(scope="module")
def tr181() -> dict[str, Any]:
    if not BBF_XML.is_file():
        pytest.skip(f"BBF XML not found at {BBF_XML}")
    return import_bbf_xml(BBF_XML)


@needs_bbf_xml
def test_tr181_2_16_counts(tr181: dict[str, Any]) -> None:
    doc = tr181
    # Measured on tr-181-2-16-0-usp-full.xml: <model> children that are not status="deleted".
    assert _count(doc) == (668, 5309, 108, 17)
    assert doc["uri"] == "urn:broadband-forum-org:tr-181-2-16-0"


@needs_bbf_xml
def test_tr181_2_16_known_definitions(tr181: dict[str, Any]) -> None:
    objects = tr181["objects"]
    sub = objects["Device.LocalAgent.Subscription.{i}."]
    assert sub["access"] == "readWrite"
    assert sub["keys"] == [["Alias"], ["Recipient", "ID"]]
    assert sub["params"]["NotifType"]["enum"][:5] == [
        "ValueChange",
        "ObjectCreation",
        "ObjectDeletion",
        "OperationComplete",
        "Event",
    ]
    assert sub["params"]["Recipient"]["reference"] == ["Device.LocalAgent.Controller.{i}."]
    firmware = objects["Device.DeviceInfo.FirmwareImage.{i}."]
    assert firmware["commands"]["Download()"]["async"] is True
    assert firmware["commands"]["Download()"]["input"]["URL"] == {
        "type": "string",
        "max_length": 2048,
        "mandatory": True,
    }
    assert "TimeWindow.{i}.Mode" in firmware["commands"]["Activate()"]["input"]
    info = objects["Device.DeviceInfo."]["params"]
    assert info["ActiveFirmwareImage"]["reference"] == ["Device.DeviceInfo.FirmwareImage.{i}."]
    assert objects["Device."]["events"]["Boot!"]["args"]["Cause"]["type"] == "string"
    assert "async" not in objects["Device."]["commands"]["Reboot()"]
    client = objects["Device.MQTT.Client.{i}."]["params"]
    assert client["Password"]["secured"] is True
    assert client["BrokerPort"]["range"] == [1, 65535]


@pytest.mark.slow
@needs_bbf_xml
def test_tr181_2_16_loads_as_a_schema_and_serves_gsdm(
    tr181: dict[str, Any], tmp_path: Path
) -> None:
    doc = tr181
    out = tmp_path / "tr-181-2-16.yaml"
    write_yaml(doc, out)
    schema = load_schema(out)
    objects, params, commands, events = _count(doc)
    assert len(schema.objects()) == objects
    model = DataModel(schema, Persona(1, boot_time=0.0))
    gsdm = model.supported("Device.", False)
    assert len(gsdm) == objects
    assert sum(len(o.params) for o in gsdm) == params
    assert sum(len(o.commands) for o in gsdm) == commands
    assert sum(len(o.events) for o in gsdm) == events
    by_path = {o.path: o for o in gsdm}
    sub = by_path["Device.LocalAgent.Subscription.{i}."]
    assert sub.node.is_table and sub.node.access is ObjAccess.ADD_DELETE
    assert sub.unique_key_sets == (("Alias",), ("Recipient", "ID"))
    assert by_path["Device.LocalAgent.Request.{i}."].node.access is ObjAccess.READ_ONLY
    [reboot] = [c for c in by_path["Device."].commands if c.name == "Reboot"]
    assert not reboot.is_async
    first_level = model.supported("Device.LocalAgent.", True)
    assert first_level[0].path == "Device.LocalAgent."
    assert "Device.LocalAgent.Controller.{i}." in {o.path for o in first_level[1:]}
    # nothing is instantiated in tables: a profile extending this file chooses its own instances
    table = schema.lookup("Device.WiFi.Radio.{i}.")
    assert isinstance(table, ObjectNode) and model.store.instances(table, ()) == ()
