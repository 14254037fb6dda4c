"""Passive DNS → cache, blocklist alerts, and kernel blocks for the IPs of blocked domains (§7.8).

Only responses are read. A blocked domain's resolved addresses are blocked in XDP (the kernel
blocklist, before every firewall rule) for the record TTL + grace period, renewed by re-resolution
and removed by ``sweep`` when they lapse. Every injection target of the contract lands on that one
enforcement point (docs/deviations.md).
"""

import ipaddress
import threading
from collections.abc import Callable, Iterable, Sequence

from sentinel_application.alert_factory import AlertIds
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.dns import (
    BlocklistPolicy,
    DnsCache,
    DnsParseError,
    DomainBlocklist,
    DomainPattern,
    InjectionTracker,
    evaluate_response,
    parse_message,
    resolved_addresses,
)
from sentinel_ports.alert_sink import AlertSink
from sentinel_ports.blocklist import Blocklist
from sentinel_ports.dns_source import DnsCapture, DnsDirection


class DnsService:
    def __init__(
        self,
        patterns: Sequence[DomainPattern],
        policy: BlocklistPolicy,
        blocklist: Blocklist | None,
        sink: AlertSink,
        clock: Callable[[], float],
        cache: DnsCache | None = None,
        ids: AlertIds | None = None,
    ) -> None:
        self.domains = DomainBlocklist()
        for pattern in patterns:
            self.domains.add(pattern)
        self.cache = cache or DnsCache()
        self._policy = policy
        self._blocklist = blocklist
        self._sink = sink
        self._clock = clock
        self._ids = ids or AlertIds()
        self._tracker = InjectionTracker()
        self._lock = threading.Lock()
        self.parse_errors = 0
        self.injected = 0

    def handle(self, captures: Iterable[DnsCapture]) -> int:
        published = 0
        for capture in captures:
            if capture.direction is not DnsDirection.RESPONSE:
                continue
            try:
                message = parse_message(capture.message)
            except DnsParseError:
                self.parse_errors += 1
                continue
            now = self._clock()
            with self._lock:
                for domain, addresses in resolved_addresses(message).items():
                    self.cache.record(domain, addresses, now)
                outcome = evaluate_response(message, self.domains, self._policy)
                for data in outcome.alerts:
                    self._sink.publish(
                        Alert(
                            id=self._ids.next(capture.timestamp_ns, data.rule_id),
                            timestamp_ns=capture.timestamp_ns,
                            component=Component.DNS,
                            severity=data.severity,
                            rule_id=data.rule_id,
                            action=AlertAction.ALERT,
                            message=data.message,
                            matched_domain=data.matched_domain,
                            mitre=data.mitre,
                        )
                    )
                    published += 1
                if self._blocklist is not None:
                    for decision in self._tracker.apply(outcome.injections, now):
                        self._blocklist.block(ipaddress.ip_network(decision.ip))
                        self.injected += 1
        return published

    def sweep(self) -> None:
        """Lift blocks whose TTL + grace ran out; purge expired cache entries."""
        now = self._clock()
        with self._lock:
            for ip in self._tracker.expire(now):
                if self._blocklist is not None:
                    self._blocklist.unblock(ipaddress.ip_network(ip))
            self.cache.purge_expired(now)
