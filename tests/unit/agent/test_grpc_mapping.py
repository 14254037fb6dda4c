"""StreamAlerts filter semantics and the Alert → AlertEvent mapping (contract §3)."""

import ipaddress

import pytest

from sentinel_agent.grpc_api.convert import to_alert_event
from sentinel_agent.grpc_api.filters import AlertFilter
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.common import MitreRef, Severity

SCAN = MitreRef("T1046", "Network Service Discovery", "discovery")


def alert(
    component: Component = Component.FIREWALL,
    severity: Severity = Severity.MEDIUM,
    mitre: MitreRef | None = SCAN,
    **fields: object,
) -> Alert:
    return Alert(
        id="1-r-1",
        timestamp_ns=1,
        component=component,
        severity=severity,
        rule_id="r",
        action=AlertAction.BLOCK,
        mitre=mitre,
        **fields,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("request_fields", "candidate", "passes"),
    [
        ({}, alert(), True),
        ({}, alert(mitre=None, severity=Severity.LOW), True),
        # min_severity: threshold, case-insensitive; unknown and low mean "all"
        ({"min_severity": "high"}, alert(severity=Severity.MEDIUM), False),
        ({"min_severity": "high"}, alert(severity=Severity.HIGH), True),
        ({"min_severity": "HIGH"}, alert(severity=Severity.CRITICAL), True),
        ({"min_severity": "critical"}, alert(severity=Severity.HIGH), False),
        ({"min_severity": "medium"}, alert(severity=Severity.LOW), False),
        ({"min_severity": "low"}, alert(severity=Severity.LOW), True),
        ({"min_severity": "loud"}, alert(severity=Severity.LOW), True),
        # component: lowercase comparison, exact name
        ({"component": "firewall"}, alert(), True),
        ({"component": "FireWall"}, alert(), True),
        ({"component": "ids"}, alert(), False),
        ({"component": "fire"}, alert(), False),
        # tactic lowercase, technique uppercase; no MITRE info fails either filter
        ({"mitre_tactic": "Discovery"}, alert(), True),
        ({"mitre_tactic": "impact"}, alert(), False),
        ({"mitre_tactic": "discovery"}, alert(mitre=None), False),
        ({"mitre_technique_id": "t1046"}, alert(), True),
        ({"mitre_technique_id": "T1046.001"}, alert(), False),
        ({"mitre_technique_id": "T1046"}, alert(mitre=None), False),
        # all set: every one must pass
        (
            {"min_severity": "medium", "component": "ids", "mitre_tactic": "discovery"},
            alert(component=Component.IDS),
            True,
        ),
        (
            {"min_severity": "high", "component": "ids", "mitre_tactic": "discovery"},
            alert(component=Component.IDS),
            False,
        ),
    ],
)
def test_filter_semantics(request_fields: dict[str, str], candidate: Alert, passes: bool) -> None:
    assert AlertFilter.from_request(**request_fields).matches(candidate) is passes


