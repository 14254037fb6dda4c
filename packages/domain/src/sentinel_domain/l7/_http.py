"""HTTP/1.x request parser (RFC 9112), pipelining-aware, with request-smuggling anomalies.

Sans-IO: bytes in, :class:`HttpRequests` out. A rule violation that still leaves the message
framing known is reported as an :class:`HttpAnomaly` (the caller decides what a smuggling hint is
worth); a violation that loses the framing raises :class:`HttpParseError`.
"""

import re
from dataclasses import dataclass, field, replace

from sentinel_domain.l7._common import NeedMoreData
from sentinel_domain.l7._http_body import parse_content_length, skip_chunked
from sentinel_domain.l7._http_head import HttpAnomaly, RequestHead, parse_head
from sentinel_domain.l7.errors import HttpParseError

MAX_HEADER_BYTES = 8192
MAX_HEADERS = 100
MAX_PIPELINED = 64
_NOT_EMPTY_LINE = re.compile(rb"[^\r\n]")


# Anomalies after which the end of the body is unknown: the pipeline stops there.
FRAMING_LOST = frozenset(
    {
        HttpAnomaly.DUPLICATE_CONTENT_LENGTH,
        HttpAnomaly.INVALID_CONTENT_LENGTH,
        HttpAnomaly.TRANSFER_ENCODING_NOT_CHUNKED,
        HttpAnomaly.TRANSFER_ENCODING_IN_HTTP10,
    }
)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request head.

    ``path`` is the path component (``*`` for asterisk-form, ``host:port`` for authority-form);
    ``query`` the part after ``?`` or None. ``host`` is the first Host field value as sent;
    ``hostname`` is the lower-cased host without port or brackets, taken from the absolute-form
    target when there is one (RFC 9112 §3.2.2: the target's authority overrides Host).
    ``body_length`` is None for a chunked body or when the framing is lost.
    """

    method: str
    target: str
    path: str
    query: str | None
    version: str
    headers: tuple[tuple[str, str], ...]
    host: str | None = None
    hostname: str | None = None
    content_type: str | None = None
    content_length: int | None = None
    chunked: bool = False
    body_length: int | None = 0
    anomalies: frozenset[HttpAnomaly] = field(default=frozenset())
    offset: int = 0
    head_length: int = 0

    @property
    def path_and_query(self) -> str:
        """The origin-form target (``/p?q``), whatever form the request used; rules match this."""
        return self.path if self.query is None else f"{self.path}?{self.query}"

    def header(self, name: str) -> str | None:
        """The first value of field ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), None)

    def header_values(self, name: str) -> tuple[str, ...]:
        """Every value of field ``name`` in order (case-insensitive)."""
        wanted = name.lower()
        return tuple(v for n, v in self.headers if n.lower() == wanted)


@dataclass(frozen=True, slots=True)
class HttpRequests:
    """What one buffer holds: complete request heads in order.

    ``consumed`` counts the bytes of requests whose head and body are complete. ``need_more`` is
    set when the buffer ends inside a request (its head is in ``requests`` when the head was
    complete); ``framing_lost`` when a request's body end is unknown (parsing stopped after it
    and ``consumed`` ends with its head); ``error`` when a later request was malformed (the ones
    before it are still returned). An empty buffer, or one of empty lines only, is need-more-data.
    """

    requests: tuple[HttpRequest, ...]
    consumed: int
    need_more: NeedMoreData | None = None
    framing_lost: bool = False
    error: HttpParseError | None = None


def _framing(head: RequestHead, anomalies: set[HttpAnomaly]) -> tuple[int | None, bool, int | None]:
    """(content_length, chunked, body_length) from the fields; adds framing anomalies."""
    lengths = [v for n, v in head.fields if n.lower() == "content-length"]
    encodings = [v for n, v in head.fields if n.lower() == "transfer-encoding"]
    parsed = parse_content_length(lengths)
    content_length = parsed if isinstance(parsed, int) else None
    if parsed == "invalid":
        anomalies.add(HttpAnomaly.INVALID_CONTENT_LENGTH)
    elif parsed == "conflict":
        anomalies.add(HttpAnomaly.DUPLICATE_CONTENT_LENGTH)
    if encodings:
        if lengths:
            # §6.1: "Such a message might indicate an attempt to perform request smuggling".
            anomalies.add(HttpAnomaly.CONTENT_LENGTH_AND_TRANSFER_ENCODING)
            anomalies.discard(HttpAnomaly.INVALID_CONTENT_LENGTH)
            anomalies.discard(HttpAnomaly.DUPLICATE_CONTENT_LENGTH)
        codings = [c.strip(" \t").lower() for v in encodings for c in v.split(",") if c.strip(" \t")]
        if codings.count("chunked") > 1:
            anomalies.add(HttpAnomaly.CHUNKED_TWICE)
        if head.version == "HTTP/1.0":
            # §6.1: a TE in an HTTP/1.0 message MUST be treated as faulty framing.
            anomalies.add(HttpAnomaly.TRANSFER_ENCODING_IN_HTTP10)
            return content_length, False, None
        if not codings or codings[-1] != "chunked":
            # §6.3 rule 4: chunked not final ⇒ the body length cannot be determined reliably.
            anomalies.add(HttpAnomaly.TRANSFER_ENCODING_NOT_CHUNKED)
            return content_length, False, None
        return content_length, True, None
    if content_length is None:
        # §6.3 rule 7: a request without Content-Length or Transfer-Encoding has no body.
        return None, False, None if anomalies & FRAMING_LOST else 0
    return content_length, False, content_length


