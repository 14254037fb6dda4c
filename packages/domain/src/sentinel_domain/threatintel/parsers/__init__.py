"""Sans-IO feed parsers: ``parse_<format>(data: bytes, options) -> ParseResult``.

Every parser returns a result or raises a ``ThreatIntelError`` subclass (``FeedFormatError``,
``FeedRejectedError``), whatever the bytes. Bad lines are counted, never fatal, unless more than
``options.max_junk_fraction`` of the non-comment lines are bad.
"""

from collections.abc import Callable

from sentinel_domain.threatintel.entity import FeedFormat, ParseOptions, ParseResult, parse_feed_format
from sentinel_domain.threatintel.parsers.csv_feed import parse_csv, parse_feodo, parse_urlhaus
from sentinel_domain.threatintel.parsers.json_feed import parse_json, parse_spamhaus_drop
from sentinel_domain.threatintel.parsers.plain import parse_plain
from sentinel_domain.threatintel.parsers.stix import parse_stix
from sentinel_domain.threatintel.parsers.zeek import parse_zeek_intel

Parser = Callable[[bytes, ParseOptions | None], ParseResult]

PARSERS: dict[FeedFormat, Parser] = {
    FeedFormat.PLAINTEXT: parse_plain,
    FeedFormat.CSV: parse_csv,
    FeedFormat.JSON: parse_json,
    FeedFormat.STIX: parse_stix,
    FeedFormat.SPAMHAUS_DROP: parse_spamhaus_drop,
    FeedFormat.FEODO: parse_feodo,
    FeedFormat.URLHAUS: parse_urlhaus,
    FeedFormat.ZEEK: parse_zeek_intel,
}


def parse_feed(data: bytes, fmt: FeedFormat | str, options: ParseOptions | None = None) -> ParseResult:
    """Parse ``data`` in format ``fmt`` (a FeedFormat or one of its names/aliases)."""
    return PARSERS[parse_feed_format(fmt)](data, options)


__all__ = [
    "PARSERS",
    "Parser",
    "parse_csv",
    "parse_feed",
    "parse_feodo",
    "parse_json",
    "parse_plain",
    "parse_spamhaus_drop",
    "parse_stix",
    "parse_urlhaus",
    "parse_zeek_intel",
]
