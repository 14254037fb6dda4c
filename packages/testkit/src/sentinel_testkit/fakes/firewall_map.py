"""An in-memory FirewallMap that classifies with the domain engine."""

from collections import Counter

from sentinel_domain.common import PacketHeader
from sentinel_domain.firewall import Decision, FirewallEngine, FirewallPolicy, Verdict
from sentinel_ports.firewall_map import FirewallMap


class InMemoryFirewallMap(FirewallMap):
    def __init__(self) -> None:
        self._engine = FirewallEngine(FirewallPolicy())
        self._counters: Counter[str] = Counter()
        self._hits: Counter[str] = Counter()

    def apply(self, policy: FirewallPolicy) -> None:
        self._engine = FirewallEngine(policy)
        self._hits.clear()

    def decide(self, packet: PacketHeader) -> Decision:
        decision = self._engine.evaluate(packet)
        self._counters["seen"] += 1
        self._counters["dropped" if decision.verdict is Verdict.DROP else "passed"] += 1
        if decision.rule_id is not None:
            self._hits[decision.rule_id] += 1
        return decision

    def counters(self) -> dict[str, int]:
        return {key: self._counters[key] for key in ("seen", "passed", "dropped", "errors")}

    def rule_hits(self) -> dict[str, int]:
        return dict(self._hits)
