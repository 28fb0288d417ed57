"""``value_change``: the device changes its own values (auto channel selection, a host going idle...).

Each tick writes a new value to one of ``params`` on a random connected agent, through the agent's data
model, so its change tracking sends ValueChange to every subscribed controller at once (no polling
delay). New values come from ``values`` when given, else from the parameter type: booleans flip,
numbers move within their range, enumerations pick another member, strings get a counter suffix.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import TYPE_CHECKING

from simulator.agent.commands.rows import read, write
from simulator.fleet.behaviours.engine import Family, act

if TYPE_CHECKING:
    from simulator.agent.actions import Action
    from simulator.agent.agent import Agent
    from simulator.datamodel.types import TypeSpec
    from simulator.fleet.driver import AgentDriver

__all__ = ["ValueChangeBehaviour", "new_value"]

_INT_BASES = frozenset({"int", "unsignedInt", "long", "unsignedLong"})


def new_value(spec: TypeSpec, old: str, rng: random.Random, values: tuple[str, ...] = ()) -> str:
    """A value different from ``old`` (when possible) that the type accepts."""
    if values:
        others = [v for v in values if v != old] or list(values)
        return rng.choice(others)
    if spec.base == "boolean":
        return "false" if old in ("true", "1") else "true"
    if spec.enum:
        others = sorted(v for v in spec.enum if v != old) or sorted(spec.enum)
        return rng.choice(others)
    if spec.base in _INT_BASES:
        lo = int(spec.lo) if spec.lo is not None else (0 if spec.base.startswith("unsigned") else -1000)
        hi = int(spec.hi) if spec.hi is not None else lo + 1000
        if hi <= lo:
            return str(lo)
        try:
            current = int(old)
        except ValueError:
            current = lo
        value = rng.randint(lo, hi - 1)
        return str(value + 1 if value >= current else value)
    if spec.base == "decimal":
        return str(Decimal(rng.randint(0, 10_000)) / 100)
    base = old.rsplit("~", 1)[0] if "~" in old else old
    text = f"{base}~{rng.randint(1, 9999)}"
    if spec.max_length is not None and len(text) > spec.max_length:
        text = text[-spec.max_length :]
    return text


class ValueChangeBehaviour(Family):
    """``rate`` self-written values per second, over the selected agents."""

    def begin(self) -> None:
        self.agent_ticker(self._tick)

    def _tick(self, driver: AgentDriver) -> None:
        path = self.rng.choice(self.spec.opt("params"))
        values: tuple[str, ...] = self.spec.opt("values")
        done: list[bool] = []

        def edit(agent: Agent, _now: float) -> list[Action]:
            found = agent.ctx.locate_param(path)
            if found is not None:
                value = new_value(found[0].type, read(agent.ctx, path), self.rng, values)
                done.append(write(agent.ctx, path, value))
            return []

        act(driver, edit)
        self.count("" if done and done[0] else "missing", error=0 if done and done[0] else 1)
