"""The real clock, for when no test clock is injected."""

import time

from sentinel_ports.clock import Clock


class SystemClock(Clock):
    def monotonic(self) -> float:
        return time.monotonic()

    def wall_ns(self) -> int:
        return time.time_ns()
