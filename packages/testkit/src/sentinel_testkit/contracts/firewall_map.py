"""What every FirewallMap must do, checked only through the port.

Subclass once per implementation with a one-line ``make_firewall_map``.
"""

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest

from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.firewall import (
    DefaultPolicy,
    FirewallMode,
    FirewallPolicy,
    FirewallRule,
    Verdict,
)
from sentinel_ports.firewall_map import FirewallMap

A = ipaddress.ip_address


def rule(**fields: Any) -> FirewallRule:
    return FirewallRule.from_dict(fields)


def policy(*rules: FirewallRule, mode: str = "block", default: str = "pass") -> FirewallPolicy:
    return FirewallPolicy.build(rules, FirewallMode(mode), DefaultPolicy(default))


def pkt(
    src: str,
    dst: str,
    proto: int = Protocol.UDP,
    sport: int | None = 1234,
    dport: int | None = 53,
    vlan: int = 0,
) -> PacketHeader:
    has_ports = proto in (Protocol.TCP, Protocol.UDP)
    return PacketHeader(
        A(src), A(dst), proto, sport if has_ports else None, dport if has_ports else None, vlan
    )


class FirewallMapContract:
    @staticmethod
    def make_firewall_map() -> FirewallMap:
        raise NotImplementedError

    @pytest.fixture
    def fw(self) -> Iterator[FirewallMap]:
        subject = self.make_firewall_map()
        yield subject
        getattr(subject, "close", lambda: None)()

    def test_empty_policy_passes_everything(self, fw: FirewallMap) -> None:
        fw.apply(policy())
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1")).verdict is Verdict.PASS

    def test_default_drop_drops_unmatched(self, fw: FirewallMap) -> None:
        fw.apply(policy(rule(id="ok", priority=1, action="allow", src_ip="198.18.0.0/24"), default="drop"))
        assert fw.decide(pkt("198.18.0.2", "10.9.9.9")).rule_id == "ok"
        decision = fw.decide(pkt("198.18.1.2", "10.9.9.9"))
        assert (decision.verdict, decision.rule_id) == (Verdict.DROP, None)

    def test_deny_by_source_cidr_v4(self, fw: FirewallMap) -> None:
        fw.apply(policy(rule(id="deny-net", priority=10, action="deny", src_ip="198.18.0.0/16")))
        hit = fw.decide(pkt("198.18.7.9", "203.0.113.1"))
        assert (hit.verdict, hit.rule_id) == (Verdict.DROP, "deny-net")
        assert fw.decide(pkt("198.20.7.9", "203.0.113.1")).verdict is Verdict.PASS

    def test_deny_by_destination_v6(self, fw: FirewallMap) -> None:
        fw.apply(policy(rule(id="deny6", priority=10, action="deny", dst_ip="2001:db8:1::/48")))
        assert fw.decide(pkt("2001:db8:9::1", "2001:db8:1::5")).rule_id == "deny6"
        assert fw.decide(pkt("2001:db8:9::1", "2001:db8:2::5")).verdict is Verdict.PASS
        # A v6 rule never matches v4 traffic.
        assert fw.decide(pkt("198.18.0.1", "198.18.0.2")).verdict is Verdict.PASS

    def test_lower_priority_number_wins(self, fw: FirewallMap) -> None:
        fw.apply(
            policy(
                rule(id="deny-all", priority=20, action="deny"),
                rule(id="allow-dns", priority=5, action="allow", protocol="udp", dst_port=53),
            )
        )
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1", dport=53)).rule_id == "allow-dns"
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1", dport=54)).rule_id == "deny-all"

    def test_alert_mode_logs_instead_of_dropping(self, fw: FirewallMap) -> None:
        fw.apply(policy(rule(id="d", priority=1, action="deny", src_ip="198.18.0.2"), mode="alert"))
        decision = fw.decide(pkt("198.18.0.2", "198.18.0.1"))
        assert (decision.verdict, decision.rule_id) == (Verdict.LOG, "d")

    def test_log_rule_passes_and_reports(self, fw: FirewallMap) -> None:
        fw.apply(policy(rule(id="watch", priority=1, action="log", protocol="tcp", dst_port="8000-8100")))
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1", Protocol.TCP, dport=8050)).verdict is Verdict.LOG
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1", Protocol.TCP, dport=8101)).verdict is Verdict.PASS
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1", Protocol.UDP, dport=8050)).verdict is Verdict.PASS

    def test_port_rules_never_match_packets_without_ports(self, fw: FirewallMap) -> None:
        fw.apply(policy(rule(id="p", priority=1, action="deny", src_port={"start": 0, "end": 65535})))
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1", Protocol.ICMP)).verdict is Verdict.PASS
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1", Protocol.UDP, sport=0)).rule_id == "p"

    def test_icmp_rule_covers_both_families(self, fw: FirewallMap) -> None:
        fw.apply(policy(rule(id="no-ping", priority=1, action="deny", protocol="icmp")))
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1", Protocol.ICMP)).rule_id == "no-ping"
        assert fw.decide(pkt("2001:db8::2", "2001:db8::1", Protocol.ICMPV6)).rule_id == "no-ping"
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1", Protocol.TCP)).verdict is Verdict.PASS

    def test_vlan_conditions(self, fw: FirewallMap) -> None:
        fw.apply(
            policy(
                rule(id="v100", priority=1, action="deny", vlan_id=100),
                rule(id="untagged", priority=2, action="log", vlan_id=0),
            )
        )
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1", vlan=100)).rule_id == "v100"
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1", vlan=0)).rule_id == "untagged"
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1", vlan=200)).verdict is Verdict.PASS

    def test_disabled_rules_are_ignored(self, fw: FirewallMap) -> None:
        fw.apply(policy(rule(id="off", priority=1, action="deny", enabled=False)))
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1")).verdict is Verdict.PASS

    def test_apply_replaces_the_previous_policy(self, fw: FirewallMap) -> None:
        fw.apply(policy(rule(id="old", priority=1, action="deny", src_ip="198.18.0.2")))
        fw.apply(policy(rule(id="new", priority=1, action="deny", src_ip="198.18.0.3")))
        assert fw.decide(pkt("198.18.0.2", "198.18.0.1")).verdict is Verdict.PASS
        assert fw.decide(pkt("198.18.0.3", "198.18.0.1")).rule_id == "new"

    def test_counters_and_rule_hits(self, fw: FirewallMap) -> None:
        fw.apply(policy(rule(id="d", priority=1, action="deny", src_ip="198.18.0.2")))
        before = fw.counters()
        for _ in range(3):
            fw.decide(pkt("198.18.0.2", "198.18.0.1"))
        fw.decide(pkt("198.18.0.3", "198.18.0.1"))
        after = fw.counters()
        assert after["seen"] - before["seen"] == 4
        assert after["dropped"] - before["dropped"] == 3
        assert after["passed"] - before["passed"] == 1
        assert fw.rule_hits().get("d") == 3
