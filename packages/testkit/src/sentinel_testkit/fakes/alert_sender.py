"""ScriptedAlertSender: records what it was asked to send and fails when the test scripts it to."""

import asyncio
from collections import deque
from collections.abc import Sequence

from sentinel_domain.alert import Alert
from sentinel_ports.alert_sender import (
    AlertSender,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)


class ScriptedAlertSender(AlertSender):
    """``fail_next(n)`` makes the next ``n`` sends raise, ``failing = True`` every send until reset;
    ``delay`` makes every send slow."""

    def __init__(
        self, kind: str = "webhook", max_batch: int = 1, batch_interval: float = 0.0, delay: float = 0.0
    ) -> None:
        self.kind = kind
        self._max_batch = max_batch
        self._batch_interval = batch_interval
        self.delay = delay
        self.delivered: list[Alert] = []
        self.batches: list[list[Alert]] = []
        self.attempts = 0
        self.closed = 0
        self.failing = False
        self._script: deque[DeliveryError] = deque()

    @property
    def max_batch(self) -> int:
        return self._max_batch

    @property
    def batch_interval(self) -> float:
        return self._batch_interval

    def fail_next(self, count: int = 1, permanent: bool = False) -> None:
        for _ in range(count):
            error = (
                PermanentDeliveryError("scripted refusal")
                if permanent
                else TransientDeliveryError("scripted outage")
            )
            self._script.append(error)

    async def send(self, alerts: Sequence[Alert]) -> None:
        if len(alerts) > self._max_batch:
            raise ValueError(f"batch of {len(alerts)} exceeds max_batch {self._max_batch}")
        self.attempts += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self._script:
            raise self._script.popleft()
        if self.failing:
            raise TransientDeliveryError("scripted outage")
        self.delivered.extend(alerts)
        self.batches.append(list(alerts))

    async def aclose(self) -> None:
        self.closed += 1
