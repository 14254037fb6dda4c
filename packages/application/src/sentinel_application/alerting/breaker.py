"""A circuit breaker per destination: closed → open → half-open → closed (contract §8.3).

``failure_threshold`` consecutive failed attempts open the circuit for ``open_secs``; then it is
half-open and lets one probe through: success closes it, failure opens it again for another
``open_secs``. Time is passed in (monotonic seconds).
"""

import enum


class CircuitState(enum.IntEnum):
    CLOSED = 0  # the values are the contract's gauge values
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 5, open_secs: float = 60.0) -> None:
        if failure_threshold < 1 or open_secs < 0:
            raise ValueError(f"failure_threshold {failure_threshold} must be >= 1, open_secs >= 0")
        self.failure_threshold = failure_threshold
        self.open_secs = open_secs
        self.failures = 0  # consecutive
        self._opened_at: float | None = None
        self._probing = False

    def state(self, now: float) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if now - self._opened_at < self.open_secs:
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    def allow(self, now: float) -> bool:
        """Whether an attempt may start now (in half-open, only one probe at a time)."""
        state = self.state(now)
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def retry_at(self, now: float) -> float:
        """The earliest monotonic time an attempt may be allowed (``now`` when it already is)."""
        if self._opened_at is None:
            return now
        return max(now, self._opened_at + self.open_secs)

    def record_success(self) -> None:
        self.failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self, now: float) -> None:
        self.failures += 1
        if self._probing or self.failures >= self.failure_threshold:
            self._opened_at = now
        self._probing = False
