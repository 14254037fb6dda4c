"""Plain indicator lists: one IP, CIDR, domain or URL per line.

Per line (LF-separated; CRLF, a UTF-8 BOM and surrounding whitespace tolerated):
- blank lines and lines starting with ``#``, ``;`` or the feed's ``comment_prefix`` are ignored;
- the indicator is the first whitespace-separated token; unless it is a URL, anything from a
  ``;`` or ``#`` in it is a trailing comment (``1.2.3.0/24 ; SBL123`` → ``1.2.3.0/24``);
- the token must classify (see ``_indicators``), else the line is an error.

Speed: IPv4 host lists (most big feeds) take a fast path: one regex pass over the whole text
yields, per line, the dotted quad when the line is a routable IPv4 host plus an optional
comment; only the other lines are read one by one by the exact path. IOCs keep the file order
(per-feed truncation depends on it).
"""

import re

from sentinel_domain.threatintel._indicators import V4_HOST, V4_ROUTABLE, classify
from sentinel_domain.threatintel.entity import ParseOptions, ParseResult
from sentinel_domain.threatintel.parsers._common import (
    Collector,
    bad_text,
    check_size,
    decode_text,
    split_lines,
)

# One match per line: group 1 is the address when the line is one the slow path would read as
# exactly this IPv4 host (leading blanks, the address, then the end of the line or a separator
# the slow path also stops at), else empty.
# A ``;``/``#`` glued to the address ends it only when the token holds no ``://`` (the slow path
# reads such a token as a URL, which then fails to classify).
_ANY_LINE = re.compile(rf"^(?:[ \t]*({V4_ROUTABLE})(?:[ \t\r][^\n]*|[;#](?![^\s]*://)[^\n]*)?$|[^\n]*)", re.M)


def plain_line(c: Collector, line_no: int, line: str) -> None:
    """Read one line into the collector (the exact, reference path)."""
    s = line.strip()
    if not s or s[0] in "#;" or s.startswith(c.options.comment_prefix):
        return
    token = s.split(None, 1)[0]
    if "://" not in token:
        token = token.split(";", 1)[0].split("#", 1)[0]
    bad = bad_text(token)
    if bad is not None:
        c.error(line_no, bad)
        return
    result = classify(token)
    if isinstance(result, str):
        c.error(line_no, result)
    else:
        c.batch.add(result[0], result[1])


def parse_plain(data: bytes, options: ParseOptions | None = None) -> ParseResult:
    """Parse a plain list (see the module docstring). Raises FeedRejectedError when more than
    ``max_junk_fraction`` of the non-comment lines are bad, FeedFormatError when too large."""
    opts = options or ParseOptions()
    check_size(data, opts)
    text = decode_text(data)
    c = Collector(opts)
    c.total = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
    if opts.comment_prefix[0] in "0123456789 \t":  # such comments could look like addresses
        for line_no, line in enumerate(split_lines(text), 1):
            plain_line(c, line_no, line)
        return c.finish()
    hosts: list[str] = _ANY_LINE.findall(text)
    del hosts[c.total :]  # the empty match after a final newline is not a line
    others = [i for i, h in enumerate(hosts) if not h]
    if not others:
        c.batch.extend_ipv4_hosts(hosts)
        return c.finish()
    lines = split_lines(text)
    rest = Collector(opts)
    for i in others:
        plain_line(rest, i + 1, lines[i])
    if not len(rest.batch):  # only comments, blanks and errors besides the IPv4 hosts
        c.batch.extend_ipv4_hosts(list(filter(None, hosts)))
        c.errors, c.error_count = rest.errors, rest.error_count
        return c.finish()
    for i, host in enumerate(hosts):  # mixed indicators: keep the file order
        if host:
            c.batch.add(V4_HOST, host)
        else:
            plain_line(c, i + 1, lines[i])
    return c.finish()
