"""Line splitting for the text command protocols (SMTP, FTP), with a hard line-length cap."""

import re
from dataclasses import dataclass

from sentinel_domain.l7._common import decode_text

# A command verb: a letter then letters, digits or '-' (RFC 5321 §4.1.1 verbs, ehlo-keyword shape).
_VERB = re.compile(rb"[A-Za-z][A-Za-z0-9-]{0,15}")


@dataclass(frozen=True, slots=True)
class Line:
    """One line: ``text`` without its terminator; ``end`` is the offset just past the LF."""

    raw: bytes
    start: int
    end: int
    bare_lf: bool


def next_line(buf: bytes, pos: int, max_line: int) -> Line | int | None:
    """The line at ``pos``; None when the buffer ends first; the int ``max_line`` when too long.

    ``max_line`` counts the terminator, as RFC 5321 §4.5.3.1 does ("including the <CRLF>").
    """
    nl = buf.find(b"\n", pos, pos + max_line)
    if nl == -1:
        return max_line if len(buf) - pos >= max_line else None
    raw = buf[pos:nl]
    crlf = raw.endswith(b"\r")
    return Line(raw[:-1] if crlf else raw, pos, nl + 1, not crlf)


def split_command(raw: bytes) -> tuple[str, str, bool] | None:
    """(upper-cased verb, parameters, parameters were UTF-8) or None when there is no valid verb.

    The verb ends at the first SP (or the end of the line); the parameters are everything after
    that SP, kept as sent.
    """
    verb_b, _, params_b = raw.partition(b" ")
    if not _VERB.fullmatch(verb_b):
        return None
    params, utf8 = decode_text(params_b)
    return verb_b.decode("ascii").upper(), params, utf8
