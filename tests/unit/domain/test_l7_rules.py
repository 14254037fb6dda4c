"""L7 rule model: validation, the contract's request/response shapes, round trips."""

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.common import PortRange
from sentinel_domain.l7 import (
    CommandMatcher,
    DomainPattern,
    GrpcMatcher,
    HttpMatcher,
    L7Action,
    L7Protocol,
    L7Rule,
    L7RuleError,
    SmbMatcher,
    TextPattern,
    TlsMatcher,
    rule_from_dict,
    rule_to_dict,
)

FLAT = {
    "http": (
        {"id": "web-admin", "priority": 10, "action": "deny", "protocol": "http", "method": "POST",
         "path": "/admin/*", "host": "*.example.com", "content_type": "json"},
        HttpMatcher("POST", TextPattern("/admin/*"), DomainPattern("*.example.com"), "json"),
    ),
    "tls": (
        {"id": "t", "priority": 1, "action": "log", "protocol": "tls", "sni": "evil.*"},
        TlsMatcher(DomainPattern("evil.*")),
    ),
    "grpc": (
        {"id": "g", "priority": 2, "action": "reject", "protocol": "grpc", "service": "pkg.Admin",
         "grpc_method": "Delete*"},
        GrpcMatcher(TextPattern("pkg.Admin"), TextPattern("Delete*")),
    ),
    "smtp": (
        {"id": "s", "priority": 3, "action": "deny", "protocol": "SMTP", "command": "vrfy"},
        CommandMatcher(L7Protocol.SMTP, "vrfy"),
    ),
    "ftp": (
        {"id": "f", "priority": 4, "action": "allow", "protocol": "ftp", "command": "PORT"},
        CommandMatcher(L7Protocol.FTP, "PORT"),
    ),
    "smb": (
        {"id": "b", "priority": 5, "action": "deny", "protocol": "smb", "smb_command": 3, "is_smb2": True},
        SmbMatcher(3, True),
    ),
}  # fmt: skip


@pytest.mark.parametrize("data, matcher", FLAT.values(), ids=FLAT.keys())
def test_flat_shape(data: dict[str, object], matcher: object) -> None:
    rule = rule_from_dict(data)
    assert rule.matcher == matcher
    assert rule.protocol is L7Protocol(str(data["protocol"]).lower())
    assert rule == L7Rule.from_dict(data)


@pytest.mark.parametrize("data", [c[0] for c in FLAT.values()], ids=FLAT.keys())
def test_response_shape_round_trips(data: dict[str, object]) -> None:
    rule = rule_from_dict(data)
    out = rule_to_dict(rule)
    assert rule_from_dict(out) == rule
    assert out == rule.to_dict()


def test_response_shape_is_the_contracts() -> None:
    rule = rule_from_dict(
        {"id": "r", "priority": 7, "action": "deny", "protocol": "http", "method": "GET", "path": "/x",
         "host": "*.a.com", "src_ip": "10.0.0.0/8", "dst_ip": "192.0.2.1/32", "dst_port": 8080,
         "enabled": False}
    )  # fmt: skip
    assert rule.to_dict() == {
        "id": "r",
        "priority": 7,
        "action": "deny",
        "matcher": {
            "protocol": "http",
            "method": "GET",
            "path_pattern": "/x",
            "host_pattern": "*.a.com",
            "content_type": None,
        },
        "src_ip": "10.0.0.0/8",
        "dst_ip": "192.0.2.1",
        "dst_port": 8080,
        "enabled": False,
    }


MATCHER_SHAPES = {
    "tls": ({"protocol": "tls", "sni": None}, {"protocol": "tls", "sni_pattern": None}),
    "grpc": ({"protocol": "grpc"}, {"protocol": "grpc", "service_pattern": None, "method_pattern": None}),
    "smtp": ({"protocol": "smtp", "command": "EHLO"}, {"protocol": "smtp", "command": "EHLO"}),
    "smb": ({"protocol": "smb", "smb_command": 114}, {"protocol": "smb", "command": 114, "is_smb2": None}),
}


