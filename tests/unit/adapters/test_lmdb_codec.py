"""Storage codec: byte order of keys is value order, and every value decodes back to what was stored."""

import ipaddress
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_adapters.storage import codec
from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.common import MitreRef, Severity
from sentinel_ports.audit_log import AuditAction, AuditEntry, RuleChange

U64 = st.integers(min_value=0, max_value=2**64 - 1)
TEXT = st.text(max_size=40)
ADDRESSES = st.one_of(
    st.none(),
    st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
    st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address),
)
OPTIONAL_INT = st.one_of(st.none(), st.integers(0, 2**31))
OPTIONAL_TEXT = st.one_of(st.none(), TEXT)

ALERTS = st.builds(
    Alert,
    id=st.text(min_size=1, max_size=80),
    timestamp_ns=U64,
    component=st.sampled_from(list(Component)),
    severity=st.sampled_from(list(Severity)),
    rule_id=TEXT,
    action=st.sampled_from(list(AlertAction)),
    src=ADDRESSES,
    dst=ADDRESSES,
    src_port=st.integers(0, 65535),
    dst_port=st.integers(0, 65535),
    protocol=st.integers(0, 255),
    message=TEXT,
    false_positive=st.booleans(),
    mitre=st.one_of(st.none(), st.builds(MitreRef, TEXT, TEXT, TEXT)),
    src_domain=OPTIONAL_TEXT,
    dst_domain=OPTIONAL_TEXT,
    matched_domain=OPTIONAL_TEXT,
    confidence=OPTIONAL_INT,
    threat_type=OPTIONAL_TEXT,
    data_type=OPTIONAL_TEXT,
    pid=OPTIONAL_INT,
    tgid=OPTIONAL_INT,
    direction=OPTIONAL_INT,
    extra=st.lists(st.tuples(TEXT, TEXT), max_size=3).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(ALERTS)
def test_alerts_round_trip_in_domain_form(alert: Alert) -> None:
    raw = codec.encode_alert(alert)
    extra = {"extra": [list(pair) for pair in alert.extra]} if alert.extra else {}
    assert json.loads(raw) == json.loads(json.dumps(alert.to_dict() | extra))
    assert codec.decode_alert(raw) == alert


@settings(max_examples=300, deadline=None)
@given(U64, U64, U64, U64)
def test_time_keys_sort_like_their_numbers(t1: int, s1: int, t2: int, s2: int) -> None:
    assert (codec.time_key(t1, s1) < codec.time_key(t2, s2)) == ((t1, s1) < (t2, s2))


@given(st.text(max_size=300), st.text(max_size=300))
def test_prefixed_strings_never_prefix_each_other(a: str, b: str) -> None:
    if a != b:
        assert not codec.prefixed(b).startswith(codec.prefixed(a))
        assert codec.rule_key("c", a) != codec.rule_key("c", b)


def test_long_and_empty_strings_become_digests_that_fit_a_key() -> None:
    long = codec.key_string("é" * 1000)
    assert len(long) < 64 and long != codec.key_string("é" * 1001)
    assert codec.key_string("") != b"" and len(codec.history_key("x" * 5000, 1)) < 511
    assert codec.key_string("short") == b"short"


def test_records_from_other_writers_decode() -> None:
    """REST-style lowercase enums and address words without the text form are accepted."""
    record = {
        "id": "1-r-1",
        "timestamp_ns": 1,
        "component": "ids",
        "severity": "high",
        "rule_id": "r",
        "action": "alert",
        "src_addr": [0x20010DB8, 0, 0, 1],
        "dst_addr": [0, 0, 0, 0],
        "is_ipv6": True,
    }
    alert = codec.alert_from_dict(record)
    assert (alert.severity, alert.action, alert.component) == (
        Severity.HIGH,
        AlertAction.ALERT,
        Component.IDS,
    )
    assert alert.src == ipaddress.ip_address("2001:db8::1") and alert.dst is None


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b"{",
        b'{"id": "x"}',
        b'{"id":"x","timestamp_ns":1,"component":"ddos","severity":"Low","rule_id":"","action":"Block"}',
        b'{"id":"x","timestamp_ns":1,"component":"ids","severity":"Huge","rule_id":"","action":"Block"}',
        b'{"id":"x","timestamp_ns":"soon","component":"ids","severity":"Low","rule_id":"","action":"Block"}',
        b'{"id":"x","timestamp_ns":1,"component":"ids","severity":"Low","rule_id":"","action":"Block",'
        b'"src_ip":"not-an-ip"}',
    ],
    ids=["array", "truncated", "missing fields", "unknown component", "bad severity", "bad time", "bad ip"],
)
def test_malformed_alert_records_raise_codec_error(raw: bytes) -> None:
    with pytest.raises(codec.CodecError):
        codec.decode_alert(raw)


def test_audit_entries_and_rule_changes_round_trip_in_contract_form() -> None:
    entry = AuditEntry(
        7,
        "ips",
        AuditAction.ALERT,
        "sig-1",
        ipaddress.ip_address("198.18.0.1"),
        ipaddress.ip_address("2001:db8::2"),
        1234,
        80,
        6,
        "matched",
    )
    record = codec.audit_entry_to_dict(entry)
    assert codec.audit_entry_from_dict(json.loads(json.dumps(record))) == entry
    assert record == {
        "timestamp_ns": 7,
        "component": "ips",
        "action": "alert",
        "src_addr": [0xC6120001, 0, 0, 0],
        "dst_addr": [0x20010DB8, 0, 0, 2],
        "src_port": 1234,
        "dst_port": 80,
        "protocol": 6,
        "is_ipv6": True,
        "rule_id": "sig-1",
        "detail": "matched",
        "src_ip": "198.18.0.1",
        "dst_ip": "2001:db8::2",
    }
    change = RuleChange(9, "l7", AuditAction.RULE_REMOVED, "l7-1", "cli", before='{"id":"l7-1"}', version=4)
    change_record = codec.rule_change_to_dict(change)
    assert "after" not in change_record and change_record["version"] == 4
    assert codec.rule_change_from_dict(json.loads(json.dumps(change_record))) == change
    with pytest.raises(codec.CodecError):
        codec.audit_entry_from_dict({"timestamp_ns": 1, "component": "x", "action": "explode"})
