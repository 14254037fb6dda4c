"""Every alert is stored first (contract §8.2), without detection ever waiting on the disk.

``publish`` only appends to a bounded in-memory queue and hands the alert on to the next sink
(log, router, streams); a writer thread stores queued alerts in batches (one transaction each).
When the queue is full the oldest waiting alert is dropped and counted (``queue_full``).
"""

import threading
from collections import deque

from sentinel_domain.alert import Alert
from sentinel_ports.alert_sink import AlertSink
from sentinel_ports.alert_store import AlertStore


class RecordingAlertSink(AlertSink):
    def __init__(
        self,
        store: AlertStore,
        downstream: AlertSink,
        capacity: int = 100_000,
        batch: int = 1000,
        interval: float = 0.1,
    ) -> None:
        self._store = store
        self._downstream = downstream
        self._queue: deque[Alert] = deque()
        self._capacity = capacity
        self._batch = batch
        self._interval = interval
        self._lock = threading.Condition()
        self._closed = False
        self.dropped: dict[str, int] = {"queue_full": 0}
        self.stored = 0
        self._count = 0
        self._writer = threading.Thread(target=self._run, name="alert-recorder", daemon=True)
        self._writer.start()

    def publish(self, alert: Alert) -> None:
        with self._lock:
            if len(self._queue) >= self._capacity:
                self._queue.popleft()
                self.dropped["queue_full"] += 1
            self._queue.append(alert)
            self._count += 1
            if len(self._queue) >= self._batch:
                self._lock.notify()
        self._downstream.publish(alert)

    def published(self) -> int:
        return self._count

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is stored (for shutdown and tests)."""
        with self._lock:
            self._lock.notify()
            return self._lock.wait_for(lambda: not self._queue, timeout)

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._closed = True
            self._lock.notify()
        self._writer.join(timeout=5)

    def _append(self, batch: list[Alert]) -> int:
        """Store ``batch``; a batch the store refuses whole (e.g. larger than a nearly full map
        can take in one transaction) is retried in halves, down to single alerts."""
        stored = self._store.append(batch)
        if stored == 0 and len(batch) > 1:
            middle = len(batch) // 2
            return self._append(batch[:middle]) + self._append(batch[middle:])
        return stored

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._closed or len(self._queue) >= self._batch, self._interval)
                if self._closed and not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(self._batch, len(self._queue)))]
            if batch:
                self.stored += self._append(batch)
            with self._lock:
                self._lock.notify_all()
