"""The reference firewall: first enabled matching rule by priority wins (contract §7.1).

Semantics the kernel program is proven against:
- rules are evaluated in ascending ``priority``; equal priorities keep their configured order;
- a rule naming an IPv4 (IPv6) CIDR never matches an IPv6 (IPv4) packet; a rule without CIDRs
  matches both families;
- ``protocol: icmp`` matches ICMP (1) and ICMPv6 (58) packets, so one rule covers pings of both
  families; ``icmpv6`` matches ICMPv6 only;
- a port condition only matches packets that carry ports: ICMP packets and non-first fragments
  (``src_port``/``dst_port`` None) never match a rule with a port condition;
- ``vlan_id`` absent = any tag; 0 = untagged only; otherwise the (inner) VLAN id must be equal;
- in ``alert`` mode a deny rule's verdict becomes ``LOG``;
- nothing matches → ``default_policy`` with ``rule_id`` None.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sentinel_domain.common.packet import PacketHeader
from sentinel_domain.common.protocol import Protocol
from sentinel_domain.firewall.entity import (
    Decision,
    DefaultPolicy,
    FirewallMode,
    FirewallRule,
    RuleAction,
    Scope,
    Verdict,
)
from sentinel_domain.firewall.errors import FirewallRuleError

DEFAULT_ANTI_LOCKOUT_PORTS = (22, 8080, 50051)


def anti_lockout_rules(ports: Iterable[int], interfaces: Sequence[str] = ()) -> list[FirewallRule]:
    """The system allow rules that keep management ports reachable (priority 0, TCP)."""
    from sentinel_domain.common.ports import PortRange

    rules: list[FirewallRule] = []
    for port in ports:
        targets: Sequence[str | None] = interfaces or (None,)
        for iface in targets:
            rules.append(
                FirewallRule(
                    id=f"anti-lockout-{iface}-{port}" if iface else f"anti-lockout-{port}",
                    priority=0,
                    action=RuleAction.ALLOW,
                    protocol=Protocol.TCP,
                    dst_port=PortRange(port, port),
                    scope=Scope("interface", iface) if iface else Scope(),
                    system=True,
                )
            )
    return rules


def validate_rule_set(rules: Sequence[FirewallRule], max_rules: int = 4096) -> None:
    """Reject duplicate ids and oversized sets (system rules count too)."""
    if len(rules) > max_rules:
        raise FirewallRuleError(f"too many firewall rules: {len(rules)} (maximum {max_rules})", "rules")
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise FirewallRuleError(f"duplicate rule id '{rule.id}'", "rules")
        seen.add(rule.id)


def order_rules(rules: Iterable[FirewallRule]) -> list[FirewallRule]:
    """Evaluation order: ascending priority, stable for ties. This is also the kernel's order."""
    return sorted(rules, key=lambda r: r.priority)


def rule_matches(rule: FirewallRule, packet: PacketHeader) -> bool:
    """Whether every condition of ``rule`` holds for ``packet`` (``enabled`` is not checked here)."""
    if not rule.scope.applies_to(packet.interface):
        return False
    family = rule.family
    if family is not None and family != packet.src.version:
        return False
    if rule.protocol == Protocol.ICMP:
        if packet.protocol not in (Protocol.ICMP, Protocol.ICMPV6):
            return False
    elif rule.protocol not in (Protocol.ANY, packet.protocol):
        return False
    if rule.src_ip is not None and packet.src not in rule.src_ip:
        return False
    if rule.dst_ip is not None and packet.dst not in rule.dst_ip:
        return False
    if rule.src_port is not None and (packet.src_port is None or packet.src_port not in rule.src_port):
        return False
    if rule.dst_port is not None and (packet.dst_port is None or packet.dst_port not in rule.dst_port):
        return False
    return rule.vlan_id is None or rule.vlan_id == packet.vlan_id


@dataclass(frozen=True, slots=True)
class FirewallPolicy:
    """A validated, ordered rule set plus mode and default policy."""

    rules: tuple[FirewallRule, ...] = ()
    mode: FirewallMode = FirewallMode.ALERT
    default_policy: DefaultPolicy = DefaultPolicy.PASS
    max_rules: int = field(default=4096, compare=False)

    @classmethod
    def build(
        cls,
        rules: Iterable[FirewallRule],
        mode: FirewallMode = FirewallMode.ALERT,
        default_policy: DefaultPolicy = DefaultPolicy.PASS,
        system_rules: Iterable[FirewallRule] = (),
        max_rules: int = 4096,
    ) -> "FirewallPolicy":
        """Validate and order ``system_rules`` + ``rules``."""
        ordered = order_rules([*system_rules, *rules])
        validate_rule_set(ordered, max_rules)
        return cls(tuple(ordered), mode, default_policy, max_rules)

    def verdict_for(self, action: RuleAction) -> Verdict:
        """The verdict a matching rule with ``action`` gives under this policy's mode."""
        if action is RuleAction.ALLOW:
            return Verdict.PASS
        if action is RuleAction.LOG or self.mode is FirewallMode.ALERT:
            return Verdict.LOG
        return Verdict.DROP


class FirewallEngine:
    """Evaluates packets against a :class:`FirewallPolicy`; holds no other state."""

    def __init__(self, policy: FirewallPolicy) -> None:
        self.policy = policy
        self._active = tuple(r for r in policy.rules if r.enabled)

    def evaluate(self, packet: PacketHeader) -> Decision:
        """First enabled matching rule wins; otherwise the default policy."""
        for rule in self._active:
            if rule_matches(rule, packet):
                return Decision(self.policy.verdict_for(rule.action), rule.id)
        default = Verdict.DROP if self.policy.default_policy is DefaultPolicy.DROP else Verdict.PASS
        return Decision(default, None)

    def rule_by_index(self, index: int) -> FirewallRule:
        """The rule at ``index`` in evaluation order (the kernel reports this index)."""
        return self.policy.rules[index]
