"""PatternMatcherContract: what every PatternMatcher must do, written against the protocol only.

Subclass it once per implementation and override the ``matcher`` fixture::

    class TestHyperscanMatcher(PatternMatcherContract):
        @pytest.fixture
        def matcher(self) -> PatternMatcher:
            return HyperscanMatcher()
"""

import random
from collections.abc import Sequence

import pytest

from sentinel_domain.common.matching import (
    MAX_PATTERN_LENGTH,
    CompiledPatterns,
    Match,
    Pattern,
    PatternError,
    PatternKind,
    PatternMatcher,
)

LIT, RE = PatternKind.LITERAL, PatternKind.REGEX


def ends(compiled: CompiledPatterns, data: bytes, pattern_id: int = 0) -> list[int]:
    return [m.end for m in compiled.scan(data) if m.pattern_id == pattern_id]


def literal_oracle(literals: Sequence[bytes], data: bytes, nocase: bool = False) -> list[Match]:
    """Every (end, id) of every occurrence, by plain ``bytes.find`` (overlaps included)."""
    hay = data.lower() if nocase else data
    found = []
    for pattern_id, literal in enumerate(literals):
        needle = literal.lower() if nocase else literal
        start = hay.find(needle)
        while start >= 0:
            found.append(Match(start + len(needle), pattern_id))
            start = hay.find(needle, start + 1)
    return sorted(found)


def chunked(compiled: CompiledPatterns, pieces: Sequence[bytes]) -> list[Match]:
    """Feed ``pieces`` to a fresh stream; checks per-call invariants and returns everything reported."""
    stream = compiled.stream()
    seen, fed = [], 0
    for piece in pieces:
        got = stream.feed(piece)
        fed += len(piece)
        assert got == sorted(got), "feed() must return sorted matches"
        assert all(m.end <= fed for m in got), "a match cannot end beyond the bytes fed"
        seen.extend(got)
    tail = stream.close()
    assert tail == sorted(tail)
    seen.extend(tail)
    assert len(seen) == len(set(seen)), f"a match was reported twice: {seen}"
    return sorted(seen)


STREAM_SET = [
    Pattern(0, b"abc"),
    Pattern(1, b"b+c", RE),
    Pattern(2, b"\\bab", RE),
    Pattern(3, b"c$", RE),
    Pattern(4, b"ABCA", nocase=True),
    Pattern(5, b"a.{2}b", RE, dotall=True),
    Pattern(6, b"^a", RE),
    Pattern(7, b"(?m)^bc", RE),
]
STREAM_INPUT = b"abcabc\nbcab cabbc abcab\n"

REJECTED = {
    "backreference": b"(a)\\1",
    "named backreference": b"(?<n>a)\\k<n>",
    "lookahead": b"a(?=b)",
    "negative lookahead": b"a(?!b)",
    "lookbehind": b"(?<=a)b",
    "negative lookbehind": b"(?<!a)b",
    "atomic group": b"(?>ab)c",
    "possessive star": b"a*+b",
    "possessive plus": b"a++b",
    "conditional": b"(a)?(?(1)b|c)",
    "recursion": b"a(?R)?b",
    "quote": b"\\Qa.b\\E",
    "unicode property": b"\\p{L}",
    "unterminated class": b"[ab",
    "unbalanced open": b"(ab",
    "unbalanced close": b"ab)",
    "nothing to repeat": b"*a",
    "double quantifier": b"a**",
    "repeat too large": b"a{1001}",
    "zero repeat": b"a{0}",
    "bad range": b"[z-a]",
    "empty match": b"a*",
    "empty alternative": b"a|",
    "embedded start anchor": b"a^b",
    "embedded end anchor": b"a$b",
    "never matches": b"a\\bb",
    "unknown escape": b"\\y",
    "lone backslash": b"ab\\",
    "bad hex escape": b"\\xZZ",
    "unknown group syntax": b"(?x)a",
}


