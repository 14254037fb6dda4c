"""Loading the Suricata/Snort rule subset: header, every option, the skip report, malformed input."""

import ipaddress
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.common import Protocol
from sentinel_domain.ids import (
    Action,
    ContentMatch,
    FlowCondition,
    FlowDirection,
    PcreMatch,
    SignatureRule,
    Threshold,
    ThresholdType,
    TrackBy,
    parse_signatures,
)

VARS = {
    "HOME_NET": "[10.0.0.0/8, 192.168.0.0/16]",
    "EXTERNAL_NET": "!$HOME_NET",
    "HTTP_PORTS": "[80, 8080]",
    "LOOP_A": "$LOOP_B",
    "LOOP_B": "$LOOP_A",
}


def one(text: str, variables: dict[str, str] | None = None) -> SignatureRule:
    result = parse_signatures(text, VARS if variables is None else variables)
    assert not result.skipped, result.skipped
    assert len(result.rules) == 1
    return result.rules[0]


def reason(text: str) -> str:
    result = parse_signatures(text, VARS)
    assert not result.rules and len(result.skipped) == 1, result
    return result.skipped[0].reason


def opts(body: str, header: str = "alert tcp any any -> any any") -> str:
    return f"{header} ({body} sid:1;)"


IP = ipaddress.ip_address


# --- header ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "expected"), [("alert", Action.ALERT), ("drop", Action.DROP), ("pass", Action.PASS)]
)
def test_actions(action: str, expected: Action) -> None:
    assert one(f"{action} tcp any any -> any any (sid:1;)").action is expected


@pytest.mark.parametrize(
    ("proto", "expected"),
    [("tcp", Protocol.TCP), ("udp", Protocol.UDP), ("icmp", Protocol.ICMP), ("ip", Protocol.ANY)],
)
def test_protocols(proto: str, expected: Protocol) -> None:
    assert one(f"alert {proto} any any -> any any (sid:1;)").protocol is expected


@pytest.mark.parametrize(
    ("field", "inside", "outside"),
    [
        pytest.param("any", ["1.2.3.4", "::1"], [], id="any"),
        pytest.param("10.0.0.1", ["10.0.0.1"], ["10.0.0.2", "::1"], id="bare-host"),
        pytest.param("10.0.0.0/24", ["10.0.0.200"], ["10.0.1.1"], id="cidr"),
        pytest.param("!10.0.0.0/24", ["10.0.1.1", "::1"], ["10.0.0.5"], id="negated"),
        pytest.param("[10.0.0.1,10.0.0.2]", ["10.0.0.2"], ["10.0.0.3"], id="list"),
        pytest.param("[10.0.0.0/8, !10.0.0.1]", ["10.9.9.9"], ["10.0.0.1", "11.0.0.1"], id="list-minus-host"),
        pytest.param("[!10.0.0.1, !10.0.0.2]", ["10.0.0.3"], ["10.0.0.1", "10.0.0.2"], id="only-negations"),
        pytest.param("![10.0.0.0/8,192.168.0.0/16]", ["8.8.8.8"], ["192.168.1.1"], id="negated-list"),
        pytest.param(
            "[10.0.0.0/8,![10.1.0.0/16,!10.1.2.3]]", ["10.1.2.3", "10.2.0.1"], ["10.1.9.9"], id="nested"
        ),
        pytest.param("$HOME_NET", ["192.168.4.4"], ["8.8.8.8"], id="variable"),
        pytest.param("$EXTERNAL_NET", ["8.8.8.8"], ["10.1.1.1"], id="variable-of-variable"),
        pytest.param("2001:db8::/32", ["2001:db8::1"], ["10.0.0.1", "2001:db9::1"], id="ipv6"),
    ],
)
def test_address_fields(field: str, inside: list[str], outside: list[str]) -> None:
    src = one(f"alert tcp {field} any -> any any (sid:1;)").src
    assert all(src.matches(IP(a)) for a in inside)
    assert not any(src.matches(IP(a)) for a in outside)


