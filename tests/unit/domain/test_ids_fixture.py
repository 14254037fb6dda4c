"""The sample .rules file: what loads, what is skipped and why, and what fires on sample packets.

Run with both matchers: the engine must not depend on which PatternMatcher it is given.
"""

import ipaddress
from pathlib import Path

import pytest

from sentinel_adapters.matching import HyperscanMatcher
from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.common.matching import PatternMatcher
from sentinel_domain.common.mitre import MitreRef
from sentinel_domain.ids import (
    FlowDirection,
    IdsEngine,
    PayloadEvent,
    RuleMode,
    SignatureSet,
    ThresholdState,
    parse_signatures,
)
from sentinel_testkit.fakes import ReferenceMatcher

RULES = Path(__file__).parent / "fixtures" / "ids" / "sample.rules"
VARIABLES = {
    "HOME_NET": "[10.0.0.0/8,192.168.0.0/16]",
    "EXTERNAL_NET": "!$HOME_NET",
    "HTTP_PORTS": "[80,8080,8000:8099]",
    "SSH_PORTS": "22",
    "DNS_SERVERS": "[10.0.0.53,10.0.0.54]",
    "SMTP_PORTS": "[25,465,587]",
}
SUPPORTED = [
    *range(9100001, 9100018),
    *range(9100020, 9100025),
    *range(9100030, 9100039),
    *range(9100040, 9100050),
    *range(9100050, 9100056),
    *range(9100060, 9100069),
    *range(9100070, 9100073),
]
OUTSIDE, HOME, SCANNER = (ipaddress.ip_address(a) for a in ("203.0.113.7", "10.0.0.5", "10.1.0.99"))


def line_of(sid: int | None, text: str) -> int:
    needle = f"sid:{sid};" if sid is not None else 'msg:"no sid"'
    matches = [n for n, line in enumerate(text.splitlines(), 1) if needle in line and "duplicate" not in line]
    return matches[0]


@pytest.fixture(scope="module")
def loaded() -> SignatureSet:
    return parse_signatures(RULES.read_text(), VARIABLES)


@pytest.fixture(scope="module", params=[ReferenceMatcher, HyperscanMatcher], ids=["reference", "hyperscan"])
def engine(request: pytest.FixtureRequest, loaded: SignatureSet) -> IdsEngine:
    matcher: PatternMatcher = request.param()
    return IdsEngine(matcher, signatures=loaded.rules)


def test_at_least_fifty_supported_rules_load(loaded: SignatureSet) -> None:
    assert [r.sid for r in loaded.rules] == [*SUPPORTED, 9100089]
    assert len(SUPPORTED) >= 50
    multi_line = next(r for r in loaded.rules if r.sid == 9100070)
    assert multi_line.msg == "WEB multi-line rule, struts OGNL" and len(multi_line.conditions) == 2


def test_skip_report_lists_each_skipped_rule_with_its_reason(loaded: SignatureSet) -> None:
    text = RULES.read_text()
    expected = [
        (9100080, "unsupported protocol 'http' (tcp, udp, icmp or ip)"),
        (9100081, "unsupported option 'http_uri'"),
        (9100082, "unsupported option 'byte_test'"),
        (9100083, "content: negated content is not supported"),
        (9100084, "pcre: flag 'R' is not supported (only i, s, m)"),
        (9100085, "unsupported action 'reject' (alert, drop or pass)"),
        (9100086, "unsupported option 'dsize'"),
        (9100087, "address: undefined variable '$UNDEFINED_NET'"),
        (9100088, "unsupported option 'flowbits'"),
        (None, "sid is required"),
        (9100072, "duplicate sid 9100072"),
    ]
    assert [(s.sid, s.reason) for s in loaded.skipped] == expected
    assert [s.line for s in loaded.skipped[:-1]] == [line_of(sid, text) for sid, _ in expected[:-1]]
    assert loaded.skipped[-1].line == len(text.splitlines())
    assert loaded.skipped[0].text.startswith("alert http $EXTERNAL_NET")


def test_engine_reports_the_rule_its_matcher_rejects(engine: IdsEngine) -> None:
    assert [s.sid for s in engine.signatures] == SUPPORTED
    ((skipped),) = engine.skipped
    assert skipped.sid == 9100089 and "backreferences" in skipped.reason


def header(
    src: object, sport: int | None, dst: object, dport: int | None, proto: int = Protocol.TCP
) -> PacketHeader:
    return PacketHeader(src, dst, proto, sport, dport)  # type: ignore[arg-type]