def _request(buf: bytes, start: int, max_header_bytes: int, max_headers: int) -> HttpRequest | NeedMoreData:
    head = parse_head(buf, start, max_header_bytes, max_headers)
    if isinstance(head, NeedMoreData):
        return head
    anomalies = set(head.anomalies)
    hosts = [v for n, v in head.fields if n.lower() == "host"]
    if len(hosts) > 1:
        anomalies.add(HttpAnomaly.DUPLICATE_HOST)
    elif not hosts and head.version == "HTTP/1.1":
        anomalies.add(HttpAnomaly.MISSING_HOST)
    content_length, chunked, body_length = _framing(head, anomalies)
    content_type = next((v for n, v in head.fields if n.lower() == "content-type"), None)
    host = hosts[0] if hosts else None
    hostname = head.authority if head.authority is not None else host
    return HttpRequest(
        method=head.method,
        target=head.target,
        path=head.path,
        query=head.query,
        version=head.version,
        headers=head.fields,
        host=host,
        hostname=_hostname(hostname) if hostname is not None else None,
        content_type=content_type,
        content_length=content_length,
        chunked=chunked,
        body_length=body_length,
        anomalies=frozenset(anomalies),
        offset=head.offset,
        head_length=head.end - head.offset,
    )


def _hostname(authority: str) -> str:
    """``[v6]:port`` / ``host:port`` / ``user@host`` → lower-cased host without a trailing dot."""
    text = authority.strip().rpartition("@")[2]
    if text.startswith("["):
        inner, sep, _ = text[1:].partition("]")
        return inner.lower() if sep else text.lower()
    host, sep, port = text.rpartition(":")
    if sep and (port.isdigit() or not port):
        text = host
    return text.rstrip(".").lower()


def parse_http_requests(
    data: bytes | bytearray | memoryview,
    *,
    max_header_bytes: int = MAX_HEADER_BYTES,
    max_headers: int = MAX_HEADERS,
    max_requests: int = MAX_PIPELINED,
) -> HttpRequests:
    """Parse the pipelined HTTP/1.x requests at the start of ``data``.

    Promises: returns or raises :class:`HttpParseError`, nothing else, for any bytes. It raises
    only when the first request is malformed; a later malformed request ends the list and is
    reported in ``error``. Bodies are skipped by Content-Length or chunked coding (RFC 9112 §6.3);
    at most ``max_requests`` requests are read, the rest is left unconsumed. A head larger than
    ``max_header_bytes`` or with more than ``max_headers`` field lines is an error.
    """
    buf = bytes(data)
    requests: list[HttpRequest] = []
    pos = 0
    while pos < len(buf) and len(requests) < max_requests:
        if _NOT_EMPTY_LINE.search(buf, pos) is None:
            pos = len(buf)  # only empty lines left (§2.2)
            break
        try:
            outcome = _request(buf, pos, max_header_bytes, max_headers)
        except HttpParseError as exc:
            if not requests:
                raise
            return HttpRequests(tuple(requests), pos, error=exc)
        if isinstance(outcome, NeedMoreData):
            return HttpRequests(tuple(requests), pos, need_more=outcome)
        requests.append(outcome)
        body_start = outcome.offset + outcome.head_length
        if outcome.chunked:
            try:
                end = skip_chunked(buf, body_start)
            except HttpParseError as exc:
                return HttpRequests(tuple(requests), pos, error=exc)
            if isinstance(end, NeedMoreData):
                return HttpRequests(tuple(requests), pos, need_more=end)
            if end[1] and HttpAnomaly.BARE_LF not in outcome.anomalies:
                requests[-1] = _with_anomaly(outcome, HttpAnomaly.BARE_LF)
            pos = end[0]
        elif outcome.body_length is None:
            return HttpRequests(tuple(requests), body_start, framing_lost=True)
        else:
            end_of_body = body_start + outcome.body_length
            if end_of_body > len(buf):
                return HttpRequests(
                    tuple(requests), pos, need_more=NeedMoreData("http", end_of_body, "body incomplete")
                )
            pos = end_of_body
    if not requests:
        return HttpRequests((), pos, need_more=NeedMoreData("http", len(buf) + 1, "no request yet"))
    return HttpRequests(tuple(requests), pos)


def _with_anomaly(request: HttpRequest, anomaly: HttpAnomaly) -> HttpRequest:
    return replace(request, anomalies=request.anomalies | {anomaly})


def parse_http_request(data: bytes | bytearray | memoryview) -> HttpRequest | NeedMoreData:
    """The first request head of ``data`` (its body need not be complete), or need-more-data.

    Raises :class:`HttpParseError` when that request is malformed, as :func:`parse_http_requests`.
    """
    result = parse_http_requests(data, max_requests=1)
    if result.requests:
        return result.requests[0]
    return result.need_more or NeedMoreData("http", len(data) + 1, "no request yet")
