"""Path resolution against the minimal profile: every path form and the usp-protocol.md 3.2 matrix."""

from __future__ import annotations

import pytest

from simulator.datamodel.resolver import ResolveOp
from simulator.usp.errors import UspError


def paths(dm, text: str, op: ResolveOp = ResolveOp.GET) -> list[str]:
    res = dm.resolve(text, op, 0.0)
    suffix = "" if res.leaf is None else res.leaf
    return [node.instance_path(inst) + suffix for node, inst in res.entries]


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "Device.LocalAgent.Subscription.*.Enable",
            ["Device.LocalAgent.Subscription.1.Enable", "Device.LocalAgent.Subscription.4.Enable"],
        ),
        ("Device.LocalAgent.Subscription.[Enable==true].ID", ["Device.LocalAgent.Subscription.1.ID"]),
        ("Device.LocalAgent.Subscription.[Enable==1].ID", ["Device.LocalAgent.Subscription.1.ID"]),
        (
            "Device.LocalAgent.Subscription.[NotifExpiration>=10&&Enable==false].",
            ["Device.LocalAgent.Subscription.4."],
        ),
        (
            'Device.LocalAgent.Subscription.[Recipient=="Device.LocalAgent.Controller.1"&&ID=="vc1"].Enable',
            ["Device.LocalAgent.Subscription.4.Enable"],
        ),
        (
            'Device.LocalAgent.Controller.[EndpointID=="proto::other"].MTP.*.Protocol',
            ["Device.LocalAgent.Controller.2.MTP.1.Protocol"],
        ),
        (
            "Device.LocalAgent.Subscription.1.Recipient+.EndpointID",
            ["Device.LocalAgent.Controller.1.EndpointID"],
        ),
        (
            'Device.LocalAgent.Subscription.[Recipient+.EndpointID=="proto::controller"].ID',
            ["Device.LocalAgent.Subscription.1.ID", "Device.LocalAgent.Subscription.4.ID"],
        ),
        (
            "Device.LocalAgent.Controller.1.AssignedRole#*+.Name",
            ["Device.LocalAgent.ControllerTrust.Role.1.Name"],
        ),
        ("Device.LocalAgent.Controller.1.AssignedRole#2+.Name", []),
        ('Device.LocalAgent.Subscription.[ID=="zzz"].', []),
        (
            'Device.LocalAgent.Controller.1.MTP.[Protocol=="MQTT"].MQTT.Topic',
            ["Device.LocalAgent.Controller.1.MTP.1.MQTT.Topic"],
        ),
        ("Device.LocalAgent.SupportedProtocols", ["Device.LocalAgent.SupportedProtocols"]),
        ('Device.LocalAgent.[SupportedProtocols~="MQTT"].EndpointID', None),
        ("Device.LocalAgent.Periodic!", ["Device.LocalAgent.Periodic"]),
    ],
)
def test_resolver_path_forms(dm, text: str, expected: list[str] | None) -> None:
    op = ResolveOp.NOTIFY if text.endswith("!") else ResolveOp.GET
    if expected is None:
        with pytest.raises(UspError) as info:
            paths(dm, text, op)
        assert info.value.code == 7026
    else:
        assert paths(dm, text, op) == expected


def test_resolver_table_path_is_pending(dm) -> None:
    res = dm.resolve("Device.LocalAgent.Subscription.", ResolveOp.GET)
    assert res.pending and res.entries[0][0].path == "Device.LocalAgent.Subscription.{i}."


def test_resolver_search_list_contains(dm) -> None:
    dm.set(
        "Device.LocalAgent.Subscription.1.",
        {"ReferenceList": "Device.Boot!,Device.LocalAgent.Periodic!"},
        now=0,
    )
    assert paths(dm, 'Device.LocalAgent.Subscription.[ReferenceList~="Device.Boot!"].ID') == [
        "Device.LocalAgent.Subscription.1.ID"
    ]


@pytest.mark.parametrize(
    "text",
    [
        'Device.LocalAgent.Subscription.[Enable=="true"].',
        "Device.LocalAgent.Subscription.[ID==vc1].",
        'Device.LocalAgent.Subscription.[ID>"a"].',
        "Device.LocalAgent.Subscription.[NotifExpiration==abc].",
        'Device.LocalAgent.Subscription.[ID~="x"].',
    ],
)
def test_resolver_invalid_search_expression_is_7008_even_on_matches(dm, text: str) -> None:
    with pytest.raises(UspError) as info:
        dm.resolve(text, ResolveOp.GET)
    assert info.value.code == 7008