TO_SERVER, TO_CLIENT = FlowDirection.TO_SERVER, FlowDirection.TO_CLIENT
INBOUND_HTTP = header(OUTSIDE, 40000, HOME, 80)
SAMPLES = [
    pytest.param(INBOUND_HTTP, TO_SERVER, b"GET /../../etc/PASSWD HTTP/1.1\r\n", [9100001], id="traversal"),
    pytest.param(INBOUND_HTTP, TO_SERVER, b"GET /?q=1 union  select x", [9100002], id="sqli"),
    pytest.param(INBOUND_HTTP, TO_SERVER, b"User-Agent: ${JNDI:ldap://x}", [9100006], id="log4j"),
    pytest.param(INBOUND_HTTP, TO_SERVER, b"User-Agent: SQLMAP/1.0", [9100014], id="drop-rule"),
    pytest.param(
        INBOUND_HTTP,
        TO_SERVER,
        b"POST /x\r\n\r\n<?php " + b"x" * 150 + b" eval($_GET)",
        [9100004],
        id="webshell-within",
    ),
    pytest.param(
        INBOUND_HTTP,
        TO_SERVER,
        b"POST /x\r\n\r\n<?php " + b"x" * 250 + b" eval($_GET)",
        [],
        id="webshell-too-far",
    ),
    pytest.param(INBOUND_HTTP, TO_CLIENT, b"GET /../etc/passwd", [], id="wrong-direction"),
    pytest.param(
        header(HOME, 80, OUTSIDE, 40000),
        TO_CLIENT,
        b"HTTP/1.1 200 OK\r\n\r\nroot:x:0:0:root",
        [9100020],
        id="to-client-leak",
    ),
    pytest.param(
        header(HOME, 50000, OUTSIDE, 443),
        TO_SERVER,
        b"\xde\xad\xbe\xef\x00\x00\x00\x00beacon",
        [9100030],
        id="c2-beacon",
    ),
    pytest.param(
        header(OUTSIDE, 40000, HOME, 8080),
        TO_SERVER,
        b"%{(#_memberAccess['x'])}",
        [9100070],
        id="multi-line-rule",
    ),
    pytest.param(
        header(OUTSIDE, 40000, HOME, 25), TO_SERVER, b'say "hi"; bye', [9100072], id="escaped-content"
    ),
    pytest.param(
        header(OUTSIDE, 40000, HOME, 9000),
        TO_SERVER,
        b"GET / HTTP/1.1\r\nHost: x\r\n",
        [9100067],
        id="negated-port-variable",
    ),
    pytest.param(
        header(OUTSIDE, None, HOME, None, Protocol.ICMP), TO_SERVER, b"\x08" * 900, [9100060], id="icmp"
    ),
    pytest.param(
        header(OUTSIDE, 40000, HOME, 5432), TO_SERVER, b"\x00\x00", [9100048], id="header-only-rule"
    ),
    pytest.param(
        header(OUTSIDE, 40000, HOME, 3), TO_SERVER, b"SENTINEL-TEST-MARKER", [9100066], id="ip-rule"
    ),
    pytest.param(header(SCANNER, 40000, HOME, 3), TO_SERVER, b"SENTINEL-TEST-MARKER", [], id="pass-rule"),
    pytest.param(
        header(OUTSIDE, 40000, HOME, 80),
        TO_SERVER,
        b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR",
        [9100037],
        id="eicar-backslash",
    ),
]


@pytest.mark.parametrize(("hdr", "direction", "payload", "expected"), SAMPLES)
def test_sample_packets(
    engine: IdsEngine, hdr: PacketHeader, direction: FlowDirection, payload: bytes, expected: list[int]
) -> None:
    event = PayloadEvent(hdr, payload, 1, direction, established=True)
    assert [a.sid for a in engine.evaluate(event, ThresholdState(), 0)] == expected


def test_alert_details_from_the_file(engine: IdsEngine) -> None:
    event = PayloadEvent(INBOUND_HTTP, b"GET /../etc/passwd", 1, TO_SERVER, True)
    (alert,) = engine.evaluate(event, ThresholdState(), 0)
    assert (alert.rule_id, alert.message, alert.classtype, alert.rev) == (
        "9100001",
        "WEB path traversal to passwd",
        "web-application-attack",
        3,
    )
    assert alert.mitre == MitreRef("T1190", "T1190", "initial-access")
    drop = PayloadEvent(INBOUND_HTTP, b"user-agent: sqlmap", 1, TO_SERVER, True)
    assert [a.action for a in engine.evaluate(drop, ThresholdState(), 0)] == [RuleMode.BLOCK]


def test_prefilter_of_the_file(engine: IdsEngine) -> None:
    keys = {(k.protocol, k.port) for k in engine.prefilter_keys()}
    # several rules use 'any' destination ports on tcp and udp, so both are inspected in full
    assert keys == {(Protocol.TCP, None), (Protocol.UDP, None), (Protocol.ICMP, 0), (Protocol.ICMPV6, 0)}
