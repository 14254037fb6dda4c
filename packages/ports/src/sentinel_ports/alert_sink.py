"""AlertSink: where finished alerts go (the alert router, a log, a test's list)."""

from abc import ABC, abstractmethod

from sentinel_domain.alert import Alert


class AlertSink(ABC):
    @abstractmethod
    def publish(self, alert: Alert) -> None:
        """Accept ``alert``; must not block detection (queue or drop-and-count instead)."""

    @abstractmethod
    def published(self) -> int:
        """How many alerts were accepted so far."""