@pytest.mark.parametrize("flat, tagged", MATCHER_SHAPES.values(), ids=MATCHER_SHAPES.keys())
def test_tagged_matcher_shapes(flat: dict[str, object], tagged: dict[str, object]) -> None:
    rule = rule_from_dict({"id": "x", "priority": 1, "action": "log", **flat})
    assert rule.to_dict()["matcher"] == tagged


def test_optional_fields_are_omitted_and_ranges_print_as_text() -> None:
    out = rule_from_dict(
        {"id": "x", "priority": 1, "action": "log", "protocol": "tls", "dst_port": "443-8443"}
    )
    assert out.to_dict() == {
        "id": "x",
        "priority": 1,
        "action": "log",
        "matcher": {"protocol": "tls", "sni_pattern": None},
        "dst_port": "443-8443",
        "enabled": True,
    }


def test_defaults_and_l3_fields() -> None:
    rule = rule_from_dict(
        {"id": "x", "priority": 1, "action": "DENY", "protocol": "http", "src_ip": "2001:db8::/32",
         "dst_ip": "2001:db8::1", "dst_port": {"start": 80, "end": 90}}
    )  # fmt: skip
    assert rule.enabled and rule.action is L7Action.DENY
    assert rule.src_ip == ipaddress.ip_network("2001:db8::/32")
    assert rule.dst_ip == ipaddress.ip_network("2001:db8::1/128")
    assert rule.dst_port == PortRange(80, 90)


BASE = {"id": "r1", "priority": 1, "action": "deny", "protocol": "http"}
INVALID = {
    "missing id": ({**BASE, "id": None}, "id is required"),
    "bad id characters": ({**BASE, "id": "a b"}, "invalid rule id"),
    "id too long": ({**BASE, "id": "a" * 257}, "invalid rule id"),
    "missing priority": ({**BASE, "priority": None}, "priority is required"),
    "priority zero": ({**BASE, "priority": 0}, "out of range 1-"),
    "priority not an integer": ({**BASE, "priority": "1"}, "priority must be an integer"),
    "priority boolean": ({**BASE, "priority": True}, "priority must be an integer"),
    "missing action": ({**BASE, "action": None}, "action is required"),
    "unknown action": ({**BASE, "action": "drop"}, "expected one of allow, deny, log, reject"),
    "missing protocol": ({**BASE, "protocol": None}, "protocol is required"),
    "protocol outside the API set": ({**BASE, "protocol": "ssh"}, "expected one of http, tls"),
    "field of another protocol": ({**BASE, "sni": "a.com"}, "do not apply to protocol 'http'"),
    "tls rule with a path": ({**BASE, "protocol": "tls", "path": "/x"}, "do not apply to protocol 'tls'"),
    "regex host": ({**BASE, "host": "~.*"}, "regex patterns"),
    "host with both wildcards": ({**BASE, "host": "*.a.*"}, "cannot both start"),
    "unclosed glob": ({**BASE, "path": "/[a"}, "without a closing"),
    "method with a space": ({**BASE, "method": "G T"}, "invalid HTTP method"),
    "path not a string": ({**BASE, "path": 5}, "expected a string"),
    "bad CIDR": ({**BASE, "src_ip": "10.0.0.1/33"}, "invalid CIDR"),
    "host bits set": ({**BASE, "dst_ip": "10.0.0.1/8"}, "invalid CIDR"),
    "mixed families": ({**BASE, "src_ip": "10.0.0.0/8", "dst_ip": "::1"}, "mix IPv4 and IPv6"),
    "reversed port range": ({**BASE, "dst_port": "90-80"}, "invalid port range"),
    "port too large": ({**BASE, "dst_port": 70000}, "invalid port range"),
    "enabled not a boolean": ({**BASE, "enabled": "yes"}, "enabled must be true or false"),
    "smtp command with digits first": ({**BASE, "protocol": "smtp", "command": "1ABC"}, "invalid command"),
    "smb command too large": ({**BASE, "protocol": "smb", "smb_command": 70000}, "0-65535"),
    "smb1 command above a byte": (
        {**BASE, "protocol": "smb", "smb_command": 300, "is_smb2": False},
        "0-255",
    ),
    "is_smb2 not a boolean": ({**BASE, "protocol": "smb", "is_smb2": 1}, "expected true or false"),
    "country codes (no GeoIP)": ({**BASE, "src_country_codes": ["RU"]}, "not supported"),
    "matcher not an object": ({**BASE, "matcher": "http"}, "matcher must be an object"),
    "tagged matcher with a flat field": (
        {"id": "x", "priority": 1, "action": "log", "matcher": {"protocol": "tls", "sni": "a"}},
        "do not apply",
    ),
}


