"""Byte classes and bounded walks shared by the DLP validators.

A walk finds the run of class members around an offset with ``bytes.translate`` (in C), so a
validator's cost is a few slices, not a Python loop per byte.
"""

from collections.abc import Callable
from dataclasses import dataclass

Extracted = tuple[int, int, str | None]
Validator = Callable[[bytes, int, bool], Extracted | None]

DIGITS = frozenset(b"0123456789")
UPPER = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
LOWER = frozenset(b"abcdefghijklmnopqrstuvwxyz")
ALNUM = DIGITS | UPPER | LOWER
UPPER_DIGIT_BYTES = bytes(sorted(UPPER | DIGITS))
WORD = ALNUM | {ord("_")}
SPACE = frozenset(b" \t\n\r\f\v")
EMAIL_LOCAL = ALNUM | frozenset(b"._%+-")
EMAIL_DOMAIN = ALNUM | frozenset(b".-")
B64URL = ALNUM | frozenset(b"_-")
B64URL_DOT = B64URL | {ord(".")}
BEARER = ALNUM | frozenset(b"-._~+/")
SLACK = ALNUM | {ord("-")}
IBAN = UPPER | DIGITS | {ord(" ")}
FORM_FIELD = frozenset(range(256)) - SPACE - frozenset(b"&?;")
FORM_KEY = ALNUM | frozenset(b"_.%[]-")
NOT_SPACE = frozenset(range(256)) - SPACE
# File names that look like addresses ("logo@2x.png") are not emails.
FILE_SUFFIXES = frozenset({b"png", b"jpg", b"jpeg", b"gif", b"svg", b"webp", b"ico", b"bmp", b"css", b"js"})
PASSWORD_WORDS = (b"password", b"passwd", b"pwd")
FORM_PASSWORD_KEYS = frozenset({b"pass", b"pw", b"pwd", b"passwd", b"passwort", b"passphrase"})


@dataclass(frozen=True, slots=True)
class Walk:
    """A byte class as a ``bytes.translate`` table (1 = member), so walks run in C, not per byte."""

    table: bytes


def walk(members: frozenset[int]) -> Walk:
    return Walk(bytes(1 if byte in members else 0 for byte in range(256)))


def back(buf: bytes, pos: int, lo: int, chars: Walk) -> int:
    """The start of the run of ``chars`` bytes ending at ``pos``, not below ``lo``."""
    if pos <= lo:
        return pos
    index = buf[lo:pos].translate(chars.table).rfind(0)
    return lo if index < 0 else lo + index + 1


def fwd(buf: bytes, pos: int, hi: int, chars: Walk) -> int:
    """The end of the run of ``chars`` bytes starting at ``pos``, not beyond ``hi``."""
    hi = min(hi, len(buf))
    if pos >= hi:
        return pos
    index = buf[pos:hi].translate(chars.table).find(0)
    return hi if index < 0 else pos + index


W_DIGITS = walk(DIGITS)
W_SPACE = walk(SPACE)
W_NOT_SPACE = walk(NOT_SPACE)
W_EMAIL_LOCAL = walk(EMAIL_LOCAL)
W_EMAIL_DOMAIN = walk(EMAIL_DOMAIN)
W_B64URL_DOT = walk(B64URL_DOT)
W_BEARER = walk(BEARER)
W_BEARER_PAD = walk(BEARER | {ord("=")})
W_EQUALS = walk(frozenset(b"="))
W_SLACK = walk(SLACK)
W_IBAN = walk(IBAN)
W_FORM_FIELD = walk(FORM_FIELD)


def left_edge(buf: bytes, start: int, bos: bool) -> bool:
    """A word boundary (``\\b``) before ``start`` that is certain, not an artefact of the carry."""
    return (start == 0 and bos) or (start > 0 and buf[start - 1] not in WORD)


def right_edge(buf: bytes, stop: int) -> bool:
    return stop >= len(buf) or buf[stop] not in WORD


def sized(prefix: str, length: int) -> str:
    return f"{prefix}…({length} chars)"
