"""Threshold state (contract §7.3), owned by the caller and driven by explicit ``now_ns``."""

from dataclasses import dataclass

from sentinel_domain.common.addresses import IpAddress
from sentinel_domain.ids.entity import Threshold, ThresholdType, TrackBy

NS_PER_SEC = 1_000_000_000
TrackKey = tuple[str, IpAddress | None, IpAddress | None]


@dataclass(slots=True)
class _Window:
    start_ns: int
    count: int
    length_ns: int


class ThresholdState:
    """Per (rule, tracked address) windows. Not thread-safe; one per engine user.

    A window restarts when ``now - start >= window``; then the hit is counted, and:
    limit alerts while count <= N; threshold alerts when count % N == 0; both alerts once per
    window, when count reaches N; detection_filter alerts when count > N. ``max_entries`` bounds
    memory: when full, expired windows are swept, then the oldest window is dropped.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._windows: dict[TrackKey, _Window] = {}

    def __len__(self) -> int:
        return len(self._windows)

    def hit(self, rule_key: str, threshold: Threshold, src: IpAddress, dst: IpAddress, now_ns: int) -> bool:
        """Count one match of ``rule_key`` and say whether it raises an alert."""
        track = threshold.track_by
        key = (
            rule_key,
            src if track in (TrackBy.SRC, TrackBy.BOTH) else None,
            dst if track in (TrackBy.DST, TrackBy.BOTH) else None,
        )
        length = threshold.window_secs * NS_PER_SEC
        window = self._windows.get(key)
        if window is None or now_ns - window.start_ns >= window.length_ns:
            if window is None and len(self._windows) >= self.max_entries:
                self._make_room(now_ns)
            window = self._windows[key] = _Window(now_ns, 0, length)
        window.count += 1
        count, n = window.count, threshold.count
        if threshold.type is ThresholdType.LIMIT:
            return count <= n
        if threshold.type is ThresholdType.THRESHOLD:
            return count % n == 0
        if threshold.type is ThresholdType.BOTH:
            return count == n
        return count > n

    def sweep(self, now_ns: int) -> int:
        """Drop every window that has ended; returns how many were dropped."""
        ended = [k for k, w in self._windows.items() if now_ns - w.start_ns >= w.length_ns]
        for key in ended:
            del self._windows[key]
        return len(ended)

    def _make_room(self, now_ns: int) -> None:
        if not self.sweep(now_ns) and self._windows:
            del self._windows[next(iter(self._windows))]
