"""The DLP engine: built-ins, validation against false positives, redaction, chunk carry-over."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.common.matching import PatternError
from sentinel_domain.common.severity import Severity
from sentinel_domain.dlp import (
    BUILTIN_PATTERNS,
    CONTRACT_BUILTIN_IDS,
    DATA_TYPE_CREDENTIALS,
    DlpConfigError,
    DlpEngine,
    DlpPattern,
    DlpScanState,
    DlpStateTable,
    dlp_mitre,
    luhn_valid,
    merge_patterns,
)
from sentinel_testkit.fakes.reference_matcher import ReferenceMatcher

MATCHER = ReferenceMatcher()
ENGINE = DlpEngine(BUILTIN_PATTERNS, MATCHER)
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


def found(data: bytes, engine: DlpEngine = ENGINE) -> list[tuple[str, bytes]]:
    return [(f.pattern_id, data[f.start : f.end]) for f in engine.scan(data) if f.start is not None]


class TestBuiltins:
    def test_contract_table(self):
        table = {p.id: (p.name, p.data_type, p.severity, p.regex) for p in BUILTIN_PATTERNS}
        assert (
            tuple(list(table)[:9])
            == CONTRACT_BUILTIN_IDS
            == (
                "dlp-pci-visa",
                "dlp-pci-mastercard",
                "dlp-pci-amex",
                "dlp-pii-email",
                "dlp-pii-ssn",
                "dlp-cred-aws-key",
                "dlp-cred-github-token",
                "dlp-cred-password",
                "dlp-cred-bearer",
            )
        )
        assert table["dlp-pii-email"][3] == r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"
        assert table["dlp-cred-github-token"][3] == r"\bghp_[a-zA-Z0-9]{36}\b"
        assert table["dlp-cred-password"][3] == r"(?i)(password|passwd|pwd)\s*[:=]\s*\S{8,}"
        assert table["dlp-pci-visa"] == (
            "Visa Card Number",
            "pci",
            Severity.CRITICAL,
            r"\b4[0-9]{12}(?:[0-9]{3})?\b",
        )
        assert table["dlp-pci-mastercard"] == (
            "Mastercard Number",
            "pci",
            Severity.CRITICAL,
            r"\b5[1-5][0-9]{14}\b",
        )
        assert table["dlp-pci-amex"] == (
            "American Express Number",
            "pci",
            Severity.CRITICAL,
            r"\b3[47][0-9]{13}\b",
        )
        assert table["dlp-pii-email"][:3] == ("Email Address", "pii", Severity.MEDIUM)
        assert table["dlp-pii-ssn"] == (
            "US Social Security Number",
            "pii",
            Severity.CRITICAL,
            r"\b\d{3}-\d{2}-\d{4}\b",
        )
        assert table["dlp-cred-aws-key"] == (
            "AWS Access Key",
            "credentials",
            Severity.CRITICAL,
            r"\bAKIA[0-9A-Z]{16}\b",
        )
        assert table["dlp-cred-github-token"][:3] == (
            "GitHub Personal Access Token",
            "credentials",
            Severity.CRITICAL,
        )
        assert table["dlp-cred-password"][:3] == ("Generic Password", "credentials", Severity.HIGH)
        assert table["dlp-cred-bearer"] == (
            "Bearer Token",
            "credentials",
            Severity.HIGH,
            r"Bearer\s+[A-Za-z0-9\-._~+/]+=*",
        )
        assert all(p.builtin and p.enabled and p.validator for p in BUILTIN_PATTERNS)

    @pytest.mark.parametrize(
        ("text", "pattern_id", "value"),
        [
            pytest.param("card 4111111111111111 end", "dlp-pci-visa", "4111111111111111", id="visa-16"),
            pytest.param("card 4222222222222 end", "dlp-pci-visa", "4222222222222", id="visa-13"),
            pytest.param("mc:5555555555554444;", "dlp-pci-mastercard", "5555555555554444", id="mastercard"),
            pytest.param("amex 378282246310005.", "dlp-pci-amex", "378282246310005", id="amex"),
            pytest.param(
                "to: john.doe+x@mail.example.co.uk>",
                "dlp-pii-email",
                "john.doe+x@mail.example.co.uk",
                id="email",
            ),
            pytest.param("ssn=123-45-6780 ok", "dlp-pii-ssn", "123-45-6780", id="ssn"),
            pytest.param("key AKIAIOSFODNN7EXAMPLE x", "dlp-cred-aws-key", "AKIAIOSFODNN7EXAMPLE", id="aws"),
            pytest.param(
                "t=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;",
                "dlp-cred-github-token",
                "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",
                id="github",
            ),
            pytest.param(
                "PASSWORD : Tr0ub4dor&3 next", "dlp-cred-password", "PASSWORD : Tr0ub4dor&3", id="password"
            ),
            pytest.param(
                "Authorization: Bearer abc123XYZ-_.~+/def456==\r\n",
                "dlp-cred-bearer",
                "Bearer abc123XYZ-_.~+/def456==",
                id="bearer",
            ),
            pytest.param(
                "iban DE89 3704 0044 0532 0130 00.",
                "dlp-pii-iban",
                "DE89 3704 0044 0532 0130 00",
                id="iban-printed",
            ),
            pytest.param(
                "iban:GB29NWBK60161331926819 ", "dlp-pii-iban", "GB29NWBK60161331926819", id="iban-compact"
            ),
            pytest.param(
                "token xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx\n",
                "dlp-cred-slack-token",
                "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
                id="slack",
            ),
            pytest.param(f"jwt={JWT}&x", "dlp-cred-jwt", JWT, id="jwt"),
            pytest.param(
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl",
                "dlp-cred-private-key",
                "-----BEGIN OPENSSH PRIVATE KEY-----",
                id="private-key",
            ),
            pytest.param(
                "-----BEGIN PRIVATE KEY-----",
                "dlp-cred-private-key",
                "-----BEGIN PRIVATE KEY-----",
                id="private-key-pkcs8",
            ),
            pytest.param(
                "user=bob&password=hunter2&next=/", "dlp-cred-form-password", "password=hunter2", id="form"
            ),
            pytest.param(
                "GET /login?user=a&pwd=s3cret HTTP/1.1", "dlp-cred-form-password", "pwd=s3cret", id="query"
            ),
            pytest.param(
                "user%5Bpassword%5D=abcd1234",
                "dlp-cred-form-password",
                "user%5Bpassword%5D=abcd1234",
                id="form-bracket-key",
            ),
        ],
    )
    def test_positive(self, text, pattern_id, value):
        assert (pattern_id, value.encode()) in found(text.encode())

    @pytest.mark.parametrize(
        ("text", "pattern_id"),
        [
            pytest.param("card 4111111111111112 end", "dlp-pci-visa", id="visa-luhn"),
            pytest.param("id 41111111111111119", "dlp-pci-visa", id="visa-17-digits"),
            pytest.param("x4111111111111111", "dlp-pci-visa", id="visa-no-boundary"),
            pytest.param("mc 5655555555554444", "dlp-pci-mastercard", id="mastercard-prefix"),
            pytest.param("logo@2x.png", "dlp-pii-email", id="retina-image"),
            pytest.param("ssn 000-45-6789", "dlp-pii-ssn", id="ssn-area-000"),
            pytest.param("ssn 666-45-6789", "dlp-pii-ssn", id="ssn-area-666"),
            pytest.param("ssn 912-45-6789", "dlp-pii-ssn", id="ssn-area-9xx"),
            pytest.param("ssn 123-00-6789", "dlp-pii-ssn", id="ssn-group-00"),
            pytest.param("ssn 123-45-0000", "dlp-pii-ssn", id="ssn-serial-0000"),
            pytest.param("tel 1-123-45-6789", "dlp-pii-ssn", id="ssn-inside-dashed-number"),
            pytest.param("key AKIAAAAAAAAAAAAAAAAA", "dlp-cred-aws-key", id="aws-low-entropy"),
            pytest.param("ghp_" + "a" * 36, "dlp-cred-github-token", id="github-low-entropy"),
            pytest.param("password: ********", "dlp-cred-password", id="password-mask"),
            pytest.param("password=${DB_PASSWORD}", "dlp-cred-password", id="password-template"),
            pytest.param("Bearer of bad news", "dlp-cred-bearer", id="bearer-prose"),
            pytest.param("Bearer aaaaaaaaaaaaaaaaaaaaaaaa", "dlp-cred-bearer", id="bearer-low-entropy"),
            pytest.param("DE89370400440532013001", "dlp-pii-iban", id="iban-checksum"),
            pytest.param("XX89370400440532013000", "dlp-pii-iban", id="iban-country"),
            pytest.param("xoxb-" + "a" * 30, "dlp-cred-slack-token", id="slack-low-entropy"),
            pytest.param("eyJzdHJpbmciOiJ4In0.eyJzdHJpbmciOiJ4In0.abc", "dlp-cred-jwt", id="jwt-without-alg"),
            pytest.param("-----BEGIN PUBLIC KEY-----", "dlp-cred-private-key", id="public-key"),
            pytest.param("bypass=1234567&compass=north", "dlp-cred-form-password", id="form-other-keys"),
            pytest.param("password=x", "dlp-cred-form-password", id="form-short-value"),
        ],
    )
    def test_negative(self, text, pattern_id):
        assert pattern_id not in {pid for pid, _ in found(text.encode())}

    def test_form_password_replaces_the_overlapping_generic_match(self):
        data = b"user=bob&password=hunter2verylong&next=/"
        assert [pid for pid, _ in found(data)] == ["dlp-cred-form-password"]
        assert [pid for pid, _ in found(b"password: hunter2verylong\n")] == ["dlp-cred-password"]


class TestFalsePositives:
    def test_random_sixteen_digit_numbers_yield_only_luhn_valid_matches(self):
        rng = random.Random(20240601)
        numbers = [str(rng.randrange(10**15, 10**16)).encode() for _ in range(10_000)]
        data = b" ".join(numbers)
        findings = ENGINE.scan(data)
        values = [data[f.start : f.end] for f in findings]
        assert values and all(luhn_valid(v) for v in values)
        expected = [
            n
            for n in numbers
            if luhn_valid(n) and (n.startswith(b"4") or n[:2] in (b"51", b"52", b"53", b"54", b"55"))
        ]
        assert sorted(values) == sorted(expected)
        assert {f.pattern_id for f in findings} == {"dlp-pci-visa", "dlp-pci-mastercard"}
        # The regexes alone would have reported ten times as many.
        regex_only = [
            n for n in numbers if n.startswith(b"4") or n[:2] in (b"51", b"52", b"53", b"54", b"55")
        ]
        assert len(regex_only) > 8 * len(values)

    @pytest.mark.parametrize("card", ["4111111111111111", "5555555555554444", "378282246310005"])
    def test_real_test_cards_match(self, card):
        (finding,) = ENGINE.scan(f"pay with {card} now".encode())
        assert finding.preview == "****" + card[-4:]
        assert finding.data_type == "pci" and finding.severity is Severity.CRITICAL


class TestRedaction:
    SECRETS = [
        "4111111111111111",
        "AKIAIOSFODNN7EXAMPLE",
        "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",
        "hunter2verylong",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        JWT,
        "123-45-6780",
        "DE89370400440532013000",
    ]

    def test_message_and_preview_never_hold_the_secret(self):
        data = ("POST /x\r\n\r\npassword: hunter2verylong " + " ".join(self.SECRETS)).encode()
        findings = ENGINE.scan(data)
        assert len(findings) >= len(self.SECRETS)
        for finding in findings:
            message = finding.message(pid=4242)
            assert message == (
                f"DLP pattern {finding.name} ({finding.data_type}) matched on pid 4242 "
                f"([REDACTED:{finding.data_type}])"
            )
            for secret in self.SECRETS:
                assert secret not in message and secret not in finding.preview
                assert secret not in repr(finding)

    @pytest.mark.parametrize(
        ("data_type", "technique"),
        [("pii", "T1048"), ("credentials", "T1048.003"), ("pci", "T1041"), ("x", "T1041")],
    )
    def test_mitre_by_data_type(self, data_type, technique):
        assert dlp_mitre(data_type).technique_id == technique
        assert dlp_mitre(data_type).tactic == "exfiltration"


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c for c in cuts if 0 < c < len(data)})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def scan_chunks(chunks: list[bytes], engine: DlpEngine = ENGINE) -> list[tuple[str, int | None, int]]:
    state = DlpScanState()
    out = []
    for chunk in chunks:
        out += [(f.pattern_id, f.start, f.end) for f in engine.scan(chunk, state)]
    return out


MESSAGE = (
    b"POST /api HTTP/1.1\r\nAuthorization: Bearer Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5\r\n\r\n"
    b"card=4111111111111111&mail=jane@example.org&password=s3cr3tPassw0rd&key=AKIAIOSFODNN7EXAMPLE"
    b" ssn 123-45-6780 iban DE89 3704 0044 0532 0130 00 "
)


class TestChunks:
    def test_every_split_point_finds_each_value_exactly_once(self):
        whole = [(f.pattern_id, f.start) for f in ENGINE.scan(MESSAGE)]
        assert len(whole) == 7
        for cut in range(1, len(MESSAGE)):
            got = scan_chunks(chunked(MESSAGE, [cut]))
            assert sorted((pid, start) for pid, start, _ in got) == sorted(whole), f"cut at {cut}"

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.integers(1, len(MESSAGE) - 1), max_size=12))
    def test_random_chunking_equals_one_scan(self, cuts):
        whole = sorted((f.pattern_id, f.start) for f in ENGINE.scan(MESSAGE))
        got = sorted((pid, start) for pid, start, _ in scan_chunks(chunked(MESSAGE, cuts)))
        assert got == whole

    def test_same_value_in_two_chunks_is_two_findings(self):
        state = DlpScanState()
        first = ENGINE.scan(b"card 4111111111111111 ", state)
        second = ENGINE.scan(b"card 4111111111111111 ", state)
        assert len(first) == len(second) == 1
        assert second[0].start == 22 + 5  # offsets continue across chunks

    def test_value_beyond_the_carry_is_found_inside_a_chunk_only(self):
        engine = DlpEngine(BUILTIN_PATTERNS, MATCHER, carry_bytes=8)
        assert scan_chunks([b"card 41111111", b"11111111 x"], engine) == []
        assert len(scan_chunks([b"card 4111111111111111 x"], engine)) == 1

    def test_gap_after_truncated_excerpt_does_not_join(self):
        state = DlpScanState()
        assert ENGINE.scan(b"card 41111111", state, gap_after=True) == []
        assert ENGINE.scan(b"11111111 end", state) == []
        assert state.carry_size > 0 and state.consumed == 25

    def test_state_table_is_lru_bounded(self):
        table = DlpStateTable(max_entries=2)
        a = table.get((1, 0))
        table.get((2, 0))
        assert table.get((1, 0)) is a
        table.get((3, 1))
        assert len(table) == 2
        assert table.get((2, 0)) is not None and len(table) == 2
        assert table.discard((3, 1)) or table.discard((1, 0))


class TestCustomPatterns:
    def test_custom_regex_runs_count_once_and_carry_dedups(self):
        patterns = merge_patterns(
            [
                {
                    "id": "dlp-pii-employee",
                    "name": "Employee Id",
                    "regex": r"EMP-[0-9]{6,}",
                    "severity": "low",
                    "data_type": "pii",
                }
            ]
        )
        engine = DlpEngine(patterns, MATCHER)
        data = b"EMP-1234567 and EMP-7654321"
        custom = [f for f in engine.scan(data) if f.pattern_id == "dlp-pii-employee"]
        assert [(f.start, f.end, f.preview) for f in custom] == [
            (None, 11, "[REDACTED]"),
            (None, 27, "[REDACTED]"),
        ]
        split = [c for c in scan_chunks(chunked(data, [9]), engine) if c[0] == "dlp-pii-employee"]
        assert len(split) == 2

    def test_disabled_builtin_is_not_compiled(self):
        engine = DlpEngine(merge_patterns([{"id": "dlp-pii-email", "enabled": False}]), MATCHER)
        assert "dlp-pii-email" not in {p.id for p in engine.patterns}
        assert engine.scan(b"mail jane@example.org") == []

    def test_bad_regex_is_a_pattern_error_naming_the_id(self):
        bad = DlpPattern("dlp-cred-x", "X", r"(a)\1", Severity.LOW, DATA_TYPE_CREDENTIALS)
        with pytest.raises(PatternError, match="dlp-cred-x"):
            DlpEngine([bad], MATCHER)

    def test_duplicate_ids_and_unknown_validator(self):
        p = DlpPattern("dlp-cred-x", "X", "abc", Severity.LOW, DATA_TYPE_CREDENTIALS)
        with pytest.raises(DlpConfigError, match="duplicate pattern id 'dlp-cred-x'"):
            DlpEngine([p, p], MATCHER)
        with pytest.raises(DlpConfigError, match="unknown validator 'nope'"):
            DlpEngine(
                [DlpPattern("dlp-cred-y", "Y", "abc", Severity.LOW, "credentials", validator="nope")], MATCHER
            )
        with pytest.raises(DlpConfigError, match="carry_bytes"):
            DlpEngine([], MATCHER, carry_bytes=5000)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(1, 299), max_size=4))
def test_arbitrary_bytes_never_raise_and_findings_stay_in_bounds(data, cuts):
    findings = ENGINE.scan(data)
    for finding in findings:
        assert finding.start is not None and 0 <= finding.start < finding.end <= len(data)
    chunks = chunked(data, cuts)
    for _, start, end in scan_chunks(chunks):
        assert start is not None and 0 <= start < end <= len(data)
