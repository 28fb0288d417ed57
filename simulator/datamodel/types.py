"""TR-181 / TR-106 scalar types: parse, validate and format parameter values (usp-protocol.md 2.15).

Values live on the wire and in the store as canonical strings; ``TypeSpec.normalize`` turns an incoming
string into that canonical form (or raises 7011 / 7012), ``TypeSpec.parse`` gives a Python value for
typed comparisons in search expressions.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from simulator.usp.errors import InvalidTypeError, InvalidValueError

UNKNOWN_TIME = "0001-01-01T00:00:00Z"
"""TR-106 "unknown time"."""

BASE_TYPES = (
    "string",
    "boolean",
    "int",
    "unsignedInt",
    "long",
    "unsignedLong",
    "dateTime",
    "base64",
    "hexBinary",
    "decimal",
)
"""The primitive TR-181 types (GetSupportedDM ParamValueType)."""

_INT_BOUNDS = {
    "int": (-(2**31), 2**31 - 1),
    "unsignedInt": (0, 2**32 - 1),
    "long": (-(2**63), 2**63 - 1),
    "unsignedLong": (0, 2**64 - 1),
}
_DEFAULTS = {
    "boolean": "false",
    "int": "0",
    "unsignedInt": "0",
    "long": "0",
    "unsignedLong": "0",
    "dateTime": UNKNOWN_TIME,
    "decimal": "0",
}

# Named TR-181 data types -> (base type, extra attributes). "syntax" names a validator below.
NAMED_TYPES: dict[str, tuple[str, dict[str, Any]]] = {
    "Alias": ("string", {"max_length": 64, "syntax": "alias"}),
    "StatsCounter32": ("unsignedInt", {}),
    "StatsCounter64": ("unsignedLong", {}),
    "Dbm1000": ("int", {}),
    "MACAddress": ("string", {"max_length": 17, "syntax": "mac"}),
    "IPAddress": ("string", {"max_length": 45, "syntax": "ip"}),
    "IPv4Address": ("string", {"max_length": 15, "syntax": "ipv4"}),
    "IPv6Address": ("string", {"max_length": 45, "syntax": "ipv6"}),
    "IPPrefix": ("string", {"max_length": 49, "syntax": "prefix"}),
    "IPv4Prefix": ("string", {"max_length": 18, "syntax": "prefix4"}),
    "IPv6Prefix": ("string", {"max_length": 49, "syntax": "prefix6"}),
    "UUID": ("string", {"max_length": 36, "syntax": "uuid"}),
}

_DATETIME_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?(Z|[+-]\d\d:\d\d)?\Z")
_MAC_RE = re.compile(r"(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}\Z")
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_HEX_RE = re.compile(r"(?:[0-9A-Fa-f]{2})*\Z")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def parse_datetime(text: str) -> float:
    """Parse a TR-106 dateTime to seconds since the epoch (unknown time gives a large negative number).

    Raises:
        InvalidTypeError: not an ISO-8601 dateTime.
    """
    m = _DATETIME_RE.match(text)
    if m is None:
        msg = f"{text!r} is not a dateTime (expected e.g. 2024-01-01T00:00:00Z)"
        raise InvalidTypeError(msg)
    year, month, day, hour, minute, sec, frac, tz = m.groups()
    try:
        dt = datetime(int(year), int(month), int(day), int(hour), int(minute), int(sec), tzinfo=UTC)
    except ValueError as exc:
        msg = f"{text!r} is not a valid dateTime: {exc}"
        raise InvalidTypeError(msg) from None
    offset = 0
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        offset = sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return dt.timestamp() - offset + (float(frac) if frac else 0.0)


def format_datetime(epoch: float) -> str:
    """Format seconds since the epoch as a TR-106 dateTime in UTC (whole seconds, ``Z``)."""
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_syntax(syntax: str, text: str) -> None:
    if not text and syntax != "alias":
        return
    ok = True
    if syntax == "alias":
        ok = bool(text) and text[0].isalpha() and text.isascii()
    elif syntax == "mac":
        ok = _MAC_RE.match(text) is not None
    elif syntax == "uuid":
        ok = _UUID_RE.match(text) is not None
    else:
        try:
            if syntax == "ip":
                ipaddress.ip_address(text)
            elif syntax == "ipv4":
                ipaddress.IPv4Address(text)
            elif syntax == "ipv6":
                ipaddress.IPv6Address(text)
            elif syntax == "prefix":
                ipaddress.ip_network(text, strict=False)
            elif syntax == "prefix4":
                ipaddress.IPv4Network(text, strict=False)
            elif syntax == "prefix6":
                ipaddress.IPv6Network(text, strict=False)
        except ValueError:
            ok = False
    if not ok:
        msg = f"{text!r} is not a valid {syntax} value"
        raise InvalidValueError(msg)


class TypeSpec:
    """An immutable parameter type with its constraints.

    Attributes:
        name: the declared type name (``unsignedInt``, ``list<string>``, ``Alias``...).
        base: the primitive base type (one of BASE_TYPES).
        is_list: True for comma-separated lists.
    """

    __slots__ = (
        "base",
        "enum",
        "hi",
        "is_list",
        "lo",
        "max_items",
        "max_length",
        "min_items",
        "min_length",
        "name",
        "pattern",
        "syntax",
    )

    def __init__(
        self,
        name: str,
        base: str,
        *,
        is_list: bool = False,
        enum: tuple[str, ...] | None = None,
        lo: int | Decimal | None = None,
        hi: int | Decimal | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        min_items: int | None = None,
        max_items: int | None = None,
        syntax: str | None = None,
    ) -> None:
        if base not in BASE_TYPES:
            msg = f"unknown base type {base!r}"
            raise ValueError(msg)
        self.name = name
        self.base = base
        self.is_list = is_list
        self.enum = frozenset(enum) if enum is not None else None
        self.lo = lo
        self.hi = hi
        self.min_length = min_length
        self.max_length = max_length
        self.pattern = re.compile(pattern) if pattern is not None else None
        self.min_items = min_items
        self.max_items = max_items
        self.syntax = syntax

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, "syntax"):  # the last slot assigned in __init__: frozen from here on
            msg = "TypeSpec is immutable"
            raise AttributeError(msg)
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"TypeSpec({self.name!r})"

    @property
    def default(self) -> str:
        """The implicit default when a profile gives none ("" for strings and lists)."""
        return "" if self.is_list else _DEFAULTS.get(self.base, "")

    def normalize(self, text: str) -> str:
        """Validate ``text`` and return its canonical wire form.

        Raises:
            InvalidTypeError: 7011, the text does not parse as the type.
            InvalidValueError: 7012, out of range, not in the enumeration, length/pattern mismatch.
        """
        if not self.is_list:
            out = self._normalize_item(text)
        else:
            items = [] if text.strip() == "" else [item.strip() for item in text.split(",")]
            n = len(items)
            if (self.min_items is not None and n < self.min_items) or (
                self.max_items is not None and n > self.max_items
            ):
                msg = f"list has {n} items; expected {self.min_items or 0}..{self.max_items or 'any'}"
                raise InvalidValueError(msg)
            out = ",".join(self._normalize_item(item) for item in items)
        if self.base == "string" or self.is_list:
            length = len(out)
            if self.min_length is not None and length < self.min_length:
                msg = f"value is {length} characters long; minimum is {self.min_length}"
                raise InvalidValueError(msg)
            if self.max_length is not None and length > self.max_length:
                msg = f"value is {length} characters long; maximum is {self.max_length}"
                raise InvalidValueError(msg)
        return out

    def _normalize_item(self, text: str) -> str:
        base = self.base
        if base == "string":
            out = text
            if self.syntax is not None:
                _check_syntax(self.syntax, text)
        elif base == "boolean":
            low = text.strip().lower()
            if low in _TRUE:
                out = "true"
            elif low in _FALSE:
                out = "false"
            else:
                msg = f"{text!r} is not a boolean (expected true, false, 1 or 0)"
                raise InvalidTypeError(msg)
        elif base in _INT_BOUNDS:
            out = str(self._check_range(self._parse_int(text)))
        elif base == "decimal":
            try:
                dec = Decimal(text.strip())
            except InvalidOperation:
                msg = f"{text!r} is not a decimal"
                raise InvalidTypeError(msg) from None
            if not dec.is_finite():
                msg = f"{text!r} is not a finite decimal"
                raise InvalidTypeError(msg)
            self._check_range(dec)
            out = text.strip()
        elif base == "dateTime":
            out = text.strip()
            epoch = parse_datetime(out)
            if out != UNKNOWN_TIME and not out.endswith("Z") and out[-6] in "+-":
                out = format_datetime(epoch)
        elif base == "base64":
            try:
                base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                msg = f"{text[:40]!r} is not base64"
                raise InvalidTypeError(msg) from None
            out = text
        else:  # hexBinary
            if _HEX_RE.match(text) is None:
                msg = f"{text[:40]!r} is not hexBinary"
                raise InvalidTypeError(msg)
            out = text
        if self.enum is not None and out not in self.enum:
            msg = f"{out!r} is not one of {', '.join(sorted(self.enum))}"
            raise InvalidValueError(msg)
        if self.pattern is not None and self.pattern.fullmatch(out) is None:
            msg = f"{out!r} does not match the pattern {self.pattern.pattern!r}"
            raise InvalidValueError(msg)
        return out

    def _parse_int(self, text: str) -> int:
        stripped = text.strip()
        body = stripped[1:] if stripped[:1] in "+-" else stripped
        if not body.isdigit() or not body.isascii():
            msg = f"{text!r} is not an {self.base}"
            raise InvalidTypeError(msg)
        value = int(stripped)
        lo, hi = _INT_BOUNDS[self.base]
        if not lo <= value <= hi:
            msg = f"{text!r} does not fit an {self.base} ({lo}..{hi})"
            raise InvalidTypeError(msg)
        return value

    def _check_range(self, value: Any) -> Any:
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            lo = "" if self.lo is None else self.lo
            hi = "" if self.hi is None else self.hi
            msg = f"{value} is outside the range [{lo}:{hi}]"
            raise InvalidValueError(msg)
        return value

    def parse(self, text: str) -> Any:
        """Convert a canonical (stored) value or a search-expression constant to a comparable Python value.

        Raises:
            InvalidTypeError: the text does not parse as the base type.
        """
        base = self.base
        if base == "boolean":
            low = text.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            msg = f"{text!r} is not a boolean"
            raise InvalidTypeError(msg)
        if base in _INT_BOUNDS:
            stripped = text.strip()
            try:
                return int(stripped)
            except ValueError:
                msg = f"{text!r} is not an {base}"
                raise InvalidTypeError(msg) from None
        if base == "decimal":
            try:
                return Decimal(text.strip())
            except InvalidOperation:
                msg = f"{text!r} is not a decimal"
                raise InvalidTypeError(msg) from None
        if base == "dateTime":
            return parse_datetime(text.strip())
        return text

    @property
    def ordered(self) -> bool:
        """True when ``<``, ``>``, ``<=``, ``>=`` are meaningful (numbers and dateTimes)."""
        return self.base in _INT_BOUNDS or self.base in ("decimal", "dateTime")


def make_type(name: str, **attrs: Any) -> TypeSpec:
    """Build a TypeSpec from a declared type name (``unsignedInt``, ``list<Alias>``, ``MACAddress``...).

    Raises:
        ValueError: unknown type name (the loader turns it into a SchemaError).
    """
    is_list = False
    inner = name
    if name.startswith("list<") and name.endswith(">"):
        is_list = True
        inner = name[5:-1]
    if inner in NAMED_TYPES:
        base, extra = NAMED_TYPES[inner]
        merged = {**extra, **attrs}
    elif inner in BASE_TYPES:
        base, merged = inner, attrs
    else:
        known = ", ".join([*BASE_TYPES, *NAMED_TYPES, "list<T>"])
        msg = f"unknown type {name!r}; expected one of {known}"
        raise ValueError(msg)
    if is_list and "max_length" in merged and "max_length" not in attrs:
        del merged["max_length"]  # a named type's item length does not bound the whole list
    return TypeSpec(name, base, is_list=is_list, **merged)
