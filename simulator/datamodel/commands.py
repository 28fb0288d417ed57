"""Operate input-argument checking against a command's declared ``input`` (usp-protocol.md, Operate).

R-OPR.5: a missing mandatory argument or a bad value fails the command with 7027 (and it does not run);
R-OPR.6: unknown arguments are ignored; R-OPR.7: an omitted optional argument takes its default.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from simulator.usp.errors import InvalidCommandArgumentsError, UspError

if TYPE_CHECKING:
    from simulator.datamodel.personas import Persona
    from simulator.datamodel.schema import CommandNode, ParamNode

_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(name: str) -> re.Pattern[str]:
    """``TimeWindow.{i}.Start`` -> a regex matching ``TimeWindow.<n>.Start`` (n captured)."""
    pat = _PATTERNS.get(name)
    if pat is None:
        pat = re.compile(re.escape(name).replace(r"\{i\}", r"([1-9][0-9]*)") + r"\Z")
        _PATTERNS[name] = pat
    return pat


def _group(name: str) -> str:
    """The argument's object prefix (``TimeWindow.{i}.`` for ``TimeWindow.{i}.Start``; "" at top level)."""
    head, dot, _ = name.rpartition(".")
    return head + dot


def _fill(template: str, inst: tuple[str, ...]) -> str:
    parts = iter(inst)
    return re.sub(r"\{i\}", lambda _: next(parts), template)


def validate_command_input(
    command_node: CommandNode,
    input_args: dict[str, str],
    *,
    persona: Persona | None = None,
    now: float = 0.0,
) -> dict[str, str]:
    """Check and complete Operate ``input_args`` against the command's declared input arguments.

    Args:
        command_node: the supported command (``schema.lookup("Device.IP.Diagnostics.IPPing()")`` or a
            resolved ``CommandNode``).
        input_args: the request's map, keys relative to the command (``Host``, ``TimeWindow.1.Start``).
        persona: needed only to evaluate a generator ``default`` of an omitted argument; without it
            such an argument is left out.
        now: read time for generator defaults.

    Returns:
        A new dict holding only the declared arguments: every given one in the canonical form of its
        type, plus the declared ``default`` of every omitted optional one. Unknown arguments are
        dropped (R-OPR.6). Arguments inside an argument object (``TimeWindow.{i}.Mode``,
        ``AutoRestart.Enable``) are required / defaulted only for the object instances the request
        uses, i.e. when at least one declared argument of that object instance is given. Arguments
        without a declared ``default`` are not invented (the type's implicit ``""``/``0`` is not added).

    Raises:
        InvalidCommandArgumentsError: 7027, naming the missing mandatory argument or the argument whose
            value does not parse as its type or violates its range / enumeration / length / pattern.
    """
    declared = command_node.input
    out: dict[str, str] = {}
    used: set[str] = {""}  # expanded object prefixes of the given declared arguments
    for name, value in input_args.items():
        param, inst = _match(declared, name)
        if param is None:
            continue  # R-OPR.6: unknown input arguments are ignored
        try:
            out[name] = param.type.normalize(value)
        except UspError as exc:
            msg = f"invalid value for input argument {name!r} ({param.type.name}): {exc.message}"
            raise InvalidCommandArgumentsError(msg) from None
        template = _group(param.name)
        used.add(_fill(template, inst) if inst else template)
    for name, param in declared.items():
        if "{i}" in name:
            group_pat = _pattern(_group(name)[:-1])
            groups = sorted(
                {m.groups() for g in used if g and (m := group_pat.match(g[:-1])) is not None},
                key=lambda t: tuple(int(n) for n in t),
            )
            targets = [_fill(name, inst) for inst in groups]
        else:
            targets = [name] if _group(name) in used else []
        for target in targets:
            if target in out:
                continue
            if param.mandatory:
                msg = f"missing mandatory input argument {target!r}"
                raise InvalidCommandArgumentsError(msg)
            default = _default(param, persona, now)
            if default is not None:
                out[target] = default
    return out


def _match(declared: dict[str, ParamNode], name: str) -> tuple[ParamNode | None, tuple[str, ...]]:
    param = declared.get(name)
    if param is not None:
        return param, ()
    if not any(part.isdigit() for part in name.split(".")):
        return None, ()
    for arg_name, arg in declared.items():
        if "{i}" in arg_name:
            m = _pattern(arg_name).match(name)
            if m is not None:
                return arg, m.groups()
    return None, ()


def _default(param: ParamNode, persona: Persona | None, now: float) -> str | None:
    if not param.has_default:
        return None
    default = param.default
    if isinstance(default, str):
        return default
    if persona is None:
        return None
    return default.value(persona, (), now)
