"""Validators: from a match end offset to the exact value, checked, with a redacted preview.

The matcher (hyperscan) reports only where a match ends. Each built-in pattern has a validator
that walks the bytes around that end with a fixed bound, so its cost is linear in the bound and
independent of the data; no regex runs here. A validator returns ``(start, stop, preview)`` for a
real value, ``(start, stop, None)`` when it rejected the whole region ``[start, stop)`` (every other
candidate end inside it gets the same verdict, so the engine skips them: this keeps a 4 KiB run of
rejected token characters linear instead of quadratic), or None.

``bos`` says whether ``buf[0]`` begins the stream (no carried-over bytes before it). When it does
not, a value touching offset 0 may have begun earlier: it was reported by the previous scan (or is
longer than the carry), so validators reject it rather than report a partial value twice.

Previews never contain the secret: cards, IBANs and SSNs keep their last four digits (what a bank
statement shows); emails keep the first character and the domain; tokens keep only their
well-known prefix and length; private keys keep the key type from the header.
"""

from sentinel_domain.dlp._bytes import (
    ALNUM,
    DIGITS,
    FILE_SUFFIXES,
    UPPER,
    UPPER_DIGIT_BYTES,
    W_DIGITS,
    W_EMAIL_DOMAIN,
    W_EMAIL_LOCAL,
    W_IBAN,
    Extracted,
    Validator,
    back,
    fwd,
    left_edge,
    right_edge,
)
from sentinel_domain.dlp._checks import (
    ENTROPY_AWS_BODY,
    ENTROPY_GITHUB_BODY,
    IBAN_LENGTHS,
    iban_valid,
    luhn_valid,
    ssn_valid,
)
from sentinel_domain.dlp._secrets import (
    bearer,
    fixed_token,
    form_password,
    jwt,
    password,
    private_key,
    slack,
)


def _card(first: tuple[bytes, ...], lengths: tuple[int, ...]) -> Validator:
    """Card numbers: a digit run of an allowed length and prefix, passing Luhn."""

    def validate(buf: bytes, end: int, bos: bool) -> Extracted | None:
        start = back(buf, end, max(0, end - 20), W_DIGITS)
        stop = fwd(buf, end, start + 20, W_DIGITS)
        digits = buf[start:stop]
        if len(digits) not in lengths or not digits.startswith(first):
            return start, stop, None
        if not (left_edge(buf, start, bos) and right_edge(buf, stop)) or not luhn_valid(digits):
            return start, stop, None
        return start, stop, "****" + digits[-4:].decode()

    return validate


def _ssn(buf: bytes, end: int, bos: bool) -> Extracted | None:
    start = end - 11
    if start < 0:
        return None
    value = buf[start:end]
    if value[3:4] != b"-" or value[6:7] != b"-":
        return None
    # A dash on either side means a longer dashed number (a phone or part number), not an SSN.
    if not left_edge(buf, start, bos) or (start > 0 and buf[start - 1] == ord("-")):
        return None
    if not right_edge(buf, end) or buf[end : end + 1] == b"-":
        return None
    if not ssn_valid(value[0:3], value[4:6], value[7:11]):
        return None
    return start, end, "***-**-" + value[7:11].decode()


def _email(buf: bytes, end: int, bos: bool) -> Extracted | None:
    domain_start = back(buf, end, max(0, end - 255), W_EMAIL_DOMAIN)
    if domain_start == 0 or buf[domain_start - 1] != ord("@"):
        return None
    at = domain_start - 1
    start = back(buf, at, max(0, at - 64), W_EMAIL_LOCAL)
    if start == 0 and not bos:
        return None
    while start < at and buf[start] not in ALNUM:
        start += 1
    if start == at:
        return None
    stop = fwd(buf, domain_start, domain_start + 255, W_EMAIL_DOMAIN)
    while stop > domain_start and buf[stop - 1] in b".-":
        stop -= 1
    labels = buf[domain_start:stop].split(b".")
    tld = labels[-1]
    if len(labels) < 2 or not all(labels) or len(tld) < 2 or not tld.isalpha():
        return None
    if tld.lower() in FILE_SUFFIXES or stop < end:
        return None
    return start, stop, f"{chr(buf[start])}…@{buf[domain_start:stop].decode()}"


def _iban(buf: bytes, end: int, bos: bool) -> Extracted | None:
    """Compact or printed (groups of four separated by single spaces) IBANs, leftmost first."""
    run_start = back(buf, end, max(0, end - 42), W_IBAN)
    for start in range(run_start, max(run_start, end - 4)):
        country = buf[start : start + 2]
        length = IBAN_LENGTHS.get(country)
        if length is None or not buf[start + 2 : start + 4].isdigit() or not left_edge(buf, start, bos):
            continue
        # The two spellings: compact, or every fifth byte a space (the last group may be short).
        for size, printed in ((length, False), (length + (length - 1) // 4, True)):
            stop = start + size
            raw = buf[start:stop]
            if len(raw) < size or not start < end <= stop + 4 or not right_edge(buf, stop):
                continue
            if printed:
                if raw[4::5].strip(b" "):
                    continue
                raw = b"".join(raw[i : i + 4] for i in range(0, size, 5))
            if not raw.translate(None, UPPER_DIGIT_BYTES) and iban_valid(raw):
                return start, stop, f"{country.decode()}…{raw[-4:].decode()}"
    return None


VALIDATORS: dict[str, Validator] = {
    "visa": _card((b"4",), (13, 16)),
    "mastercard": _card((b"51", b"52", b"53", b"54", b"55"), (16,)),
    "amex": _card((b"34", b"37"), (15,)),
    "email": _email,
    "ssn": _ssn,
    "aws_key": fixed_token(b"AKIA", 16, UPPER | DIGITS, ENTROPY_AWS_BODY),
    "github_token": fixed_token(b"ghp_", 36, ALNUM, ENTROPY_GITHUB_BODY),
    "password": password,
    "bearer": bearer,
    "iban": _iban,
    "slack_token": slack,
    "jwt": jwt,
    "private_key": private_key,
    "form_password": form_password,
}
