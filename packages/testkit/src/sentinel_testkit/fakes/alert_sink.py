"""An AlertSink that keeps alerts in a list."""

from sentinel_domain.alert import Alert
from sentinel_ports.alert_sink import AlertSink


class InMemoryAlertSink(AlertSink):
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def publish(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def published(self) -> int:
        return len(self.alerts)
