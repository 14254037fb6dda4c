"""The process clock behind the Clock port (tests use sentinel_testkit.fakes.clock.FakeClock)."""

import time

from sentinel_ports.clock import Clock


class SystemClock(Clock):
    def monotonic(self) -> float:
        return time.monotonic()

    def wall_ns(self) -> int:
        return time.time_ns()