@pytest.mark.parametrize(
    ("field", "inside", "outside"),
    [
        pytest.param("any", [1, 65535, None], [], id="any-includes-portless"),
        pytest.param("80", [80], [81, None], id="single"),
        pytest.param("1024:", [1024, 65535], [1023], id="open-range"),
        pytest.param(":1023", [0, 1023], [1024], id="up-to"),
        pytest.param("8000:8099", [8000, 8099], [7999, 8100], id="range"),
        pytest.param("[80,443,8000:8001]", [443, 8001], [8002], id="list"),
        pytest.param("!80", [81, 443], [80], id="negated"),
        pytest.param("[1:1000,!22]", [21, 23], [22, 1001], id="list-minus-port"),
        pytest.param("$HTTP_PORTS", [8080], [443], id="variable"),
        pytest.param("!$HTTP_PORTS", [443], [80], id="negated-variable"),
    ],
)
def test_port_fields(field: str, inside: list[int | None], outside: list[int | None]) -> None:
    dst_ports = one(f"alert tcp any any -> any {field} (sid:1;)").dst_ports
    assert all(dst_ports.matches(p) for p in inside)
    assert not any(dst_ports.matches(p) for p in outside)


def test_bidirectional_and_spaces_inside_lists() -> None:
    sig = one("alert tcp [10.0.0.1, 10.0.0.2] any <> any [80, 443] (sid:1;)")
    assert sig.bidirectional and sig.src.matches(IP("10.0.0.2"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("reject tcp any any -> any any (sid:1;)", "unsupported action 'reject'", id="action"),
        pytest.param("alert http any any -> any any (sid:1;)", "unsupported protocol 'http'", id="protocol"),
        pytest.param("alert tcp any any <- any any (sid:1;)", "unsupported direction '<-'", id="direction"),
        pytest.param("alert tcp any any -> any (sid:1;)", "header has 6 fields", id="short-header"),
        pytest.param("alert tcp any any -> any any sid:1;", "option list in parentheses", id="no-options"),
        pytest.param("alert tcp 10.0.0.1/33 any -> any any (sid:1;)", "invalid CIDR", id="bad-cidr"),
        pytest.param("alert tcp 10.0.0.1/8 any -> any any (sid:1;)", "invalid CIDR", id="host-bits"),
        pytest.param("alert tcp !any any -> any any (sid:1;)", "'!any' matches nothing", id="not-any"),
        pytest.param("alert tcp [10.0.0.1,] any -> any any (sid:1;)", "empty item", id="empty-item"),
        pytest.param("alert tcp [10.0.0.1 any -> any any (sid:1;)", "unbalanced '\\['", id="unbalanced"),
        pytest.param(
            "alert tcp $NOPE any -> any any (sid:1;)", "undefined variable '\\$NOPE'", id="undefined"
        ),
        pytest.param("alert tcp $LOOP_A any -> any any (sid:1;)", "nested deeper", id="variable-cycle"),
        pytest.param("alert tcp any 70000 -> any any (sid:1;)", "ports must be 0-65535", id="port-range"),
        pytest.param("alert tcp any 90:80 -> any any (sid:1;)", "start 90 > end 80", id="reversed-range"),
        pytest.param("alert tcp any http -> any any (sid:1;)", "invalid port 'http'", id="named-port"),
        pytest.param(
            "alert icmp any 8 -> any any (sid:1;)", "ports must be 'any' for protocol icmp", id="icmp-port"
        ),
    ],
)
def test_header_errors(text: str, message: str) -> None:
    got = reason(text)
    assert re.search(message, got), got


# --- options ------------------------------------------------------------------------------------


def test_msg_sid_rev_gid_priority_classtype_metadata_reference() -> None:
    sig = one(
        opts(
            'msg:"a \\"quoted\\" msg\\; with semicolon"; rev:7; gid:3; classtype:trojan-activity; '
            "metadata: mitre_technique_id T1071, created_at 2024_01_01; metadata:former_category MALWARE; "
            "reference:url,example.org/x; reference:cve,2024-1;"
        )
    )
    assert sig.msg == 'a "quoted" msg; with semicolon'
    assert (sig.sid, sig.rev, sig.gid, sig.classtype, sig.priority) == (1, 7, 3, "trojan-activity", 1)
    assert sig.metadata == (
        ("mitre_technique_id", "T1071"),
        ("created_at", "2024_01_01"),
        ("former_category", "MALWARE"),
    )
    assert sig.references == (("url", "example.org/x"), ("cve", "2024-1"))


