"""USP path expressions (TR-369 section 4 / usp-protocol.md 4.1-4.3) parsed to an immutable AST.

The AST types live in ``pathexpr`` (re-exported here, where callers import them from).

Representation decisions (the resolver relies on these):

- ``text`` is the string exactly as received, but it is excluded from ``==`` / ``hash``: two paths
  are equal when their segments and kind are equal (``X#1+`` == ``X+``, whitespace in ``[...]`` is
  insignificant). ``str(path)`` / ``path.render()`` give the canonical text; echo ``path.text`` back
  in ``requested_path``.
- A bare ``Param+`` is ``ReferenceFollow(name, 1)``, identical to ``Param#1+``; it renders as ``Param+``.
  ``#*+`` is ``index=ALL``. A ReferenceFollow is always followed by a Name segment (never ends a path)
  and never is the first segment.
- Instance numbers and ``#N`` indexes are ``[1-9][0-9]*`` and at most ``MAX_INSTANCE_NUMBER``
  (2**31-1); ``0``, leading zeros and larger numbers are 7008.
- An instance selector (number, ``*``, ``[...]``, ``{i}``) only follows a Name other than the root,
  and is always followed by ``.``.
- Search values: ``quoted=True`` holds the decoded string (only ``%22`` -> ``"`` and ``%25`` -> ``%``
  are decoded; other ``%`` stay literal). ``quoted=False`` is a syntactically checked bare token: an
  integer or decimal with optional ``-`` (leading zeros kept, ``0123``), ``true`` / ``false``, or a
  dateTime ``YYYY-MM-DDThh:mm:ss[.f][Z|+hh:mm]``. Any other bare token is 7008 "unquoted string
  constant". Type checks such as "booleans are unquoted; ``[Enable=="true"]`` is invalid" need the
  parameter type, so the resolver does them from ``quoted``.
- Whitespace (space, tab) is accepted inside ``[...]`` around operators, ``&&`` and the brackets;
  nowhere else.
- Names are ``[A-Za-z_][A-Za-z0-9_-]*``: the usp-protocol.md grammar plus ``-`` after the first
  character, which TR-106 allows for vendor prefixes such as ``X_EXAMPLE-COM_Foo``.
- A path is at least ``Name.`` (object) or ``Name.Name`` (parameter/command/event): a lone ``Device``
  is 7008. Length is bounded by ``MAX_PATH_LENGTH`` and ``MAX_SEGMENTS``.
- Reference values read from the data model have no trailing dot: parse them as ``parse_path(value + ".")``.
"""

from __future__ import annotations

import functools
import re
import string
import sys
from typing import Any, Literal, NoReturn

from simulator.usp.errors import InvalidPathSyntaxError
from simulator.usp.pathexpr import (
    ALL,
    Comparison,
    InstanceNumber,
    InstancePlaceholder,
    Name,
    PathExpr,
    PathKind,
    PathLike,
    ReferenceFollow,
    SearchExpr,
    Segment,
    SupportedPath,
    Wildcard,
)

__all__ = [
    "ALL",
    "MAX_INSTANCE_NUMBER",
    "MAX_PATH_LENGTH",
    "MAX_SEGMENTS",
    "OPERATORS",
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
    "as_path",
    "parse_path",
    "parse_supported_path",
    "split_relative",
]

# Strategy: one hand-written, left-to-right scanner shared by both grammars (instantiated and
# supported-DM). Tokens are matched with anchored, linear regexes (a character-class run each, so no
# backtracking blow-up) and the path is walked with an explicit loop, never recursion, so a long
# path cannot hit the recursion limit. Every fault raises InvalidPathSyntaxError (7008) with the
# zero-based offset of the offending character. Results are lru_cached on the input string, so
# thousands of agents receiving the same requested path share one AST (architecture.md B5).

MAX_PATH_LENGTH = 4096
"""Longest accepted path, in characters; longer input is a 7008 at offset 4096."""

MAX_SEGMENTS = 256
"""Most segments in one path (TR-181 paths are < 20 deep); more is a 7008."""

MAX_INSTANCE_NUMBER = 2**31 - 1
"""Largest accepted instance number or ``#N`` index (obuspa's ``int``); larger is a 7008."""

PARSE_CACHE_SIZE = 65536
"""Entries kept by each of the ``parse_path`` / ``parse_supported_path`` LRU caches."""

OPERATORS: frozenset[str] = frozenset({"==", "!=", "~=", "<", ">", "<=", ">="})
"""Comparison operators accepted in a search expression (there is no OR)."""

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_NAME_START = frozenset(string.ascii_letters + "_")
_DIGITS_RE = re.compile(r"[0-9]+")
_DIGITS = frozenset(string.digits)
_WS = frozenset(" \t")
_OP_CHARS = frozenset("=!<>~")
_BARE_TOKEN_RE = re.compile(r"[^ \t&|\]]+")
_BARE_VALUE_RE = re.compile(
    r"-?[0-9]+(?:\.[0-9]+)?"
    r"|true|false"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)
