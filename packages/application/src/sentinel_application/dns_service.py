"""Passive DNS → cache, blocklist alerts, and kernel blocks for the IPs of blocked domains (§7.8).

Responses feed the cache and the blocklist. A blocked domain's resolved addresses are blocked in
XDP (the kernel blocklist, before every firewall rule) for the record TTL + grace period, renewed
by re-resolution and removed by ``sweep`` when they lapse. Every injection target of the contract
lands on that one enforcement point (docs/deviations.md).

With domain reputation on, queries and responses are also observed (query bursts, NXDOMAIN
ratio, short TTLs, blocklist hits, DGA-like names); a domain whose score crosses the threshold
gets its cached addresses blocked for the configured TTL and one DNS alert.
"""

import ipaddress
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sentinel_application.alert_factory import AlertIds
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.common import IpAddress
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
from sentinel_domain.reputation import AutoBlock, ReputationDecision, ReputationEngine
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
        reputation: ReputationEngine | None = None,
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
        self.reputation = reputation
        self._reputation_blocks: dict[str, dict[IpAddress, float]] = {}  # domain -> ip -> until
        self._lock = threading.Lock()
        self.parse_errors = 0
        self.injected = 0

    def handle(self, captures: Iterable[DnsCapture]) -> int:
        published = 0
        for capture in captures:
            if capture.direction is not DnsDirection.RESPONSE and self.reputation is None:
                continue
            try:
                message = parse_message(capture.message)
            except DnsParseError:
                self.parse_errors += 1
                continue
            now = self._clock()
            if capture.direction is not DnsDirection.RESPONSE:
                if self.reputation is not None:
                    with self._lock:
                        for question in message.questions:
                            decisions = self.reputation.observe_query(question.name, now)
                            published += self._apply_reputation(decisions, capture.timestamp_ns, now)
                continue
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
                if self.reputation is not None:
                    published += self._observe_response(message, outcome, capture.timestamp_ns, now)
        return published

    def domain_blocks(self) -> list[tuple[IpAddress, str, str, int]]:
        """``(ip, domain, source, ttl seconds left)`` of every address blocked because of a
        domain: ``dns-blocklist`` (a blocklisted name resolved to it) or ``reputation``."""
        now = self._clock()
        with self._lock:
            found = [
                (ip, domain, "dns-blocklist", max(0, int(left)))
                for ip, domain, left in self._tracker.entries(now)
            ]
            for domain, blocked in self._reputation_blocks.items():
                found += [
                    (ip, domain, "reputation", max(0, int(until - now)))
                    for ip, until in blocked.items()
                    if until > now
                ]
        return found

    def _observe_response(self, message: Any, outcome: Any, timestamp_ns: int, now: float) -> int:
        assert self.reputation is not None
        ttls = [r.ttl for r in message.answers if r.address is not None]
        published = 0
        for question in message.questions:
            decisions = self.reputation.observe_response(
                question.name, message.rcode, min(ttls) if ttls else None, now
            )
            published += self._apply_reputation(decisions, timestamp_ns, now)
        for data in outcome.alerts:
            published += self._apply_reputation(
                self.reputation.observe_blocklist_hit(data.matched_domain, now), timestamp_ns, now
            )
        return published

    def _apply_reputation(self, decisions: list[ReputationDecision], timestamp_ns: int, now: float) -> int:
        """Block/unblock a domain's cached addresses; publish the first-block alert."""
        published = 0
        for decision in decisions:
            if isinstance(decision, AutoBlock):
                blocked = self._reputation_blocks.setdefault(decision.domain, {})
                for ip in self.cache.lookup(decision.domain, now) or ():
                    if ip not in blocked and self._blocklist is not None:
                        self._blocklist.block(ipaddress.ip_network(ip))
                    blocked[ip] = now + decision.ttl_secs
                if decision.alert is not None:
                    found = decision.alert
                    self._sink.publish(
                        Alert(
                            id=self._ids.next(timestamp_ns, found.rule_id),
                            timestamp_ns=timestamp_ns,
                            component=Component.DNS,
                            severity=found.severity,
                            rule_id=found.rule_id,
                            action=AlertAction.ALERT,
                            message=found.message,
                            matched_domain=found.matched_domain,
                            mitre=found.mitre,
                        )
                    )
                    published += 1
            else:
                for ip in self._reputation_blocks.pop(decision.domain, {}):
                    if self._blocklist is not None:
                        self._blocklist.unblock(ipaddress.ip_network(ip))
        return published

    def sweep(self) -> None:
        """Lift blocks whose TTL + grace ran out; purge expired cache entries."""
        now = self._clock()
        with self._lock:
            for ip in self._tracker.expire(now):
                if self._blocklist is not None:
                    self._blocklist.unblock(ipaddress.ip_network(ip))
            for domain, blocked in list(self._reputation_blocks.items()):
                for ip, until in list(blocked.items()):
                    if until <= now:
                        del blocked[ip]
                        if self._blocklist is not None:
                            self._blocklist.unblock(ipaddress.ip_network(ip))
                if not blocked:
                    del self._reputation_blocks[domain]
            self.cache.purge_expired(now)
