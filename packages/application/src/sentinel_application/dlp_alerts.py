"""TLS plaintext captures → DLP alerts (contract §7.5; redacted, never the matched value).

Keeps one scan state per (process, direction) so a secret split across two writes is found once.
"""

from collections.abc import Callable, Iterable

from sentinel_application.alert_factory import AlertIds
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.dlp import DlpEngine, DlpFinding, DlpStateTable
from sentinel_ports.alert_sink import AlertSink
from sentinel_ports.dlp_probe import DlpCapture


class DlpAlertService:
    def __init__(self, engine: Callable[[], DlpEngine], sink: AlertSink, ids: AlertIds | None = None) -> None:
        self._engine = engine
        self._sink = sink
        self._ids = ids or AlertIds()
        self._states = DlpStateTable()

    def handle(self, captures: Iterable[DlpCapture]) -> int:
        engine = self._engine()
        published = 0
        for capture in captures:
            state = self._states.get(capture.stream_key)
            for finding in engine.scan(capture.data, state, gap_after=capture.truncated):
                self._sink.publish(self.alert_for(finding, capture))
                published += 1
        return published

    def alert_for(self, finding: DlpFinding, capture: DlpCapture) -> Alert:
        return Alert(
            id=self._ids.next(capture.timestamp_ns, finding.pattern_id),
            timestamp_ns=capture.timestamp_ns,
            component=Component.DLP,
            severity=finding.severity,
            rule_id=finding.pattern_id,
            action=AlertAction.ALERT,
            message=finding.message(capture.tgid),
            mitre=finding.mitre,
            data_type=finding.data_type,
            pid=capture.pid,
            tgid=capture.tgid,
            direction=int(capture.direction),
        )
