"""Feed parsers on real-format fixtures and targeted line cases (contract §7.6)."""

from pathlib import Path

import pytest

from sentinel_domain.threatintel import (
    FeedFormat,
    FeedFormatError,
    FeedRejectedError,
    IocAction,
    IocKind,
    LineError,
    ParseOptions,
    ThreatType,
    parse_csv,
    parse_feed,
    parse_feodo,
    parse_json,
    parse_plain,
    parse_spamhaus_drop,
    parse_stix,
    parse_urlhaus,
    parse_zeek_intel,
)

FIXTURES = Path(__file__).parent / "fixtures" / "threatintel"
NOW = 1_709_251_200.0  # 2024-03-01
ALL = ParseOptions(max_junk_fraction=1.0)  # never reject: to look at every error


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def values(result) -> list[str]:
    return [i.value for i in result.iocs]


def test_plain_mixed_fixture():
    r = parse_plain(fixture("plain_mixed.txt"), ParseOptions(feed_id="blocklist"))
    assert values(r) == [
        "192.0.2.10",
        "198.51.100.0/24",
        "203.0.113.5",
        "2001:db8:abcd::1",
        "2001:db8:ff00::/40",
        "evil.example.com",
    ]
    assert [i.kind for i in r.iocs] == [IocKind.IP] * 5 + [IocKind.DOMAIN]
    assert r.total_lines == 11
    assert r.errors == (
        LineError(10, "CIDR '0.0.0.0/0' /0 would match every address"),
        LineError(11, "invalid indicator 'not'"),
    )
    first = r.iocs[0]
    assert (first.feed_id, first.confidence, first.threat_type, first.action, first.expires_at) == (
        "blocklist",
        100,
        ThreatType.OTHER,
        IocAction.ALERT,
        None,
    )


PLAIN_LINES = [
    ("dotted quad", "192.0.2.1", "192.0.2.1"),
    ("CRLF", "192.0.2.1\r", "192.0.2.1"),
    ("tab comment", "192.0.2.1\t# seen", "192.0.2.1"),
    ("glued semicolon comment", "192.0.2.1;SBL1", "192.0.2.1"),
    ("glued hash comment", "192.0.2.1#x", "192.0.2.1"),
    ("leading blanks", "   192.0.2.1", "192.0.2.1"),
    ("vertical tab separator", "192.0.2.1\x0bjunk", "192.0.2.1"),
    ("host bits cleared", "198.51.100.7/24", "198.51.100.0/24"),
    ("full-length prefix is a host", "198.51.100.7/32", "198.51.100.7"),
    ("IPv6 canonical", "2001:DB8:0:0::1", "2001:db8::1"),
    ("IPv6 CIDR", "2001:db8::/32 ; x", "2001:db8::/32"),
    ("v4-mapped IPv6", "::ffff:192.0.2.1", "::ffff:c000:201"),
    ("domain upper-case and trailing dot", "Evil.Example.COM.", "evil.example.com"),
    ("wildcard domain", "*.evil.example", "evil.example"),
    ("underscore label", "_dmarc.evil.example", "_dmarc.evil.example"),
    ("IDN domain", "bücher.example", "xn--bcher-kva.example"),
    ("URL", "HTTP://Evil.Example:80/a;b#frag", "http://evil.example/a;b"),
    ("URL empty path", "https://evil.example", "https://evil.example/"),
]


@pytest.mark.parametrize(("name", "line", "value"), PLAIN_LINES, ids=[c[0] for c in PLAIN_LINES])
def test_plain_good_lines(name: str, line: str, value: str):
    r = parse_plain(f"{line}\n".encode())
    assert values(r) == [value] and r.error_count == 0


PLAIN_BAD = [
    ("slash zero", "0.0.0.0/0", "/0 would match every address"),
    ("v6 slash zero", "::/0", "/0 would match every address"),
    ("too broad v4", "10.0.0.0/7", "broader than /8"),
    ("too broad v6", "2000::/15", "broader than /16"),
    ("prefix too long", "192.0.2.0/33", "prefix length must be 0-32"),
    ("prefix not a number", "192.0.2.0/x", "prefix length must be a number"),
    ("octet too big", "256.1.1.1", "invalid IPv4 address"),
    ("leading zero", "010.1.1.1", "invalid IPv4 address"),
    ("shorthand", "127.1", "invalid IPv4 address"),
    ("unspecified", "0.0.0.0", "not a routable unicast address"),
    ("loopback", "127.0.0.1", "not a routable unicast address"),
    ("multicast", "224.0.0.1", "not a routable unicast address"),
    ("broadcast", "255.255.255.255", "not a routable unicast address"),
    ("loopback range", "127.0.0.0/8", "not a routable unicast range"),
    ("v6 loopback", "::1", "not a routable unicast address"),
    ("v6 multicast", "ff02::1", "not a routable unicast address"),
    ("scoped v6", "fe80::1%eth0", "scoped IPv6 address"),
    ("bad v6", "2001:db8:::1", "invalid IPv6 address"),
    ("single label", "localhost", "invalid indicator"),
    ("numeric tld", "evil.123", "invalid indicator"),
    ("label too long", "a" * 64 + ".example", "invalid indicator"),
    ("ftp-less scheme", "gopher://evil.example/", "invalid URL"),
    ("URL without host", "http:///path", "invalid URL"),
    ("huge token", "a" * 5000, "longer than 4096"),
]