def test_priority_option_beats_classtype_default_and_default_is_three() -> None:
    assert one(opts("classtype:trojan-activity; priority:4;")).priority == 4
    assert one(opts("classtype:misc-attack;")).priority == 2
    assert one(opts("")).priority == 3


def test_caller_classifications_extend_the_table() -> None:
    result = parse_signatures(opts("classtype:my-class;"), classifications={"my-class": 2})
    assert result.rules[0].priority == 2


def test_content_text_hex_and_escapes() -> None:
    sig = one(opts('content:"GET |20 2f|a\\;b\\"c\\\\d\\:e|7C|";'))
    assert sig.conditions == (ContentMatch(b'GET  /a;b"c\\d:e|'),)


def test_content_utf8_text_becomes_its_bytes() -> None:
    assert one(opts('content:"caf\u00e9";')).conditions == (ContentMatch("caf\u00e9".encode()),)


def test_content_modifiers_attach_to_the_preceding_content() -> None:
    sig = one(
        opts(
            'content:"A"; offset:2; depth:10; nocase; fast_pattern; content:"B"; distance:-3; within:8; '
            'content:"C"; rawbytes; distance:0;'
        )
    )
    assert sig.conditions == (
        ContentMatch(b"A", nocase=True, offset=2, depth=10),
        ContentMatch(b"B", distance=-3, within=8),
        ContentMatch(b"C", distance=0),
    )


def test_pcre_flags() -> None:
    sig = one(opts('content:"x"; pcre:"/a\\;b\\/c\\s+$/ism";'))  # ';' must be escaped, even in pcre
    assert sig.conditions[1] == PcreMatch(b"a\\;b\\/c\\s+$", nocase=True, dotall=True, multiline=True)
    assert one(opts('pcre:"/plain/";')).conditions == (PcreMatch(b"plain"),)


