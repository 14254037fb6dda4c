"""Notification throttling: a token bucket per key (deviation 13).

Each bucket holds ``max_alerts`` tokens and refills at ``max_alerts / window`` tokens per second,
so a key sends at most ``max_alerts`` notifications in a burst and ``max_alerts`` per window on
average. The key is built from the fields in ``by``: ``rule`` (upstream's choice), ``source`` (the
seed's), both (our default) or neither (one global bucket).
"""

from collections import OrderedDict
from collections.abc import Hashable, Iterable

from sentinel_domain.alert import Alert

THROTTLE_FIELDS = ("rule", "source")
DEFAULT_MAX_KEYS = 100_000


class Throttle:
    """``window`` seconds (0 disables throttling), ``max_alerts`` >= 1 per window per key."""

    def __init__(
        self,
        window: float,
        max_alerts: int,
        by: Iterable[str] = THROTTLE_FIELDS,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        fields = tuple(by)
        unknown = [f for f in fields if f not in THROTTLE_FIELDS]
        if window < 0 or max_alerts < 1 or max_keys < 1 or unknown:
            raise ValueError(
                f"throttle window {window} must be >= 0, max {max_alerts} >= 1, fields within "
                f"{THROTTLE_FIELDS} (got {unknown})"
            )
        self.window = window
        self.max_alerts = max_alerts
        self.by = fields
        self.max_keys = max_keys
        self._rate = max_alerts / window if window else 0.0
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def key(self, alert: Alert) -> Hashable:
        return tuple(alert.rule_id if f == "rule" else alert.src for f in self.by)

    def allow(self, alert: Alert, now: float) -> bool:
        """Take one token from the alert's bucket; False (throttled) when it is empty."""
        if self.window == 0:
            return True
        key = self.key(alert)
        tokens, at = self._buckets.pop(key, (float(self.max_alerts), now))
        tokens = min(float(self.max_alerts), tokens + max(0.0, now - at) * self._rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)  # most recently used last
        self._evict(now)
        return allowed

    def __len__(self) -> int:
        return len(self._buckets)

    def _evict(self, now: float) -> None:
        # A bucket idle for a whole window is full again, which is what a missing bucket means.
        while self._buckets:
            key, (_, at) = next(iter(self._buckets.items()))
            if now - at < self.window and len(self._buckets) <= self.max_keys:
                return
            del self._buckets[key]
