"""EVE-JSON rendering of alerts."""

import ipaddress
import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.alert import Alert, AlertAction, Component, mitre_for_firewall, signature_id, to_eve
from sentinel_domain.common import Severity


def make(**kw: object) -> Alert:
    base: dict[str, object] = {
        "id": "1709287200123456789-fw-1-7",
        "timestamp_ns": 1_709_287_200_123_456_789,
        "component": Component.FIREWALL,
        "severity": Severity.MEDIUM,
        "rule_id": "fw-1",
        "action": AlertAction.BLOCK,
        "src": ipaddress.ip_address("192.0.2.1"),
        "dst": ipaddress.ip_address("198.51.100.2"),
        "src_port": 51000,
        "dst_port": 22,
        "protocol": 6,
        "message": "firewall drop rule_id=fw-1",
    }
    base.update(kw)
    return Alert(**base)  # type: ignore[arg-type]


def test_full_tcp_alert():
    eve = to_eve(make(mitre=mitre_for_firewall(22), confidence=90))
    assert eve == {
        "timestamp": "2024-03-01T10:00:00.123456+0000",
        "event_type": "alert",
        "src_ip": "192.0.2.1",
        "src_port": 51000,
        "dest_ip": "198.51.100.2",
        "dest_port": 22,
        "proto": "TCP",
        "alert": {
            "action": "blocked",
            "gid": 1,
            "signature_id": signature_id("fw-1"),
            "rev": 1,
            "signature": "firewall drop rule_id=fw-1",
            "category": "firewall",
            "severity": 2,
            "metadata": {
                "mitre_technique_id": ["T1110.001"],
                "mitre_technique_name": ["Password Guessing"],
                "mitre_tactic_name": ["credential-access"],
                "mitre_tactic_id": ["TA0006"],
            },
        },
        "ebpfsentinel": {
            "id": "1709287200123456789-fw-1-7",
            "timestamp_ns": 1_709_287_200_123_456_789,
            "component": "firewall",
            "rule_id": "fw-1",
            "severity": "medium",
            "action": "block",
            "is_ipv6": False,
            "false_positive": False,
            "confidence": 90,
        },
    }
    json.dumps(eve)  # plain JSON-able data


@pytest.mark.parametrize(
    ("severity", "expected"),
    [(Severity.CRITICAL, 1), (Severity.HIGH, 1), (Severity.MEDIUM, 2), (Severity.LOW, 3)],
)
def test_severity_scale(severity: Severity, expected: int):
    assert to_eve(make(severity=severity))["alert"]["severity"] == expected  # type: ignore[index]


@pytest.mark.parametrize(
    ("proto", "label"), [(6, "TCP"), (17, "UDP"), (1, "ICMP"), (58, "IPv6-ICMP"), (47, "47")]
)
def test_protocol_names(proto: int, label: str):
    assert to_eve(make(protocol=proto))["proto"] == label


def test_alert_action_and_addressless_alert():
    eve = to_eve(
        make(
            component=Component.DLP,
            action=AlertAction.ALERT,
            src=None,
            dst=None,
            src_port=0,
            dst_port=0,
            protocol=0,
            data_type="pci",
            pid=42,
            extra=(("library", "libssl.so.3"),),
        )
    )
    assert eve["alert"]["action"] == "allowed"  # type: ignore[index]
    for key in ("src_ip", "dest_ip", "src_port", "dest_port", "proto"):
        assert key not in eve
    assert eve["ebpfsentinel"]["data_type"] == "pci"  # type: ignore[index]
    assert eve["ebpfsentinel"]["extra"] == {"library": "libssl.so.3"}  # type: ignore[index]
    assert "metadata" not in eve["alert"]  # type: ignore[operator]


def test_ipv6_and_udp_zero_ports():
    eve = to_eve(make(src=ipaddress.ip_address("2001:db8::1"), dst=None, protocol=17, src_port=0, dst_port=0))
    assert (eve["src_ip"], eve["src_port"], eve["dest_port"]) == ("2001:db8::1", 0, 0)
    assert eve["ebpfsentinel"]["is_ipv6"] is True  # type: ignore[index]


@pytest.mark.parametrize(
    ("rule_id", "expected"),
    [("0", 0), ("2100498", 2100498), ("4294967295", 4294967295)],
)
def test_numeric_rule_ids_are_kept(rule_id: str, expected: int):
    assert signature_id(rule_id) == expected


def test_timestamps_and_pinned_hash():
    assert to_eve(make(timestamp_ns=0))["timestamp"] == "1970-01-01T00:00:00.000000+0000"
    assert to_eve(make(timestamp_ns=999))["timestamp"] == "1970-01-01T00:00:00.000000+0000"
    assert to_eve(make(timestamp_ns=1_500))["timestamp"] == "1970-01-01T00:00:00.000001+0000"
    # pinned: the hash must never change between releases (SIEM rules key on it)
    assert signature_id("fw-1") == 1 + int.from_bytes(
        __import__("hashlib").sha256(b"fw-1").digest()[:8], "big"
    ) % (2**31 - 1)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_signature_id_range(rule_id: str):
    sid = signature_id(rule_id)
    if rule_id.isascii() and rule_id.isdigit() and len(rule_id) <= 10 and int(rule_id) <= 0xFFFFFFFF:
        assert sid == int(rule_id)
    else:
        assert 1 <= sid <= 2**31 - 1
    assert signature_id(rule_id) == sid


def test_import_pulls_no_third_party_module():
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import sentinel_domain, sentinel_domain.ratelimit, sentinel_domain.ips\n"
        "import sentinel_domain.threatintel\n"
        "import sentinel_domain.alert\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "std = set(sys.stdlib_module_names) | {'sentinel_domain'}\n"
        "print(sorted(n for n in new if n not in std and not n.startswith('_')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