@pytest.mark.parametrize("data, message", INVALID.values(), ids=INVALID.keys())
def test_invalid_rules_are_rejected_with_a_clear_message(data: dict[str, object], message: str) -> None:
    with pytest.raises(L7RuleError, match=message):
        rule_from_dict(data)


def test_unknown_keys_are_ignored_and_empty_country_lists_accepted() -> None:
    rule = rule_from_dict({**BASE, "description": "x", "src_country_codes": []})
    assert rule.id == "r1"


def test_error_names_the_field() -> None:
    with pytest.raises(L7RuleError) as info:
        rule_from_dict({**BASE, "dst_ip": "nope"})
    assert info.value.field == "dst_ip"
    assert "rule 'r1'" in str(info.value)


def test_command_matcher_is_only_for_smtp_and_ftp() -> None:
    with pytest.raises(L7RuleError):
        CommandMatcher(L7Protocol.HTTP, "GET")


def test_reject_and_deny_alert_allow_and_log_do_not() -> None:
    assert [a.alerts for a in L7Action] == [False, True, False, True]


_IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}", fullmatch=True)
_TEXT = st.text(alphabet="abcXYZ/._-*?", min_size=1, max_size=20)


@st.composite
def rule_dicts(draw: st.DrawFn) -> dict[str, object]:
    protocol = draw(st.sampled_from(["http", "tls", "grpc", "smtp", "ftp", "smb"]))
    data: dict[str, object] = {
        "id": draw(_IDS),
        "priority": draw(st.integers(1, 2**32 - 1)),
        "action": draw(st.sampled_from(["allow", "deny", "log", "reject"])),
        "protocol": protocol,
        "enabled": draw(st.booleans()),
    }
    if draw(st.booleans()):
        data["dst_port"] = draw(st.integers(0, 65535))
    if draw(st.booleans()):
        data["src_ip"] = draw(st.sampled_from(["10.0.0.0/8", "192.0.2.7", "2001:db8::/48"]))
    if protocol == "http":
        data["path"] = draw(st.none() | _TEXT)
        data["method"] = draw(st.none() | st.sampled_from(["GET", "post"]))
        data["host"] = draw(st.none() | st.sampled_from(["*.a.com", "www.*", "example"]))
    elif protocol == "grpc":
        data["service"] = draw(st.none() | _TEXT)
    elif protocol in ("smtp", "ftp"):
        data["command"] = draw(st.none() | st.sampled_from(["EHLO", "retr"]))
    elif protocol == "smb":
        data["smb_command"] = draw(st.none() | st.integers(0, 255))
        data["is_smb2"] = draw(st.none() | st.booleans())
    return data


@settings(max_examples=200, deadline=None)
@given(rule_dicts())
def test_round_trip_property(data: dict[str, object]) -> None:
    rule = rule_from_dict(data)
    assert rule_from_dict(rule.to_dict()) == rule
