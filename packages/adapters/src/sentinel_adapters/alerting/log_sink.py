"""LogAlertSink: each alert as one structured (JSON) log record on the agent's log stream."""

import structlog

from sentinel_domain.alert import Alert
from sentinel_ports.alert_sink import AlertSink


class LogAlertSink(AlertSink):
    def __init__(self) -> None:
        self._log = structlog.get_logger("ebpfsentinel.alert")
        self._count = 0

    def publish(self, alert: Alert) -> None:
        self._log.info("alert", **alert.to_dict())
        self._count += 1

    def published(self) -> int:
        return self._count
