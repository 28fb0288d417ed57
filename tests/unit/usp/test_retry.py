"""Retry window RW(m, k) and randomised delays (TR-369 MTP reconnect back-off)."""

from __future__ import annotations

import random

import pytest

from simulator.usp import retry_delay, retry_interval_range


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(1, (5.0, 10.0)), (2, (10.0, 20.0)), (3, (20.0, 40.0)), (10, (2560.0, 5120.0))],
)
def test_retry_interval_range_doubles_with_default_parameters(
    attempt: int, expected: tuple[float, float]
) -> None:
    assert retry_interval_range(attempt, 5, 2000) == expected


def test_retry_interval_range_stops_growing_after_attempt_10() -> None:
    assert retry_interval_range(11, 5, 2000) == retry_interval_range(10, 5, 2000)
    assert retry_interval_range(1000, 5, 2000) == (2560.0, 5120.0)


def test_retry_interval_range_non_doubling_multiplier() -> None:
    lo, hi = retry_interval_range(2, 10, 1500)
    assert lo == pytest.approx(15.0)
    assert hi == pytest.approx(22.5)
    assert retry_interval_range(4, 3, 1000) == (3.0, 3.0)


def test_retry_interval_range_clamped_to_max_interval() -> None:
    assert retry_interval_range(3, 5, 2000, max_interval=30) == (20.0, 30.0)
    assert retry_interval_range(8, 5, 2000, max_interval=30) == (30.0, 30.0)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((0, 5, 2000), {}), ((1, -1, 2000), {}), ((1, 5, 999), {}), ((1, 5, 2000), {"max_interval": -1})],
)
def test_retry_interval_range_rejects_bad_arguments(
    args: tuple[int, int, int], kwargs: dict[str, float]
) -> None:
    with pytest.raises(ValueError):
        retry_interval_range(*args, **kwargs)


def test_retry_delay_is_within_range_and_uses_injected_rng() -> None:
    for attempt in range(1, 13):
        lo, hi = retry_interval_range(attempt, 5, 2000, 600)
        delays = [retry_delay(attempt, 5, 2000, random.Random(seed), 600) for seed in range(50)]
        assert all(lo <= d <= hi for d in delays)
        if lo < hi:
            assert len(set(delays)) > 1  # actually random within the window
    a = [retry_delay(n, 5, 2000, random.Random(7)) for n in range(1, 6)]
    b = [retry_delay(n, 5, 2000, random.Random(7)) for n in range(1, 6)]
    assert a == b


def test_retry_delay_does_not_touch_global_random() -> None:
    random.seed(123)
    expected = random.random()
    random.seed(123)
    retry_delay(3, 5, 2000, random.Random(1))
    assert random.random() == expected
