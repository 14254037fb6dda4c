"""Clock: where services read time, so tests can script it."""

from abc import ABC, abstractmethod


class Clock(ABC):
    @abstractmethod
    def monotonic(self) -> float:
        """Seconds since an arbitrary origin; never goes backwards (windows, buckets, timeouts)."""

    @abstractmethod
    def wall_ns(self) -> int:
        """Unix epoch nanoseconds; may jump (ages that must survive a restart, output)."""
