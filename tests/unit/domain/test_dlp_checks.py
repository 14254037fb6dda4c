"""DLP validators' building blocks: Luhn, IBAN mod-97, SSN rules, entropy thresholds."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.dlp import (
    ENTROPY_AWS_BODY,
    ENTROPY_BEARER_TOKEN,
    ENTROPY_GITHUB_BODY,
    ENTROPY_SLACK_BODY,
    IBAN_LENGTHS,
    iban_valid,
    luhn_valid,
    shannon_entropy,
    ssn_valid,
)


def luhn_check_digit(payload: str) -> str:
    """Independent Luhn: the digit that makes payload+digit valid (doubling from the right)."""
    total = 0
    for index, ch in enumerate(reversed(payload)):
        value = int(ch) * (2 if index % 2 == 0 else 1)
        total += value // 10 + value % 10
    return str((10 - total % 10) % 10)


class TestLuhn:
    @pytest.mark.parametrize(
        "number",
        [
            "4111111111111111",
            "5555555555554444",
            "378282246310005",
            "4012888888881881",
            "6011111111111117",
            "0",
        ],
    )
    def test_known_valid(self, number):
        assert luhn_valid(number.encode())

    @pytest.mark.parametrize("number", ["4111111111111112", "1234567812345678", "", "41111a1111111111"])
    def test_invalid(self, number):
        assert not luhn_valid(number.encode())

    @settings(max_examples=300, deadline=None)
    @given(st.from_regex(r"[0-9]{12,18}", fullmatch=True))
    def test_matches_an_independent_implementation(self, payload):
        good = payload + luhn_check_digit(payload)
        assert luhn_valid(good.encode())
        bad = payload + str((int(luhn_check_digit(payload)) + 1) % 10)
        assert not luhn_valid(bad.encode())


BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
VALID_IBANS = [
    "DE89370400440532013000",
    "GB29NWBK60161331926819",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "BE68539007547034",
    "CH9300762011623852957",
    "ES9121000418450200051332",
    "IT60X0542811101000000123456",
    "AT611904300234573201",
    "NO9386011117947",
]


def with_check_digits(country: str, bban: str) -> str:
    """Build an IBAN with correct check digits (ISO 7064 MOD 97-10), independently of the engine."""
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


class TestIban:
    @pytest.mark.parametrize("iban", VALID_IBANS)
    def test_published_examples(self, iban):
        assert iban_valid(iban.encode())

    @pytest.mark.parametrize(
        ("iban", "why"),
        [
            ("DE89370400440532013001", "checksum"),
            ("DE8937040044053201300", "length for DE"),
            ("XX89370400440532013000", "unknown country"),
            ("de89370400440532013000", "lower case"),
            ("DE8937040044053201300!", "symbol"),
            ("", "empty"),
        ],
    )
    def test_rejected(self, iban, why):
        assert not iban_valid(iban.encode()), why

    def test_at_least_twenty_countries_with_lengths(self):
        assert len(IBAN_LENGTHS) >= 20
        assert all(15 <= n <= 34 for n in IBAN_LENGTHS.values())

    @pytest.mark.parametrize("country", sorted(c.decode() for c in IBAN_LENGTHS))
    def test_every_country_accepts_a_well_formed_iban(self, country):
        rng = random.Random(country)
        length = IBAN_LENGTHS[country.encode()]
        bban = "".join(rng.choice("0123456789") for _ in range(length - 4))
        iban = with_check_digits(country, bban)
        assert iban_valid(iban.encode())
        swapped = iban[:4] + iban[5] + iban[4] + iban[6:]
        assert swapped == iban or not iban_valid(swapped.encode())  # mod 97 catches transpositions


class TestSsn:
    @pytest.mark.parametrize(
        ("ssn", "ok"),
        [
            ("123-45-6780", True),
            ("001-01-0001", True),
            ("899-99-9999", True),
            ("000-12-3456", False),
            ("666-12-3456", False),
            ("900-12-3456", False),
            ("999-12-3456", False),
            ("123-00-4567", False),
            ("123-45-0000", False),
            ("078-05-1120", False),  # the Woolworth wallet number
        ],
    )
    def test_rules(self, ssn, ok):
        area, group, serial = (part.encode() for part in ssn.split("-"))
        assert ssn_valid(area, group, serial) is ok


class TestEntropy:
    @pytest.mark.parametrize(
        ("text", "bits"),
        [(b"", 0.0), (b"aaaa", 0.0), (b"abab", 1.0), (b"abcdefgh", 3.0), (bytes(range(256)), 8.0)],
    )
    def test_values(self, text, bits):
        assert shannon_entropy(text) == pytest.approx(bits)

    @pytest.mark.parametrize(
        ("alphabet", "length", "floor"),
        [
            pytest.param("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, ENTROPY_AWS_BODY, id="aws-body"),
            pytest.param(BASE62, 36, ENTROPY_GITHUB_BODY, id="github-body"),
            pytest.param(BASE62 + "-._~+/", 16, ENTROPY_BEARER_TOKEN, id="bearer-token"),
            pytest.param(BASE62 + "-", 20, ENTROPY_SLACK_BODY, id="slack-body"),
        ],
    )
    def test_random_tokens_pass_their_floor(self, alphabet, length, floor):
        rng = random.Random(length)
        tokens = ["".join(rng.choice(alphabet) for _ in range(length)).encode() for _ in range(3000)]
        assert min(shannon_entropy(token) for token in tokens) >= floor

    @pytest.mark.parametrize(
        ("text", "floor"),
        [
            (b"AAAAAAAAAAAAAAAA", ENTROPY_AWS_BODY),
            (b"ABCDABCDABCDABCD", ENTROPY_AWS_BODY),
            (b"abcabcabcabcabcabcabcabcabcabcabcabc", ENTROPY_GITHUB_BODY),
            (b"aaaaaaaabbbbbbbbcccccccc", ENTROPY_BEARER_TOKEN),
        ],
    )
    def test_patterned_text_falls_below(self, text, floor):
        assert shannon_entropy(text) < floor
