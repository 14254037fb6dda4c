"""Threat intelligence: the IOC model, sans-IO feed parsers and the merged IOC database."""

from sentinel_domain.threatintel._batch import IocBatch
from sentinel_domain.threatintel.config import MAX_FEEDS, FeedConfig, ThreatIntelConfig
from sentinel_domain.threatintel.engine import (
    DEFAULT_FEED_MAX_IOCS,
    DEFAULT_MAX_TOTAL,
    FeedIocs,
    FeedMergeStats,
    IocDatabase,
)
from sentinel_domain.threatintel.entity import (
    FeedFormat,
    Ioc,
    IocAction,
    IocKind,
    LineError,
    ParseOptions,
    ParseResult,
    ThreatIntelEvent,
    ThreatType,
    parse_feed_format,
    parse_ioc_action,
    parse_threat_type,
)
from sentinel_domain.threatintel.errors import (
    FeedFormatError,
    FeedRejectedError,
    ThreatIntelConfigError,
    ThreatIntelError,
)
from sentinel_domain.threatintel.parsers import (
    parse_csv,
    parse_feed,
    parse_feodo,
    parse_json,
    parse_plain,
    parse_spamhaus_drop,
    parse_stix,
    parse_urlhaus,
    parse_zeek_intel,
)

__all__ = [
    "DEFAULT_FEED_MAX_IOCS",
    "DEFAULT_MAX_TOTAL",
    "MAX_FEEDS",
    "FeedConfig",
    "FeedFormat",
    "FeedFormatError",
    "FeedIocs",
    "FeedMergeStats",
    "FeedRejectedError",
    "Ioc",
    "IocAction",
    "IocBatch",
    "IocDatabase",
    "IocKind",
    "LineError",
    "ParseOptions",
    "ParseResult",
    "ThreatIntelConfig",
    "ThreatIntelConfigError",
    "ThreatIntelError",
    "ThreatIntelEvent",
    "ThreatType",
    "parse_csv",
    "parse_feed",
    "parse_feed_format",
    "parse_feodo",
    "parse_ioc_action",
    "parse_json",
    "parse_plain",
    "parse_spamhaus_drop",
    "parse_stix",
    "parse_threat_type",
    "parse_urlhaus",
    "parse_zeek_intel",
]
