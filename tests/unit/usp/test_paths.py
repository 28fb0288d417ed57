"""Tests for the USP path parser (usp-protocol.md 4.1-4.4; 7008 on every syntax error)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from simulator.usp.errors import ErrorCode, InvalidPathSyntaxError
from simulator.usp.paths import (
    ALL,
    MAX_INSTANCE_NUMBER,
    MAX_PATH_LENGTH,
    MAX_SEGMENTS,
    OPERATORS,
    PARSE_CACHE_SIZE,
    Comparison,
    InstanceNumber,
    InstancePlaceholder,
    Name,
    PathExpr,
    PathKind,
    ReferenceFollow,
    SearchExpr,
    SupportedPath,
    Wildcard,
    as_path,
    parse_path,
    parse_supported_path,
    split_relative,
)

OBJ, PARAM, CMD, EVT = PathKind.OBJECT, PathKind.PARAMETER, PathKind.COMMAND, PathKind.EVENT
W = Wildcard()
P = InstancePlaceholder()


def N(*names: str) -> tuple[Name, ...]:
    return tuple(Name(n) for n in names)


def I(number: int) -> InstanceNumber:  # noqa: E743
    return InstanceNumber(number)


def R(name: str, index: int | str = 1) -> ReferenceFollow:
    return ReferenceFollow(name, index)  # type: ignore[arg-type]


def C(path: str, op: str, value: str, quoted: bool) -> Comparison:
    parts: list[Name | ReferenceFollow] = []
    for part in path.split("."):
        if part.endswith("+"):
            parts.append(R(part[:-1]))
        else:
            parts.append(Name(part))
    return Comparison(tuple(parts), op, value, quoted)


def S(*comparisons: Comparison) -> SearchExpr:
    return SearchExpr(tuple(comparisons))


def expr(kind: PathKind, *segments: object) -> PathExpr:
    flat: list[object] = []
    for s in segments:
        flat.extend(s if isinstance(s, tuple) else (s,))
    return PathExpr("", tuple(flat), kind)  # type: ignore[arg-type]


SUB = N("Device", "LocalAgent", "Subscription")

# Every form and example path of usp-protocol.md 4.1-4.4, plus the brief's extra forms.
VALID = [
    # 4.1 kinds of path
    ("Device.DeviceInfo.", expr(OBJ, N("Device", "DeviceInfo"))),
    ("Device.LocalAgent.Subscription.", expr(OBJ, SUB)),
    ("Device.LocalAgent.Subscription.3.", expr(OBJ, SUB, I(3))),
    ("Device.LocalAgent.Subscription.3.Enable", expr(PARAM, SUB, I(3), Name("Enable"))),
    ("Device.IP.Diagnostics.IPPing()", expr(CMD, N("Device", "IP", "Diagnostics", "IPPing"))),
    ("Device.Boot!", expr(EVT, N("Device", "Boot"))),
    ("Device.Reboot()", expr(CMD, N("Device", "Reboot"))),
    ("Device.LocalAgent.Periodic!", expr(EVT, N("Device", "LocalAgent", "Periodic"))),
    (
        "Device.LocalAgent.Request.1.Cancel()",
        expr(CMD, N("Device", "LocalAgent", "Request"), I(1), Name("Cancel")),
    ),
    (
        "Device.X.*.Y.[A==1].Z!",
        expr(EVT, N("Device", "X"), W, Name("Y"), S(C("A", "==", "1", False)), Name("Z")),
    ),
    # 4.2 instance identifiers
    ("Device.IP.Interface.3.", expr(OBJ, N("Device", "IP", "Interface"), I(3))),
    (
        'Device.NAT.PortMapping.[RemoteHost==""&&ExternalPort==0&&Protocol=="TCP"].',
        expr(
            OBJ,
            N("Device", "NAT", "PortMapping"),
            S(
                C("RemoteHost", "==", "", True),
                C("ExternalPort", "==", "0", False),
                C("Protocol", "==", "TCP", True),
            ),
        ),
    ),
    (
        'Device.IP.Interface.[Alias=="WAN"].',
        expr(OBJ, N("Device", "IP", "Interface"), S(C("Alias", "==", "WAN", True))),
    ),
    (
        "Device.X.[Stats.ErrorsSent>0].",
        expr(OBJ, N("Device", "X"), S(C("Stats.ErrorsSent", ">", "0", False))),
    ),
    ("Device.X.[Enable==true].", expr(OBJ, N("Device", "X"), S(C("Enable", "==", "true", False)))),
    ("Device.X.[Enable==1].", expr(OBJ, N("Device", "X"), S(C("Enable", "==", "1", False)))),
    ("Device.X.[Enable==false].", expr(OBJ, N("Device", "X"), S(C("Enable", "==", "false", False)))),
    (
        "Device.X.[ValidLifetime<2021-06-06T08:00:00Z].",
        expr(OBJ, N("Device", "X"), S(C("ValidLifetime", "<", "2021-06-06T08:00:00Z", False))),
    ),
    ("Device.X.[Port==0123].", expr(OBJ, N("Device", "X"), S(C("Port", "==", "0123", False)))),
    ("Device.X.[Delta>=-5].", expr(OBJ, N("Device", "X"), S(C("Delta", ">=", "-5", False)))),
    ("Device.X.[Ratio<=1.25].", expr(OBJ, N("Device", "X"), S(C("Ratio", "<=", "1.25", False)))),
    ('Device.X.[A!="b"].', expr(OBJ, N("Device", "X"), S(C("A", "!=", "b", True)))),
    ('Device.X.[Tags~="red"].', expr(OBJ, N("Device", "X"), S(C("Tags", "~=", "red", True)))),
    (
        'Device.X.[A=="say %22hi%22 100%25"].',
        expr(OBJ, N("Device", "X"), S(C("A", "==", 'say "hi" 100%', True))),
    ),
    ('Device.X.[A=="%2522"].', expr(OBJ, N("Device", "X"), S(C("A", "==", "%22", True)))),
    ('Device.X.[A=="%41%"].', expr(OBJ, N("Device", "X"), S(C("A", "==", "%41%", True)))),
    ('Device.X.[A=="a]&&b||[c"].', expr(OBJ, N("Device", "X"), S(C("A", "==", "a]&&b||[c", True)))),
    ('Device.X.[A=="é ü"].', expr(OBJ, N("Device", "X"), S(C("A", "==", "é ü", True)))),
    (
        'Device.X.[ A == 1 && B != "x" ].',
        expr(OBJ, N("Device", "X"), S(C("A", "==", "1", False), C("B", "!=", "x", True))),
    ),
    ("Device.X.[A\t<\t2].", expr(OBJ, N("Device", "X"), S(C("A", "<", "2", False)))),
    (
        "Device.X.[T>2021-06-06T08:00:00.123456+02:00].",
        expr(OBJ, N("Device", "X"), S(C("T", ">", "2021-06-06T08:00:00.123456+02:00", False))),
    ),
    (
        'Device.IP.Interface.[Name=="eth0"].IPv4Address.[Status=="Enabled"].IPAddress',
        expr(
            PARAM,
            N("Device", "IP", "Interface"),
            S(C("Name", "==", "eth0", True)),
            Name("IPv4Address"),
            S(C("Status", "==", "Enabled", True)),
            Name("IPAddress"),
        ),
    ),
    ("Device.X.*.", expr(OBJ, N("Device", "X"), W)),
    ("Device.X.2147483647.", expr(OBJ, N("Device", "X"), I(MAX_INSTANCE_NUMBER))),
    ("Device.X_EXAMPLE-COM_Thing.Y", expr(PARAM, N("Device", "X_EXAMPLE-COM_Thing", "Y"))),
    ("_a.b_2", expr(PARAM, N("_a", "b_2"))),
    # 4.3 reference following
    (
        "Device.NAT.PortMapping.1.Interface+.Name",
        expr(PARAM, N("Device", "NAT", "PortMapping"), I(1), R("Interface"), Name("Name")),
    ),
    (
        "Device.WiFi.SSID.1.LowerLayers#*+.Name",
        expr(PARAM, N("Device", "WiFi", "SSID"), I(1), R("LowerLayers", ALL), Name("Name")),
    ),
    (
        "Device.WiFi.SSID.1.LowerLayers#2+.Name",
        expr(PARAM, N("Device", "WiFi", "SSID"), I(1), R("LowerLayers", 2), Name("Name")),
    ),
    (
        "Device.WiFi.SSID.1.LowerLayers#1+.Name",
        expr(PARAM, N("Device", "WiFi", "SSID"), I(1), R("LowerLayers"), Name("Name")),
    ),
    (
        "Device.X.1.Ref+.Stats.",
        expr(OBJ, N("Device", "X"), I(1), R("Ref"), N("Stats")),
    ),
    (
        "Device.X.1.Ref+.Table.*.Reset()",
        expr(CMD, N("Device", "X"), I(1), R("Ref"), Name("Table"), W, Name("Reset")),
    ),
    (
        "Device.X.1.A+.B#*+.C",
        expr(PARAM, N("Device", "X"), I(1), R("A"), R("B", ALL), Name("C")),
    ),
    (
        'Device.WiFi.AccessPoint.[SSIDReference+.SSID=="MyHome"].AssociatedDevice.[OperatingStandard=="ac"].SignalStrength',
        expr(
            PARAM,
            N("Device", "WiFi", "AccessPoint"),
            S(C("SSIDReference+.SSID", "==", "MyHome", True)),
            Name("AssociatedDevice"),
            S(C("OperatingStandard", "==", "ac", True)),
            Name("SignalStrength"),
        ),
    ),
    (
        'Device.X.[Ref#*+.Y.Z=="a"].',
        expr(OBJ, N("Device", "X"), S(Comparison((R("Ref", ALL), Name("Y"), Name("Z")), "==", "a", True))),
    ),
    # 4.4 resolution examples
    ("Device.LocalAgent.Subscription.*.Enable", expr(PARAM, SUB, W, Name("Enable"))),
    (
        "Device.LocalAgent.Subscription.[Enable==true].ID",
        expr(PARAM, SUB, S(C("Enable", "==", "true", False)), Name("ID")),
    ),
    (
        "Device.LocalAgent.Subscription.[NotifExpiration>=10&&Enable==false].",
        expr(OBJ, SUB, S(C("NotifExpiration", ">=", "10", False), C("Enable", "==", "false", False))),
    ),
    (
        'Device.LocalAgent.Subscription.[Recipient=="Device.LocalAgent.Controller.1"&&ID=="vc1"].Enable',
        expr(
            PARAM,
            SUB,
            S(C("Recipient", "==", "Device.LocalAgent.Controller.1", True), C("ID", "==", "vc1", True)),
            Name("Enable"),
        ),
    ),
    (
        'Device.LocalAgent.Controller.[EndpointID=="proto::other"].MTP.*.Protocol',
        expr(
            PARAM,
            N("Device", "LocalAgent", "Controller"),
            S(C("EndpointID", "==", "proto::other", True)),
            Name("MTP"),
            W,
            Name("Protocol"),
        ),
    ),
    (
        "Device.LocalAgent.Subscription.1.Recipient+.EndpointID",
        expr(PARAM, SUB, I(1), R("Recipient"), Name("EndpointID")),
    ),
    ("Device.LocalAgent.Subscription.9.Enable", expr(PARAM, SUB, I(9), Name("Enable"))),
    ('Device.LocalAgent.Subscription.[ID=="zzz"].', expr(OBJ, SUB, S(C("ID", "==", "zzz", True)))),
    # syntactically fine; the resolver rejects it from quoted=True on a boolean parameter
    ('Device.LocalAgent.Subscription.[Enable=="true"].', expr(OBJ, SUB, S(C("Enable", "==", "true", True)))),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[t for t, _ in VALID])
def test_paths_valid_forms_parse_to_expected_ast(text: str, expected: PathExpr) -> None:
    parsed = parse_path(text)
    assert parsed == expected
    assert parsed.segments == expected.segments
    assert parsed.kind is expected.kind
    assert parsed.text == text


@pytest.mark.parametrize("text", [t for t, _ in VALID])
def test_paths_render_round_trips(text: str) -> None:
    parsed = parse_path(text)
    rendered = parsed.render()
    assert str(parsed) == rendered
    again = parse_path(rendered)
    assert again == parsed
    assert again.render() == rendered


def test_paths_render_is_canonical() -> None:
    assert str(parse_path("Device.X.1.R#1+.Y")) == "Device.X.1.R+.Y"
    assert str(parse_path("Device.X.1.R#3+.Y")) == "Device.X.1.R#3+.Y"
    assert str(parse_path("Device.X.1.R#*+.Y")) == "Device.X.1.R#*+.Y"
    assert str(parse_path('Device.X.[ A == "q%22%25" && B<1 ].')) == 'Device.X.[A=="q%22%25"&&B<1].'
    assert str(parse_path('Device.X.[A=="%41"].')) == 'Device.X.[A=="%2541"].'


def test_paths_equality_ignores_original_text() -> None:
    a = parse_path("Device.X.1.R#1+.Y")
    b = parse_path("Device.X.1.R+.Y")
    assert a == b
    assert hash(a) == hash(b)
    assert a.text == "Device.X.1.R#1+.Y"
    assert b.text == "Device.X.1.R+.Y"
    assert a != parse_path("Device.X.1.R+.Y.")


def test_paths_helpers() -> None:
    p = parse_path("Device.LocalAgent.Subscription.1.Enable")
    assert p.leaf == "Enable"
    assert p.object_segments == (*SUB, I(1))
    assert not p.is_search
    assert p.has_instance_selectors
    assert not p.is_instance_path
    assert parse_path("Device.LocalAgent.Subscription.1.").is_instance_path
    assert parse_path("Device.LocalAgent.Subscription.*.").is_instance_path
    assert parse_path("Device.LocalAgent.Subscription.[ID==1].").is_instance_path
    assert not parse_path("Device.LocalAgent.Subscription.").is_instance_path
    assert not parse_path("Device.LocalAgent.").has_instance_selectors
    assert parse_path("Device.LocalAgent.").leaf is None
    assert parse_path("Device.X.1.R+.Y").is_search
    assert parse_path("Device.X.*.Y").is_search
    assert parse_path("Device.Boot!").leaf == "Boot"
    assert as_path("Device.Boot!") is parse_path("Device.Boot!")
    already = parse_path("Device.Reboot()")
    assert as_path(already) is already
    assert parse_path('Device.X.[Ref+.A.B=="1"].').segments[2].comparisons[0].relpath == "Ref+.A.B"  # type: ignore[union-attr]


# (text, position, reason substring)
INVALID = [
    ("", 0, "empty path"),
    (" Device.", 0, "leading whitespace"),
    ("Device. ", 7, "trailing whitespace"),
    ("Device.\n", 7, "trailing whitespace"),
    ("Device..X", 7, "empty name between dots"),
    ("Device.X..", 9, "empty name between dots"),
    (".Device.", 0, "path must start with a name"),
    ("1.Device.", 0, "path must start with a name"),
    ("*.X.", 0, "path must start with a name"),
    ("[a==1].X.", 0, "path must start with a name"),
    ("Device", 6, "expected '.' after 'Device'"),
    ("Boot!", 4, "expected '.' after 'Boot'"),
    ("Reboot()", 6, "expected '.' after 'Reboot'"),
    ("Device+.X", 6, "expected '.' after 'Device'"),
    ("Device.1.", 7, "instance selector must follow the name of a table"),
    ("Device.X.1.2.", 11, "instance selector must follow the name of a table"),
    ("Device.X.*.[a==1].", 11, "instance selector must follow the name of a table"),
    ("Device.X.1.R+.3.", 14, "reference following must be followed by '.' and a name"),
    ("Device.X.[]", 9, "empty search expression '[]'"),
    ("Device.X.[ ].", 9, "empty search expression '[]'"),
    ("Device.X.[", 9, "unterminated '['"),
    ("Device.X.[a==1", 9, "unterminated '['"),
    ("Device.X.[a", 9, "unterminated '['"),
    ("Device.X.[a.", 9, "unterminated '['"),
    ("Device.X.[a==1&&", 9, "unterminated '['"),
    ("Device.X.[a=<1].", 11, "unknown operator '=<'"),
    ("Device.X.[a=1].", 11, "unknown operator '='"),
    ("Device.X.[a===1].", 11, "unknown operator '==='"),
    ("Device.X.[a=>1].", 11, "unknown operator '=>'"),
    ("Device.X.[a 1].", 12, "expected a comparison operator"),
    ("Device.X.[a==1||b==2].", 14, "'||'"),
    ("Device.X.[a==1&b==2].", 14, "expected '&&'"),
    ("Device.X.[a==1 b==2].", 15, "expected '&&' or ']'"),
    ('Device.X.[a=="x"y].', 16, "expected '&&' or ']'"),
    ("Device.X.[a==1&&].", 16, "expected a parameter name"),
    ("Device.X.[==1].", 10, "expected a parameter name"),
    ("Device.X.[1a==1].", 10, "names must start with a letter"),
    ("Device.X.[a==].", 13, "expected a value"),
    ("Device.X.[a==b].", 13, "unquoted string constant"),
    ("Device.X.[a==Enabled].", 13, "unquoted string constant"),
    ("Device.X.[a==True].", 13, "unquoted string constant"),
    ("Device.X.[a==1x].", 13, "unquoted string constant"),
    ("Device.X.[a==--1].", 13, "unquoted string constant"),
    ('Device.X.[a=="x].', 13, "unterminated string constant"),
    ("Device.X.[a==1]", 15, "expected '.' after ']'"),
    ("Device.X.[a==1]x", 15, "expected '.' after ']'"),
    ("Device.X.[a==1]Y.", 15, "expected '.' after ']'"),
    ("Device.X.[a==1][b==2].", 15, "expected '.' after ']'"),
    ("Device.X.[S.1.a==1].", 12, "child tables"),
    ("Device.X.[S.*.a==1].", 12, "child tables"),
    ("Device.X.[S.[b==1].a==1].", 12, "child tables"),
    ("Device.X.[S..a==1].", 12, "empty name between dots"),
    ("Device.X.[R+==1].", 12, "reference following must be followed by '.' and a name"),
    ("Device.X.[R#+.a==1].", 12, "expected a reference index"),
    ("Device.X.[{i}==1].", 10, "expected a parameter name"),
    ("Device.X.[[[[[[[[", 10, "expected a parameter name"),
    ("Device.X.{i}.", 9, "'{i}' is only valid in supported-DM paths"),
    ("Device.X.{i}", 9, "'{i}' is only valid in supported-DM paths"),
    ("Device.X.{1}.", 9, "'{' is not valid"),
    ("Device.X.01.", 9, "instance number must not have a leading zero"),
    ("Device.X.0.", 9, "instance number must be >= 1"),
    ("Device.X.2147483648.", 9, "instance number exceeds 2147483647"),
    ("Device.X." + "9" * 4000 + ".", 9, "instance number exceeds"),
    ("Device.X.1", 10, "expected '.' after instance number"),
    ("Device.X.1Y.", 9, "names must start with a letter"),
    ("Device.X.*", 10, "expected '.' after '*'"),
    ("Device.X.*Y.", 10, "expected '.' after '*'"),
    ("Device.X.1.R+", 13, "reference following must be followed by '.' and a name"),
    ("Device.X.1.R+.", 14, "reference following must be followed by '.' and a name"),
    ("Device.X.1.R+Y", 13, "reference following must be followed by '.' and a name"),
    ("Device.X.1.R#0+.Y", 13, "reference index must be >= 1"),
    ("Device.X.1.R#01+.Y", 13, "reference index must not have a leading zero"),
    ("Device.X.1.R#x+.Y", 13, "expected a reference index or '*'"),
    ("Device.X.1.R#2.Y", 14, "expected '+' after the '#' reference index"),
    ("Device.X.1.R#*.Y", 14, "expected '+'"),
    ("Device.Reboot()x", 15, "unexpected text after '()'"),
    ("Device.Reboot().", 15, "unexpected text after '()'"),
    ("Device.Reboot(", 14, "expected ')'"),
    ("Device.Reboot(x)", 14, "expected ')'"),
    ("Device.Boot!x", 12, "unexpected text after '!'"),
    ("Device.Boot!!", 12, "unexpected text after '!'"),
    ("Devicé.X", 5, "invalid character 'é' in name"),
    ("Device.é.", 7, "expected a name, found 'é'"),
    ("Device.X Y", 8, "unexpected whitespace"),
    ("Device.-X.", 7, "expected a name, found '-'"),
    ("Device.X$.", 8, "invalid character '$' in name"),
    ("Device.X\x00.", 8, "invalid character"),
    ("a." * (MAX_SEGMENTS + 1), 2 * MAX_SEGMENTS, f"more than {MAX_SEGMENTS} path segments"),
    ("D." + "a" * MAX_PATH_LENGTH, MAX_PATH_LENGTH, "longer than"),
]


@pytest.mark.parametrize(("text", "position", "reason"), INVALID, ids=[t[:40] for t, _, _ in INVALID])
def test_paths_invalid_forms_raise_7008_with_position(text: str, position: int, reason: str) -> None:
    with pytest.raises(InvalidPathSyntaxError) as info:
        parse_path(text)
    err = info.value
    assert err.code == 7008
    assert err.error_code is ErrorCode.INVALID_PATH_SYNTAX
    assert err.text == text
    assert (err.position, reason in err.reason) == (position, True), err.reason
    assert err.path == text


def test_paths_error_message_names_position_and_reason() -> None:
    with pytest.raises(InvalidPathSyntaxError, match=r"position 7 .*empty name between dots"):
        parse_path("Device..X")


SUPPORTED_VALID = [
    (
        "Device.LocalAgent.Controller.{i}.",
        SupportedPath("", (*N("Device", "LocalAgent", "Controller"), P), OBJ),
    ),
    (
        "Device.WiFi.AccessPoint.{i}.AssociatedDevice.",
        SupportedPath("", (*N("Device", "WiFi", "AccessPoint"), P, Name("AssociatedDevice")), OBJ),
    ),
    (
        "Device.WiFi.AccessPoint.{i}.AssociatedDevice.{i}.SignalStrength",
        SupportedPath(
            "",
            (*N("Device", "WiFi", "AccessPoint"), P, Name("AssociatedDevice"), P, Name("SignalStrength")),
            PARAM,
        ),
    ),
    ("Device.LocalAgent.Subscription.3.", SupportedPath("", (*SUB, I(3)), OBJ)),
    ("Device.LocalAgent.Subscription.{i}.Enable", SupportedPath("", (*SUB, P, Name("Enable")), PARAM)),
    (
        "Device.LocalAgent.Request.{i}.Cancel()",
        SupportedPath("", (*N("Device", "LocalAgent", "Request"), P, Name("Cancel")), CMD),
    ),
    ("Device.Boot!", SupportedPath("", N("Device", "Boot"), EVT)),
    ("Device.", SupportedPath("", N("Device"), OBJ)),
]


@pytest.mark.parametrize(("text", "expected"), SUPPORTED_VALID, ids=[t for t, _ in SUPPORTED_VALID])
def test_paths_supported_forms_parse_and_round_trip(text: str, expected: SupportedPath) -> None:
    parsed = parse_supported_path(text)
    assert parsed == expected
    assert parsed.text == text
    assert parse_supported_path(str(parsed)) == parsed
    assert str(parsed) == text


SUPPORTED_INVALID = [
    ("", 0, "empty path"),
    ("Device.X.*.", 9, "not allowed in supported-DM paths"),
    ("Device.X.[a==1].", 9, "not allowed in supported-DM paths"),
    ("Device.X.1.R+.Y", 12, "reference following is not allowed"),
    ("Device.X.{j}.", 9, "expected '{i}'"),
    ("Device.X.{i}", 12, "expected '.' after '{i}'"),
    ("Device.{i}.", 7, "instance selector must follow the name of a table"),
    ("Device.X.{i}.{i}.", 13, "instance selector must follow the name of a table"),
    ("Device.X.0.", 9, "must be >= 1"),
    ("Device..", 7, "empty name between dots"),
    ("Device.X.Reboot()y", 17, "unexpected text after '()'"),
]


@pytest.mark.parametrize(
    ("text", "position", "reason"), SUPPORTED_INVALID, ids=[t for t, _, _ in SUPPORTED_INVALID]
)
def test_paths_supported_invalid_forms_raise_7008(text: str, position: int, reason: str) -> None:
    with pytest.raises(InvalidPathSyntaxError) as info:
        parse_supported_path(text)
    assert info.value.code == 7008
    assert (info.value.position, reason in info.value.reason) == (position, True), info.value.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Enable", ("Enable",)),
        ("Stats.BytesSent", ("Stats", "BytesSent")),
        ("HTTP.URL", ("HTTP", "URL")),
        ("X_EXAMPLE-COM_A.b", ("X_EXAMPLE-COM_A", "b")),
    ],
)
def test_paths_split_relative_valid(text: str, expected: tuple[str, ...]) -> None:
    assert split_relative(text) == expected


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("", 0, "empty relative name"),
        (".A", 0, "must start with a name"),
        ("A.", 2, "must not end with '.'"),
        ("A..B", 2, "empty name between dots"),
        ("A.1.B", 2, "instance selectors are not allowed"),
        ("A.*.B", 2, "instance selectors are not allowed"),
        ("A+.B", 1, "reference following is not allowed"),
        ("A B", 1, "unexpected whitespace"),
        (" A", 0, "leading whitespace"),
        ("A()", 1, "invalid character '('"),
        ("1A", 0, "instance selectors are not allowed"),
    ],
)
def test_paths_split_relative_invalid(text: str, position: int, reason: str) -> None:
    with pytest.raises(InvalidPathSyntaxError) as info:
        split_relative(text)
    assert info.value.code == 7008
    assert (info.value.position, reason in info.value.reason) == (position, True), info.value.reason


def test_paths_parse_is_cached_and_bounded() -> None:
    text = "Device.WiFi.SSID.*.Enable"
    built = "".join(["Device.WiFi.", "SSID.*.Enable"])
    assert built is not text
    assert parse_path(built) is parse_path(text)
    assert parse_supported_path("Device.WiFi.SSID.{i}.") is parse_supported_path(
        "".join(["Device.WiFi.", "SSID.{i}."])
    )
    assert split_relative("Stats.BytesSent") is split_relative("".join(["Stats.", "BytesSent"]))
    assert parse_path.cache_info().maxsize == PARSE_CACHE_SIZE
    assert parse_supported_path.cache_info().maxsize == PARSE_CACHE_SIZE


def test_paths_uncached_parse_of_many_distinct_paths() -> None:
    texts = [f"Device.LocalAgent.Subscription.{i}.Recipient+.EndpointID" for i in range(1, 1001)]
    texts += [
        f'Device.WiFi.AccessPoint.[SSIDReference+.SSID=="s{i}"&&Enable==true].AssociatedDevice.*.'
        for i in range(1000)
    ]
    parse_path.cache_clear()
    parsed = [parse_path(text) for text in texts]  # speed is measured in bench/, not here
    assert len({p.render() for p in parsed}) == len(texts)


def test_paths_long_inputs_stay_linear() -> None:
    near_limit = 'Device.X.[A=="' + "x" * (MAX_PATH_LENGTH - 20) + '"].'
    assert len(near_limit) <= MAX_PATH_LENGTH
    assert parse_path(near_limit).segments[2].comparisons[0].value == "x" * (MAX_PATH_LENGTH - 20)  # type: ignore[union-attr]
    for bad in ("Device.X.[" * 400, "Device.X.[A==" + "1" * 4000, "Device." + "a" * 4000 + "é"):
        with pytest.raises(InvalidPathSyntaxError):
            parse_path(bad)


# ---------------------------------------------------------------------------------------------
# Property tests


PATHISH = st.text(alphabet='DeviceX.Y_-[]{}()!+#*=<>~&|" %0123456789:T\té', max_size=60)


def _check_error(err: InvalidPathSyntaxError, text: str) -> None:
    assert err.code == 7008
    assert 0 <= err.position <= len(text)
    assert err.reason
    assert err.text == text


@given(st.one_of(st.text(max_size=80), PATHISH, st.text(alphabet="[].&=", max_size=200)))
@example("Device.X." + "[" * 3000)
@example("Device.X." + "9" * 5000 + ".")
@example("Device.X.[A==" + "9" * 5000 + "].")
@example("\U0001f600.\u00e9.")
def test_paths_arbitrary_text_only_raises_invalid_path_syntax(text: str) -> None:
    for parser in (parse_path, parse_supported_path, split_relative):
        try:
            result = parser(text)
        except InvalidPathSyntaxError as err:
            _check_error(err, text)
        else:
            if isinstance(result, PathExpr):
                assert parse_path(result.render()) == result
            elif isinstance(result, SupportedPath):
                assert parse_supported_path(result.render()) == result
            else:
                assert ".".join(result) == text


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_\-]{0,7}", fullmatch=True)
posnums = st.integers(min_value=1, max_value=MAX_INSTANCE_NUMBER)
refs = st.builds(ReferenceFollow, names, st.one_of(posnums, st.just(ALL)))
relpaths = st.builds(
    lambda head, last: (*head, Name(last)),
    st.lists(st.one_of(names.map(Name), refs), max_size=3),
    names,
)
bare_values = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.from_regex(r"-?[0-9]{1,5}\.[0-9]{1,4}", fullmatch=True),
    st.sampled_from(["true", "false", "0", "1", "0123"]),
    st.datetimes(min_value=datetime(1000, 1, 1)).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + "Z"),
    st.from_regex(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([+-][0-9]{2}:[0-9]{2})?",
        fullmatch=True,
    ),
)
comparisons = st.one_of(
    st.builds(
        lambda p, o, v: Comparison(p, o, v, True),
        relpaths,
        st.sampled_from(sorted(OPERATORS)),
        st.text(max_size=12),
    ),
    st.builds(
        lambda p, o, v: Comparison(p, o, v, False), relpaths, st.sampled_from(sorted(OPERATORS)), bare_values
    ),
)
selectors = st.one_of(
    posnums.map(InstanceNumber),
    st.just(Wildcard()),
    st.lists(comparisons, min_size=1, max_size=3).map(lambda cs: SearchExpr(tuple(cs))),
)
steps = st.one_of(
    names.map(lambda n: (Name(n),)),
    st.tuples(names.map(Name), selectors),
    st.tuples(refs, names.map(Name)),
    st.tuples(refs, names.map(Name), selectors),
)
leaf_steps = st.one_of(names.map(lambda n: (Name(n),)), st.tuples(refs, names.map(Name)))


@st.composite
def path_asts(draw: st.DrawFn) -> PathExpr:
    segments: list[object] = [Name(draw(names))]
    for step in draw(st.lists(steps, max_size=6)):
        segments.extend(step)
    kind = draw(st.sampled_from(list(PathKind)))
    if kind is not PathKind.OBJECT:
        segments.extend(draw(leaf_steps))
    return PathExpr("", tuple(segments), kind)  # type: ignore[arg-type]


@st.composite
def supported_asts(draw: st.DrawFn) -> SupportedPath:
    segments: list[object] = [Name(draw(names))]
    for name, selector in draw(
        st.lists(st.tuples(names, st.one_of(st.none(), st.just(P), posnums.map(InstanceNumber))), max_size=6)
    ):
        segments.append(Name(name))
        if selector is not None:
            segments.append(selector)
    kind = draw(st.sampled_from(list(PathKind)))
    if kind is not PathKind.OBJECT:
        segments.append(Name(draw(names)))
    return SupportedPath("", tuple(segments), kind)  # type: ignore[arg-type]


@given(path_asts())
def test_paths_generated_asts_render_and_parse_back(ast: PathExpr) -> None:
    text = ast.render()
    parsed = parse_path(text)
    assert parsed == ast
    assert parsed.segments == ast.segments
    assert parsed.text == text
    assert parsed.render() == text


@given(path_asts(), st.sampled_from([" ", "\t", "  "]))
def test_paths_whitespace_inside_brackets_is_insignificant(ast: PathExpr, ws: str) -> None:
    text = ast.render()
    parts = []
    for segment in ast.segments:
        if isinstance(segment, SearchExpr):
            comps = [
                f"{c.relpath}{ws}{c.op}{ws}{str(c)[len(c.relpath) + len(c.op) :]}"
                for c in segment.comparisons
            ]
            parts.append(f"[{ws}" + f"{ws}&&{ws}".join(comps) + f"{ws}]")
        else:
            parts.append(str(segment))
    spaced = ".".join(parts) + {OBJ: ".", PARAM: "", CMD: "()", EVT: "!"}[ast.kind]
    assert parse_path(spaced) == parse_path(text)


@given(supported_asts())
def test_paths_generated_supported_asts_round_trip(ast: SupportedPath) -> None:
    text = ast.render()
    assert parse_supported_path(text) == ast
    assert str(parse_supported_path(text)) == text


@given(path_asts())
def test_paths_parse_returns_cached_object(ast: PathExpr) -> None:
    text = ast.render()
    first = parse_path(text)
    assert parse_path("".join(list(text))) is first
