"""Retry timing: exponential backoff with jitter, so many agents do not retry in lock-step."""

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempt ``n`` (1 = the first retry) waits ``initial * multiplier**(n-1)`` capped at ``maximum``,
    then jittered uniformly into its upper half (``[d/2, d]``), so the wait still grows."""

    initial: float = 1.0
    maximum: float = 30.0
    multiplier: float = 2.0
    attempt_timeout: float = 10.0

    def __post_init__(self) -> None:
        if (
            self.initial < 0
            or self.maximum < self.initial
            or self.multiplier < 1
            or self.attempt_timeout <= 0
        ):
            raise ValueError(f"invalid retry policy {self}")

    def delay(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (>= 1)."""
        exponent = min(max(retry, 1) - 1, 64)  # 2**64 * initial is past any cap; avoid float overflow
        ceiling = min(self.maximum, self.initial * self.multiplier**exponent)
        return rng.uniform(ceiling / 2, ceiling)
