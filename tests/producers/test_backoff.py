"""Reconnect backoff: exponential ceilings, capped, full jitter, reset after success."""

from __future__ import annotations

import random

import pytest

from visiontrack.backoff import Backoff, BackoffPolicy


def _upper(low: float, high: float) -> float:
    """A 'random' draw that always takes the top of the range."""
    return high


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (BackoffPolicy(0.5, 30.0), [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]),
        (BackoffPolicy(1.0, 5.0, multiplier=3.0), [1.0, 3.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]),
        (BackoffPolicy(2.0, 2.0), [2.0] * 8),
    ],
)
def test_ceilings_grow_exponentially_up_to_the_cap(
    policy: BackoffPolicy, expected: list[float]
) -> None:
    backoff = Backoff(policy, uniform=_upper)
    assert [backoff.next_delay() for _ in expected] == expected


def test_the_ceiling_stays_finite_after_very_many_failures() -> None:
    assert BackoffPolicy(0.1, 60.0).ceiling(100_000) == 60.0


def test_delays_are_full_jitter_between_zero_and_the_ceiling() -> None:
    draws: list[tuple[float, float]] = []

    def record(low: float, high: float) -> float:
        draws.append((low, high))
        return (low + high) / 2

    backoff = Backoff(BackoffPolicy(1.0, 10.0), uniform=record)
    delays = [backoff.next_delay() for _ in range(3)]
    assert draws == [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0)]
    assert delays == [0.5, 1.0, 2.0]


def test_real_jitter_spreads_delays_within_bounds() -> None:
    rng = random.Random(7)
    delays = []
    for _ in range(200):
        backoff = Backoff(BackoffPolicy(1.0, 8.0), uniform=rng.uniform)
        for _ in range(3):
            backoff.next_delay()
        delays.append(backoff.next_delay())  # the fourth attempt: ceiling 8
    assert all(0.0 <= d <= 8.0 for d in delays)
    assert min(delays) < 2.0 and max(delays) > 6.0  # spread, not synchronized


def test_reset_after_success_starts_again_from_the_initial_delay() -> None:
    backoff = Backoff(BackoffPolicy(0.5, 30.0), uniform=_upper)
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.attempt == 0
    assert backoff.next_delay() == 0.5


@pytest.mark.parametrize(
    ("initial", "maximum", "multiplier"), [(0.0, 1.0, 2.0), (2.0, 1.0, 2.0), (1.0, 2.0, 0.5)]
)
def test_invalid_policies_are_refused(initial: float, maximum: float, multiplier: float) -> None:
    with pytest.raises(ValueError, match="invalid backoff"):
        BackoffPolicy(initial, maximum, multiplier)