@pytest.mark.parametrize(
    ("flow", "expected"),
    [
        ("to_server", FlowCondition(FlowDirection.TO_SERVER)),
        ("from_client,established", FlowCondition(FlowDirection.TO_SERVER, True)),
        ("established, to_client", FlowCondition(FlowDirection.TO_CLIENT, True)),
        ("from_server", FlowCondition(FlowDirection.TO_CLIENT)),
        ("not_established", FlowCondition(None, False)),
        ("stateless", FlowCondition()),
    ],
)
def test_flow(flow: str, expected: FlowCondition) -> None:
    assert one(opts(f"flow:{flow};")).flow == expected


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("threshold:type limit, track by_src, count 1, seconds 60;", Threshold(ThresholdType.LIMIT, 1, 60)),
        (
            "threshold: type threshold,track by_dst,count 10,seconds 5;",
            Threshold(ThresholdType.THRESHOLD, 10, 5, TrackBy.DST),
        ),
        (
            "threshold:type both, track by_both, count 3, seconds 9;",
            Threshold(ThresholdType.BOTH, 3, 9, TrackBy.BOTH),
        ),
        (
            "detection_filter:track by_src, count 4, seconds 30;",
            Threshold(ThresholdType.DETECTION_FILTER, 4, 30),
        ),
    ],
)
def test_threshold_and_detection_filter(option: str, expected: Threshold) -> None:
    assert one(opts(option)).threshold == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param('content:"a"; http_uri;', "unsupported option 'http_uri'", id="sticky-buffer"),
        pytest.param('content:"a"; isdataat:1,relative;', "unsupported option 'isdataat'", id="isdataat"),
        pytest.param('content:!"a";', "negated content is not supported", id="negated-content"),
        pytest.param('pcre:!"/a/";', "negated pcre", id="negated-pcre"),
        pytest.param('pcre:"/a/R";', "flag 'R' is not supported", id="pcre-relative"),
        pytest.param('pcre:"/a/x";', "flag 'x' is not supported", id="pcre-extended"),
        pytest.param('pcre:"a";', 'expected "/regex/flags"', id="pcre-no-slashes"),
        pytest.param('pcre:"//";', "empty regex", id="pcre-empty"),
        pytest.param("nocase;", "nocase: needs a preceding content", id="modifier-without-content"),
        pytest.param('content:"a"; nocase; nocase;', "given twice for one content", id="modifier-twice"),
        pytest.param('content:"a"; nocase:1;', "nocase: takes no value", id="nocase-value"),
        pytest.param('content:"a"; depth:x;', "depth: expected an integer", id="depth-not-int"),
        pytest.param('content:"a"; offset:70000;', "offset: expected an integer 0..65535", id="offset-range"),
        pytest.param('content:"abc"; depth:2;', "depth 2 is shorter than the content", id="depth-short"),
        pytest.param('content:"a"; content:"bcd"; within:2;', "within 2 is shorter", id="within-short"),
        pytest.param('content:"a"; distance:1;', "need a previous content or pcre", id="relative-first"),
        pytest.param('content:"a"; content:"b"; offset:1; distance:1;', "cannot be combined", id="mixed"),
        pytest.param('content:"a|4|";', "odd number of hex digits", id="odd-hex"),
        pytest.param('content:"a|zz|";', "invalid character 'z' in hex", id="bad-hex"),
        pytest.param('content:"a|41";', "unterminated \\|...\\| hex run", id="open-hex"),
        pytest.param('content:"a\\x41";', "invalid escape '\\\\x'", id="bad-escape"),
        pytest.param('content:"";', "empty pattern", id="empty-content"),
        pytest.param("content:abc;", "expected a double-quoted value", id="unquoted"),
        pytest.param('content:"a;b";', "expected a double-quoted value", id="unescaped-semicolon"),
        pytest.param('content:"a"b";', "unescaped '\"'", id="inner-quote"),
        pytest.param('content:"' + "a" * 4097 + '";', "4097 bytes \\(maximum 4096\\)", id="content-too-long"),
        pytest.param("flow:to_server,to_client;", "contradictory", id="flow-contradiction"),
        pytest.param("flow:only_stream;", "'only_stream' is not supported", id="flow-unsupported"),
        pytest.param("flow:established; flow:to_server;", "flow: given twice", id="flow-twice"),
        pytest.param("classtype:made-up;", "unknown classtype 'made-up'", id="classtype"),
        pytest.param("priority:0;", "priority: expected an integer 1..255", id="priority"),
        pytest.param("rev:1; rev:2;", "rev: given twice", id="rev-twice"),
        pytest.param("reference:nothing;", "expected 'type,value'", id="reference"),
        pytest.param("metadata:;", "expected 'key value' pairs", id="metadata-empty"),
        pytest.param(
            "threshold:type limit, track by_rule, count 1, seconds 1;", "track must be", id="by-rule"
        ),
        pytest.param("threshold:type often, track by_src, count 1, seconds 1;", "type must be", id="th-type"),
        pytest.param(
            "threshold:type limit, track by_src, count 0, seconds 1;", "count: expected", id="th-count"
        ),
        pytest.param("threshold:type limit, track by_src, count 1;", "seconds: expected", id="th-missing"),
        pytest.param(
            "threshold:type limit, track by_src, count 1, seconds 1, x 2;", "unexpected", id="th-extra"
        ),
        pytest.param(
            "detection_filter:type limit, track by_src, count 1, seconds 1;", "has no 'type'", id="df"
        ),
        pytest.param(
            "threshold:type limit, track by_src, count 1, seconds 1; detection_filter:track by_src, count 1, "
            "seconds 1;",
            "only one threshold",
            id="both-thresholds",
        ),
        pytest.param("msg:unquoted;", "msg: expected a double-quoted value", id="msg-unquoted"),
        pytest.param(" : x;", "empty option name", id="empty-option-name"),
        pytest.param("".join(f'content:"{i}";' for i in range(65)), "more than 64", id="too-many-contents"),
    ],
)
def test_unsupported_or_invalid_options_skip_the_rule(body: str, message: str) -> None:
    got = reason(opts(body))
    assert re.search(message, got), got


def test_missing_sid_and_sid_zero() -> None:
    assert reason('alert tcp any any -> any any (msg:"x";)') == "sid is required"
    assert "sid: expected an integer 1.." in reason("alert tcp any any -> any any (sid:0;)")


# --- text layout and the skip report -------------------------------------------------------------


