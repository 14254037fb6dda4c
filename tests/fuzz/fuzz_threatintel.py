"""Harnesses for the threat-intel feed parsers: a result, FeedFormatError or FeedRejectedError.

Contract (``sentinel_domain.threatintel.parsers`` docstring): every parser returns a
ParseResult or raises a ``ThreatIntelError`` subclass for the feed (FeedFormatError, or its
subclass FeedRejectedError for too much junk), whatever the bytes. The first input byte picks
one of a few parse-option sets (header row, separator, named columns, junk tolerance, expiry
clock) so the option-dependent paths are fuzzed too. The harnesses also check the error list
is capped and consistent with the error count.
"""

from collections.abc import Callable

from _support import check

from sentinel_domain.threatintel import (
    FeedFormatError,
    ParseOptions,
    ParseResult,
    parse_csv,
    parse_feodo,
    parse_json,
    parse_plain,
    parse_spamhaus_drop,
    parse_stix,
    parse_urlhaus,
    parse_zeek_intel,
)

_NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z: STIX valid_until is compared with it
_KEPT = 8
_BASE = ParseOptions(feed_id="fuzz", max_errors_kept=_KEPT)
_TOLERANT = ParseOptions(feed_id="fuzz", max_errors_kept=_KEPT, max_junk_fraction=1.0, now=_NOW)
_OPTIONS: dict[str, tuple[ParseOptions, ...]] = {
    "plain": (_BASE, _TOLERANT, ParseOptions(comment_prefix="//", max_errors_kept=_KEPT)),
    "csv": (
        _BASE,
        ParseOptions(separator=";", skip_header=True, value_field="indicator", confidence_field="score",
                     category_field="kind", max_errors_kept=_KEPT),
        ParseOptions(separator="\t", value_field=1, confidence_field=2, max_junk_fraction=1.0,
                     max_errors_kept=_KEPT),
    ),
    "json": (
        _BASE,
        ParseOptions(items_path="data.indicators", value_field="observable.value", confidence_field="score",
                     category_field="tags", max_errors_kept=_KEPT),
        ParseOptions(value_field="ioc.value", max_junk_fraction=1.0, max_errors_kept=_KEPT),
    ),
    "generic": (_BASE, _TOLERANT),
}  # fmt: skip


def _options(data: bytes, family: str) -> ParseOptions:
    variants = _OPTIONS[family]
    return variants[data[0] % len(variants)] if data else variants[0]


def _run(parser: Callable[[bytes, ParseOptions | None], ParseResult], data: bytes, family: str) -> None:
    options = _options(data, family)
    try:
        result = parser(data[1:], options)
    except FeedFormatError:  # FeedRejectedError included
        return
    check(len(result.errors) <= options.max_errors_kept, "more errors kept than max_errors_kept")
    check(result.error_count >= len(result.errors), "error_count below the errors kept")


def fuzz_plain(data: bytes) -> None:
    _run(parse_plain, data, "plain")


def fuzz_csv(data: bytes) -> None:
    _run(parse_csv, data, "csv")


def fuzz_json(data: bytes) -> None:
    _run(parse_json, data, "json")


def fuzz_stix(data: bytes) -> None:
    _run(parse_stix, data, "generic")


def fuzz_spamhaus_drop(data: bytes) -> None:
    _run(parse_spamhaus_drop, data, "generic")


def fuzz_feodo(data: bytes) -> None:
    _run(parse_feodo, data, "generic")


def fuzz_urlhaus(data: bytes) -> None:
    _run(parse_urlhaus, data, "generic")


def fuzz_zeek_intel(data: bytes) -> None:
    _run(parse_zeek_intel, data, "generic")


HARNESSES = {
    "ti_plain": fuzz_plain,
    "ti_csv": fuzz_csv,
    "ti_json": fuzz_json,
    "ti_stix": fuzz_stix,
    "ti_spamhaus_drop": fuzz_spamhaus_drop,
    "ti_feodo": fuzz_feodo,
    "ti_urlhaus": fuzz_urlhaus,
    "ti_zeek_intel": fuzz_zeek_intel,
}