_PERCENT_RE = re.compile(r"%2[25]")

_AFTER_START, _AFTER_NAME, _AFTER_INSTANCE, _AFTER_REFERENCE = range(4)
_WILDCARD = Wildcard()
_PLACEHOLDER = InstancePlaceholder()


def _fail(text: str, position: int, reason: str) -> NoReturn:
    raise InvalidPathSyntaxError(text, position, reason)


def _check_text(text: str, what: str = "path") -> None:
    """Reject empty, over-long and whitespace-padded input before scanning."""
    if not text:
        _fail(text, 0, f"empty {what}")
    if len(text) > MAX_PATH_LENGTH:
        _fail(text, MAX_PATH_LENGTH, f"{what} longer than {MAX_PATH_LENGTH} characters")
    if text[0].isspace():
        _fail(text, 0, f"leading whitespace in {what}")
    if text[-1].isspace():
        _fail(text, len(text.rstrip()), f"trailing whitespace in {what}")


def _name_start_reason(c: str) -> str:
    if c.isspace():
        return "unexpected whitespace (only allowed inside '[...]')"
    return f"expected a name, found {c!r}"


def _in_name_reason(c: str) -> str:
    if c.isspace():
        return "unexpected whitespace (only allowed inside '[...]')"
    return f"invalid character {c!r} in name"


def _parse_posnum(text: str, pos: int, what: str) -> tuple[int, int]:
    """Scan ``posnum`` ([1-9][0-9]*, <= MAX_INSTANCE_NUMBER) at pos; return (number, end)."""
    m = _DIGITS_RE.match(text, pos)
    if m is None:
        _fail(text, pos, f"expected {what}")
    digits = m.group()
    if digits[0] == "0":
        _fail(
            text, pos, f"{what} must be >= 1" if len(digits) == 1 else f"{what} must not have a leading zero"
        )
    if len(digits) > 10 or int(digits) > MAX_INSTANCE_NUMBER:
        _fail(text, pos, f"{what} exceeds {MAX_INSTANCE_NUMBER}")
    return int(digits), m.end()


def _parse_reference_suffix(text: str, pos: int) -> tuple[int | Literal["*"], int]:
    """Scan ``+`` / ``#N+`` / ``#*+`` at pos (text[pos] is '+' or '#'); return (index, end)."""
    if text[pos] == "+":
        return 1, pos + 1
    pos += 1
    index: int | Literal["*"]
    if text.startswith("*", pos):
        index, pos = ALL, pos + 1
    elif pos < len(text) and text[pos] in _DIGITS:
        index, pos = _parse_posnum(text, pos, "reference index")
    else:
        _fail(text, pos, "expected a reference index or '*' after '#'")
    if not text.startswith("+", pos):
        _fail(text, pos, "expected '+' after the '#' reference index")
    return index, pos + 1


def _skip_ws(text: str, pos: int, n: int) -> int:
    while pos < n and text[pos] in _WS:
        pos += 1
    return pos


def _parse_relpath(text: str, pos: int, bracket: int) -> tuple[tuple[Name | ReferenceFollow, ...], int]:
    """Scan ``relpath = name { [reffollow] "." name }`` inside a search expression."""
    n = len(text)
    parts: list[Name | ReferenceFollow] = []
    while True:
        if pos == n:
            _fail(text, bracket, "unterminated '['")
        m = _NAME_RE.match(text, pos)
        if m is None:
            c = text[pos]
            if parts and (c in _DIGITS or c in "*[{"):
                reason = (
                    "child tables (instance numbers, '*', '[...]') are not allowed in a search expression"
                )
                _fail(text, pos, reason)
            if parts and c == ".":
                _fail(text, pos, "empty name between dots")
            if c in _DIGITS:
                _fail(text, pos, "names must start with a letter or '_'")
            _fail(text, pos, f"expected a parameter name in the search expression, found {c!r}")
        name = sys.intern(m.group())
        pos = m.end()
        if pos < n and text[pos] in "+#":
            index, pos = _parse_reference_suffix(text, pos)
            parts.append(ReferenceFollow(name, index))
            if not text.startswith(".", pos):
                if pos == n:
                    _fail(text, bracket, "unterminated '['")
                _fail(text, pos, "reference following must be followed by '.' and a name")
            pos += 1
            continue
        parts.append(Name(name))
        if pos < n and text[pos] == ".":
            pos += 1
            continue
        return tuple(parts), pos


def _decode_string(raw: str) -> str:
    if "%" not in raw:
        return raw
    return _PERCENT_RE.sub(lambda m: '"' if m.group() == "%22" else "%", raw)


