"""Turns firewall events from the datapath into alerts (contract §7.1, §8.1)."""

from collections.abc import Iterable

from sentinel_application.alert_factory import AlertIds
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.alert.mitre import mitre_for_firewall
from sentinel_domain.common import Severity
from sentinel_domain.firewall import FirewallEvent, Verdict
from sentinel_ports.alert_sink import AlertSink

BLOCKLIST_RULE_ID = "ips-blocklist"
DEFAULT_POLICY_RULE_ID = "default-policy"


class FirewallAlertService:
    """Every dropped or logged packet becomes one alert (dedup/throttle happen later, in the router)."""

    def __init__(self, sink: AlertSink, ids: AlertIds | None = None) -> None:
        self._sink = sink
        self._ids = ids or AlertIds()

    def handle(self, events: Iterable[FirewallEvent]) -> int:
        """Publish alerts for ``events``; returns how many were published."""
        published = 0
        for event in events:
            alert = self.alert_for(event)
            if alert is not None:
                self._sink.publish(alert)
                published += 1
        return published

    def alert_for(self, event: FirewallEvent) -> Alert | None:
        if event.verdict is Verdict.PASS:
            return None
        rule_id = BLOCKLIST_RULE_ID if event.blocklisted else event.rule_id or DEFAULT_POLICY_RULE_ID
        packet = event.packet
        action = AlertAction.BLOCK if event.verdict is Verdict.DROP else AlertAction.ALERT
        return Alert(
            id=self._ids.next(event.timestamp_ns, rule_id),
            timestamp_ns=event.timestamp_ns,
            component=Component.FIREWALL,
            severity=Severity.MEDIUM,
            rule_id=rule_id,
            action=action,
            src=packet.src,
            dst=packet.dst,
            src_port=packet.src_port or 0,
            dst_port=packet.dst_port or 0,
            protocol=packet.protocol,
            message=f"firewall {event.verdict.value} rule={rule_id} {packet.src} -> {packet.dst}",
            mitre=mitre_for_firewall(packet.dst_port or 0),
        )