def test_comments_blank_lines_continuations_and_crlf() -> None:
    text = (
        "# comment\r\n\r\n"
        '   # alert tcp any any -> any any (msg:"commented out"; sid:5;)\r\n'
        'alert tcp any any -> any any (msg:"multi"; \\\r\n'
        '    content:"x"; \\\n'
        "    sid:7;)\n"
        "alert udp any any -> any any (sid:8;)"
    )
    result = parse_signatures(text)
    assert [(r.sid, r.line) for r in result.rules] == [(7, 4), (8, 7)]
    assert result.rules[0].conditions == (ContentMatch(b"x"),) and not result.skipped


def test_last_option_may_omit_its_semicolon() -> None:
    assert one('alert tcp any any -> any any (msg:"x"; sid:9)').sid == 9


def test_skip_report_names_line_sid_reason_and_text() -> None:
    text = "alert tcp any any -> any any (sid:1;)\nalert tcp any any -> any any (dsize:>1; sid:22;)\n"
    result = parse_signatures(text)
    (skipped,) = result.skipped
    assert (skipped.line, skipped.sid, skipped.reason) == (2, 22, "unsupported option 'dsize'")
    assert skipped.text.startswith("alert tcp any any -> any any (dsize")


def test_duplicate_sid_keeps_the_first_but_other_gid_is_distinct() -> None:
    text = "\n".join(
        [
            'alert tcp any any -> any any (msg:"first"; sid:5;)',
            'alert tcp any any -> any any (msg:"second"; sid:5;)',
            'alert tcp any any -> any any (msg:"third"; sid:5; gid:2;)',
        ]
    )
    result = parse_signatures(text)
    assert [r.msg for r in result.rules] == ["first", "third"]
    assert [(s.line, s.reason) for s in result.skipped] == [(2, "duplicate sid 5")]


def test_rule_limit() -> None:
    text = "\n".join(f"alert tcp any any -> any any (sid:{i};)" for i in range(1, 6))
    result = parse_signatures(text, max_rules=3)
    assert result.loaded == 3
    assert [s.reason for s in result.skipped] == ["rule limit reached (3 rules)"] * 2


def test_bytes_input_reports_undecodable_lines() -> None:
    data = b"alert tcp any any -> any any (sid:1;)\n\xff\xfe garbage\nalert tcp any any -> any any (sid:2;)\n"
    result = parse_signatures(data)
    assert [r.sid for r in result.rules] == [1, 2]
    assert [(s.line, s.reason) for s in result.skipped] == [(2, "line is not valid UTF-8")]


def test_overlong_rule_is_skipped() -> None:
    text = 'alert tcp any any -> any any (msg:"' + "a" * 70_000 + '"; sid:1;)'
    assert "maximum 65536" in reason(text)


# --- malformed input never escapes as anything but a result -----------------------------------------

CORPUS = [
    "",
    "\n\n\n",
    "(",
    ")",
    "alert",
    "alert tcp any any -> any any (",
    "alert tcp any any -> any any ()",
    "alert tcp any any -> any any (;;;)",
    'alert tcp any any -> any any (sid:1; content:"\\";)',
    "alert tcp [[[[[[[[[[ any -> any any (sid:1;)",
    "alert tcp ]]] any -> any any (sid:1;)",
    "alert tcp any any -> any any (sid:99999999999999999999;)",
    "alert tcp any 99999999999999 -> any any (sid:1;)",
    'alert tcp any any -> any any (content:"|' + "4" * 10_001 + '|"; sid:1;)',
    "alert tcp " + "[" * 500 + "1.1.1.1" + "]" * 500 + " any -> any any (sid:1;)",
    'alert tcp any any -> any any (pcre:"/' + "(" * 300 + '/"; sid:1;)',
    "\\",
    "alert tcp any any -> any any (sid:1;)\\",
    "\x00\x01\x02",
]


@pytest.mark.parametrize("text", CORPUS)
def test_malformed_corpus(text: str) -> None:
    result = parse_signatures(text, VARS)
    assert len(result.rules) + len(result.skipped) <= max(1, text.count("\n") + 1)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list('alert tcpudpany->![],:;()"|\\/$0123456789 sidcontent\n')), max_size=200
    )
)
def test_arbitrary_text_yields_a_result(text: str) -> None:
    result = parse_signatures(text, VARS)
    assert all(s.reason for s in result.skipped)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_yield_a_result(data: bytes) -> None:
    result = parse_signatures(data, VARS)
    assert isinstance(result.rules, tuple) and isinstance(result.skipped, tuple)
