"""Blocklist decisions on parsed responses: alerts, injections, CNAME aliases, the injection tracker."""

import ipaddress
import struct

import pytest

from sentinel_domain.common.severity import Severity
from sentinel_domain.dns import (
    DNS_MITRE,
    BlocklistAction,
    BlocklistPolicy,
    DnsConfigError,
    DomainBlocklist,
    InjectionTracker,
    InjectTarget,
    evaluate_response,
    parse_blocklist_action,
    parse_domain_pattern,
    parse_inject_target,
    parse_message,
    resolved_addresses,
)


def wire_name(text: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in text.split(".")) + b"\x00"


def response(
    qname: str, records: list[tuple[str, str, int, str]], *, qr: bool = True, rcode: int = 0
) -> bytes:
    """records: (owner, type, ttl, value) with type A, AAAA or CNAME."""
    flags = (0x8000 if qr else 0) | 0x0180 | rcode
    out = (
        struct.pack("!HHHHHH", 7, flags, 1, len(records), 0, 0) + wire_name(qname) + struct.pack("!HH", 1, 1)
    )
    for owner, rtype, ttl, value in records:
        if rtype == "CNAME":
            code, rdata = 5, wire_name(value)
        else:
            code, rdata = (1 if rtype == "A" else 28), ipaddress.ip_address(value).packed
        out += wire_name(owner) + struct.pack("!HHIH", code, 1, ttl, len(rdata)) + rdata
    return out


BLOCKLIST = DomainBlocklist(
    [
        parse_domain_pattern("bad.example"),
        parse_domain_pattern("*.ads.example"),
        parse_domain_pattern("||evil.example^"),
    ]
)


class TestEvaluateResponse:
    @pytest.mark.parametrize(
        ("action", "severity", "injects"),
        [
            (BlocklistAction.BLOCK, Severity.HIGH, True),
            (BlocklistAction.ALERT, Severity.MEDIUM, False),
            (BlocklistAction.LOG, Severity.LOW, False),
        ],
    )
    def test_action_sets_severity_and_injection(self, action, severity, injects):
        msg = parse_message(response("bad.example", [("bad.example", "A", 120, "203.0.113.9")]))
        outcome = evaluate_response(msg, BLOCKLIST, BlocklistPolicy(action, grace_period_secs=300))
        (alert,) = outcome.alerts
        assert alert.rule_id == "dns-blocklist:bad.example"
        assert alert.severity is severity
        assert alert.matched_domain == "bad.example"
        assert alert.mitre == DNS_MITRE and alert.mitre.technique_id == "T1071.004"
        assert "203.0.113.9" in alert.message
        if injects:
            (decision,) = outcome.injections
            assert str(decision.ip) == "203.0.113.9"
            assert decision.ttl_secs == 120 + 300
            assert decision.pattern == "bad.example"
            assert decision.reason == "dns-blocklist: bad.example"
        else:
            assert outcome.injections == ()

    def test_queries_are_ignored(self):
        msg = parse_message(response("bad.example", [("bad.example", "A", 60, "203.0.113.9")], qr=False))
        outcome = evaluate_response(msg, BLOCKLIST, BlocklistPolicy())
        assert outcome.alerts == () and outcome.injections == ()

    def test_unlisted_domain_gives_nothing(self):
        msg = parse_message(response("good.example", [("good.example", "A", 60, "198.51.100.1")]))
        outcome = evaluate_response(msg, BLOCKLIST, BlocklistPolicy())
        assert outcome.alerts == () and outcome.injections == ()

    def test_nxdomain_for_blocked_name_has_no_addresses_so_no_alert(self):
        msg = parse_message(response("bad.example", [], rcode=3))
        assert evaluate_response(msg, BLOCKLIST, BlocklistPolicy()).alerts == ()

    def test_cname_cloaking_is_seen_through(self):
        records = [
            ("tracker.evil.example", "CNAME", 300, "edge.cdn.example"),
            ("edge.cdn.example", "A", 30, "198.51.100.7"),
            ("edge.cdn.example", "AAAA", 30, "2001:db8::7"),
        ]
        msg = parse_message(response("tracker.evil.example", records))
        outcome = evaluate_response(msg, BLOCKLIST, BlocklistPolicy(grace_period_secs=10))
        (alert,) = outcome.alerts
        assert alert.rule_id == "dns-blocklist:||evil.example^"
        assert alert.matched_domain == "tracker.evil.example"
        assert sorted(str(d.ip) for d in outcome.injections) == ["198.51.100.7", "2001:db8::7"]
        assert {d.ttl_secs for d in outcome.injections} == {40}

    def test_one_alert_per_name_and_one_injection_per_address(self):
        records = [
            ("x.ads.example", "A", 60, "192.0.2.1"),
            ("x.ads.example", "A", 60, "192.0.2.2"),
            ("y.ads.example", "A", 90, "192.0.2.1"),
        ]
        outcome = evaluate_response(
            parse_message(response("x.ads.example", records)), BLOCKLIST, BlocklistPolicy()
        )
        assert [a.matched_domain for a in outcome.alerts] == ["x.ads.example", "y.ads.example"]
        assert {a.rule_id for a in outcome.alerts} == {"dns-blocklist:*.ads.example"}
        assert sorted(str(d.ip) for d in outcome.injections) == ["192.0.2.1", "192.0.2.2"]


def test_resolved_addresses_follows_chains_and_ignores_cname_loops():
    records = [
        ("a.example", "CNAME", 60, "b.example"),
        ("b.example", "CNAME", 60, "c.example"),
        ("c.example", "CNAME", 60, "b.example"),  # a loop must not hang
        ("c.example", "A", 60, "192.0.2.5"),
    ]
    names = resolved_addresses(parse_message(response("a.example", records)))
    assert set(names) == {"a.example", "b.example", "c.example"}
    assert all(pairs == [(ipaddress.ip_address("192.0.2.5"), 60)] for pairs in names.values())


class TestInjectionTracker:
    def outcome(self, ttl: int = 60):
        msg = parse_message(response("bad.example", [("bad.example", "A", ttl, "203.0.113.9")]))
        return evaluate_response(msg, BLOCKLIST, BlocklistPolicy(grace_period_secs=300)).injections

    def test_expiry_and_re_resolution(self):
        tracker = InjectionTracker()
        assert len(tracker.apply(self.outcome(), now=0.0)) == 1
        ip = ipaddress.ip_address("203.0.113.9")
        assert ip in tracker and tracker.domain_of(ip) == "bad.example"
        assert tracker.apply(self.outcome(), now=0.0) == []  # nothing new to install
        assert len(tracker.apply(self.outcome(), now=300.0)) == 1  # extended to 660
        assert tracker.expire(now=400.0) == []
        assert tracker.expire(now=660.0) == [ip]
        assert len(tracker) == 0

    def test_reload_drops_ips_of_removed_patterns(self):
        tracker = InjectionTracker()
        tracker.apply(self.outcome(), now=0.0)
        assert tracker.retain_matching(BLOCKLIST) == []
        assert tracker.retain_matching(DomainBlocklist()) == [ipaddress.ip_address("203.0.113.9")]


def test_policy_and_enum_parsing():
    assert parse_blocklist_action(" Alert ") is BlocklistAction.ALERT
    assert parse_inject_target("ips") is InjectTarget.IPS
    with pytest.raises(DnsConfigError, match="expected one of block, alert, log"):
        parse_blocklist_action("drop")
    with pytest.raises(DnsConfigError, match="grace_period_secs -1"):
        BlocklistPolicy(grace_period_secs=-1)
