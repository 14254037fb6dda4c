"""Turns rate-limit events from the datapath into alerts (contract §7.2)."""

from collections.abc import Callable, Iterable

from sentinel_application.alert_factory import AlertIds
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.alert.mitre import mitre_for_ratelimit
from sentinel_domain.common import Severity
from sentinel_domain.ratelimit import RateLimitEvent
from sentinel_ports.alert_sink import AlertSink


class RateLimitAlertService:
    """One alert per over-limit packet the kernel reported (the router dedups and throttles).

    ``policy_id`` maps the kernel's policy index to the policy id of the installed set.
    """

    def __init__(self, policy_id: Callable[[int], str], sink: AlertSink, ids: AlertIds | None = None) -> None:
        self._policy_id = policy_id
        self._sink = sink
        self._ids = ids or AlertIds()

    def handle(self, events: Iterable[RateLimitEvent]) -> int:
        published = 0
        for event in events:
            self._sink.publish(self.alert_for(event))
            published += 1
        return published

    def alert_for(self, event: RateLimitEvent) -> Alert:
        rule_id = self._policy_id(event.policy_index)
        packet = event.packet
        verb = "drop" if event.dropped else "over limit (passed)"
        return Alert(
            id=self._ids.next(event.timestamp_ns, rule_id),
            timestamp_ns=event.timestamp_ns,
            component=Component.RATELIMIT,
            severity=Severity.MEDIUM,
            rule_id=rule_id,
            action=AlertAction.BLOCK if event.dropped else AlertAction.ALERT,
            src=packet.src,
            dst=packet.dst,
            src_port=packet.src_port or 0,
            dst_port=packet.dst_port or 0,
            protocol=packet.protocol,
            message=f"ratelimit {verb} policy={rule_id} src={packet.src}",
            mitre=mitre_for_ratelimit(packet.dst_port or 0),
        )
