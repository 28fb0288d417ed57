"""Timing for behaviours: the loop-like ``Clock`` they schedule on and the ``Ticker`` that repeats at a rate.

The asyncio event loop is a ``Clock`` (``time()`` + ``call_at``); unit tests pass a fake one whose time
only moves when the test advances it, so every schedule is checked without sleeping.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Protocol

from simulator.fleet.behaviours.spec import Rate

__all__ = ["Clock", "Handle", "Ticker"]


class Handle(Protocol):
    """What ``call_at`` returns (``asyncio.TimerHandle``)."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """The part of the asyncio event loop behaviours use."""

    def time(self) -> float: ...
    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Handle: ...


class Ticker:
    """Call ``action()`` at random gaps drawn from ``rate`` between ``begin`` and ``end`` (loop times).

    The first call comes one gap after ``begin`` (not at ``begin``), so a rate of 1/s over [10, 20)
    makes about ten calls.
    """

    __slots__ = ("_handle", "action", "begin", "calls", "clock", "end", "rate", "rng")

    def __init__(  # noqa: PLR0917
        self,
        clock: Clock,
        rate: Rate,
        rng: random.Random,
        action: Callable[[], None],
        begin: float,
        end: float | None,
    ) -> None:
        self.clock = clock
        self.rate = rate
        self.rng = rng
        self.action = action
        self.begin = begin
        self.end = end
        self.calls = 0
        self._handle: Handle | None = None

    def start(self) -> None:
        """Schedule the first call."""
        self._next(max(self.begin, self.clock.time()))

    def _next(self, after: float) -> None:
        at = after + self.rate.next_gap(self.rng)
        if self.end is not None and at >= self.end:
            self._handle = None
            return
        self._handle = self.clock.call_at(at, self._tick, at)

    def _tick(self, at: float) -> None:
        self.calls += 1
        self.action()
        # The next gap counts from the scheduled time, not the (late) callback time: no drift under load.
        self._next(at)

    def cancel(self) -> None:
        """Stop calling."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