# usp-protocol.md 3.2: situation -> {op: code}; None = success with no entries
MATRIX = [
    (
        "Device.LocalAgent.Bogus.",
        {
            ResolveOp.GET: 7026,
            ResolveOp.SET: 7026,
            ResolveOp.ADD: 7026,
            ResolveOp.DELETE: 7026,
            ResolveOp.GET_INSTANCES: 7026,
        },
    ),
    ("Device.LocalAgent.Bogus()", {ResolveOp.OPERATE: 7026}),
    ("Device.Reboot()", {ResolveOp.GET: 7026}),
    ("Device.Boot!", {ResolveOp.GET: 7026}),
    (
        "Device.LocalAgent.EndpointID",
        {
            ResolveOp.SET: 7018,
            ResolveOp.ADD: 7019,
            ResolveOp.DELETE: 7016,
            ResolveOp.GET_INSTANCES: 7018,
            ResolveOp.OPERATE: 7022,
        },
    ),
    ("Device.LocalAgent.Subscription.1.", {ResolveOp.ADD: 7017}),
    ("Device.LocalAgent.", {ResolveOp.ADD: 7018, ResolveOp.DELETE: 7016, ResolveOp.OPERATE: 7022}),
    ("Device.LocalAgent.Subscription.", {ResolveOp.DELETE: 7016}),
    (
        "Device.LocalAgent.Subscription.9.",
        {ResolveOp.GET: 7026, ResolveOp.SET: 7016, ResolveOp.DELETE: None, ResolveOp.GET_INSTANCES: 7016},
    ),
    ("Device.LocalAgent.Subscription.9.Enable", {ResolveOp.GET: 7026}),
    ("Device.LocalAgent.Controller.9.MTP.", {ResolveOp.ADD: 7016}),
    ("Device.LocalAgent.Controller.9.SendOnBoardRequest()", {ResolveOp.OPERATE: 7016}),
    (
        'Device.LocalAgent.Subscription.[ID=="zzz"].',
        {ResolveOp.GET: None, ResolveOp.SET: None, ResolveOp.DELETE: None, ResolveOp.GET_INSTANCES: None},
    ),
    ('Device.LocalAgent.Controller.[ID=="x"].SendOnBoardRequest()', {ResolveOp.OPERATE: 7026}),
    (
        'Device.LocalAgent.Controller.[Enable==true&&EndpointID=="none"].SendOnBoardRequest()',
        {ResolveOp.OPERATE: None},
    ),
    ('Device.LocalAgent.Controller.[Enable==true&&EndpointID=="none"].MTP.', {ResolveOp.ADD: None}),
    ("Device.LocalAgent.Request.", {ResolveOp.GET: None, ResolveOp.GET_INSTANCES: None}),
    ("Device.DeviceInfo.1.", {ResolveOp.GET: 7026}),
    ("Device.LocalAgent.Controller.Enable", {ResolveOp.GET: 7026}),
]


@pytest.mark.parametrize("text,codes", MATRIX)
def test_resolver_error_matrix(dm, text: str, codes: dict[ResolveOp, int | None]) -> None:
    for op, code in codes.items():
        if code is None:
            res = dm.resolve(text, op, 0.0)
            assert res.entries == [] or res.pending and res.entries, (text, op)
            if res.pending and res.entries:
                assert dm.store.instances(*res.entries[0]) == ()
        else:
            with pytest.raises(UspError) as info:
                dm.resolve(text, op, 0.0)
            assert info.value.code == code, (text, op, info.value)


def test_resolver_syntax_error_is_7008(dm) -> None:
    for op in ResolveOp:
        with pytest.raises(UspError) as info:
            dm.resolve("Device..LocalAgent.", op)
        assert info.value.code == 7008


def test_resolver_six_instance_levels(tmp_path) -> None:
    from simulator.datamodel.editing import DataModel
    from simulator.datamodel.loader import load_schema
    from simulator.datamodel.personas import Persona

    lines = ["format: 1", "objects:", "  Device.: {}"]
    path = "Device."
    for level in range(6):
        path += f"T{level}.{{i}}."
        lines.append(f"  {path}: {{access: readWrite, params: {{V: unsignedInt rw = {level}}}}}")
    lines.append("instances:")
    lines.append("  " + ".".join(["Device"] + [f"T{lv}.{lv + 1}" for lv in range(6)]) + ".: {V: 99}")
    p = tmp_path / "deep.yaml"
    p.write_text("\n".join(lines) + "\n")
    dm = DataModel(load_schema(p), Persona(1))
    assert dm.get("Device.T0.*.T1.*.T2.*.T3.*.T4.*.T5.*.V", now=0) == [
        ("Device.T0.1.T1.2.T2.3.T3.4.T4.5.T5.6.", {"V": "99"})
    ]
    assert dm.get("Device.T0.1.T1.2.T2.3.T3.4.T4.5.T5.6.V", now=0)[0][1] == {"V": "99"}
