"""Checksums and plausibility tests that turn regex candidates into findings.

All work on ASCII bytes, take time linear in their input, and never raise on odd input.
"""

import math
from collections import Counter

# ISO 13616 IBAN lengths (country code + check digits + BBAN) for the countries we validate; an
# IBAN from any other country is not reported (its length could not be checked).
IBAN_LENGTHS: dict[bytes, int] = {
    b"AD": 24, b"AE": 23, b"AT": 20, b"BE": 16, b"BG": 22, b"CH": 21, b"CY": 28, b"CZ": 24,
    b"DE": 22, b"DK": 18, b"EE": 20, b"ES": 24, b"FI": 18, b"FR": 27, b"GB": 22, b"GI": 23,
    b"GR": 27, b"HR": 21, b"HU": 28, b"IE": 22, b"IL": 23, b"IS": 26, b"IT": 27, b"LI": 21,
    b"LT": 20, b"LU": 20, b"LV": 21, b"MC": 27, b"MT": 31, b"NL": 18, b"NO": 15, b"PL": 28,
    b"PT": 25, b"RO": 24, b"SA": 24, b"SE": 24, b"SI": 19, b"SK": 24, b"SM": 27, b"TR": 26,
}  # fmt: skip

# Shannon-entropy floors (bits per character) for the random part of secret tokens. They sit at
# or below the 0.01th percentile measured on uniformly random tokens of the minimum length (AWS:
# 16 base32 characters, 2.73; GitHub: 36 base62, 4.08; Bearer: 16 token characters, 3.02; Slack:
# 20 characters, 3.38), so about 1 real token in 10 000 or fewer is missed, while repeated or
# patterned text stays below ("AKIAAAAAAAAAAAAAAAAA" 0 bits, "ABCDABCDABCDABCD" 2.0 bits).
ENTROPY_AWS_BODY = 2.5
ENTROPY_GITHUB_BODY = 3.5
ENTROPY_SLACK_BODY = 3.0
ENTROPY_BEARER_TOKEN = 2.5
MIN_BEARER_TOKEN = 16

# Well-known invalid or advertising SSNs besides the structural rules.
_SSN_BLACKLIST = frozenset({b"078051120", b"219099999", b"123456789"})


def luhn_valid(digits: bytes) -> bool:
    """The Luhn (mod 10) check of ISO/IEC 7812 over ASCII digits."""
    if not digits or not digits.isdigit():
        return False
    total = 0
    for index, byte in enumerate(reversed(digits)):
        value = byte - 0x30
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(compact: bytes) -> bool:
    """ISO 13616: known country, its exact length, and ISO 7064 MOD 97-10 remainder 1."""
    if len(compact) < 5 or not compact.isalnum() or not compact.isascii():
        return False
    country = compact[:2]
    if IBAN_LENGTHS.get(country) != len(compact) or not compact[2:4].isdigit() or not country.isalpha():
        return False
    if not country.isupper():
        return False
    # Move the first four characters to the end, letters become 10..35, then mod 97.
    remainder = 0
    for byte in compact[4:] + compact[:4]:
        if 0x30 <= byte <= 0x39:
            remainder = (remainder * 10 + byte - 0x30) % 97
        elif 0x41 <= byte <= 0x5A:
            remainder = (remainder * 100 + byte - 0x41 + 10) % 97
        else:
            return False
    return remainder == 1


def ssn_valid(area: bytes, group: bytes, serial: bytes) -> bool:
    """SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000."""
    if (len(area), len(group), len(serial)) != (3, 2, 4):
        return False
    if not (area + group + serial).isdigit():
        return False
    if area in (b"000", b"666") or area[0:1] == b"9" or group == b"00" or serial == b"0000":
        return False
    return area + group + serial not in _SSN_BLACKLIST


def shannon_entropy(data: bytes) -> float:
    """Shannon entropy of the byte distribution of ``data``, in bits per byte."""
    if not data:
        return 0.0
    size = len(data)
    return -sum((n / size) * math.log2(n / size) for n in Counter(data).values())


def is_placeholder(value: bytes) -> bool:
    """Values that are clearly not a real secret: masks, templates, one repeated character."""
    if len(set(value)) <= 1:
        return True
    lowered = value.lower()
    if lowered.startswith((b"${", b"{{", b"%(", b"<", b"$(", b"[redacted", b"***", b"xxx")):
        return True
    return lowered in (b"undefined", b"null", b"none", b"true", b"false")
