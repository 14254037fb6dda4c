"""FakeClock: time that moves only when a test says so."""

from sentinel_ports.clock import Clock

NS = 1_000_000_000


class FakeClock(Clock):
    def __init__(self, monotonic: float = 1_000.0, wall_ns: int = 1_700_000_000 * NS) -> None:
        self._monotonic = monotonic
        self._wall_ns = wall_ns

    def monotonic(self) -> float:
        return self._monotonic

    def wall_ns(self) -> int:
        return self._wall_ns

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("monotonic time never goes backwards")
        self._monotonic += seconds
        self._wall_ns += int(seconds * NS)

    def jump_wall(self, seconds: float) -> None:
        """Move only the wall clock (NTP step, operator), forwards or backwards."""
        self._wall_ns += int(seconds * NS)