@pytest.mark.parametrize(("name", "line", "reason"), PLAIN_BAD, ids=[c[0] for c in PLAIN_BAD])
def test_plain_bad_lines(name: str, line: str, reason: str):
    data = f"192.0.2.1\n192.0.2.2\n{line}\n".encode()
    r = parse_plain(data)
    assert values(r) == ["192.0.2.1", "192.0.2.2"]
    assert len(r.errors) == 1 and r.errors[0].line_no == 3 and reason in r.errors[0].reason


def test_plain_comments_blank_bom_and_custom_prefix():
    data = b"\xef\xbb\xbf# c\n; c\n\n   \n\t\n// c\n192.0.2.9\n"
    default = parse_plain(data)  # "// c" is junk without the custom prefix
    assert values(default) == ["192.0.2.9"] and default.errors == (
        LineError(6, "invalid CIDR '//': prefix length must be a number"),
    )
    r = parse_plain(data, ParseOptions(comment_prefix="//"))
    assert values(r) == ["192.0.2.9"] and r.error_count == 0 and r.total_lines == 7


def test_plain_invalid_utf8_only_fails_its_line():
    r = parse_plain(b"192.0.2.1\n\xff\xfe.example\n192.0.2.2 # caf\xe9 comment\n")
    assert values(r) == ["192.0.2.1", "192.0.2.2"]
    assert r.errors == (LineError(2, "not valid UTF-8"),)


def test_plain_keeps_file_order_with_mixed_indicators():
    data = b"192.0.2.1\nevil.example\n192.0.2.2\n2001:db8::5\n192.0.2.3\n"
    assert values(parse_plain(data)) == ["192.0.2.1", "evil.example", "192.0.2.2", "2001:db8::5", "192.0.2.3"]


def test_junk_feed_is_rejected():
    data = b"# header\n192.0.2.1\n<html>\n<body>\n"
    with pytest.raises(FeedRejectedError) as info:
        parse_plain(data, ParseOptions(feed_id="f1"))
    assert (info.value.error_count, info.value.considered, info.value.total_lines) == (2, 3, 4)
    assert "feed 'f1' rejected: 2 of 3 entries are invalid (more than 50%)" in str(info.value)
    # exactly half is still accepted; the fraction is configurable
    assert len(parse_plain(b"192.0.2.1\njunk\n").iocs) == 1
    with pytest.raises(FeedRejectedError):
        parse_plain(b"192.0.2.1\n192.0.2.2\njunk\n", ParseOptions(max_junk_fraction=0.25))


def test_errors_kept_are_capped_but_counted():
    data = b"192.0.2.1\n" * 10 + b"junk\n" * 5
    r = parse_plain(data, ParseOptions(max_errors_kept=2))
    assert r.error_count == 5 and [e.line_no for e in r.errors] == [11, 12]


def test_feed_size_cap():
    with pytest.raises(FeedFormatError, match="above the 10-byte limit"):
        parse_plain(b"192.0.2.100\n", ParseOptions(max_bytes=10))


def test_spamhaus_drop_json_lines_and_text():
    r = parse_spamhaus_drop(fixture("spamhaus_drop_v4.json"))
    assert values(r) == ["1.10.16.0/20", "1.19.0.0/16", "2.56.192.0/22", "5.134.128.0/19"]
    assert (r.skipped, r.error_count, r.total_lines) == (1, 0, 5)
    text = parse_spamhaus_drop(fixture("spamhaus_drop.txt"))
    assert values(text) == ["1.10.16.0/20", "1.19.0.0/16", "2.56.192.0/22"]
    bad = parse_spamhaus_drop(
        b'{"cidr":"1.2.3.0/24"}\n{"cidr":5}\n[1]\n{"cidr":"evil.example"}\n{bad\n2.3.4.0/24\n', ALL
    )
    assert values(bad) == ["1.2.3.0/24", "2.3.4.0/24"]
    assert [e.line_no for e in bad.errors] == [2, 3, 4, 5]


