"""IDS payload events → IDS/IPS alerts, and the IPS detection counter (contract §7.3, §7.4).

Owns the IDS threshold state (one consumer thread calls ``handle``). Every alert of a rule in
block mode — or any detection rule — counts toward the source's IPS auto-blacklist.
"""

from collections.abc import Callable, Iterable

from sentinel_application.alert_factory import AlertIds
from sentinel_application.ips_enforcement import IpsEnforcer
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.common import Severity
from sentinel_domain.ids import Component as IdsComponent
from sentinel_domain.ids import IdsAlert, IdsEngine, PayloadEvent, RuleMode, ThresholdState
from sentinel_domain.ips import BlacklistAlert, Detection, IpsMode
from sentinel_ports.alert_sink import AlertSink


class IdsAlertService:
    def __init__(
        self,
        engine: Callable[[], IdsEngine],
        sink: AlertSink,
        clock_ns: Callable[[], int],
        ips: IpsEnforcer | None = None,
        ids: AlertIds | None = None,
    ) -> None:
        self._engine = engine
        self._sink = sink
        self._clock_ns = clock_ns
        self._ips = ips
        self._ids = ids or AlertIds()
        self._thresholds = ThresholdState()

    def handle(self, events: Iterable[PayloadEvent]) -> int:
        engine = self._engine()
        published = 0
        for event in events:
            for found in engine.evaluate(event, self._thresholds, self._clock_ns()):
                self._sink.publish(self.alert_for(found))
                published += 1
                published += self._count_for_ips(found)
        return published

    def alert_for(self, found: IdsAlert) -> Alert:
        header = found.header
        return Alert(
            id=self._ids.next(found.timestamp_ns, found.rule_id),
            timestamp_ns=found.timestamp_ns,
            component=Component.IPS if found.component is IdsComponent.IPS else Component.IDS,
            severity=found.severity,
            rule_id=found.rule_id,
            action=AlertAction.BLOCK if found.action is RuleMode.BLOCK else AlertAction.ALERT,
            src=header.src,
            dst=header.dst,
            src_port=header.src_port or 0,
            dst_port=header.dst_port or 0,
            protocol=header.protocol,
            message=found.message,
            mitre=found.mitre,
        )

    def _count_for_ips(self, found: IdsAlert) -> int:
        if self._ips is None:
            return 0
        prevention = found.component is IdsComponent.IPS
        mode = IpsMode.BLOCK if found.action is RuleMode.BLOCK else IpsMode.ALERT
        blacklisted = self._ips.detection(Detection(found.header.src, found.rule_id, prevention, mode))
        for entry in blacklisted:
            self._sink.publish(self._blacklist_alert(entry, found.timestamp_ns))
        return len(blacklisted)

    def _blacklist_alert(self, entry: BlacklistAlert, timestamp_ns: int) -> Alert:
        return Alert(
            id=self._ids.next(timestamp_ns, entry.rule_id),
            timestamp_ns=timestamp_ns,
            component=Component.IPS,
            severity=Severity.HIGH,
            rule_id=entry.rule_id,
            action=AlertAction.BLOCK,
            src=entry.src,
            message=entry.message,
        )
