"""The L7 engine: first-match by priority, L3/L4 conditions, matchers, alerts, MITRE, inspect()."""

import ipaddress
import struct

import hpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.common import PacketHeader, Protocol, Severity
from sentinel_domain.l7 import (
    ClientHello,
    HttpParseError,
    L7Action,
    L7Engine,
    L7Message,
    L7Protocol,
    L7Rule,
    L7RuleError,
    ja4,
    l7_mitre,
    parse_client_hello,
    parse_ftp_commands,
    parse_grpc,
    parse_http_requests,
    parse_smb,
    parse_smtp_commands,
    rule_from_dict,
)

CLIENT, SERVER = ipaddress.ip_address("10.1.2.3"), ipaddress.ip_address("192.0.2.80")


def packet(dst_port: int | None = 80, src: str = "10.1.2.3", dst: str = "192.0.2.80") -> PacketHeader:
    return PacketHeader(
        src=ipaddress.ip_address(src),
        dst=ipaddress.ip_address(dst),
        protocol=Protocol.TCP,
        src_port=40000 if dst_port is not None else None,
        dst_port=dst_port,
    )


def rule(rule_id: str, priority: int, action: str = "deny", **fields: object) -> L7Rule:
    return rule_from_dict({"id": rule_id, "priority": priority, "action": action, **fields})


def http(data: bytes) -> L7Message:
    return parse_http_requests(data).requests[0]


def tls_wire(server_name: bytes | None = b"www.example.com") -> bytes:
    exts = b""
    if server_name is not None:
        entry = b"\x00" + len(server_name).to_bytes(2, "big") + server_name
        sni = len(entry).to_bytes(2, "big") + entry
        exts += b"\x00\x00" + len(sni).to_bytes(2, "big") + sni
    body = b"\x03\x03" + b"\x00" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += len(exts).to_bytes(2, "big") + exts
    message = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(message).to_bytes(2, "big") + message


def tls_hello(server_name: bytes | None = b"www.example.com") -> ClientHello:
    parsed = parse_client_hello(tls_wire(server_name))
    assert isinstance(parsed, ClientHello)
    return parsed


def grpc_wire(path: str = "/pkg.Admin/DeleteUser", content_type: str = "application/grpc") -> bytes:
    block = hpack.Encoder().encode([(":method", "POST"), (":path", path), ("content-type", content_type)])
    frame = len(block).to_bytes(3, "big") + b"\x01\x05\x00\x00\x00\x01" + block
    return b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" + frame


def grpc(path: str = "/pkg.Admin/DeleteUser") -> L7Message:
    return parse_grpc(grpc_wire(path)).requests[0]


def smtp(line: bytes) -> L7Message:
    return parse_smtp_commands(line).commands[0]


def ftp(line: bytes) -> L7Message:
    return parse_ftp_commands(line).commands[0]


def smb(command: int, smb2: bool = True) -> L7Message:
    if smb2:
        header = b"\xfeSMB" + struct.pack("<HHIHHII", 64, 0, 0, command, 1, 0, 0) + b"\x00" * 40
    else:
        header = b"\xffSMB" + bytes([command]) + b"\x00" * 27
    return parse_smb(b"\x00" + len(header).to_bytes(3, "big") + header).messages[0]


GET_ADMIN = b"GET /admin/users?id=1 HTTP/1.1\r\nHost: App.Example.com\r\nContent-Type: text/html\r\n\r\n"