class PatternMatcherContract:
    """The contract suite; ``matcher`` is the only thing a subclass provides."""

    @pytest.fixture
    def matcher(self) -> PatternMatcher:
        raise NotImplementedError("subclasses provide the matcher fixture")

    def test_literal_hits_every_occurrence(self, matcher: PatternMatcher) -> None:
        compiled = matcher.compile([Pattern(0, b"foo"), Pattern(1, b"bar")])
        assert compiled.scan(b"foo bar foo") == [Match(3, 0), Match(7, 1), Match(11, 0)]

    def test_literal_bytes_are_not_regex(self, matcher: PatternMatcher) -> None:
        compiled = matcher.compile([Pattern(0, b"a.b*"), Pattern(1, b"\x00\xff|("), Pattern(2, b"\\d")])
        assert compiled.scan(b"axb a.b* \x00\xff|( \\d 7") == [Match(8, 0), Match(13, 1), Match(16, 2)]

    def test_nocase_folds_ascii_only(self, matcher: PatternMatcher) -> None:
        compiled = matcher.compile(
            [Pattern(0, b"GeT /", nocase=True), Pattern(1, b"\xe9t[e]", RE, nocase=True)]
        )
        assert compiled.scan(b"get / GET / \xc9TE \xe9TE") == [Match(5, 0), Match(11, 0), Match(19, 1)]

    def test_case_sensitive_by_default(self, matcher: PatternMatcher) -> None:
        compiled = matcher.compile([Pattern(0, b"Host"), Pattern(1, b"[a-z]+x", RE)])
        assert compiled.scan(b"host HOST Host AX") == [Match(14, 0)]

    @pytest.mark.parametrize(
        ("expression", "data", "expected", "dotall"),
        [
            pytest.param(b"\\d{3}", b"a12345", [4, 5, 6], False, id="digits"),
            pytest.param(b"[a-c]+z", b"abz cz dz", [3, 6], False, id="range-class"),
            pytest.param(b"[^a-z]", b"aB1", [2, 3], False, id="negated-class"),
            pytest.param(b"\\w\\s\\W", b"a !\tc\x0b.", [3, 7], False, id="word-space"),
            pytest.param(b"[[:xdigit:]]{2}", b"0fg", [2], False, id="posix-class"),
            pytest.param(b"a.b", b"a\nb axb", [7], False, id="dot-no-newline"),
            pytest.param(b"a.b", b"a\nb axb", [3, 7], True, id="dotall"),
            pytest.param(b"(?i)x[y]z", b"XYZ", [3], False, id="inline-nocase"),
            pytest.param(b"(?:ab|cd){2}", b"abcdab", [4, 6], False, id="group-repeat"),
            pytest.param(b"\\x41\\x{42}\\t", b"AB\t", [3], False, id="hex-escapes"),
            pytest.param(b"a{2,}?", b"aaaa", [2, 3, 4], False, id="lazy-is-all-ends"),
            pytest.param(b"x{,2}", b"x{,2}", [5], False, id="brace-literal"),
        ],
    )
    def test_regex_classes_and_groups(
        self, matcher: PatternMatcher, expression: bytes, data: bytes, expected: list[int], dotall: bool
    ) -> None:
        assert ends(matcher.compile([Pattern(0, expression, RE, dotall=dotall)]), data) == expected

    @pytest.mark.parametrize(
        ("expression", "data", "expected", "multiline"),
        [
            pytest.param(b"^ab", b"ab ab\nab", [2], False, id="caret-is-start"),
            pytest.param(b"^ab", b"ab ab\nab", [2, 8], True, id="caret-multiline"),
            pytest.param(b"ab$", b"ab\nab", [5], False, id="dollar-is-end"),
            pytest.param(b"ab$", b"xab\n", [3], False, id="dollar-before-final-newline"),
            pytest.param(b"ab$", b"ab\nab\n\n", [], False, id="dollar-not-before-inner-newline"),
            pytest.param(b"ab$", b"ab\nab", [2, 5], True, id="dollar-multiline"),
            pytest.param(b"ab\\z", b"ab\n", [], False, id="z-is-absolute-end"),
            pytest.param(b"\\bcat\\b", b"cat concat cats cat", [3, 19], False, id="word-boundary"),
            pytest.param(b"\\Bat", b"at cat", [6], False, id="not-word-boundary"),
            pytest.param(b"\\Aa", b"a\na", [1], True, id="A-ignores-multiline"),
        ],
    )
    def test_anchors(
        self, matcher: PatternMatcher, expression: bytes, data: bytes, expected: list[int], multiline: bool
    ) -> None:
        compiled = matcher.compile([Pattern(0, expression, RE, multiline=multiline)])
        assert ends(compiled, data) == expected

    def test_overlapping_and_shared_ends(self, matcher: PatternMatcher) -> None:
        compiled = matcher.compile(
            [Pattern(0, b"aa"), Pattern(1, b"a+", RE), Pattern(2, b"aaa"), Pattern(3, b"a|aa", RE)]
        )
        assert compiled.scan(b"aaaa") == sorted(
            [Match(e, 0) for e in (2, 3, 4)]
            + [Match(e, 1) for e in (1, 2, 3, 4)]
            + [Match(e, 2) for e in (3, 4)]
            + [Match(e, 3) for e in (1, 2, 3, 4)]
        )

    def test_ids_are_reported_as_given(self, matcher: PatternMatcher) -> None:
        compiled = matcher.compile([Pattern(4_000_000_000, b"x"), Pattern(17, b"y")])
        assert compiled.scan(b"yx") == [Match(1, 17), Match(2, 4_000_000_000)]

    def test_empty_input_and_empty_set(self, matcher: PatternMatcher) -> None:
        assert matcher.compile([Pattern(0, b"a"), Pattern(1, b"b+", RE)]).scan(b"") == []
        empty = matcher.compile([])
        assert empty.scan(b"anything") == []
        stream = empty.stream()
        assert stream.feed(b"x") == [] and stream.close() == []

    def test_anchor_only_patterns_on_empty_input(self, matcher: PatternMatcher) -> None:
        compiled = matcher.compile([Pattern(0, b"^", RE), Pattern(1, b"\\b", RE), Pattern(2, b"\\z", RE)])
        assert compiled.scan(b"") == [Match(0, 0), Match(0, 2)]
        assert compiled.stream().close() == [Match(0, 0), Match(0, 2)]

    def test_stream_split_at_every_offset(self, matcher: PatternMatcher) -> None:
        compiled = matcher.compile(STREAM_SET)
        whole = compiled.scan(STREAM_INPUT)
        assert whole, "the fixture input must produce matches"
        for cut in range(len(STREAM_INPUT) + 1):
            pieces = [STREAM_INPUT[:cut], STREAM_INPUT[cut:]]
            assert chunked(compiled, pieces) == whole, f"split at {cut}"

    def test_stream_byte_by_byte_and_three_way(self, matcher: PatternMatcher) -> None:
        compiled = matcher.compile(STREAM_SET)
        whole = compiled.scan(STREAM_INPUT)
        assert chunked(compiled, [bytes([b]) for b in STREAM_INPUT]) == whole
        for a in range(0, len(STREAM_INPUT), 3):
            for b in range(a, len(STREAM_INPUT), 4):
                pieces = [STREAM_INPUT[:a], b"", STREAM_INPUT[a:b], STREAM_INPUT[b:]]
                assert chunked(compiled, pieces) == whole

    def test_stream_reports_plain_matches_before_close(self, matcher: PatternMatcher) -> None:
        stream = matcher.compile([Pattern(0, b"needle")]).stream()
        assert stream.feed(b"hay nee") == []
        assert stream.feed(b"dle hay") == [Match(10, 0)]
        assert stream.close() == []

    def test_streams_are_independent(self, matcher: PatternMatcher) -> None:
        compiled = matcher.compile([Pattern(0, b"abcd")])
        one, two = compiled.stream(), compiled.stream()
        assert one.feed(b"ab") == [] and two.feed(b"xx") == []
        assert two.feed(b"cd") == [] and one.feed(b"cd") == [Match(4, 0)]
        assert one.close() == [] and two.close() == []

    def test_closed_stream_refuses_more(self, matcher: PatternMatcher) -> None:
        stream = matcher.compile([Pattern(0, b"a")]).stream()
        stream.close()
        with pytest.raises(ValueError):
            stream.feed(b"a")
        with pytest.raises(ValueError):
            stream.close()

    def test_thousand_literals(self, matcher: PatternMatcher) -> None:
        rng = random.Random(1000)
        literals = sorted({bytes(rng.choices(b"abcdefghij/=.-", k=rng.randint(4, 10))) for _ in range(1200)})
        literals = literals[:1000]
        assert len(literals) == 1000
        compiled = matcher.compile([Pattern(i, lit) for i, lit in enumerate(literals)])
        noise = bytes(rng.choices(b"abcdefghijklmnop /=.-", k=3000))
        planted = b"".join(noise[i : i + 30] + literals[i * 7 % 1000] for i in range(0, 3000, 30))
        assert compiled.scan(planted) == literal_oracle(literals, planted)
        cut = len(planted) // 3
        assert chunked(compiled, [planted[:cut], planted[cut:]]) == literal_oracle(literals, planted)

    def test_thousand_nocase_literals_with_regexes(self, matcher: PatternMatcher) -> None:
        rng = random.Random(7)
        literals = sorted({bytes(rng.choices(b"aBcDeFgH", k=6)) for _ in range(1100)})[:1000]
        patterns = [Pattern(i, lit, nocase=True) for i, lit in enumerate(literals)]
        patterns.append(Pattern(5000, b"id=[0-9]+;", RE))
        compiled = matcher.compile(patterns)
        data = b"id=12; " + b" ".join(literals[::50]).upper() + b" id=;"
        found = compiled.scan(data)
        assert [m for m in found if m.pattern_id < 5000] == literal_oracle(literals, data, nocase=True)
        assert [m for m in found if m.pattern_id == 5000] == [Match(6, 5000)]

    @pytest.mark.parametrize("expression", list(REJECTED.values()), ids=list(REJECTED))
    def test_rejected_syntax_names_the_rule(self, matcher: PatternMatcher, expression: bytes) -> None:
        good = Pattern(0, b"fine", RE, label="rule-ok")
        bad = Pattern(1, expression, RE, label="rule-42")
        with pytest.raises(PatternError, match="rule-42"):
            matcher.compile([good, bad])

    def test_pattern_errors_are_validation_errors(self, matcher: PatternMatcher) -> None:
        with pytest.raises(ValueError, match="sid:7"):
            matcher.compile([Pattern(0, b"(", RE, label="sid:7")])

    @pytest.mark.parametrize("kind", [LIT, RE])
    def test_source_length_cap(self, matcher: PatternMatcher, kind: PatternKind) -> None:
        at_cap = b"<" + b"x" * (MAX_PATTERN_LENGTH - 2) + b">"
        compiled = matcher.compile([Pattern(0, at_cap, kind)])
        assert ends(compiled, b"x" + at_cap + at_cap) == [MAX_PATTERN_LENGTH + 1, 2 * MAX_PATTERN_LENGTH + 1]
        with pytest.raises(PatternError, match="too-long"):
            matcher.compile([Pattern(0, at_cap + b"a", kind, label="too-long")])

    def test_empty_and_duplicate_patterns_rejected(self, matcher: PatternMatcher) -> None:
        with pytest.raises(PatternError, match="empty-one"):
            matcher.compile([Pattern(0, b"", label="empty-one")])
        with pytest.raises(PatternError, match="dup"):
            matcher.compile([Pattern(3, b"a"), Pattern(3, b"b", label="dup")])
        with pytest.raises(PatternError, match="negative"):
            matcher.compile([Pattern(-1, b"a", label="negative")])

    def test_compiled_set_is_reusable(self, matcher: PatternMatcher) -> None:
        compiled = matcher.compile([Pattern(0, b"x+y", RE)])
        assert compiled.scan(b"xxy") == compiled.scan(b"xxy") == [Match(3, 0)]
        assert compiled.scan(b"y") == []
