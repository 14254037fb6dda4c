"""Threat-intel hits from the datapath → alerts with component ``threatintel`` (deviation 11)."""

from collections.abc import Callable, Iterable

from sentinel_application.alert_factory import AlertIds
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.alert.mitre import mitre_for_threatintel
from sentinel_domain.common import Severity
from sentinel_domain.threatintel import ThreatIntelEvent
from sentinel_ports.alert_sink import AlertSink


class ThreatIntelAlertService:
    """``feed_id`` maps the kernel's feed index to the feed's id."""

    def __init__(self, feed_id: Callable[[int], str], sink: AlertSink, ids: AlertIds | None = None) -> None:
        self._feed_id = feed_id
        self._sink = sink
        self._ids = ids or AlertIds()

    def handle(self, events: Iterable[ThreatIntelEvent]) -> int:
        published = 0
        for event in events:
            feed = self._feed_id(event.feed_index)
            rule_id = f"ti-{feed}"
            packet = event.packet
            verb = "dropped" if event.dropped else "seen"
            self._sink.publish(
                Alert(
                    id=self._ids.next(event.timestamp_ns, rule_id),
                    timestamp_ns=event.timestamp_ns,
                    component=Component.THREATINTEL,
                    severity=Severity.HIGH,
                    rule_id=rule_id,
                    action=AlertAction.BLOCK if event.dropped else AlertAction.ALERT,
                    src=packet.src,
                    dst=packet.dst,
                    src_port=packet.src_port or 0,
                    dst_port=packet.dst_port or 0,
                    protocol=packet.protocol,
                    message=f"threat intel: traffic with IOC {event.matched} (feed {feed}) {verb}",
                    mitre=mitre_for_threatintel("other", packet.dst_port or 0),
                )
            )
            published += 1
        return published