def _parse_value(text: str, pos: int) -> tuple[str, bool, int]:
    """Scan a quoted string constant or a bare number/boolean/dateTime; return (value, quoted, end)."""
    if text[pos] == '"':
        end = text.find('"', pos + 1)
        if end < 0:
            _fail(text, pos, "unterminated string constant")
        return _decode_string(text[pos + 1 : end]), True, end + 1
    m = _BARE_TOKEN_RE.match(text, pos)
    if m is None:
        _fail(text, pos, "expected a value after the operator")
    token = m.group()
    if _BARE_VALUE_RE.fullmatch(token) is None:
        _fail(text, pos, f"unquoted string constant {token!r} (strings must be in double quotes)")
    return token, False, m.end()


def _parse_search(text: str, bracket: int) -> tuple[SearchExpr, int]:
    """Scan ``[comp && comp ...]`` starting at the '[' at ``bracket``; return (expr, end after ']')."""
    n = len(text)
    pos = _skip_ws(text, bracket + 1, n)
    if pos < n and text[pos] == "]":
        _fail(text, bracket, "empty search expression '[]'")
    comparisons: list[Comparison] = []
    while True:
        pos = _skip_ws(text, pos, n)
        path, pos = _parse_relpath(text, pos, bracket)
        pos = _skip_ws(text, pos, n)
        if pos == n:
            _fail(text, bracket, "unterminated '['")
        end = pos
        while end < n and text[end] in _OP_CHARS:
            end += 1
        op = text[pos:end]
        if not op:
            _fail(text, pos, f"expected a comparison operator (== != < > <= >= ~=), found {text[pos]!r}")
        if op not in OPERATORS:
            _fail(text, pos, f"unknown operator {op!r}")
        pos = _skip_ws(text, end, n)
        if pos == n:
            _fail(text, bracket, "unterminated '['")
        value, quoted, pos = _parse_value(text, pos)
        comparisons.append(Comparison(path, op, value, quoted))
        pos = _skip_ws(text, pos, n)
        if pos == n:
            _fail(text, bracket, "unterminated '['")
        if text[pos] == "]":
            return SearchExpr(tuple(comparisons)), pos + 1
        if text.startswith("&&", pos):
            pos += 2
            continue
        if text.startswith("||", pos):
            _fail(text, pos, "'||' (OR) is not supported in search expressions, only '&&'")
        if text[pos] == "&":
            _fail(text, pos, "expected '&&'")
        _fail(text, pos, f"expected '&&' or ']' after the value, found {text[pos]!r}")


