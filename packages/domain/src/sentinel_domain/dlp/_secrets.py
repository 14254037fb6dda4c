"""Validators of secrets: cloud and chat tokens, bearer tokens, JWTs, private keys, passwords.

See ``_extract`` for the validator contract.
"""

import base64
import binascii

from sentinel_domain.dlp._bytes import (
    DIGITS,
    FORM_FIELD,
    FORM_KEY,
    FORM_PASSWORD_KEYS,
    PASSWORD_WORDS,
    UPPER,
    W_B64URL_DOT,
    W_BEARER,
    W_BEARER_PAD,
    W_EQUALS,
    W_FORM_FIELD,
    W_NOT_SPACE,
    W_SLACK,
    W_SPACE,
    Extracted,
    Validator,
    back,
    fwd,
    left_edge,
    right_edge,
    sized,
)
from sentinel_domain.dlp._checks import (
    ENTROPY_BEARER_TOKEN,
    ENTROPY_SLACK_BODY,
    MIN_BEARER_TOKEN,
    is_placeholder,
    shannon_entropy,
)


def fixed_token(prefix: bytes, body_length: int, body_chars: frozenset[int], min_entropy: float) -> Validator:
    """``prefix`` + exactly ``body_length`` characters, word-bounded, with a random-looking body."""

    def validate(buf: bytes, end: int, bos: bool) -> Extracted | None:
        start = end - len(prefix) - body_length
        if start < 0 or buf[start : start + len(prefix)] != prefix:
            return None
        body = buf[start + len(prefix) : end]
        if not all(byte in body_chars for byte in body):
            return None
        if not (left_edge(buf, start, bos) and right_edge(buf, end)):
            return None
        if shannon_entropy(body) < min_entropy:
            return None
        return start, end, sized(prefix.decode(), end - start)

    return validate


def password(buf: bytes, end: int, bos: bool) -> Extracted | None:
    """``(password|passwd|pwd)\\s*[:=]\\s*\\S{8,}``, case-insensitive, leftmost keyword first."""
    lo = max(0, end - 256)
    region = buf[lo:end].lower()
    hits = sorted((index + lo, word) for word in PASSWORD_WORDS for index in find_all(region, word))
    for start, word in hits:
        pos = fwd(buf, start + len(word), end, W_SPACE)
        if pos >= end or buf[pos] not in b":=":
            continue
        value_start = fwd(buf, pos + 1, end, W_SPACE)
        value_stop = fwd(buf, value_start, value_start + 512, W_NOT_SPACE)
        if value_stop - value_start < 8 or not value_start + 8 <= end <= value_stop:
            continue
        if is_placeholder(buf[value_start:value_stop]):
            return start, value_stop, None
        return start, value_stop, sized(f"{word.decode()}=", value_stop - value_start)
    if hits:
        return None
    # No keyword within reach: no candidate can succeed before the next keyword (searched from
    # end - 7 to catch one straddling ``end``) plus the shortest tail ``pwd:`` + 8 characters.
    rest = buf[max(lo, end - 7) :].lower()
    following = [index for word in PASSWORD_WORDS if (index := rest.find(word)) != -1]
    skip_to = max(lo, end - 7) + min(following) + 11 if following else len(buf)
    return end, max(end, skip_to), None


def find_all(haystack: bytes, needle: bytes) -> list[int]:
    out: list[int] = []
    index = haystack.find(needle)
    while index != -1:
        out.append(index)
        index = haystack.find(needle, index + 1)
    return out


def bearer(buf: bytes, end: int, bos: bool) -> Extracted | None:
    lo = max(0, end - 4096)
    token_start = back(buf, end, lo, W_BEARER_PAD)
    token_stop = fwd(buf, token_start, token_start + 4096, W_BEARER)
    token_length = token_stop - token_start
    token_stop = fwd(buf, token_stop, token_stop + 8, W_EQUALS)
    if end > token_stop:
        return None
    space_start = back(buf, token_start, max(0, token_start - 64), W_SPACE)
    if space_start == token_start or buf[max(0, space_start - 6) : space_start] != b"Bearer":
        return None
    token = buf[token_start : token_start + token_length]
    if token_length < MIN_BEARER_TOKEN or shannon_entropy(token) < ENTROPY_BEARER_TOKEN:
        return token_start, token_stop, None
    return space_start - 6, token_stop, sized("Bearer ", token_length)


