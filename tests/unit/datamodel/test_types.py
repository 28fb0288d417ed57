"""TR-181 scalar types: canonical forms and the 7011 / 7012 split."""

from __future__ import annotations

import pytest

from simulator.datamodel.types import UNKNOWN_TIME, make_type, parse_datetime
from simulator.usp.errors import InvalidTypeError, InvalidValueError


@pytest.mark.parametrize(
    "text,expected", [("true", "true"), ("TRUE", "true"), ("1", "true"), ("False", "false"), ("0", "false")]
)
def test_types_boolean_accepts_any_case_and_digits(text: str, expected: str) -> None:
    assert make_type("boolean").normalize(text) == expected


@pytest.mark.parametrize(
    "name,good,bad_type",
    [
        ("int", ["-2147483648", "2147483647", "0123"], ["2147483648", "1.5", "abc", ""]),
        ("unsignedInt", ["0", "4294967295"], ["-1", "4294967296", "x"]),
        ("long", ["-9223372036854775808"], ["9223372036854775808"]),
        ("unsignedLong", ["18446744073709551615"], ["18446744073709551616", "-5"]),
    ],
)
def test_types_integer_bounds(name: str, good: list[str], bad_type: list[str]) -> None:
    t = make_type(name)
    for text in good:
        assert t.normalize(text) == str(int(text))
    for text in bad_type:
        with pytest.raises(InvalidTypeError):
            t.normalize(text)


def test_types_range_enum_pattern_length_are_7012() -> None:
    with pytest.raises(InvalidValueError):
        make_type("unsignedInt", lo=1, hi=65535).normalize("0")
    assert make_type("unsignedInt", lo=1, hi=65535).normalize("65535") == "65535"
    with pytest.raises(InvalidValueError):
        make_type("string", enum=("Up", "Down")).normalize("up")
    with pytest.raises(InvalidValueError):
        make_type("string", pattern="[r-][w-][x-][n-]").normalize("rwx")
    with pytest.raises(InvalidValueError):
        make_type("string", max_length=3).normalize("abcd")
    assert make_type("string").normalize("x" * 4096) == "x" * 4096


def test_types_datetime_forms() -> None:
    t = make_type("dateTime")
    assert t.normalize("2024-01-01T00:00:00Z") == "2024-01-01T00:00:00Z"
    assert t.normalize("2024-01-01T02:00:00+02:00") == "2024-01-01T00:00:00Z"
    assert t.normalize(UNKNOWN_TIME) == UNKNOWN_TIME
    assert parse_datetime("1970-01-01T00:01:00Z") == 60.0
    for bad in ("2024-13-01T00:00:00Z", "yesterday", "2024-01-01"):
        with pytest.raises(InvalidTypeError):
            t.normalize(bad)


def test_types_binary_and_decimal() -> None:
    assert make_type("base64").normalize("aGVsbG8=") == "aGVsbG8="
    with pytest.raises(InvalidTypeError):
        make_type("base64").normalize("not base64!")
    assert make_type("hexBinary").normalize("00ff") == "00ff"
    with pytest.raises(InvalidTypeError):
        make_type("hexBinary").normalize("0f0")
    assert make_type("decimal", lo=0, hi=1).normalize("0.5") == "0.5"
    with pytest.raises(InvalidValueError):
        make_type("decimal", lo=0, hi=1).normalize("1.5")
    with pytest.raises(InvalidTypeError):
        make_type("decimal").normalize("NaN")


def test_types_lists_validate_items_and_strip_spaces() -> None:
    t = make_type("list<unsignedInt>", lo=1, hi=165, max_items=3)
    assert t.normalize("1, 6,11") == "1,6,11"
    assert t.normalize("") == ""
    with pytest.raises(InvalidValueError):
        t.normalize("1,200")
    with pytest.raises(InvalidValueError):
        t.normalize("1,2,3,4")
    with pytest.raises(InvalidTypeError):
        t.normalize("1,x")


def test_types_named_types() -> None:
    assert make_type("Alias").normalize("cpe-1") == "cpe-1"
    for bad in ("88InvalidAlias", "", "x" * 65):
        with pytest.raises(InvalidValueError):
            make_type("Alias").normalize(bad)
    assert make_type("MACAddress").normalize("02:00:00:00:00:01") == "02:00:00:00:00:01"
    with pytest.raises(InvalidValueError):
        make_type("IPv4Address").normalize("300.1.1.1")
    assert make_type("StatsCounter64").base == "unsignedLong"
    with pytest.raises(ValueError, match="unknown type 'uint'"):
        make_type("uint")
