"""Pure reconnect back-off timing from the TR-181 ConnectRetry* / RetryMinimumWaitInterval parameters.

# Strategy: TR-369 defines the retry window for attempt n (1-based) as
#   [m * (k/1000)**(n-1), m * (k/1000)**n]
# where m is the minimum wait interval in seconds and k the interval multiplier in permille
# (2000 = doubling). n stops growing at 10, so the window stops growing too, and an optional
# maximum interval clamps both ends. The delay is uniform within the window. Randomness is
# injected (an rng argument) and there is no clock, so drivers and tests get reproducible schedules.
"""

from __future__ import annotations

import random

__all__ = ["MAX_RETRY_EXPONENT", "retry_delay", "retry_interval_range"]

MAX_RETRY_EXPONENT = 10
"""Attempts beyond this reuse the window of attempt 10."""


def retry_interval_range(
    attempt: int, min_wait: float, multiplier_permille: int, max_interval: float | None = None
) -> tuple[float, float]:
    """The retry window RW(m, k) for one reconnect attempt.

    Args:
        attempt: 1 for the first retry after a failure, 2 for the next, ...; values above 10 act as 10.
        min_wait: m, the minimum wait interval in seconds (e.g. RetryMinimumWaitInterval, default 5).
        multiplier_permille: k, the interval multiplier in thousandths (e.g. RetryIntervalMultiplier,
            default 2000).
        max_interval: optional upper bound in seconds applied to both ends (e.g. RetryMaximumWaitInterval).

    Returns:
        (lo, hi) in seconds with lo <= hi.

    Raises:
        ValueError: attempt < 1, a negative min_wait or max_interval, or multiplier_permille < 1000.
    """
    if attempt < 1:
        msg = f"attempt must be >= 1, got {attempt}"
        raise ValueError(msg)
    if min_wait < 0:
        msg = f"min_wait must be >= 0, got {min_wait}"
        raise ValueError(msg)
    if multiplier_permille < 1000:
        msg = f"multiplier_permille must be >= 1000, got {multiplier_permille}"
        raise ValueError(msg)
    if max_interval is not None and max_interval < 0:
        msg = f"max_interval must be >= 0, got {max_interval}"
        raise ValueError(msg)
    n = min(attempt, MAX_RETRY_EXPONENT)
    ratio = multiplier_permille / 1000
    lo = min_wait * ratio ** (n - 1)
    hi = min_wait * ratio**n
    if max_interval is not None:
        lo = min(lo, max_interval)
        hi = min(hi, max_interval)
    return lo, hi


def retry_delay(
    attempt: int,
    min_wait: float,
    multiplier: int,
    rng: random.Random,
    max_interval: float | None = None,
) -> float:
    """A random delay for one reconnect attempt, uniform within retry_interval_range.

    Args:
        attempt: 1-based attempt number (see retry_interval_range).
        min_wait: minimum wait interval in seconds.
        multiplier: interval multiplier in permille.
        rng: the random source (injected; e.g. random.Random(agent_index) for reproducible fleets).
        max_interval: optional clamp in seconds.

    Returns:
        Seconds to wait before the attempt.

    Raises:
        ValueError: see retry_interval_range.
    """
    lo, hi = retry_interval_range(attempt, min_wait, multiplier, max_interval)
    return rng.uniform(lo, hi)
