"""HTTP/1.x message framing: where a request's body ends (RFC 9112 §6 and §7.1).

Only needed to find the next request of a pipeline; body bytes are skipped, never kept.
"""

from sentinel_domain.l7._common import NeedMoreData
from sentinel_domain.l7.errors import HttpParseError

MAX_CHUNK_LINE = 4096  # chunk-size line incl. extensions; RFC 9112 §7.1.1 lets recipients limit these
MAX_TRAILER_BYTES = 8192
_HEX = frozenset(b"0123456789abcdefABCDEF")


def _line_end(buf: bytes, pos: int, cap: int, what: str) -> int | NeedMoreData:
    """Index of the LF ending the line at ``pos``; need-more-data when absent within ``cap``."""
    nl = buf.find(b"\n", pos, pos + cap)
    if nl != -1:
        return nl
    if len(buf) - pos >= cap:
        raise HttpParseError(f"{what} longer than {cap} bytes", pos)
    return NeedMoreData("http", len(buf) + 1, f"{what} incomplete")


def skip_chunked(buf: bytes, pos: int) -> tuple[int, bool] | NeedMoreData:
    """Skip a chunked body starting at ``pos``; return (end offset, saw bare LF).

    RFC 9112 §7.1: ``chunked-body = *chunk last-chunk trailer-section CRLF`` and
    ``chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF``. Chunk sizes are limited to 16 hex
    digits so a hostile size cannot build a huge integer.
    """
    bare_lf = False
    while True:
        nl = _line_end(buf, pos, MAX_CHUNK_LINE, "chunk-size line")
        if isinstance(nl, NeedMoreData):
            return nl
        line = buf[pos:nl]
        if line.endswith(b"\r"):
            line = line[:-1]
        else:
            bare_lf = True
        digits = line.split(b";", 1)[0].rstrip(b" \t")
        if not digits or len(digits) > 16 or any(b not in _HEX for b in digits):
            raise HttpParseError(f"invalid chunk size {digits[:20]!r}: expected 1-16 hex digits", pos)
        size = int(digits, 16)
        pos = nl + 1
        if size == 0:
            return _skip_trailers(buf, pos, bare_lf)
        data_end = pos + size
        if data_end + 1 > len(buf):
            return NeedMoreData("http", data_end + 2, "chunk data incomplete")
        if buf[data_end] == 0x0A:
            bare_lf = True
            pos = data_end + 1
        elif buf[data_end] == 0x0D:
            if data_end + 2 > len(buf):
                return NeedMoreData("http", data_end + 2, "chunk data incomplete")
            if buf[data_end + 1] != 0x0A:
                raise HttpParseError("chunk data not followed by CRLF (RFC 9112 §7.1)", data_end)
            pos = data_end + 2
        else:
            raise HttpParseError("chunk data not followed by CRLF (RFC 9112 §7.1)", data_end)


def _skip_trailers(buf: bytes, pos: int, bare_lf: bool) -> tuple[int, bool] | NeedMoreData:
    """Skip the trailer section and the final empty line (RFC 9112 §7.1.2)."""
    start = pos
    while True:
        remaining_cap = MAX_TRAILER_BYTES - (pos - start)
        if remaining_cap <= 0:
            raise HttpParseError(f"chunked trailer section longer than {MAX_TRAILER_BYTES} bytes", start)
        nl = _line_end(buf, pos, remaining_cap, "trailer section")
        if isinstance(nl, NeedMoreData):
            return nl
        line = buf[pos:nl]
        if not line.endswith(b"\r"):
            bare_lf = True
        pos = nl + 1
        if line in (b"", b"\r"):
            return pos, bare_lf


def parse_content_length(values: list[str]) -> int | str | None:
    """The body length the Content-Length field lines give.

    Returns the length, ``None`` when absent, ``"invalid"`` for a non-numeric value and
    ``"conflict"`` for differing values. RFC 9110 §8.6 lets a recipient accept a list of identical
    values ("42, 42") as one; anything else is invalid framing (RFC 9112 §6.3 rule 5).
    """
    found: set[int] = set()
    for value in values:
        for item in value.split(","):
            text = item.strip(" \t")
            if not text or len(text) > 18 or not text.isascii() or not text.isdigit():
                return "invalid"
            found.add(int(text))
    if not found:
        return None
    if len(found) > 1:
        return "conflict"
    return found.pop()
