"""Harnesses for the DNS wire parser (only DnsParseError) and the blocklist text formats (never raise).

Contract (``sentinel_domain.dns._wire`` and ``_feeds`` docstrings): ``parse_message`` returns a
message or raises DnsParseError for any bytes, bounded in time (pointer hops, question and answer
caps); the feed parsers take decoded text and count bad lines instead of raising. The feed
harnesses also check that ``max_patterns`` is honoured.
"""

from _support import as_text, check

from sentinel_domain.dns import (
    MAX_ANSWERS,
    MAX_QUESTIONS,
    DnsParseError,
    FeedParseResult,
    parse_adblock,
    parse_hosts,
    parse_message,
    parse_plain_list,
)

_FEED_CAP = 50


def fuzz_message(data: bytes) -> None:
    try:
        message = parse_message(data)
    except DnsParseError:
        return
    check(len(message.questions) <= MAX_QUESTIONS, "more questions than the cap")
    check(len(message.answers) <= MAX_ANSWERS, "more answers than the cap")


def _check_feed(result: FeedParseResult) -> None:
    check(len(result.patterns) <= _FEED_CAP, "more patterns than max_patterns")


def fuzz_hosts(data: bytes) -> None:
    _check_feed(parse_hosts(as_text(data), "fuzz", _FEED_CAP))


def fuzz_plain_list(data: bytes) -> None:
    _check_feed(parse_plain_list(as_text(data), "fuzz", _FEED_CAP))


def fuzz_adblock(data: bytes) -> None:
    _check_feed(parse_adblock(as_text(data), "fuzz", _FEED_CAP))


HARNESSES = {
    "dns_message": fuzz_message,
    "dns_hosts": fuzz_hosts,
    "dns_plain_list": fuzz_plain_list,
    "dns_adblock": fuzz_adblock,
}