def test_every_field_is_mapped() -> None:
    full = Alert(
        id="1700000000000000000-ids-7-42",
        timestamp_ns=1_700_000_000_000_000_000,
        component=Component.DLP,
        severity=Severity.CRITICAL,
        rule_id="ids-7",
        action=AlertAction.ALERT,
        src=ipaddress.ip_address("192.168.0.1"),
        dst=ipaddress.ip_address("10.0.0.2"),
        src_port=40000,
        dst_port=443,
        protocol=6,
        message="secret seen",
        false_positive=True,
        mitre=MitreRef("T1048", "Exfiltration Over Alternative Protocol", "exfiltration"),
        src_domain="a.example",
        dst_domain="b.example",
        matched_domain="evil.example",
        confidence=87,
        threat_type="c2",
        data_type="credit_card",
        pid=1234,
        tgid=1200,
        direction=1,
        extra=(
            ("src_domain_score", "0.25"),
            ("dst_domain_score", "0.9"),
            ("src_geo", "FR/Paris (ASN: AS3215 Orange)"),
            ("dst_geo", "US/Ashburn"),
            ("attack_type", "syn_flood"),
            ("peak_pps", "120000"),
            ("current_pps", "800"),
            ("mitigation_status", "active"),
            ("total_packets", "9000000"),
            ("ja4_fingerprint", "t13d1516h2_8daaf6152771_b186095e22b6"),
            ("container_runtime", "containerd"),
            ("container_id", "abc123"),
            ("container_cgroup_path", "/kubepods/pod1/abc123"),
            ("container_namespace", "prod"),
            ("container_pod", "web-0"),
            ("container_container_name", "nginx"),
        ),
    )
    event = to_alert_event(full)
    assert (event.id, event.timestamp_ns, event.component, event.severity, event.rule_id, event.action) == (
        full.id,
        1_700_000_000_000_000_000,
        "dlp",
        "critical",
        "ids-7",
        "alert",
    )
    assert list(event.src_addr) == [0xC0A80001, 0, 0, 0] and list(event.dst_addr) == [0x0A000002, 0, 0, 0]
    assert (event.src_port, event.dst_port, event.protocol, event.is_ipv6) == (40000, 443, 6, False)
    assert (event.message, event.false_positive) == ("secret seen", True)
    assert (event.src_domain, event.dst_domain, event.matched_domain) == (
        "a.example",
        "b.example",
        "evil.example",
    )
    assert (event.src_domain_score, event.dst_domain_score) == (0.25, 0.9)
    assert (event.confidence, event.threat_type, event.data_type) == (87, "c2", "credit_card")
    assert (event.pid, event.tgid, event.direction) == (1234, 1200, 1)
    assert (event.src_geo, event.dst_geo) == ("FR/Paris (ASN: AS3215 Orange)", "US/Ashburn")
    assert (event.attack_type, event.mitigation_status) == ("syn_flood", "active")
    assert (event.peak_pps, event.current_pps, event.total_packets) == (120000, 800, 9_000_000)
    assert (event.mitre_technique_id, event.mitre_technique_name, event.mitre_tactic) == (
        "T1048",
        "Exfiltration Over Alternative Protocol",
        "exfiltration",
    )
    assert event.ja4_fingerprint == "t13d1516h2_8daaf6152771_b186095e22b6"
    assert event.HasField("container")
    container = event.container
    assert (container.runtime, container.id, container.cgroup_path) == (
        "containerd",
        "abc123",
        "/kubepods/pod1/abc123",
    )
    assert (container.namespace, container.pod, container.container_name) == ("prod", "web-0", "nginx")


def test_absent_fields_take_the_contract_defaults() -> None:
    event = to_alert_event(alert(mitre=None, severity=Severity.LOW))
    assert list(event.src_addr) == [0, 0, 0, 0] and list(event.dst_addr) == [0, 0, 0, 0]
    for name in (
        "src_domain", "dst_domain", "threat_type", "data_type", "matched_domain", "attack_type",
        "mitigation_status", "src_geo", "dst_geo", "mitre_technique_id", "mitre_technique_name",
        "mitre_tactic", "ja4_fingerprint", "message",
    ):  # fmt: skip
        assert getattr(event, name) == "", name
    for name in (
        "src_port",
        "dst_port",
        "protocol",
        "pid",
        "tgid",
        "peak_pps",
        "current_pps",
        "total_packets",
    ):
        assert getattr(event, name) == 0, name
    assert (event.src_domain_score, event.dst_domain_score, event.confidence, event.direction) == (
        -1,
        -1,
        -1,
        -1,
    )
    assert (event.severity, event.action, event.is_ipv6, event.false_positive) == (
        "low",
        "block",
        False,
        False,
    )
    assert not event.HasField("container")


def test_ipv6_addresses_are_four_big_endian_words() -> None:
    event = to_alert_event(
        alert(src=ipaddress.ip_address("2001:db8::1"), dst=ipaddress.ip_address("fe80::aa:bb"))
    )
    assert event.is_ipv6 is True
    assert list(event.src_addr) == [0x20010DB8, 0, 0, 1]
    assert list(event.dst_addr) == [0xFE800000, 0, 0, 0x00AA00BB]


def test_unparsable_or_out_of_range_extras_keep_the_absent_defaults() -> None:
    event = to_alert_event(
        alert(
            confidence=2**40,
            pid=-1,
            extra=(
                ("src_domain_score", "nan"),
                ("dst_domain_score", "high"),
                ("peak_pps", "-5"),
                ("total_packets", "x"),
            ),
        )
    )
    assert (event.confidence, event.pid, event.src_domain_score, event.dst_domain_score) == (-1, 0, -1, -1)
    assert (event.peak_pps, event.total_packets) == (0, 0)
