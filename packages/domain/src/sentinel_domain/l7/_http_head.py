"""HTTP/1.x request head: request-line and field lines (RFC 9112 §2-§5)."""

import enum
from dataclasses import dataclass

from sentinel_domain.l7._common import NeedMoreData, decode_text
from sentinel_domain.l7.errors import HttpParseError

MAX_LEADING_EMPTY_LINES = 16
_TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_DIGITS = frozenset(b"0123456789")


class HttpAnomaly(enum.Enum):
    """Departures from RFC 9112 that a server might read differently from us (smuggling hints)."""

    BARE_LF = "bare_lf"  # §2.2: a line ended by LF alone
    BARE_CR = "bare_cr"  # §2.2: a CR not followed by LF
    LEADING_EMPTY_LINES = "leading_empty_lines"  # §2.2: empty lines before the request-line
    WHITESPACE_BEFORE_FIRST_FIELD = "whitespace_before_first_field"  # §2.2
    OBS_FOLD = "obs_fold"  # §5.2: a field line continued on the next line
    WHITESPACE_BEFORE_COLON = "whitespace_before_colon"  # §5.1: servers MUST reject these
    INVALID_HEADER_NAME = "invalid_header_name"  # RFC 9110 §5.1: the name is not a token
    NON_ASCII_HEADER_NAME = "non_ascii_header_name"
    INVALID_HEADER_VALUE = "invalid_header_value"  # RFC 9110 §5.5: NUL or other controls
    NON_UTF8_VALUE = "non_utf8_value"
    NON_ASCII_TARGET = "non_ascii_target"
    INVALID_TARGET_FORM = "invalid_target_form"  # §3.2: not origin/absolute/authority/asterisk form
    MISSING_HOST = "missing_host"  # §3.2: HTTP/1.1 request without Host
    DUPLICATE_HOST = "duplicate_host"  # §3.2: more than one Host field line
    CONTENT_LENGTH_AND_TRANSFER_ENCODING = "content_length_and_transfer_encoding"  # §6.1
    DUPLICATE_CONTENT_LENGTH = "duplicate_content_length"  # differing values (RFC 9110 §8.6)
    INVALID_CONTENT_LENGTH = "invalid_content_length"  # §6.3 rule 5
    TRANSFER_ENCODING_NOT_CHUNKED = "transfer_encoding_not_chunked"  # §6.3 rule 4
    CHUNKED_TWICE = "chunked_twice"  # §6.1: chunked MUST NOT be applied more than once
    TRANSFER_ENCODING_IN_HTTP10 = "transfer_encoding_in_http10"  # §6.1


@dataclass(frozen=True, slots=True)
class RequestHead:
    """The raw parts of a head; ``authority`` is the target's host part (absolute/authority form)."""

    method: str
    target: str
    path: str
    query: str | None
    authority: str | None
    version: str
    fields: tuple[tuple[str, str], ...]
    anomalies: frozenset[HttpAnomaly]
    offset: int
    end: int


def _lines(
    buf: bytes, start: int, max_bytes: int, max_lines: int, anomalies: set[HttpAnomaly]
) -> tuple[list[bytes], int] | NeedMoreData:
    """Split the head at ``start`` into lines up to the empty line; return them and the head end.

    §2.2: "a recipient MAY recognize a single LF as a line terminator and ignore any preceding
    CR" — we do, and report BARE_LF. The whole head, empty line included, must fit ``max_bytes``.
    """
    limit = min(len(buf), start + max_bytes)
    lines: list[bytes] = []
    pos = start
    while True:
        nl = buf.find(b"\n", pos, limit)
        if nl == -1:
            if len(buf) >= start + max_bytes:
                raise HttpParseError(f"request head longer than {max_bytes} bytes", start)
            return NeedMoreData("http", len(buf) + 1, "request head incomplete")
        line = buf[pos:nl]
        if line.endswith(b"\r"):
            line = line[:-1]
        else:
            anomalies.add(HttpAnomaly.BARE_LF)
        if b"\r" in line:
            anomalies.add(HttpAnomaly.BARE_CR)
        pos = nl + 1
        if not line:
            return lines, pos
        if len(lines) >= max_lines:
            raise HttpParseError(f"more than {max_lines - 1} header field lines", start)
        lines.append(line)


def _split_target(
    target: str, method: str, anomalies: set[HttpAnomaly]
) -> tuple[str, str | None, str | None]:
    """(path, query, authority) of a request-target in any of the four forms of §3.2."""
    if target.startswith("/"):
        path, sep, query = target.partition("?")
        return path, query if sep else None, None
    scheme, sep, rest = target.partition("://")
    if sep and scheme.lower() in ("http", "https"):
        cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i != -1), default=len(rest))
        authority, tail = rest[:cut], rest[cut:].partition("#")[0]
        path, qsep, query = tail.partition("?")
        return path or "/", query if qsep else None, authority
    if target == "*" and method == "OPTIONS":
        return "*", None, None
    if method == "CONNECT":
        return target, None, target
    anomalies.add(HttpAnomaly.INVALID_TARGET_FORM)
    return target, None, None