MATCHER_CASES = {
    "http method case-insensitive": ({"protocol": "http", "method": "get"}, http(GET_ADMIN), True),
    "http method differs": ({"protocol": "http", "method": "POST"}, http(GET_ADMIN), False),
    "http path substring": ({"protocol": "http", "path": "/ADMIN"}, http(GET_ADMIN), True),
    "http path glob anchored": ({"protocol": "http", "path": "/admin/*"}, http(GET_ADMIN), True),
    "http path glob sees the query": ({"protocol": "http", "path": "*id=[0-9]"}, http(GET_ADMIN), True),
    "http path glob no match": ({"protocol": "http", "path": "/api/*"}, http(GET_ADMIN), False),
    "http host suffix": ({"protocol": "http", "host": "*.example.com"}, http(GET_ADMIN), True),
    "http host suffix excludes apex": (
        {"protocol": "http", "host": "*.example.com"},
        http(b"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"),
        False,
    ),
    "http host missing": ({"protocol": "http", "host": "example"}, http(b"GET / HTTP/1.0\r\n\r\n"), False),
    "http content type substring": ({"protocol": "http", "content_type": "HTML"}, http(GET_ADMIN), True),
    "http content type missing": (
        {"protocol": "http", "content_type": "json"},
        http(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        False,
    ),
    "http all fields": (
        {"protocol": "http", "method": "GET", "path": "/admin", "host": "app.*", "content_type": "text"},
        http(GET_ADMIN),
        True,
    ),
    "http empty matcher matches any request": ({"protocol": "http"}, http(GET_ADMIN), True),
    "tls sni suffix": ({"protocol": "tls", "sni": "*.example.com"}, tls_hello(), True),
    "tls sni prefix": ({"protocol": "tls", "sni": "www.*"}, tls_hello(), True),
    "tls sni absent": ({"protocol": "tls", "sni": "example"}, tls_hello(None), False),
    "tls empty matcher matches a hello without SNI": ({"protocol": "tls"}, tls_hello(None), True),
    "grpc service and method": (
        {"protocol": "grpc", "service": "pkg.Admin", "grpc_method": "Delete*"},
        grpc(),
        True,
    ),
    "grpc method differs": ({"protocol": "grpc", "grpc_method": "Get*"}, grpc(), False),
    "grpc path not /Service/Method": ({"protocol": "grpc", "service": "a"}, grpc("/a/b/c"), False),
    "smtp command": ({"protocol": "smtp", "command": "vrfy"}, smtp(b"VRFY root\r\n"), True),
    "smtp command differs": ({"protocol": "smtp", "command": "EXPN"}, smtp(b"VRFY root\r\n"), False),
    "ftp command": ({"protocol": "ftp", "command": "port"}, ftp(b"PORT 10,1,2,3,4,5\r\n"), True),
    "smtp rule on an ftp command": ({"protocol": "smtp", "command": "QUIT"}, ftp(b"QUIT\r\n"), False),
    "smb2 command": ({"protocol": "smb", "smb_command": 3, "is_smb2": True}, smb(3), True),
    "smb2 rule on smb1": ({"protocol": "smb", "smb_command": 3, "is_smb2": True}, smb(3, smb2=False), False),
    "smb command either dialect": ({"protocol": "smb", "smb_command": 0x72}, smb(0x72, smb2=False), True),
    "smb command differs": ({"protocol": "smb", "smb_command": 5}, smb(3), False),
    "protocol mismatch": ({"protocol": "tls"}, http(GET_ADMIN), False),
}


@pytest.mark.parametrize("fields, message, matches", MATCHER_CASES.values(), ids=MATCHER_CASES.keys())
def test_matchers(fields: dict[str, object], message: L7Message, matches: bool) -> None:
    decision = L7Engine([rule("r", 1, **fields)]).evaluate(message, packet(443))
    assert decision.matched is matches
    assert decision.rule_id == ("r" if matches else None)


def test_first_match_by_priority_wins_and_ties_keep_order() -> None:
    rules = [
        rule("late", 50, "allow", protocol="http"),
        rule("first-of-tie", 10, "log", protocol="http", path="/admin"),
        rule("second-of-tie", 10, "deny", protocol="http"),
        rule("disabled", 1, "deny", protocol="http", enabled=False),
    ]
    engine = L7Engine(rules)
    assert [r.id for r in engine.rules] == ["disabled", "first-of-tie", "second-of-tie", "late"]
    assert engine.evaluate(http(GET_ADMIN), packet()).rule_id == "first-of-tie"
    assert engine.evaluate(http(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"), packet()).rule_id == "second-of-tie"


L34_CASES = {
    "src CIDR matches": ({"src_ip": "10.0.0.0/8"}, packet(), True),
    "src CIDR differs": ({"src_ip": "172.16.0.0/12"}, packet(), False),
    "dst host address": ({"dst_ip": "192.0.2.80"}, packet(), True),
    "IPv6 CIDR": ({"src_ip": "2001:db8::/32"}, packet(src="2001:db8::5", dst="2001:db8::80"), True),
    "IPv6 rule never matches IPv4": ({"src_ip": "::/0"}, packet(), False),
    "IPv4 rule never matches IPv6": ({"dst_ip": "0.0.0.0/0"}, packet(src="::1", dst="::2"), False),
    "dst port range": ({"dst_port": "8000-8999"}, packet(8080), True),
    "dst port outside": ({"dst_port": 443}, packet(80), False),
    "packet without ports never matches a port rule": ({"dst_port": 80}, packet(None), False),
}


@pytest.mark.parametrize("fields, pkt, matches", L34_CASES.values(), ids=L34_CASES.keys())
def test_l3_l4_conditions(fields: dict[str, object], pkt: PacketHeader, matches: bool) -> None:
    engine = L7Engine([rule("r", 1, protocol="http", **fields)])
    assert engine.evaluate(http(GET_ADMIN), pkt).matched is matches


@pytest.mark.parametrize("action", ["deny", "reject"])
def test_deny_and_reject_carry_alert_data(action: str) -> None:
    decision = L7Engine([rule("block-admin", 5, action, protocol="http", path="/admin")]).evaluate(
        http(GET_ADMIN), packet(8080)
    )
    assert decision.action is L7Action(action) and decision.audit_action == "drop"
    alert = decision.alert
    assert alert is not None
    assert (alert.component, alert.severity, alert.action) == ("l7", Severity.MEDIUM, "block")
    assert alert.rule_id == "block-admin"
    assert alert.message == f"L7 http {action} rule=block-admin"
    assert (alert.src, alert.dst, alert.src_port, alert.dst_port) == (CLIENT, SERVER, 40000, 8080)
    assert alert.protocol == 6
    assert alert.mitre.technique_id == "T1071.001"
    assert alert.ja4 is None


@pytest.mark.parametrize("action", ["allow", "log"])
def test_allow_and_log_do_not_alert(action: str) -> None:
    decision = L7Engine([rule("r", 1, action, protocol="http")]).evaluate(http(GET_ADMIN), packet())
    assert decision.matched and decision.alert is None and decision.audit_action == "pass"


def test_no_match_is_an_empty_decision() -> None:
    decision = L7Engine([]).evaluate(http(GET_ADMIN), packet())
    assert not decision.matched and decision.action is None and decision.audit_action is None
    assert decision.protocol is L7Protocol.HTTP


def test_tls_alert_carries_ja4() -> None:
    hello = tls_hello()
    decision = L7Engine([rule("t", 1, protocol="tls", sni="*.example.com")]).evaluate(hello, packet(443))
    assert decision.alert is not None and decision.alert.ja4 == ja4(hello)
    assert decision.alert.message == "L7 tls deny rule=t"


MITRE = {
    25: ("T1071.003", "command-and-control"),
    587: ("T1071.003", "command-and-control"),
    465: ("T1071.003", "command-and-control"),
    53: ("T1071.004", "command-and-control"),
    80: ("T1071.001", "command-and-control"),
    443: ("T1071.001", "command-and-control"),
    8080: ("T1071.001", "command-and-control"),
    8443: ("T1071.001", "command-and-control"),
    21: ("T1071.002", "command-and-control"),
    445: ("T1021.002", "lateral-movement"),
    139: ("T1021.002", "lateral-movement"),
    50051: ("T1071", "command-and-control"),
    None: ("T1071", "command-and-control"),
}


@pytest.mark.parametrize("port, expected", MITRE.items(), ids=[str(p) for p in MITRE])
def test_mitre_mapping(port: int | None, expected: tuple[str, str]) -> None:
    ref = l7_mitre(port)
    assert (ref.technique_id, ref.tactic) == expected


def test_rule_set_validation() -> None:
    with pytest.raises(L7RuleError, match="duplicate L7 rule id 'a'"):
        L7Engine([rule("a", 1, protocol="http"), rule("a", 2, protocol="tls")])
    with pytest.raises(L7RuleError, match="too many L7 rules"):
        L7Engine([rule(f"r{i}", 1, protocol="http") for i in range(3)], max_rules=2)


def test_evaluate_all_decides_each_pipelined_request() -> None:
    requests = parse_http_requests(
        b"GET /ok HTTP/1.1\r\nHost: a\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n"
    ).requests
    decisions = L7Engine([rule("adm", 1, protocol="http", path="/admin")]).evaluate_all(requests, packet())
    assert [d.rule_id for d in decisions] == [None, "adm"]


# --- inspect(): detect + parse + decide --------------------------------------------------------------

ENGINE = L7Engine(
    [
        rule("smuggle", 1, protocol="http", path="/admin"),
        rule("sni", 2, protocol="tls", sni="*.example.com"),
        rule("vrfy", 3, protocol="smtp", command="VRFY"),
        rule("bounce", 4, "log", protocol="ftp", command="PORT"),
        rule("tree", 5, protocol="smb", smb_command=3),
        rule("grpc", 6, protocol="grpc", service="pkg.Admin"),
    ]
)


def test_inspect_detects_parses_and_decides() -> None:
    payload = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n"
    result = ENGINE.inspect(payload, packet())
    assert result.protocol is L7Protocol.HTTP
    assert [d.rule_id for d in result.decisions] == [None, "smuggle"]
    assert result.error is None and result.need_more is None


def test_inspect_reports_anomalies_and_counts_ftp_bounce_against_the_packet_source() -> None:
    result = ENGINE.inspect(b"PORT 198,51,100,1,0,25\r\n", packet(21))
    assert result.protocol is L7Protocol.FTP
    assert {"port_bounce", "port_privileged"} <= result.anomalies
    assert result.decisions[0].rule_id == "bounce" and result.decisions[0].alert is None


def smb2_frame(command: int) -> bytes:
    header = b"\xfeSMB" + struct.pack("<HHIHHII", 64, 0, 0, command, 1, 0, 0) + b"\x00" * 40
    return b"\x00" + len(header).to_bytes(3, "big") + header


INSPECT_CASES = {
    "smtp": (b"EHLO x\r\nVRFY root\r\n", 25, L7Protocol.SMTP, [None, "vrfy"]),
    "tls": (tls_wire(), 443, L7Protocol.TLS, ["sni"]),
    "tls without sni": (tls_wire(None), 443, L7Protocol.TLS, [None]),
    "smb": (smb2_frame(0) + smb2_frame(3), 445, L7Protocol.SMB, [None, "tree"]),
    "grpc": (grpc_wire(), 50051, L7Protocol.GRPC, ["grpc"]),
}


@pytest.mark.parametrize("payload, port, protocol, rule_ids", INSPECT_CASES.values(), ids=list(INSPECT_CASES))
def test_inspect_each_protocol(
    payload: bytes, port: int, protocol: L7Protocol, rule_ids: list[str | None]
) -> None:
    result = ENGINE.inspect(payload, packet(port))
    assert result.protocol is protocol
    assert [d.rule_id for d in result.decisions] == rule_ids


def test_inspect_with_an_explicit_protocol_and_undetected_bytes() -> None:
    assert ENGINE.inspect(b"SSH-2.0-x\r\n", packet(22)).protocol is None
    forced = ENGINE.inspect(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", packet(), protocol=L7Protocol.SMTP)
    assert forced.protocol is L7Protocol.SMTP and forced.decisions[0].rule_id is None


def test_inspect_returns_parse_errors_instead_of_raising() -> None:
    result = ENGINE.inspect(b"GET  / HTTP/1.1\r\n\r\n", packet())
    assert result.protocol is L7Protocol.HTTP and isinstance(result.error, HttpParseError)
    assert result.messages == () and result.decisions == ()


def test_inspect_need_more_data() -> None:
    result = ENGINE.inspect(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", packet(443))
    assert result.protocol is L7Protocol.TLS and result.need_more is not None and result.messages == ()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512), st.sampled_from([None, *L7Protocol]))
def test_inspect_never_raises(payload: bytes, protocol: L7Protocol | None) -> None:
    result = ENGINE.inspect(payload, packet(), protocol)
    assert len(result.decisions) == len(result.messages)
