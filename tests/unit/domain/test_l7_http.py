"""HTTP/1.x request parser: fields, pipelining, smuggling anomalies, caps, h11 as an oracle."""

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentinel_domain.l7 import (
    HttpAnomaly,
    HttpParseError,
    HttpRequest,
    HttpRequests,
    NeedMoreData,
    parse_http_request,
    parse_http_requests,
)

A = HttpAnomaly
SIMPLE = b"GET /index.html?x=1 HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent: t\r\n\r\n"


def only(data: bytes) -> HttpRequest:
    result = parse_http_requests(data)
    assert len(result.requests) == 1, result
    return result.requests[0]


# --- well-formed requests -------------------------------------------------------------------

FIELD_CASES = {
    "origin-form with query": (
        SIMPLE,
        {"method": "GET", "path": "/index.html", "query": "x=1", "hostname": "example.com"},
    ),
    "absolute-form overrides Host (RFC 9112 §3.2.2)": (
        b"GET http://user@Real.Example:81/a/b?q HTTP/1.1\r\nHost: other\r\n\r\n",
        {"path": "/a/b", "query": "q", "hostname": "real.example", "host": "other"},
    ),
    "absolute-form without path": (
        b"GET http://x.org HTTP/1.1\r\nHost: x.org\r\n\r\n",
        {"path": "/", "query": None, "hostname": "x.org"},
    ),
    "authority-form CONNECT": (
        b"CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n",
        {"method": "CONNECT", "path": "db.internal:5432", "hostname": "db.internal"},
    ),
    "asterisk-form OPTIONS": (b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", {"path": "*", "query": None}),
    "IPv6 literal host": (b"GET / HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n", {"hostname": "2001:db8::1"}),
    "trailing dot host": (b"GET / HTTP/1.1\r\nHost: example.com.\r\n\r\n", {"hostname": "example.com"}),
    "HTTP/1.0 without Host": (b"GET / HTTP/1.0\r\n\r\n", {"host": None, "version": "HTTP/1.0"}),
    "content type and length": (
        b"POST /api HTTP/1.1\r\nHost: a\r\nContent-Type: application/json; charset=utf-8\r\n"
        b"Content-Length: 2\r\n\r\n{}",
        {"content_type": "application/json; charset=utf-8", "content_length": 2, "body_length": 2},
    ),
    "identical duplicate Content-Length is one length (RFC 9110 §8.6)": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc",
        {"content_length": 3, "anomalies": frozenset()},
    ),
    "chunked body": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        b"1;ext=1\r\nx\r\n0\r\nT: v\r\n\r\n",
        {"chunked": True, "body_length": None, "anomalies": frozenset()},
    ),
    "UTF-8 in the target is kept and flagged": (
        b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
        {"path": "/café", "anomalies": frozenset({A.NON_ASCII_TARGET})},
    ),
    "header value whitespace is trimmed": (
        b"GET / HTTP/1.1\r\nHost: \t a.b \t\r\n\r\n",
        {"host": "a.b", "hostname": "a.b"},
    ),
}


@pytest.mark.parametrize("data, expected", FIELD_CASES.values(), ids=FIELD_CASES.keys())
def test_request_fields(data: bytes, expected: dict[str, object]) -> None:
    request = only(data)
    for name, value in expected.items():
        assert getattr(request, name) == value, name


