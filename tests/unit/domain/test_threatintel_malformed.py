"""Feed parsers never fail with anything but their own errors, and the fast path changes nothing."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.threatintel import (
    FeedFormat,
    ParseOptions,
    ParseResult,
    ThreatIntelError,
    parse_feed,
    parse_plain,
)
from sentinel_domain.threatintel.parsers._common import Collector, decode_text, split_lines
from sentinel_domain.threatintel.parsers.plain import plain_line

ALL = ParseOptions(max_junk_fraction=1.0)

CORPUS = [
    b"",
    b"\n",
    b"\r\n\r\n",
    b"\xef\xbb\xbf",
    b"\x00\x00\x00",
    b"\xff" * 64,
    b"[" * 5000,
    b"{" * 5000,
    b'{"type": "bundle", "objects": [' + b"[" * 3000 + b"]" * 3000 + b"]}",
    b'{"type":"bundle","objects":[{"type":"indicator","pattern":"[ipv4-addr:value = \''
    + b"\\" * 999
    + b"']\"}]}",
    b"1" * 100_000,
    b"9" * 5000 + b"\n",
    b'"' * 1000,
    b'"unterminated\n' * 10,
    b"#fields\tindicator\tindicator_type\n" + b"\t" * 1000,
    b"1e99999\n",
    b'[{"ip": 1e400, "confidence": 1e400}]',
    b'[{"ip": "192.0.2.1", "confidence": NaN}]',
    b"[" + b"9" * 5000 + b"]",
    b"http://\n",
    b"192.0.2.1/" + b"9" * 400 + b"\n",
    b"\xed\xa0\x80.example\n",  # an encoded surrogate (invalid UTF-8)
    "bücher.\u2028example\n".encode(),
    b"xn--" + b"a" * 300 + b".example\n",
    b"a\x00b.example\n",
]


@pytest.mark.parametrize("fmt", list(FeedFormat))
@pytest.mark.parametrize("data", CORPUS, ids=range(len(CORPUS)))
def test_corpus_never_escapes(fmt: FeedFormat, data: bytes):
    for options in (ParseOptions(), ALL):
        try:
            result = parse_feed(data, fmt, options)
        except ThreatIntelError:
            continue
        assert isinstance(result, ParseResult)
        assert result.error_count >= len(result.errors)
        for ioc in result.iocs:
            assert ioc.value


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400), fmt=st.sampled_from(list(FeedFormat)))
def test_arbitrary_bytes_never_escape(data: bytes, fmt: FeedFormat):
    try:
        result = parse_feed(data, fmt, ALL)
    except ThreatIntelError:
        return
    assert len(result.iocs) + result.error_count + result.skipped <= max(result.total_lines, 1) * 8


line_parts = st.sampled_from(
    [
        "192.0.2.1",
        "203.0.113.254",
        "1.2.3.4",
        "127.0.0.1",
        "0.0.0.0",
        "224.1.1.1",
        "01.2.3.4",
        "1.2.3",
        "2001:db8::1",
        "198.51.100.0/24",
        "evil.example",
        "http://x.example/a",
        "#",
        ";",
        " ",
        "\t",
        "\r",
        "\x0b",
        "\xa0",
        "/",
        ".",
        "5",
        "SBL1",
        "\udcff",
        "é",
    ]
)
lines = st.lists(st.lists(line_parts, max_size=4).map("".join), max_size=40)


@settings(max_examples=300, deadline=None)
@given(feed_lines=lines, trailing_newline=st.booleans(), prefix=st.sampled_from(["#", "//", "1", " x"]))
def test_fast_path_equals_the_exact_line_reader(feed_lines: list[str], trailing_newline: bool, prefix: str):
    text = "\n".join(feed_lines) + ("\n" if trailing_newline and feed_lines else "")
    data = text.encode("utf-8", "surrogateescape")
    options = ParseOptions(comment_prefix=prefix, max_junk_fraction=1.0)
    got = parse_plain(data, options)
    reference = Collector(options)
    for no, line in enumerate(split_lines(decode_text(data)), 1):
        plain_line(reference, no, line)
    expected = reference.finish()
    assert list(got.iocs) == list(expected.iocs)
    assert got.errors == expected.errors
    assert got.total_lines == len(split_lines(decode_text(data)))
