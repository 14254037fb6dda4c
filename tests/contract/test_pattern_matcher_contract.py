"""Every PatternMatcher passes PatternMatcherContract; reference and hyperscan also agree with each other."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentinel_adapters.matching import HyperscanMatcher
from sentinel_domain.common.matching import Pattern, PatternError, PatternKind, PatternMatcher
from sentinel_testkit.contracts import PatternMatcherContract
from sentinel_testkit.fakes import ReferenceMatcher

ROOT = Path(__file__).resolve().parents[2]


class TestReferenceMatcher(PatternMatcherContract):
    @pytest.fixture
    def matcher(self) -> PatternMatcher:
        return ReferenceMatcher()


class TestHyperscanMatcher(PatternMatcherContract):
    @pytest.fixture
    def matcher(self) -> PatternMatcher:
        return HyperscanMatcher()


# Differential testing: random regexes from a grammar that reaches every construct of the subset
# (and some rejected ones), random inputs over a small alphabet; both matchers must agree on
# accept/reject and on the exact match set, in block and stream mode.
ATOMS = st.sampled_from(
    [
        "a",
        "b",
        "A",
        " ",
        "\\n",
        ".",
        "\\d",
        "\\w",
        "\\W",
        "\\s",
        "[a-c]",
        "[^a]",
        "[[:alpha:]_]",
        "\\x41",
        "^",
        "$",
        "\\b",
        "\\B",
        "\\A",
        "\\z",
        "\\Z",
        "(?m:^)",
        "(?m:$)",
        "(?i:a)",
        "(?s:.)",
    ]
)
QUANTIFIERS = st.sampled_from(["", "", "", "*", "+", "?", "{2}", "{1,2}", "{0,2}", "*?"])


def _regex() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        group = st.builds(lambda x, q: f"(?:{x}){q}", inner, QUANTIFIERS)
        alternation = st.builds(lambda a, b: f"{a}|{b}", inner, inner)
        concat = st.builds(lambda a, b: a + b, inner, inner)
        return group | alternation | concat

    atom = st.builds(lambda a, q: a + q, ATOMS, QUANTIFIERS)
    return st.recursive(atom, extend, max_leaves=6)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    expression=_regex(),
    flags=st.fixed_dictionaries(
        {"nocase": st.booleans(), "dotall": st.booleans(), "multiline": st.booleans()}
    ),
    data=st.binary(max_size=10).map(lambda b: bytes(b"aAb \n_1."[x % 8] for x in b)),
    cut=st.integers(min_value=0, max_value=10),
)
def test_reference_and_hyperscan_agree(
    expression: str, flags: dict[str, bool], data: bytes, cut: int
) -> None:
    pattern = Pattern(9, expression.encode(), PatternKind.REGEX, label="diff", **flags)
    outcomes = []
    for matcher in (ReferenceMatcher(), HyperscanMatcher()):
        try:
            compiled = matcher.compile([pattern])
        except PatternError:
            outcomes.append(None)
            continue
        stream = compiled.stream()
        streamed = sorted([*stream.feed(data[:cut]), *stream.feed(data[cut:]), *stream.close()])
        block = compiled.scan(data)
        assert streamed == block, f"{type(matcher).__name__} stream != block"
        outcomes.append(block)
    assert outcomes[0] == outcomes[1], f"reference={outcomes[0]} hyperscan={outcomes[1]}"