def test_header_lookup_is_case_insensitive_and_keeps_order() -> None:
    request = only(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\n\r\n")
    assert request.header("X-a") == "1"
    assert request.header_values("X-A") == ("1", "2")
    assert request.header("missing") is None
    assert request.headers == (("Host", "a"), ("X-A", "1"), ("x-a", "2"))


def test_path_and_query_is_the_origin_form_whatever_the_request_form() -> None:
    assert only(b"GET http://h/p?q=1 HTTP/1.1\r\nHost: h\r\n\r\n").path_and_query == "/p?q=1"
    assert only(b"GET /p HTTP/1.1\r\nHost: h\r\n\r\n").path_and_query == "/p"


# --- anomalies (framing still known) ---------------------------------------------------------

ANOMALY_CASES = {
    "bare LF line endings (§2.2)": (b"GET / HTTP/1.1\nHost: a\n\n", A.BARE_LF),
    "bare CR inside a line": (b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", A.BARE_CR),
    "empty lines before request-line": (b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", A.LEADING_EMPTY_LINES),
    "obs-fold (§5.2)": (b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", A.OBS_FOLD),
    "whitespace before first field": (
        b"GET / HTTP/1.1\r\n X: 1\r\nHost: a\r\n\r\n",
        A.WHITESPACE_BEFORE_FIRST_FIELD,
    ),
    "whitespace before colon (§5.1)": (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", A.WHITESPACE_BEFORE_COLON),
    "non-token header name": (b"GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n", A.INVALID_HEADER_NAME),
    "non-ASCII header name": (b"GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: 1\r\n\r\n", A.NON_ASCII_HEADER_NAME),
    "NUL in a value": (b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", A.INVALID_HEADER_VALUE),
    "non-UTF-8 value": (b"GET / HTTP/1.1\r\nHost: a\r\nX: \xff\xfe\r\n\r\n", A.NON_UTF8_VALUE),
    "relative target": (b"GET index.html HTTP/1.1\r\nHost: a\r\n\r\n", A.INVALID_TARGET_FORM),
    "HTTP/1.1 without Host (§3.2)": (b"GET / HTTP/1.1\r\n\r\n", A.MISSING_HOST),
    "duplicate Host (§3.2)": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", A.DUPLICATE_HOST),
    "CL and TE (§6.1)": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        A.CONTENT_LENGTH_AND_TRANSFER_ENCODING,
    ),
    "chunked twice (§6.1)": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        A.CHUNKED_TWICE,
    ),
    "differing Content-Length": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        A.DUPLICATE_CONTENT_LENGTH,
    ),
    "non-numeric Content-Length": (
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nab",
        A.INVALID_CONTENT_LENGTH,
    ),
    "TE not ending in chunked (§6.3)": (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\nab",
        A.TRANSFER_ENCODING_NOT_CHUNKED,
    ),
    "TE in HTTP/1.0 (§6.1)": (
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        A.TRANSFER_ENCODING_IN_HTTP10,
    ),
}


@pytest.mark.parametrize("data, anomaly", ANOMALY_CASES.values(), ids=ANOMALY_CASES.keys())
def test_anomalies_are_flagged(data: bytes, anomaly: HttpAnomaly) -> None:
    assert anomaly in parse_http_requests(data).requests[0].anomalies


def test_a_clean_request_has_no_anomalies() -> None:
    assert only(SIMPLE).anomalies == frozenset()


def test_obs_fold_is_unfolded_with_one_space() -> None:
    assert only(b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t 2\r\n\r\n").header("x") == "1 2"


@pytest.mark.parametrize(
    "data",
    [
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
        b"GET /smuggled HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
    ],
    ids=["conflicting CL", "TE not chunked", "TE in HTTP/1.0"],
)
def test_lost_framing_stops_the_pipeline(data: bytes) -> None:
    result = parse_http_requests(data)
    assert result.framing_lost
    assert [r.path for r in result.requests] == ["/"]
    assert result.consumed == data.index(b"\r\n\r\n") + 4


# --- errors (framing unknown) ----------------------------------------------------------------

ERROR_CASES = {
    "no spaces": b"GET\r\n\r\n",
    "two spaces": b"GET  / HTTP/1.1\r\n\r\n",
    "four parts": b"GET / x HTTP/1.1\r\n\r\n",
    "tab separators": b"GET\t/\tHTTP/1.1\r\n\r\n",
    "method not a token": b"G(T / HTTP/1.1\r\n\r\n",
    "HTTP/2.0 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "lower-case version": b"GET / http/1.1\r\n\r\n",
    "version with letters": b"GET / HTTP/1.x\r\n\r\n",
    "HTTP/0.9 style": b"GET /\r\n\r\n",
    "control byte in target": b"GET /\x01 HTTP/1.1\r\n\r\n",
    "invalid UTF-8 target": b"GET /\xff HTTP/1.1\r\n\r\n",
    "field line without colon": b"GET / HTTP/1.1\r\nHost a\r\n\r\n",
    "empty field name": b"GET / HTTP/1.1\r\n: a\r\n\r\n",
    "too many empty lines first": b"\r\n" * 20 + b"GET / HTTP/1.1\r\n\r\n",
    "binary junk": b"\x16\x03\x01\x00\x05hello\r\n\r\n",
}


@pytest.mark.parametrize("data", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_malformed_first_request_raises(data: bytes) -> None:
    with pytest.raises(HttpParseError):
        parse_http_requests(data)


def test_header_section_cap_8k() -> None:
    head = b"GET / HTTP/1.1\r\nHost: a\r\nX: "
    fits = head + b"a" * (8192 - len(head) - 4) + b"\r\n\r\n"
    assert len(fits) == 8192
    assert only(fits).head_length == 8192
    with pytest.raises(HttpParseError, match="longer than 8192"):
        parse_http_requests(head + b"a" * (8193 - len(head) - 4) + b"\r\n\r\n")
    with pytest.raises(HttpParseError, match="longer than 8192"):
        parse_http_requests(head + b"a" * 9000)  # no end in sight: not need-more-data


def test_header_count_cap() -> None:
    fields = b"".join(b"X-%d: 1\r\n" % i for i in range(100))
    assert len(only(b"GET / HTTP/1.1\r\n" + fields + b"\r\n").headers) == 100
    with pytest.raises(HttpParseError, match="more than 100"):
        parse_http_requests(b"GET / HTTP/1.1\r\n" + fields + b"X: 1\r\n\r\n")


def test_header_count_cap_is_configurable() -> None:
    with pytest.raises(HttpParseError, match="more than 3"):
        parse_http_requests(b"GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n", max_headers=3)


def test_bad_chunk_after_a_good_head_is_reported_not_raised() -> None:
    result = parse_http_requests(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert [r.method for r in result.requests] == ["POST"]
    assert isinstance(result.error, HttpParseError)


def test_chunk_size_digit_cap() -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 17 + b"\r\n"
    assert isinstance(parse_http_requests(data).error, HttpParseError)


# --- need more data ----------------------------------------------------------------------------

NEED_MORE_CASES = {
    "empty buffer": b"",
    "half a request line": b"GET /ind",
    "head without blank line": b"GET / HTTP/1.1\r\nHost: a\r\n",
    "lone CR before request": b"\r",
    "ends after CR of blank line": b"GET / HTTP/1.1\r\nHost: a\r\n\r",
}


@pytest.mark.parametrize("data", NEED_MORE_CASES.values(), ids=NEED_MORE_CASES.keys())
def test_incomplete_head_is_need_more_data_not_an_error(data: bytes) -> None:
    result = parse_http_request(data)
    assert isinstance(result, NeedMoreData)
    assert result.protocol == "http"
    assert result.at_least > len(data)


def test_incomplete_body_keeps_the_head() -> None:
    result = parse_http_requests(b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
    assert [r.path for r in result.requests] == ["/up"]
    assert result.need_more is not None
    head = b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n"
    assert result.need_more.at_least == len(head) + 10
    assert result.consumed == 0


# --- pipelining ----------------------------------------------------------------------------------

PIPELINE = (
    b"POST /one HTTP/1.1\r\nHost: a\r\nContent-Length: 27\r\n\r\nGET /not-a-request HTTP/1.1"
    b"PUT /two HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"1b\r\nGET /not-a-request HTTP/1.1\r\n0\r\n\r\n"
    b"GET /three HTTP/1.1\r\nHost: a\r\n\r\n"
)


def test_pipelined_requests_skip_bodies() -> None:
    result = parse_http_requests(PIPELINE)
    assert [r.path for r in result.requests] == ["/one", "/two", "/three"]
    assert result.consumed == len(PIPELINE)
    assert result.need_more is None and result.error is None


def test_every_split_point_gives_a_prefix_of_the_pipeline() -> None:
    full = [r.path for r in parse_http_requests(PIPELINE).requests]
    for cut in range(len(PIPELINE) + 1):
        result = parse_http_requests(PIPELINE[:cut])
        paths = [r.path for r in result.requests]
        assert paths == full[: len(paths)], cut
        assert result.error is None
        # Either the buffer ends inside a request (need more data) or exactly after one.
        assert (result.need_more is not None) != (result.consumed == cut and len(paths) > 0), cut
        assert result.consumed <= cut


def test_pipeline_cap_leaves_the_rest_unconsumed() -> None:
    data = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" * 5
    result = parse_http_requests(data, max_requests=2)
    assert len(result.requests) == 2
    assert result.consumed == 2 * len(data) // 5


def test_malformed_later_request_is_reported_with_the_earlier_ones() -> None:
    result = parse_http_requests(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nBROKEN\r\n\r\n")
    assert [r.path for r in result.requests] == ["/a"]
    assert isinstance(result.error, HttpParseError)
    assert result.consumed == len(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n")


def test_trailing_empty_lines_are_consumed() -> None:
    data = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\r\n\r\n"
    result = parse_http_requests(data)
    assert len(result.requests) == 1 and result.consumed == len(data)


def test_chunked_body_with_bare_lf_is_flagged() -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\n0\n\n"
    result = parse_http_requests(data)
    assert A.BARE_LF in result.requests[0].anomalies
    assert result.consumed == len(data)


# --- h11 as an oracle ------------------------------------------------------------------------------

_NAMES = st.sampled_from([b"Host", b"X-A", b"Content-Type", b"Accept", b"X A", b"X\xc3\xa9", b"Host ", b"X:"])
_VALUES = st.sampled_from([b"a", b"example.com", b"a b", b"", b"\x00", b"v\rw", b"\xff", b"text/html"])
_EOL = st.sampled_from([b"\r\n", b"\r\n", b"\n"])


@st.composite
def request_heads(draw: st.DrawFn) -> bytes:
    method = draw(st.sampled_from([b"GET", b"POST", b"DELETE", b"G(T"]))
    target = draw(st.sampled_from([b"/", b"/a?b", b"http://h/x", b"/\xc3\xa9", b"*"]))
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0"]))
    lines = [b" ".join((method, target, version))]
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()) and len(lines) > 1 and draw(st.integers(0, 5)) == 0:
            lines.append(b" folded")
        else:
            lines.append(draw(_NAMES) + b": " + draw(_VALUES))
    return b"".join(line + draw(_EOL) for line in lines) + draw(_EOL)


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _h11(data: bytes) -> object:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    try:
        return conn.next_event()
    except h11.RemoteProtocolError:
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request_heads())
def test_h11_oracle(data: bytes) -> None:
    """h11 accepts ⇒ we read the same request; h11 rejects ⇒ we raise or flag an anomaly."""
    theirs = _h11(data)
    try:
        ours = parse_http_requests(data).requests[0]
    except HttpParseError:
        assert not isinstance(theirs, h11.Request)
        return
    if isinstance(theirs, h11.Request):
        assert ours.method.encode() == theirs.method
        assert ours.target.encode() == theirs.target
        assert [(n.lower().encode("latin-1"), v) for n, v in ours.headers] == [
            (n, _text(v)) for n, v in theirs.headers
        ]
    else:
        assert ours.anomalies, data


# --- hostile input: only results or HttpParseError -----------------------------------------------


def _check(data: bytes) -> None:
    try:
        result = parse_http_requests(data)
    except HttpParseError:
        return
    assert isinstance(result, HttpRequests)
    assert 0 <= result.consumed <= len(data)
    single = parse_http_request(data)
    assert isinstance(single, HttpRequest | NeedMoreData)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    _check(data)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from([SIMPLE, PIPELINE, *(case[0] for case in FIELD_CASES.values())]),
    st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255), st.sampled_from("fidx")), max_size=8),
)
def test_mutated_requests_never_raise_anything_else(seed: bytes, edits: list[tuple[int, int, str]]) -> None:
    data = bytearray(seed)
    for where, byte, kind in edits:
        at = where % (len(data) + 1)
        if kind == "f" and at < len(data):
            data[at] ^= byte or 1
        elif kind == "i":
            data[at:at] = bytes([byte])
        elif kind == "d":
            del data[at : at + byte % 16]
        else:
            data[at:at] = data[at : at + byte % 64]  # duplicate a range (repeated headers, lengths)
    _check(bytes(data))
