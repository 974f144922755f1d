"""Retry delays (reconnects, storage retries): exponential backoff with full jitter, capped,
reset after a success."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff", "BackoffPolicy"]


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Attempt ``n`` (0-based) waits a uniform time in ``[0, min(max_s, initial_s * 2**n))``."""

    initial_s: float = 0.5
    max_s: float = 30.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.initial_s <= 0 or self.max_s < self.initial_s or self.multiplier < 1:
            raise ValueError(f"invalid backoff policy {self}")

    def ceiling(self, attempt: int) -> float:
        """The largest delay of attempt ``attempt``."""
        # Capping the exponent first keeps the power finite for any attempt count.
        exponent = 0
        while exponent < attempt and self.initial_s * self.multiplier**exponent < self.max_s:
            exponent += 1
        return float(min(self.max_s, self.initial_s * self.multiplier**exponent))


class Backoff:
    """Successive delays of one source; :meth:`reset` once it works again.

    Full jitter (a uniform draw up to the exponential ceiling) spreads the reconnects of many
    cameras that failed together, e.g. when a network switch or an NVR restarts.
    """

    def __init__(
        self, policy: BackoffPolicy, uniform: Callable[[float, float], float] | None = None
    ) -> None:
        self.policy = policy
        self._uniform = uniform or random.Random().uniform
        self.attempt = 0

    def next_delay(self) -> float:
        """The delay before the next attempt, in seconds; each call counts one failure."""
        ceiling = self.policy.ceiling(self.attempt)
        self.attempt += 1
        return self._uniform(0.0, ceiling)

    def reset(self) -> None:
        self.attempt = 0
