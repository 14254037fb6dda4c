"""Rule patterns: the linear-time glob (fnmatch as an oracle), substring mode, the domain matcher."""

import fnmatch
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.l7 import DomainPattern, L7RuleError, TextPattern

GLOB_CASES = {
    "star suffix": ("/api/*", "/api/users/1", True),
    "anchored at the start": ("/api/*", "/v1/api/users", False),
    "star matches slashes": ("/static/*.js", "/static/a/b/c.js", True),
    "question mark": ("/v?/x", "/v2/x", True),
    "question mark needs a character": ("/v?/x", "/v/x", False),
    "class": ("/[abc]x", "/bx", True),
    "range": ("/[a-f]x", "/gx", False),
    "negated class !": ("/[!a-f]x", "/gx", True),
    "negated class ^": ("/[^a-f]x", "/ax", False),
    "']' first in a class is literal": ("[]]", "]", True),
    "escaped star is literal": ("/a\\*b", "/a*b", True),
    "escaped star does not glob": ("/a\\*b", "/axxb", False),
    "case-insensitive": ("/ADMIN/*", "/admin/panel", True),
    "empty star run": ("/a*b", "/ab", True),
    "many stars": ("*a*b*c*", "xxaxxbxxcxx", True),
    "double star is one star": ("/a/**", "/a/b/c", True),
}


@pytest.mark.parametrize("pattern, text, expected", GLOB_CASES.values(), ids=GLOB_CASES.keys())
def test_glob(pattern: str, text: str, expected: bool) -> None:
    compiled = TextPattern(pattern)
    assert compiled.is_glob
    assert compiled.matches(text) is expected


SUBSTRING_CASES = {
    "contained": ("/admin", "/x/admin/y", True),
    "case-insensitive": ("Admin", "/ADMIN", True),
    "absent": ("/admin", "/adm", False),
    "backslash is literal without glob characters": ("a\\b", "xa\\by", True),
}


@pytest.mark.parametrize("pattern, text, expected", SUBSTRING_CASES.values(), ids=SUBSTRING_CASES.keys())
def test_without_glob_characters_a_pattern_is_a_substring(pattern: str, text: str, expected: bool) -> None:
    compiled = TextPattern(pattern)
    assert not compiled.is_glob
    assert compiled.matches(text) is expected


INVALID_TEXT = {
    "empty": "",
    "unclosed class": "/[abc",
    "reversed range": "/[z-a]",
    "trailing backslash": "/a*\\",
    "control character": "/a\nb",
    "too long": "a" * 513,
}


@pytest.mark.parametrize("pattern", INVALID_TEXT.values(), ids=INVALID_TEXT.keys())
def test_invalid_text_patterns(pattern: str) -> None:
    with pytest.raises(L7RuleError):
        TextPattern(pattern)


_GLOB_ALPHABET = st.sampled_from(["a", "b", "/", "*", "?", "[ab]", "[!a]", "[a-b]"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_GLOB_ALPHABET, min_size=1, max_size=8), st.text(alphabet="ab/c", max_size=12))
def test_glob_agrees_with_fnmatch(parts: list[str], text: str) -> None:
    pattern = "".join(parts)
    if not any(c in pattern for c in "*?["):
        pattern += "*"
    assert TextPattern(pattern).matches(text) == fnmatch.fnmatchcase(text, pattern)


def test_glob_is_not_exponential() -> None:
    pattern = TextPattern("*a" * 20 + "*b")
    text = "a" * 5000
    start = time.perf_counter()
    assert not pattern.matches(text)
    assert time.perf_counter() - start < 5.0  # a backtracking matcher would never finish


DOMAIN_CASES = {
    "suffix matches a subdomain": ("*.example.com", "www.example.com", True),
    "suffix matches a deep subdomain": ("*.example.com", "a.b.example.com", True),
    "suffix excludes the apex": ("*.example.com", "example.com", False),
    "suffix needs a label boundary": ("*.example.com", "badexample.com", False),
    "suffix is case-insensitive": ("*.Example.COM", "WWW.example.com", True),
    "trailing dot of the name is ignored": ("*.example.com", "www.example.com.", True),
    "prefix": ("www.*", "www.example.org", True),
    "prefix needs more labels": ("www.*", "www.", False),
    "prefix needs a label boundary": ("www.*", "wwwx.example.org", False),
    "substring": ("example", "my.example.net", True),
    "substring absent": ("example", "my.exam.net", False),
}


@pytest.mark.parametrize("pattern, name, expected", DOMAIN_CASES.values(), ids=DOMAIN_CASES.keys())
def test_domain_matcher(pattern: str, name: str, expected: bool) -> None:
    assert DomainPattern(pattern).matches(name) is expected


INVALID_DOMAIN = {
    "empty": "",
    "regex": "~^evil\\..*$",
    "both *. and .*": "*.example.*",
    "star in the middle": "ex*ample.com",
    "bare star": "*",
    "whitespace": "exa mple.com",
    "longer than 253": "a" * 254,
}


@pytest.mark.parametrize("pattern", INVALID_DOMAIN.values(), ids=INVALID_DOMAIN.keys())
def test_invalid_domain_patterns(pattern: str) -> None:
    with pytest.raises(L7RuleError):
        DomainPattern(pattern)


def test_regex_rejection_says_why() -> None:
    with pytest.raises(L7RuleError, match=r"regex patterns .* are not supported"):
        DomainPattern("~evil")


def test_253_characters_are_allowed() -> None:
    assert DomainPattern("a" * 253).matches("a" * 253)


def test_patterns_compare_by_source() -> None:
    assert TextPattern("/a*") == TextPattern("/a*")
    assert DomainPattern("*.a.com") == DomainPattern("*.a.com")
    assert hash(TextPattern("/x")) == hash(TextPattern("/x"))
