"""Gives alerts their process-unique ids (contract §8.1: ``<timestamp_ns>-<rule_id>-<seq>``)."""

import itertools
import threading

from sentinel_domain.alert import alert_id


class AlertIds:
    """A thread-safe sequence shared by every service of one agent."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def next(self, timestamp_ns: int, rule_id: str) -> str:
        with self._lock:
            seq = next(self._seq)
        return alert_id(timestamp_ns, rule_id, seq)
