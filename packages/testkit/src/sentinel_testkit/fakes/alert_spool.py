"""InMemoryAlertSpool: the AlertSpool port in a dict of deques (not durable)."""

import itertools
import threading
from collections import deque
from collections.abc import Collection, Sequence

from sentinel_domain.alert import Alert
from sentinel_ports.alert_spool import AlertSpool, SpooledAlert


class InMemoryAlertSpool(AlertSpool):
    def __init__(self, max_per_destination: int = 100_000) -> None:
        if max_per_destination < 1:
            raise ValueError("max_per_destination must be >= 1")
        self.max_per_destination = max_per_destination
        self._queues: dict[str, deque[SpooledAlert]] = {}
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self.closed = False

    def put(self, destination: str, alerts: Sequence[Alert], enqueued_ns: int) -> int:
        with self._lock:
            queue = self._queues.setdefault(destination, deque())
            queue.extend(SpooledAlert(next(self._seq), enqueued_ns, alert) for alert in alerts)
            evicted = max(0, len(queue) - self.max_per_destination)
            for _ in range(evicted):
                queue.popleft()
            return evicted

    def peek(self, destination: str, limit: int) -> list[SpooledAlert]:
        with self._lock:
            return list(itertools.islice(self._queues.get(destination, ()), max(0, limit)))

    def remove(self, destination: str, seqs: Collection[int]) -> int:
        wanted = set(seqs)
        with self._lock:
            queue = self._queues.get(destination, deque())
            kept = deque(e for e in queue if e.seq not in wanted)
            removed = len(queue) - len(kept)
            self._queues[destination] = kept
            return removed

    def expire(self, destination: str, older_than_ns: int) -> int:
        with self._lock:
            queue = self._queues.get(destination, deque())
            count = 0
            while queue and queue[0].enqueued_ns < older_than_ns:
                queue.popleft()
                count += 1
            return count

    def depth(self, destination: str) -> int:
        with self._lock:
            return len(self._queues.get(destination, ()))

    def destinations(self) -> list[str]:
        with self._lock:
            return sorted(name for name, queue in self._queues.items() if queue)

    def close(self) -> None:
        self.closed = True