def _request_line(line: bytes, start: int, anomalies: set[HttpAnomaly]) -> tuple[str, str, str]:
    """``method SP request-target SP HTTP-version`` (§3), single spaces, token method."""
    parts = line.split(b" ")
    if len(parts) != 3 or not all(parts):
        raise HttpParseError(
            "request-line is not 'method SP request-target SP HTTP-version' (RFC 9112 §3)", start
        )
    method, target, version = parts
    if any(b not in _TCHAR for b in method):
        raise HttpParseError(f"method {method[:32]!r} is not a token (RFC 9110 §9.1)", start)
    # §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT; this parser reads HTTP/1.x only.
    if not (len(version) == 8 and version.startswith(b"HTTP/") and version[6] == 0x2E):
        raise HttpParseError(f"invalid HTTP-version {version[:16]!r} (RFC 9112 §2.3)", start)
    if version[5] not in _DIGITS or version[7] not in _DIGITS:
        raise HttpParseError(f"invalid HTTP-version {version[:16]!r} (RFC 9112 §2.3)", start)
    if version[5] != 0x31:
        raise HttpParseError(f"HTTP-version {version.decode('ascii')} is not HTTP/1.x", start)
    if any(b < 0x21 or b == 0x7F for b in target):
        raise HttpParseError("request-target contains whitespace or control bytes (RFC 9112 §3.2)", start)
    if not target.isascii():
        anomalies.add(HttpAnomaly.NON_ASCII_TARGET)
    text, utf8 = decode_text(target)
    if not utf8:
        raise HttpParseError("request-target is not valid UTF-8", start)
    return method.decode("ascii"), text, version.decode("ascii")


def _field(raw: bytes, anomalies: set[HttpAnomaly], start: int) -> tuple[str, str]:
    """One ``field-name ":" OWS field-value OWS`` line (§5)."""
    colon = raw.find(b":")
    if colon <= 0:
        raise HttpParseError("field line without a name followed by ':' (RFC 9112 §5)", start)
    name = raw[:colon]
    if name[-1] in (0x20, 0x09):
        # §5.1: "No whitespace is allowed between the field name and colon."
        anomalies.add(HttpAnomaly.WHITESPACE_BEFORE_COLON)
        name = name.rstrip(b" \t")
    if not name.isascii():
        anomalies.add(HttpAnomaly.NON_ASCII_HEADER_NAME)
    elif not name or any(b not in _TCHAR for b in name):
        anomalies.add(HttpAnomaly.INVALID_HEADER_NAME)
    value = raw[colon + 1 :].strip(b" \t")
    return name.decode("latin-1"), _value(value, anomalies)


def _value(raw: bytes, anomalies: set[HttpAnomaly]) -> str:
    if any((b < 0x20 and b != 0x09) or b == 0x7F for b in raw):
        anomalies.add(HttpAnomaly.INVALID_HEADER_VALUE)
    text, utf8 = decode_text(raw)
    if not utf8:
        anomalies.add(HttpAnomaly.NON_UTF8_VALUE)
    return text


def parse_head(buf: bytes, start: int, max_bytes: int, max_fields: int) -> RequestHead | NeedMoreData:
    """Parse the request head at ``buf[start:]``; raise HttpParseError when it is malformed."""
    anomalies: set[HttpAnomaly] = set()
    pos, skipped = start, 0
    # §2.2: a server "SHOULD ignore at least one empty line (CRLF) received prior to the request-line".
    while pos < len(buf) and buf[pos] in (0x0D, 0x0A) and skipped < MAX_LEADING_EMPTY_LINES:
        if buf.startswith(b"\r\n", pos):
            pos += 2
        elif buf[pos] == 0x0A:
            pos += 1
            anomalies.add(HttpAnomaly.BARE_LF)
        elif pos + 1 == len(buf):
            return NeedMoreData("http", len(buf) + 1, "request head incomplete")
        else:
            break
        skipped += 1
    if skipped:
        anomalies.add(HttpAnomaly.LEADING_EMPTY_LINES)
    split = _lines(buf, pos, max_bytes, max_fields + 1, anomalies)
    if isinstance(split, NeedMoreData):
        return split
    lines, end = split
    if not lines:
        raise HttpParseError(
            f"more than {MAX_LEADING_EMPTY_LINES} empty lines before the request-line", start
        )
    method, target, version = _request_line(lines[0], pos, anomalies)
    path, query, authority = _split_target(target, method, anomalies)
    fields: list[tuple[str, str]] = []
    for raw in lines[1:]:
        if raw[0] in (0x20, 0x09):
            if not fields:
                # §2.2: whitespace-preceded lines before the first field are consumed unprocessed.
                anomalies.add(HttpAnomaly.WHITESPACE_BEFORE_FIRST_FIELD)
                continue
            # §5.2: obs-fold may be replaced by SP; we unfold and flag it.
            anomalies.add(HttpAnomaly.OBS_FOLD)
            name, value = fields[-1]
            continued = _value(raw.strip(b" \t"), anomalies)
            fields[-1] = (name, f"{value} {continued}".strip(" "))
            continue
        fields.append(_field(raw, anomalies, pos))
    return RequestHead(
        method, target, path, query, authority, version, tuple(fields), frozenset(anomalies), pos, end
    )