def _parse(text: str, supported: bool) -> tuple[list[Any], PathKind]:
    """Scan a whole path; ``supported`` selects the supported-DM grammar (``{i}``, no search)."""
    _check_text(text)
    n = len(text)
    segments: list[Any] = []
    pos = 0
    after = _AFTER_START
    while True:
        if len(segments) >= MAX_SEGMENTS:
            _fail(text, pos, f"more than {MAX_SEGMENTS} path segments")
        m = _NAME_RE.match(text, pos)
        if m is not None:
            name = sys.intern(m.group())
            pos = m.end()
            c = text[pos] if pos < n else ""
            if c == ".":
                segments.append(Name(name))
                pos += 1
                after = _AFTER_NAME
                if pos == n:
                    return segments, PathKind.OBJECT
                continue
            if not segments and c in ("", "(", "!", "+", "#"):
                _fail(text, pos, f"expected '.' after {name!r} (a path starts with an object name)")
            if c == "":
                segments.append(Name(name))
                return segments, PathKind.PARAMETER
            if c in "+#":
                if supported:
                    _fail(text, pos, "reference following is not allowed in supported-DM paths")
                index, pos = _parse_reference_suffix(text, pos)
                segments.append(ReferenceFollow(name, index))
                if not text.startswith(".", pos) or pos + 1 == n or text[pos + 1] not in _NAME_START:
                    _fail(
                        text,
                        pos if not text.startswith(".", pos) else pos + 1,
                        "reference following must be followed by '.' and a name",
                    )
                pos += 1
                after = _AFTER_REFERENCE
                continue
            if c == "(":
                if not text.startswith("()", pos):
                    _fail(text, pos + 1, "expected ')' (a command path ends in '()')")
                if pos + 2 != n:
                    _fail(text, pos + 2, "unexpected text after '()'")
                segments.append(Name(name))
                return segments, PathKind.COMMAND
            if c == "!":
                if pos + 1 != n:
                    _fail(text, pos + 1, "unexpected text after '!'")
                segments.append(Name(name))
                return segments, PathKind.EVENT
            _fail(text, pos, _in_name_reason(c))
        c = text[pos]
        if c == ".":
            _fail(text, pos, "path must start with a name" if pos == 0 else "empty name between dots")
        if c in _DIGITS or c in "*[{":
            start = pos
            selector: Any
            if c in _DIGITS:
                end = _DIGITS_RE.match(text, pos).end()  # type: ignore[union-attr]
                if end < n and text[end] in _NAME_START:
                    _fail(text, pos, "names must start with a letter or '_'")
                what = "instance number"
            elif c == "{":
                if not supported:
                    reason = (
                        "'{i}' is only valid in supported-DM paths"
                        if text.startswith("{i}", pos)
                        else "'{' is not valid in an instantiated-DM path"
                    )
                    _fail(text, pos, reason)
                if not text.startswith("{i}", pos):
                    _fail(text, pos, "expected '{i}'")
                what = "'{i}'"
            else:
                if supported:
                    _fail(text, pos, "wildcards and search expressions are not allowed in supported-DM paths")
                what = "'*'" if c == "*" else "']'"
            if after != _AFTER_NAME or len(segments) < 2:
                _fail(
                    text,
                    pos,
                    "path must start with a name"
                    if pos == 0
                    else "an instance selector must follow the name of a table",
                )
            if c in _DIGITS:
                number, pos = _parse_posnum(text, pos, "instance number")
                selector = InstanceNumber(number)
            elif c == "{":
                selector, pos = _PLACEHOLDER, pos + 3
            elif c == "*":
                selector, pos = _WILDCARD, pos + 1
            else:
                selector, pos = _parse_search(text, start)
            if pos == n or text[pos] != ".":
                _fail(text, pos, f"expected '.' after {what}")
            segments.append(selector)
            pos += 1
            after = _AFTER_INSTANCE
            if pos == n:
                return segments, PathKind.OBJECT
            continue
        _fail(text, pos, _name_start_reason(c))


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse_path(text: str) -> PathExpr:
    """Parse an instantiated-DM path (object, parameter, command, event or search path).

    Syntax only: whether the names exist is the resolver's business. The result is cached, so
    equal strings return the very same ``PathExpr`` object.

    Args:
        text: the path as received, e.g. ``Device.WiFi.SSID.[Enable==true].LowerLayers#*+.Name``.

    Returns:
        The immutable AST; ``result.text`` is ``text`` unchanged.

    Raises:
        InvalidPathSyntaxError: (7008) with the zero-based ``position`` of the fault and a ``reason``.
    """
    segments, kind = _parse(text, supported=False)
    return PathExpr(text, tuple(segments), kind)


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse_supported_path(text: str) -> SupportedPath:
    """Parse a supported-DM path (``{i}`` and instance numbers allowed, no search, no references).

    Args:
        text: e.g. ``Device.LocalAgent.Controller.{i}.`` or ``Device.WiFi.AccessPoint.{i}.AssociatedDevice.``.

    Returns:
        The immutable AST (cached per string).

    Raises:
        InvalidPathSyntaxError: (7008) with position and reason.
    """
    segments, kind = _parse(text, supported=True)
    return SupportedPath(text, tuple(segments), kind)


def as_path(path: PathLike) -> PathExpr:
    """Return ``path`` parsed (cached) if it is a string, or unchanged if it is already a PathExpr.

    Raises:
        InvalidPathSyntaxError: (7008) when a string does not parse.
    """
    return path if isinstance(path, PathExpr) else parse_path(path)


@functools.lru_cache(maxsize=4096)
def split_relative(name: str) -> tuple[str, ...]:
    """Split and validate a relative parameter name such as ``Stats.BytesSent`` or ``HTTP.URL``.

    Used for Add ``param_settings`` names, ``result_params`` keys and unique keys: dot-separated
    names only (it may cross single-instance sub-objects), no instance selectors, no reference
    following, no trailing dot.

    Args:
        name: the relative name.

    Returns:
        The names, e.g. ``("Stats", "BytesSent")``.

    Raises:
        InvalidPathSyntaxError: (7008) with position and reason, ``text`` being ``name``.
    """
    _check_text(name, "relative name")
    n = len(name)
    parts: list[str] = []
    pos = 0
    while True:
        m = _NAME_RE.match(name, pos)
        if m is None:
            if pos == n:
                _fail(name, pos, "a relative parameter name must not end with '.'")
            c = name[pos]
            if c == ".":
                _fail(
                    name,
                    pos,
                    "relative name must start with a name" if pos == 0 else "empty name between dots",
                )
            if c in _DIGITS or c in "*[{":
                _fail(name, pos, "instance selectors are not allowed in a relative parameter name")
            _fail(name, pos, _name_start_reason(c))
        parts.append(sys.intern(m.group()))
        pos = m.end()
        if pos == n:
            return tuple(parts)
        c = name[pos]
        if c != ".":
            if c in "+#":
                _fail(name, pos, "reference following is not allowed in a relative parameter name")
            _fail(name, pos, _in_name_reason(c))
        pos += 1
