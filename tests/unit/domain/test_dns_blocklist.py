"""Domain blocklists: pattern forms, feed formats, matching modes and per-source refresh."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.dns import (
    DnsConfigError,
    DomainBlocklist,
    DomainNameError,
    DomainPattern,
    FeedFormat,
    MatchMode,
    normalize_domain,
    parse_adblock,
    parse_config_patterns,
    parse_domain_pattern,
    parse_feed,
    parse_feed_format,
    parse_hosts,
    parse_plain_list,
)

FIXTURES = Path(__file__).parent / "fixtures" / "dns"


def texts(result):
    return sorted(p.text for p in result.patterns)


class TestPatternForms:
    @pytest.mark.parametrize(
        ("text", "domain", "mode"),
        [
            pytest.param("example.com", "example.com", MatchMode.EXACT, id="exact"),
            pytest.param("Example.COM.", "example.com", MatchMode.EXACT, id="case-and-trailing-dot"),
            pytest.param("*.example.com", "example.com", MatchMode.WILDCARD, id="wildcard"),
            pytest.param("||example.com^", "example.com", MatchMode.SUFFIX, id="adblock-suffix"),
            pytest.param("  _dmarc.example.com ", "_dmarc.example.com", MatchMode.EXACT, id="underscore"),
            pytest.param("bücher.de", "xn--bcher-kva.de", MatchMode.EXACT, id="idn-to-punycode"),
        ],
    )
    def test_accepted(self, text, domain, mode):
        pattern = parse_domain_pattern(text, "config")
        assert (pattern.domain, pattern.mode, pattern.source) == (domain, mode, "config")

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("", id="empty"),
            pytest.param(".", id="root"),
            pytest.param("a..b", id="empty-label"),
            pytest.param("a" * 64 + ".com", id="label-64"),
            pytest.param(".".join(["abcdefghi"] * 26), id="name-over-253"),
            pytest.param("exa mple.com", id="space"),
            pytest.param("ex!ample.com", id="bang"),
            pytest.param("a.*.example.com", id="inner-star"),
            pytest.param("*example.com", id="star-no-dot"),
            pytest.param("|example.com^", id="single-pipe"),
        ],
    )
    def test_rejected_with_the_value_named(self, text):
        with pytest.raises(DomainNameError) as info:
            parse_domain_pattern(text)
        assert repr(text)[1:-1][:10] in str(info.value)

    def test_name_of_253_characters_is_the_limit(self):
        name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
        assert normalize_domain(name) == name
        with pytest.raises(DomainNameError, match="254 characters"):
            normalize_domain(name + "d")

    def test_canonical_text(self):
        assert DomainPattern("a.com", MatchMode.WILDCARD).text == "*.a.com"
        assert DomainPattern("a.com", MatchMode.SUFFIX).text == "||a.com^"
        assert DomainPattern("a.com").text == "a.com"

    def test_config_wildcards_have_at_most_five_labels(self):
        assert len(parse_config_patterns(["*.a.b.c.d.e", "x.com"])) == 2
        with pytest.raises(DomainNameError, match="6 labels") as info:
            parse_config_patterns(["ok.com", "*.a.b.c.d.e.f"])
        assert info.value.field == "dns.blocklist.domains[1]"

    @pytest.mark.parametrize(
        ("value", "fmt"),
        [
            ("plaintext", FeedFormat.PLAINTEXT),
            ("TXT", FeedFormat.PLAINTEXT),
            ("hosts", FeedFormat.HOSTS),
            ("adblock", FeedFormat.ADBLOCK),
        ],
    )
    def test_feed_format_names(self, value, fmt):
        assert parse_feed_format(value) is fmt

    def test_unknown_feed_format(self):
        with pytest.raises(DnsConfigError, match="expected one of plaintext, hosts, adblock"):
            parse_feed_format("csv")


class TestFeedFormats:
    def test_hosts_file(self):
        result = parse_hosts((FIXTURES / "hosts.txt").read_text("utf-8"), "feed:hosts")
        assert texts(result) == [
            "a.evil.org",
            "ads.example.com",
            "b.evil.org",
            "tracker.example.net",
            "v6.evil.org",
        ]
        assert all(p.mode is MatchMode.EXACT and p.source == "feed:hosts" for p in result.patterns)
        # localhost, localhost.localdomain, broadcasthost, 3 names on the ::1 line, local, duplicate
        assert result.ignored == 8
        # a bare IP, a non-IP first field, an invalid name
        assert result.invalid == 3
        assert result.unsupported == 0 and not result.capped

    def test_adblock_list(self):
        result = parse_adblock((FIXTURES / "adblock.txt").read_text("utf-8"), "feed:abp")
        assert texts(result) == ["||ads.example.com^", "||important.example^", "||tracker.example.net^"]
        # $third-party, @@exception, ## cosmetic, path, /regex/, ||*.wild^, a bare domain
        assert result.unsupported == 7
        assert result.invalid == 1

    def test_plain_list(self):
        result = parse_plain_list((FIXTURES / "plain.txt").read_text("utf-8"), "feed:plain")
        assert texts(result) == ["*.phishing.example", "malware.example", "||suffix.example^"]
        assert result.ignored == 1  # the duplicate in another case
        assert result.invalid == 1

    def test_cap_stops_the_parse(self):
        text = "\n".join(f"d{i}.example" for i in range(100))
        result = parse_feed(text, FeedFormat.PLAINTEXT, "feed:x", max_patterns=10)
        assert len(result.patterns) == 10 and result.capped

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=400), st.sampled_from(list(FeedFormat)))
    def test_arbitrary_text_never_raises(self, text, fmt):
        result = parse_feed(text, fmt, "feed:fuzz")
        for pattern in result.patterns:
            assert normalize_domain(pattern.domain) == pattern.domain


class TestMatching:
    @pytest.fixture
    def blocklist(self):
        return DomainBlocklist(
            [
                parse_domain_pattern("exact.example"),
                parse_domain_pattern("*.wild.example"),
                parse_domain_pattern("||suffix.example^"),
                parse_domain_pattern("a.b.deep.example"),
                parse_domain_pattern("*.deep.example"),
            ]
        )

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            pytest.param("exact.example", "exact.example", id="exact"),
            pytest.param("EXACT.Example.", "exact.example", id="exact-case-dot"),
            pytest.param("www.exact.example", None, id="exact-not-subdomain"),
            pytest.param("wild.example", None, id="wildcard-not-apex"),
            pytest.param("a.wild.example", "*.wild.example", id="wildcard-child"),
            pytest.param("x.y.wild.example", "*.wild.example", id="wildcard-grandchild"),
            pytest.param("suffix.example", "||suffix.example^", id="suffix-apex"),
            pytest.param("a.b.suffix.example", "||suffix.example^", id="suffix-deep"),
            pytest.param("notsuffix.example", None, id="label-boundary"),
            pytest.param("a.b.deep.example", "a.b.deep.example", id="exact-beats-wildcard"),
            pytest.param("z.b.deep.example", "*.deep.example", id="wildcard-parent"),
            pytest.param("", None, id="empty"),
            pytest.param("example", None, id="tld"),
        ],
    )
    def test_modes(self, blocklist, name, expected):
        pattern = blocklist.match(name)
        assert (pattern.text if pattern else None) == expected

    def test_most_specific_parent_wins(self):
        bl = DomainBlocklist(
            [parse_domain_pattern("||example.com^"), parse_domain_pattern("*.ads.example.com")]
        )
        assert bl.match("x.ads.example.com").text == "*.ads.example.com"
        assert bl.match("ads.example.com").text == "||example.com^"

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True), min_size=1, max_size=5))
    def test_suffix_equals_exact_or_wildcard(self, labels):
        base = "base.example"
        name = ".".join([*labels, base])
        suffix = DomainBlocklist([DomainPattern(base, MatchMode.SUFFIX)])
        both = DomainBlocklist(
            [DomainPattern(base, MatchMode.EXACT), DomainPattern(base, MatchMode.WILDCARD)]
        )
        for candidate in (name, base, name.upper()):
            assert (suffix.match(candidate) is None) == (both.match(candidate) is None)


class TestSources:
    def test_refresh_replaces_only_its_own_entries(self):
        bl = DomainBlocklist([DomainPattern("keep.example", source="config")])
        bl.replace_source("feed:a", [DomainPattern("one.example"), DomainPattern("two.example")])
        bl.replace_source("feed:b", [DomainPattern("two.example")])
        assert len(bl) == 3

        added, removed = bl.replace_source("feed:a", [DomainPattern("three.example")])
        assert (added, removed) == (1, 2)
        assert bl.match("one.example") is None
        assert bl.match("two.example").source == "feed:b"  # still held by the other feed
        assert bl.match("keep.example").source == "config"
        assert bl.match("three.example").source == "feed:a"
        assert bl.sources() == ["config", "feed:a", "feed:b"]

    def test_shared_pattern_reports_first_source_and_survives_one_removal(self):
        bl = DomainBlocklist(
            [DomainPattern("x.example", source="feed:z"), DomainPattern("x.example", source="api")]
        )
        assert len(bl) == 1
        assert bl.match("x.example").source == "api"
        assert bl.remove(DomainPattern("x.example", source="api"))
        assert not bl.remove(DomainPattern("x.example", source="api"))
        assert bl.match("x.example").source == "feed:z"
        assert bl.remove_source("feed:z") == 1
        assert bl.match("x.example") is None and len(bl) == 0 and bl.sources() == []

    def test_patterns_listing(self):
        bl = DomainBlocklist([DomainPattern("b.example", MatchMode.SUFFIX, "f"), DomainPattern("a.example")])
        assert [p.text for p in bl.patterns()] == ["a.example", "||b.example^"]
        assert [p.text for p in bl.patterns("f")] == ["||b.example^"]