def test_feodo():
    r = parse_feodo(fixture("feodo_ipblocklist.csv"), ParseOptions(feed_id="feodo"))
    assert values(r) == ["162.243.103.246", "50.16.16.211", "45.79.100.94"]
    assert {i.threat_type for i in r.iocs} == {ThreatType.C2}
    # without the commented header the documented column (1) is used
    assert values(parse_feodo(b'"2023-07-07","162.243.103.246","8080"\n')) == ["162.243.103.246"]


def test_urlhaus():
    r = parse_urlhaus(fixture("urlhaus_recent.csv"))
    assert values(r) == [
        "http://182.117.28.56:38925/Mozi.m",
        "https://bad-host.example/Download/payload.exe",
        "http://198.51.100.7/i",
    ]
    assert {(i.kind, i.threat_type) for i in r.iocs} == {(IocKind.URL, ThreatType.MALWARE)}


def test_zeek_intel():
    r = parse_zeek_intel(fixture("zeek_intel.dat"))
    assert values(r) == [
        "192.0.2.66",
        "198.51.100.0/25",
        "malware.example.net",
        "http://bad.example.org/dropper/x.bin",
    ]
    assert (r.skipped, r.errors) == (1, (LineError(8, "invalid domain 'not..valid'"),))
    mixed = parse_zeek_intel(
        b"192.0.2.1\tIntel::ADDR\n10.0.0.0/8\tIntel::ADDR\nx.example\tIntel::SUBNET\n192.0.2.2\n"
        b"192.0.2.3\tADDR\n-\tIntel::DOMAIN\n192.0.2.4\tIntel::ADDR\n",
        ALL,
    )
    assert values(mixed) == ["192.0.2.1", "192.0.2.4"]
    assert [e.line_no for e in mixed.errors] == [2, 3, 4, 5, 6]
    with pytest.raises(FeedFormatError, match="#fields lacks"):
        parse_zeek_intel(b"#fields\tvalue\ttype\n")


def test_stix_bundle():
    r = parse_stix(fixture("stix_bundle.json"), ParseOptions(feed_id="stix", now=NOW))
    got = [(i.kind.value, i.value, i.confidence, i.threat_type.label, i.expires_at) for i in r.iocs]
    assert got == [
        ("ip", "192.0.2.200", 80, "malware", 1_893_456_000.0),
        ("domain", "evil.example.com", 100, "malware", None),  # relationship → malware
        ("url", "http://evil.example.com/it's", 100, "malware", None),
        ("ip", "2001:db8::dead", 100, "malware", None),
        ("ip", "203.0.113.0/24", 100, "other", None),
        ("ip", "198.51.100.3", 50, "other", None),  # SCO
        ("domain", "phish.example.org", 50, "other", None),  # SCO
    ]
    # expired indicator, file-hash indicator, snort pattern: skipped, not errors
    assert (r.skipped, r.error_count, r.total_lines) == (3, 0, 10)
    # without `now` nothing is considered expired
    assert "192.0.2.201" in values(parse_stix(fixture("stix_bundle.json")))


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ({"type": "indicator", "pattern": "[ipv4-addr:value = '999.1.1.1']"}, "invalid IPv4 address"),
        ({"type": "indicator", "pattern": "[ipv4-addr:value = 'evil.example']"}, "is not an ipv4-addr value"),
        ({"type": "indicator", "pattern": "[ipv6-addr:value = '192.0.2.1']"}, "is not an ipv6-addr value"),
        ({"type": "indicator", "pattern": "[domain-name:value = 'x']"}, "invalid domain-name"),
        ({"type": "indicator", "pattern": "[url:value = 'nope']"}, "invalid url"),
        ({"type": "indicator", "pattern": 5}, "no string 'pattern'"),
        ({"type": "indicator", "pattern": "ipv4 1.2.3.4"}, "not a STIX pattern"),
        (
            {"type": "indicator", "pattern": "[ipv4-addr:value = '192.0.2.1']", "valid_until": "soon"},
            "valid_until",
        ),
        ({"type": "ipv4-addr"}, "has no value"),
        ("string", "not a JSON object"),
    ],
)
def test_stix_bad_objects(obj: object, reason: str):
    import json

    good = {"type": "indicator", "pattern": "[ipv4-addr:value = '192.0.2.9']"}
    data = json.dumps({"type": "bundle", "objects": [good, good, obj]}).encode()
    r = parse_stix(data)
    assert len(r.errors) == 1 and r.errors[0].line_no == 3 and reason in r.errors[0].reason


