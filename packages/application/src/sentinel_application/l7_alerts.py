"""Captured TCP payloads on L7 ports → the L7 firewall → alerts for deny/reject matches (§7.7).

Detection only: the kernel copied the bytes, nothing is dropped here. Payloads are inspected one
segment at a time (no reassembly yet).
"""

from collections.abc import Callable, Iterable

from sentinel_application.alert_factory import AlertIds
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.ids import PayloadEvent
from sentinel_domain.l7 import L7Engine
from sentinel_ports.alert_sink import AlertSink


class L7AlertService:
    def __init__(
        self,
        engine: Callable[[], L7Engine],
        ports: Callable[[], frozenset[int]],
        sink: AlertSink,
        ids: AlertIds | None = None,
    ) -> None:
        self._engine = engine
        self._ports = ports
        self._sink = sink
        self._ids = ids or AlertIds()
        self.parse_errors = 0

    def handle(self, events: Iterable[PayloadEvent]) -> int:
        engine, ports = self._engine(), self._ports()
        published = 0
        for event in events:
            header = event.header
            if header.protocol != 6 or header.dst_port not in ports or not event.payload:
                continue
            inspection = engine.inspect(event.payload, header)
            if inspection.error is not None:
                self.parse_errors += 1
            for decision in inspection.decisions:
                found = decision.alert
                if found is None:
                    continue
                self._sink.publish(
                    Alert(
                        id=self._ids.next(event.timestamp_ns, found.rule_id),
                        timestamp_ns=event.timestamp_ns,
                        component=Component.L7,
                        severity=found.severity,
                        rule_id=found.rule_id,
                        action=AlertAction.BLOCK if found.action == "block" else AlertAction.ALERT,
                        src=found.src,
                        dst=found.dst,
                        src_port=found.src_port,
                        dst_port=found.dst_port,
                        protocol=found.protocol,
                        message=found.message,
                        mitre=found.mitre,
                    )
                )
                published += 1
        return published
