"""The immutable AST of a USP path expression (TR-369 section 4), built by ``paths.parse_path``.

AST shape (all frozen, slotted, hashable; one shared instance per distinct string via an LRU cache)::

    PathExpr(text, segments, kind)
      segments: tuple[Segment, ...] where Segment is one of
        Name(text)                   a plain object/parameter name, e.g. "Device", "Enable"
        InstanceNumber(number)       "3" in Device.IP.Interface.3.
        Wildcard()                   "*"
        SearchExpr(comparisons)      "[Enable==true&&Stats.X>0]" (unique-key addressing is a SearchExpr
                                     whose comparisons happen to cover a whole unique key)
        ReferenceFollow(name, index) "Recipient+" (index 1), "LowerLayers#2+" (index 2), "#*+" (ALL)
      kind: PathKind.OBJECT (ends in ".") | PARAMETER | COMMAND ("Name()") | EVENT ("Name!")

    The last segment of a PARAMETER/COMMAND/EVENT path is the Name of the leaf ("Reboot" for
    "Device.Reboot()", "Boot" for "Device.Boot!"); for an OBJECT path the last segment is the
    object's name or an instance selector.

    Comparison(path, op, value, quoted)
      path: tuple[Name | ReferenceFollow, ...]   relative path inside the instance
      op: one of "==", "!=", "<", ">", "<=", ">=", "~="
      value: the literal text (quotes removed, %22 / %25 decoded when quoted)
      quoted: True for a "string" constant, False for bare numbers/booleans/dateTimes

    SupportedPath(text, segments, kind) is the GetSupportedDM form: segments are Name,
    InstanceNumber or InstancePlaceholder ("{i}").

Equality, rendering and the other representation decisions are described in ``paths``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, TypeAlias

__all__ = [
    "ALL",
    "Comparison",
    "InstanceNumber",
    "InstancePlaceholder",
    "Name",
    "PathExpr",
    "PathKind",
    "PathLike",
    "ReferenceFollow",
    "SearchExpr",
    "Segment",
    "SupportedPath",
    "Wildcard",
]

ALL: Literal["*"] = "*"
"""ReferenceFollow.index value meaning "every entry of a list-valued reference" (``#*+``)."""


class PathKind(Enum):
    """What a path addresses."""

    OBJECT = "object"
    PARAMETER = "parameter"
    COMMAND = "command"
    EVENT = "event"


@dataclass(frozen=True, slots=True)
class Name:
    """A plain name segment."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class InstanceNumber:
    """An explicit instance number (1 .. MAX_INSTANCE_NUMBER)."""

    number: int

    def __str__(self) -> str:
        return str(self.number)


@dataclass(frozen=True, slots=True)
class Wildcard:
    """``*``: every current instance."""

    def __str__(self) -> str:
        return "*"


@dataclass(frozen=True, slots=True)
class InstancePlaceholder:
    """``{i}`` in a supported-DM path."""

    def __str__(self) -> str:
        return "{i}"


@dataclass(frozen=True, slots=True)
class ReferenceFollow:
    """``Param+`` / ``Param#N+`` / ``Param#*+``: follow a reference parameter's value."""

    name: str
    index: int | Literal["*"] = 1

    def __str__(self) -> str:
        return f"{self.name}+" if self.index == 1 else f"{self.name}#{self.index}+"


@dataclass(frozen=True, slots=True)
class Comparison:
    """One ``relpath op value`` term of a search expression."""

    path: tuple[Name | ReferenceFollow, ...]
    op: str
    value: str
    quoted: bool

    @property
    def relpath(self) -> str:
        """The left side rendered canonically, e.g. ``SSIDReference+.SSID``."""
        return ".".join(str(p) for p in self.path)

    def __str__(self) -> str:
        value = f'"{encode_string(self.value)}"' if self.quoted else self.value
        return f"{self.relpath}{self.op}{value}"


@dataclass(frozen=True, slots=True)
class SearchExpr:
    """``[a==1&&b=="x"]``: instances whose parameters satisfy every comparison."""

    comparisons: tuple[Comparison, ...]

    def __str__(self) -> str:
        return "[" + "&&".join(str(c) for c in self.comparisons) + "]"


Segment = Name | InstanceNumber | Wildcard | SearchExpr | ReferenceFollow

PathLike: TypeAlias = "str | PathExpr"
"""Anything accepted where a path is expected (architecture.md B6 ``*Like`` aliases)."""


def _render(segments: tuple[Any, ...], kind: PathKind) -> str:
    return ".".join(str(s) for s in segments) + _SUFFIX[kind]


@dataclass(frozen=True, slots=True)
class PathExpr:
    """A parsed instantiated-DM path.

    ``text`` is the original string; it does not take part in equality or hashing.
    """

    text: str = field(compare=False)
    segments: tuple[Segment, ...]
    kind: PathKind

    @property
    def is_search(self) -> bool:
        """True when the path contains a wildcard, search expression or reference following."""
        return any(isinstance(s, Wildcard | SearchExpr | ReferenceFollow) for s in self.segments)

    @property
    def has_instance_selectors(self) -> bool:
        """True when any segment is an instance number, ``*`` or ``[...]``."""
        return any(isinstance(s, InstanceNumber | Wildcard | SearchExpr) for s in self.segments)

    @property
    def is_instance_path(self) -> bool:
        """True for an object path ending in an instance selector (``X.3.``, ``X.*.``, ``X.[..].``)."""
        return self.kind is PathKind.OBJECT and isinstance(
            self.segments[-1], InstanceNumber | Wildcard | SearchExpr
        )

    @property
    def leaf(self) -> str | None:
        """The parameter/command/event name, or None for an object path."""
        if self.kind is PathKind.OBJECT:
            return None
        last = self.segments[-1]
        assert isinstance(last, Name)
        return last.text

    @property
    def object_segments(self) -> tuple[Segment, ...]:
        """The segments addressing the object: all of them for an object path, all but the leaf otherwise."""
        return self.segments if self.kind is PathKind.OBJECT else self.segments[:-1]

    def render(self) -> str:
        """Canonical text: ``Param+`` for index 1, no whitespace, ``%22`` / ``%25`` re-encoded.

        ``parse_path(p.render()) == p`` for every parsed ``p``.
        """
        return _render(self.segments, self.kind)

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True, slots=True)
class SupportedPath:
    """A parsed supported-DM path (GetSupportedDM form, ``{i}`` allowed).

    ``text`` is the original string; it does not take part in equality or hashing.
    """

    text: str = field(compare=False)
    segments: tuple[Name | InstanceNumber | InstancePlaceholder, ...]
    kind: PathKind

    def render(self) -> str:
        """Canonical text; ``parse_supported_path(p.render()) == p``."""
        return _render(self.segments, self.kind)

    def __str__(self) -> str:
        return self.render()


_SUFFIX = {PathKind.OBJECT: ".", PathKind.PARAMETER: "", PathKind.COMMAND: "()", PathKind.EVENT: "!"}


def encode_string(value: str) -> str:
    """A search-expression string constant with ``%`` and ``"`` percent-encoded (``%25``, ``%22``)."""
    return value.replace("%", "%25").replace('"', "%22")