def test_stix_compound_and_indicator_types():
    import json

    pattern = (
        "([ipv4-addr:value = '192.0.2.1'] OR [ipv4-addr:value = '192.0.2.2'])"
        " AND [domain-name:value = 'a.example']"
    )
    objs = [
        {
            "type": "indicator",
            "pattern": pattern,
            "indicator_types": ["unknown", "botnet"],
            "confidence": 300,
        },
        {"type": "indicator", "pattern": "[ipv4-addr:value = '192.0.2.3']", "indicator_types": ["unwanted"]},
        {"type": "indicator", "pattern": "[ipv4-addr:value = '192.0.2.4']", "revoked": True},
    ]
    r = parse_stix(json.dumps({"type": "bundle", "objects": objs}).encode())
    assert [(i.value, i.threat_type, i.confidence) for i in r.iocs] == [
        ("192.0.2.1", ThreatType.C2, 100),
        ("192.0.2.2", ThreatType.C2, 100),
        ("a.example", ThreatType.C2, 100),
        ("192.0.2.3", ThreatType.SPAM, 100),
    ]
    assert r.skipped == 1


@pytest.mark.parametrize(
    "doc", [b"[]", b'{"type": "report"}', b'{"type": "bundle", "objects": {}}', b"not json", b"\xff\xfe"]
)
def test_stix_document_errors(doc: bytes):
    with pytest.raises(FeedFormatError):
        parse_stix(doc)


def test_generic_csv_with_header_and_columns():
    opts = ParseOptions(
        separator=";",
        skip_header=True,
        value_field="indicator",
        confidence_field="score",
        category_field="kind",
    )
    r = parse_csv(fixture("generic_with_header.csv"), opts)
    got = [(i.value, i.confidence, i.threat_type) for i in r.iocs]
    assert got == [
        ("192.0.2.50", 90, ThreatType.C2),
        ("192.0.2.51", 100, ThreatType.SCANNER),  # "n/a" → the default confidence
        ("192.0.2.52", 100, ThreatType.SPAM),  # 250 clamped
        ("scanner.example.com", 40, ThreatType.SCANNER),
    ]
    assert [e.line_no for e in r.errors] == [6, 7]
    # by index, no header
    by_index = parse_csv(
        b"x,192.0.2.1,80\ny,192.0.2.2,10\n", ParseOptions(value_field=1, confidence_field="2")
    )
    assert [(i.value, i.confidence) for i in by_index.iocs] == [("192.0.2.1", 80), ("192.0.2.2", 10)]
    # the default `ip` column falls back to column 0
    assert values(parse_csv(b"192.0.2.1,foo\n")) == ["192.0.2.1"]
    assert values(parse_csv(b"IP,Other\n192.0.2.8,x\n", ParseOptions(skip_header=True))) == ["192.0.2.8"]
    with pytest.raises(FeedFormatError, match="column 'addr' is not in the feed's header"):
        parse_csv(b"ip,x\n192.0.2.1,y\n", ParseOptions(skip_header=True, value_field="addr"))


def test_generic_json_nested_and_top_level():
    opts = ParseOptions(
        items_path="data.indicators",
        value_field="observable.value",
        confidence_field="score",
        category_field="tags",
    )
    r = parse_json(fixture("generic_nested.json"), opts)
    assert [(i.value, i.confidence, i.threat_type) for i in r.iocs] == [
        ("192.0.2.77", 75, ThreatType.C2),
        ("2001:db8::77", 100, ThreatType.OTHER),
        ("c2.example.net", 12, ThreatType.C2),
        ("198.51.100.77", 100, ThreatType.OTHER),
    ]
    assert [e.line_no for e in r.errors] == [5, 6] and r.total_lines == 6
    flat = parse_json(b'[{"ip": "192.0.2.1", "confidence": 60, "category": "malware"}]')
    assert [(i.value, i.confidence, i.threat_type) for i in flat.iocs] == [
        ("192.0.2.1", 60, ThreatType.MALWARE)
    ]
    with pytest.raises(FeedFormatError, match="set items_path"):
        parse_json(b'{"data": []}')
    with pytest.raises(FeedFormatError, match=r"no array of items at 'data\.x'"):
        parse_json(b'{"data": {}}', ParseOptions(items_path="data.x"))


def test_json_depth_cap():
    ok = b"[" * 63 + b"]" * 63
    r = parse_json(ok, ALL)
    assert r.total_lines == 1 and r.error_count == 1
    with pytest.raises(FeedFormatError, match="nesting deeper than 64"):
        parse_json(b"[" * 65 + b"]" * 65)
    with pytest.raises(FeedFormatError, match="nesting deeper than 64"):
        parse_json(b"[" * 100_000 + b"]" * 100_000)


def test_dispatch_by_name():
    assert values(parse_feed(b"192.0.2.1\n", "txt")) == ["192.0.2.1"]
    assert values(parse_feed(b'["192.0.2.1"]', FeedFormat.JSON)) == ["192.0.2.1"]
    assert values(parse_feed(b"192.0.2.1 ; SBL1\n", "spamhaus")) == ["192.0.2.1"]
