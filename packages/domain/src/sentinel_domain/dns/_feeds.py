"""Blocklist text formats: plain domain lists, hosts files and the Adblock DNS subset.

Each parser takes decoded text (the feed adapter owns bytes, size caps and charset) and never
raises on content: bad lines are counted in the FeedParseResult. Every format accepts CRLF line
ends and a leading BOM.
"""

from sentinel_domain.common.addresses import parse_address
from sentinel_domain.common.errors import ValidationError
from sentinel_domain.dns._names import normalize_domain
from sentinel_domain.dns.entity import DomainPattern, FeedFormat, FeedParseResult, MatchMode
from sentinel_domain.dns.errors import DomainNameError

# Names every hosts file maps to loopback; blocking them would break the machine (contract §7.8).
HOSTS_SKIPPED_NAMES = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "broadcasthost",
        "local",
        "ip6-localhost",
        "ip6-loopback",
        "ip6-localnet",
        "ip6-mcastprefix",
        "ip6-allnodes",
        "ip6-allrouters",
        "ip6-allhosts",
    }
)
# Adblock options that do not change what a DNS-level rule blocks.
_HARMLESS_ADBLOCK_OPTIONS = frozenset({"important"})


def parse_domain_pattern(text: str, source: str = "config") -> DomainPattern:
    """One pattern: ``example.com`` (exact), ``*.example.com`` (strict subdomains) or
    ``||example.com^`` (the domain and its subdomains). Case and a trailing dot are ignored.

    Raises DomainNameError naming the pattern when it is not one of these forms.
    """
    raw = text.strip()
    if raw.startswith("||") and raw.endswith("^"):
        return DomainPattern(normalize_domain(raw[2:-1]), MatchMode.SUFFIX, source)
    if raw.startswith("*."):
        return DomainPattern(normalize_domain(raw[2:]), MatchMode.WILDCARD, source)
    if "*" in raw or "|" in raw or "^" in raw:
        raise DomainNameError(
            f"invalid blocklist pattern '{text}': expected 'example.com', '*.example.com' or '||example.com^'"
        )
    return DomainPattern(normalize_domain(raw), MatchMode.EXACT, source)


class _Collector:
    """Deduplicating, capped accumulation of patterns and counts."""

    def __init__(self, max_patterns: int | None) -> None:
        self.patterns: dict[tuple[MatchMode, str], DomainPattern] = {}
        self.max_patterns = max_patterns
        self.invalid = 0
        self.unsupported = 0
        self.ignored = 0
        self.capped = False

    def add(self, pattern: DomainPattern) -> bool:
        """False once the cap is reached (the caller stops reading)."""
        key = (pattern.mode, pattern.domain)
        if key in self.patterns:
            self.ignored += 1
            return True
        if self.max_patterns is not None and len(self.patterns) >= self.max_patterns:
            self.capped = True
            return False
        self.patterns[key] = pattern
        return True

    def result(self) -> FeedParseResult:
        return FeedParseResult(
            tuple(self.patterns.values()), self.invalid, self.unsupported, self.ignored, self.capped
        )


def _lines(text: str) -> list[str]:
    return text.removeprefix("\ufeff").splitlines()


def parse_plain_list(text: str, source: str, max_patterns: int | None = None) -> FeedParseResult:
    """One pattern per line (any form :func:`parse_domain_pattern` accepts); ``#`` starts a comment."""
    out = _Collector(max_patterns)
    for line in _lines(text):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        try:
            pattern = parse_domain_pattern(body, source)
        except DomainNameError:
            out.invalid += 1
            continue
        if not out.add(pattern):
            break
    return out.result()


def parse_hosts(text: str, source: str, max_patterns: int | None = None) -> FeedParseResult:
    """``<ip> <name> [<name>…]`` lines; every name becomes an exact pattern.

    Any IP address is accepted as the first field (0.0.0.0, 127.0.0.1, ::1 …); localhost-style
    names (HOSTS_SKIPPED_NAMES) are counted as ignored; ``#`` starts a comment.
    """
    out = _Collector(max_patterns)
    for line in _lines(text):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        try:
            parse_address(fields[0])
        except ValidationError:
            out.invalid += 1
            continue
        if len(fields) < 2:
            out.invalid += 1
            continue
        for name in fields[1:]:
            if name.lower().rstrip(".") in HOSTS_SKIPPED_NAMES:
                out.ignored += 1
                continue
            try:
                pattern = DomainPattern(normalize_domain(name), MatchMode.EXACT, source)
            except DomainNameError:
                out.invalid += 1
                continue
            if not out.add(pattern):
                return out.result()
    return out.result()


def parse_adblock(text: str, source: str, max_patterns: int | None = None) -> FeedParseResult:
    """The DNS-relevant subset of Adblock syntax: ``||domain^`` lines (suffix patterns).

    ``!`` lines and ``[Adblock Plus …]`` headers are comments. Counted as unsupported (and
    skipped): exceptions ``@@…``, rules with options other than ``$important``, paths, cosmetic
    ``##`` rules, regex ``/…/`` rules, and any other syntax.
    """
    out = _Collector(max_patterns)
    for line in _lines(text):
        body = line.strip()
        if not body or body.startswith("!") or (body.startswith("[") and body.endswith("]")):
            continue
        if body.startswith("@@") or "##" in body or "#@#" in body or "#?#" in body:
            out.unsupported += 1
            continue
        rule, _, options = body.partition("$")
        if options and not all(
            opt.strip().lower() in _HARMLESS_ADBLOCK_OPTIONS for opt in options.split(",")
        ):
            out.unsupported += 1
            continue
        if not (rule.startswith("||") and rule.endswith("^")):
            out.unsupported += 1
            continue
        host = rule[2:-1]
        if any(ch in host for ch in "/*|^:?="):
            out.unsupported += 1
            continue
        try:
            pattern = DomainPattern(normalize_domain(host), MatchMode.SUFFIX, source)
        except DomainNameError:
            out.invalid += 1
            continue
        if not out.add(pattern):
            break
    return out.result()


def parse_feed(text: str, fmt: FeedFormat, source: str, max_patterns: int | None = None) -> FeedParseResult:
    """Dispatch on ``fmt``; see the format-specific parsers."""
    if fmt is FeedFormat.HOSTS:
        return parse_hosts(text, source, max_patterns)
    if fmt is FeedFormat.ADBLOCK:
        return parse_adblock(text, source, max_patterns)
    return parse_plain_list(text, source, max_patterns)
