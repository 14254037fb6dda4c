"""Live alert fan-out for the streams (SSE, gRPC): every alert to every subscriber, never blocking.

An AlertSink, so the pipeline records into it like into the store. Each subscriber owns a bounded
queue; a subscriber that falls behind loses its oldest waiting alerts (counted on the
subscription), so one slow client never slows detection or the other clients. The last
``history`` alerts are kept for ``Last-Event-ID`` replay (contract §2.4).

Subscribers are usually coroutines on an event loop while ``publish`` runs on detection threads:
``Subscription.wake`` is how a subscriber asks to be notified (e.g. ``loop.call_soon_threadsafe``).
"""

import contextlib
import threading
from collections import deque
from collections.abc import Callable

from sentinel_domain.alert import Alert
from sentinel_ports.alert_sink import AlertSink

DEFAULT_HISTORY = 5000
DEFAULT_QUEUE = 1000


class Subscription:
    """One subscriber's bounded queue. ``wake`` (optional) is called after each new alert."""

    def __init__(self, owner: "AlertBroadcast", capacity: int, wake: Callable[[], None] | None) -> None:
        self._owner = owner
        self._queue: deque[Alert] = deque()
        self._capacity = capacity
        self._wake = wake
        self._lock = threading.Lock()
        self.skipped = 0  # alerts this subscriber lost by falling behind

    def _offer(self, alert: Alert) -> None:
        with self._lock:
            if len(self._queue) >= self._capacity:
                self._queue.popleft()
                self.skipped += 1
            self._queue.append(alert)
        if self._wake is not None:
            # RuntimeError: the subscriber's event loop has closed; it is about to unsubscribe.
            with contextlib.suppress(RuntimeError):
                self._wake()

    def drain(self, limit: int = 1000) -> list[Alert]:
        """Up to ``limit`` waiting alerts, oldest first (non-blocking)."""
        with self._lock:
            count = min(limit, len(self._queue))
            return [self._queue.popleft() for _ in range(count)]

    def close(self) -> None:
        self._owner.unsubscribe(self)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class AlertBroadcast(AlertSink):
    def __init__(self, history: int = DEFAULT_HISTORY) -> None:
        self._history: deque[Alert] = deque(maxlen=history)
        self._subscribers: list[Subscription] = []
        self._lock = threading.Lock()
        self._count = 0

    def publish(self, alert: Alert) -> None:
        with self._lock:
            self._history.append(alert)
            self._count += 1
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber._offer(alert)

    def published(self) -> int:
        return self._count

    def subscribe(
        self, wake: Callable[[], None] | None = None, capacity: int = DEFAULT_QUEUE
    ) -> Subscription:
        subscription = Subscription(self, capacity, wake)
        with self._lock:
            self._subscribers.append(subscription)
        return subscription

    def subscribe_after(
        self, last_id: str | None, wake: Callable[[], None] | None = None, capacity: int = DEFAULT_QUEUE
    ) -> tuple[list[Alert], Subscription]:
        """Subscribe and, atomically with it, the retained alerts published after ``last_id``
        (empty when ``last_id`` is None or no longer retained: live only). No alert is both
        replayed and delivered live, and none published in between is missed."""
        subscription = Subscription(self, capacity, wake)
        with self._lock:
            history = list(self._history)
            self._subscribers.append(subscription)
        if last_id is None:
            return [], subscription
        for position, alert in enumerate(history):
            if alert.id == last_id:
                return history[position + 1 :], subscription
        return [], subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)
