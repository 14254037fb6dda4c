"""Duplicate suppression (contract §8.2): one notification per key per window.

Key: rule id, source address, destination address, destination port and protocol (the source port
is ignored, so a scan from many ephemeral ports is one duplicate stream). Unlike upstream, the full
IPv6 addresses are part of the key, not only their first word.

A key is remembered from the alert that was *not* a duplicate, for ``window`` seconds: an attack
that goes on produces one reminder per window instead of being silenced forever. The key is
remembered even when a later stage (throttle, routes) stops the alert, as upstream does.
"""

from collections import OrderedDict
from collections.abc import Hashable

from sentinel_domain.alert import Alert

DEFAULT_MAX_KEYS = 100_000


def dedup_key(alert: Alert) -> Hashable:
    return (alert.rule_id, alert.src, alert.dst, alert.dst_port, alert.protocol)


class DedupFilter:
    """``window`` seconds (0 disables); at most ``max_keys`` remembered, the oldest forgotten first."""

    def __init__(self, window: float, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if window < 0 or max_keys < 1:
            raise ValueError(f"dedup window {window} must be >= 0 and max_keys {max_keys} >= 1")
        self.window = window
        self.max_keys = max_keys
        self._first_seen: OrderedDict[Hashable, float] = OrderedDict()  # oldest first

    def is_duplicate(self, alert: Alert, now: float) -> bool:
        """True when an alert with the same key was let through less than ``window`` seconds ago."""
        if self.window == 0:
            return False
        self._forget_older_than(now - self.window)
        key = dedup_key(alert)
        if key in self._first_seen:
            return True
        self._first_seen[key] = now
        if len(self._first_seen) > self.max_keys:
            # Bounded memory under a storm of distinct keys: the oldest key may notify again early.
            self._first_seen.popitem(last=False)
        return False

    def __len__(self) -> int:
        return len(self._first_seen)

    def _forget_older_than(self, cutoff: float) -> None:
        while self._first_seen:
            key, seen = next(iter(self._first_seen.items()))
            if seen > cutoff:
                return
            del self._first_seen[key]