def jwt(buf: bytes, end: int, bos: bool) -> Extracted | None:
    run_start = back(buf, end, max(0, end - 8192), W_B64URL_DOT)
    run_stop = fwd(buf, end, end + 8192, W_B64URL_DOT)
    segments: list[tuple[int, int]] = []
    pos = run_start
    for part in buf[run_start:run_stop].split(b"."):
        segments.append((pos, pos + len(part)))
        pos += len(part) + 1
    found_any = False
    for index in range(len(segments) - 2):
        (h0, h1), (p0, p1), (_s0, s1) = segments[index : index + 3]
        if not (
            buf.startswith(b"eyJ", h0) and buf.startswith(b"eyJ", p0) and h1 - h0 >= 10 and p1 - p0 >= 10
        ):
            continue
        if (h0 == 0 and not bos) or not jwt_header(buf[h0:h1]):
            continue
        found_any = True
        if h0 < end <= s1:
            return h0, s1, sized("eyJ", s1 - h0)
    # No token anywhere in this dotted run: every other candidate inside it is rejected too.
    return None if found_any else (run_start, run_stop, None)


def jwt_header(segment: bytes) -> bool:
    """The first segment decodes to a JSON object naming its ``alg`` (RFC 7515 §4.1.1)."""
    try:
        decoded = base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return False
    return decoded.startswith(b"{") and b'"alg"' in decoded


def private_key(buf: bytes, end: int, bos: bool) -> Extracted | None:
    if buf[max(0, end - 5) : end] != b"-----":
        return None
    start = buf.rfind(b"-----BEGIN ", max(0, end - 120), end - 5)
    if start < 0:
        return None
    label = buf[start + 11 : end - 5]
    words = label.split(b" ")
    if not (label.endswith(b"PRIVATE KEY") or label.endswith(b"PRIVATE KEY BLOCK")) or len(words) > 6:
        return None
    if not all(word and all(byte in UPPER | DIGITS for byte in word) for word in words):
        return None
    return start, end, label.decode()


def slack(buf: bytes, end: int, bos: bool) -> Extracted | None:
    run_start = back(buf, end, max(0, end - 256), W_SLACK)
    pos = buf.find(b"xox", run_start, end)
    while pos != -1:
        kind_ok = buf[pos + 3 : pos + 4] in (b"b", b"a", b"p", b"r", b"s") and buf[pos + 4 : pos + 5] == b"-"
        if kind_ok and left_edge(buf, pos, bos):
            stop = fwd(buf, pos + 5, pos + 5 + 250, W_SLACK)
            body = buf[pos + 5 : stop]
            if end > stop:
                return None
            if len(body) >= 20 and shannon_entropy(body) >= ENTROPY_SLACK_BODY:
                return pos, stop, sized(buf[pos : pos + 5].decode(), stop - pos)
            return pos, stop, None
        pos = buf.find(b"xox", pos + 1, end)
    return None


def form_password(buf: bytes, end: int, bos: bool) -> Extracted | None:
    """A password field of an urlencoded body or query: ``…&password=value&…``."""
    start = back(buf, end, max(0, end - 512), W_FORM_FIELD)
    eq = buf.find(b"=", start, end)
    key = buf[start:eq].lower() if eq > start else b""
    valid_key = bool(key) and all(byte in FORM_KEY for byte in key) and is_password_key(key)
    # Reached the buffer's start mid-stream, or a field longer than the bound, or not a password
    # field: every other candidate in this field gets the same answer.
    cut = (start == 0 and not bos) or (start > 0 and buf[start - 1] in FORM_FIELD)
    if cut or not valid_key:
        return start, fwd(buf, end, end + 8192, W_FORM_FIELD), None
    stop = fwd(buf, end, eq + 1 + 512, W_FORM_FIELD)
    value = buf[eq + 1 : stop]
    if len(value) < 4 or is_placeholder(value):
        return start, stop, None
    return start, stop, sized(f"{key.decode()}=", len(value))


def is_password_key(key: bytes) -> bool:
    if key in FORM_PASSWORD_KEYS or b"password" in key or b"passwd" in key or b"passphrase" in key:
        return True
    return key.endswith((b"_pwd", b"_pass", b"[pwd]", b"[pass]", b"%5bpwd%5d", b"%5bpass%5d"))
