"""The ``threatintel`` section and its feed definitions (contract §1.7), validated.

Fetching (HTTP, SSRF guard, auth header use) is the adapters' job; this module only checks the
values and turns a feed into :class:`ParseOptions`.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sentinel_domain.threatintel.entity import (
    DEFAULT_MAX_JUNK_FRACTION,
    FeedFormat,
    IocAction,
    ParseOptions,
    parse_feed_format,
    parse_ioc_action,
)
from sentinel_domain.threatintel.errors import ThreatIntelConfigError

MAX_FEEDS = 100
DEFAULT_REFRESH_SECS = 3600
DEFAULT_MAX_IOCS = 500_000
_FEED_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _bool(data: Mapping[str, object], key: str, default: bool, owner: str) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ThreatIntelConfigError(f"{owner}: {key} must be true or false", key)
    return value


def _int(data: Mapping[str, object], key: str, default: int, limits: tuple[int, int], owner: str) -> int:
    low, high = limits
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ThreatIntelConfigError(f"{owner}: {key} must be an integer, got '{value}'", key)
    if not low <= value <= high:
        raise ThreatIntelConfigError(f"{owner}: {key} {value} out of range {low}-{high}", key)
    return value


def _column(data: Mapping[str, object], key: str, owner: str) -> str | int | None:
    value = data.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ThreatIntelConfigError(f"{owner}: {key} must be a column index or a non-empty name", key)


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """One feed. ``value_field`` is the contract's ``ip_field``; ``items_path`` (JSON) and the
    formats beyond csv/json/stix/plaintext are our extensions."""

    id: str
    name: str
    url: str
    format: FeedFormat = FeedFormat.PLAINTEXT
    enabled: bool = True
    refresh_interval_secs: int = DEFAULT_REFRESH_SECS
    max_iocs: int = DEFAULT_MAX_IOCS
    default_action: IocAction = IocAction.ALERT
    min_confidence: int = 0
    value_field: str | int | None = None
    confidence_field: str | int | None = None
    category_field: str | int | None = None
    items_path: str | None = None
    separator: str = ","
    comment_prefix: str = "#"
    skip_header: bool = False
    auth_header: str | None = field(default=None, repr=False)
    max_junk_fraction: float = DEFAULT_MAX_JUNK_FRACTION

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> "FeedConfig":
        """Validate one feed mapping (``id``, ``name``, ``url`` required; http/https URLs only)."""
        feed_id = data.get("id")
        if not isinstance(feed_id, str) or not _FEED_ID.fullmatch(feed_id):
            raise ThreatIntelConfigError(
                f"feed id '{feed_id}' must be 1-64 characters of [A-Za-z0-9_.-]", "id"
            )
        owner = f"feed '{feed_id}'"
        name, url = data.get("name"), data.get("url")
        if not isinstance(name, str) or not name.strip():
            raise ThreatIntelConfigError(f"{owner}: name is required", "name")
        if not isinstance(url, str) or not url.strip():
            raise ThreatIntelConfigError(f"{owner}: url is required", "url")
        try:
            parts = urlsplit(url.strip())
            host = parts.hostname
        except ValueError:
            host, parts = None, None
        if parts is None or parts.scheme not in ("http", "https") or not host:
            raise ThreatIntelConfigError(
                f"{owner}: url '{url}' must be an http or https URL with a host", "url"
            )
        separator = data.get("separator", ",")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ThreatIntelConfigError(
                f"{owner}: separator '{separator}' must be a single character", "separator"
            )
        prefix = data.get("comment_prefix", "#")
        if not isinstance(prefix, str) or not prefix:
            raise ThreatIntelConfigError(
                f"{owner}: comment_prefix must be a non-empty string", "comment_prefix"
            )
        auth = data.get("auth_header")
        if auth is not None and (
            not isinstance(auth, str) or ":" not in auth or "\n" in auth or "\r" in auth
        ):
            raise ThreatIntelConfigError(
                f"{owner}: auth_header must be one 'Name: value' line", "auth_header"
            )
        items_path = data.get("items_path")
        if items_path is not None and (not isinstance(items_path, str) or not items_path.strip()):
            raise ThreatIntelConfigError(f"{owner}: items_path must be a dotted path", "items_path")
        junk = data.get("max_junk_fraction", DEFAULT_MAX_JUNK_FRACTION)
        if isinstance(junk, bool) or not isinstance(junk, int | float) or not 0 <= junk <= 1:
            raise ThreatIntelConfigError(f"{owner}: max_junk_fraction '{junk}' out of range 0.0-1.0")
        return cls(
            id=feed_id,
            name=name.strip(),
            url=url.strip(),
            format=parse_feed_format(data.get("format", "plaintext")),
            enabled=_bool(data, "enabled", True, owner),
            refresh_interval_secs=_int(
                data, "refresh_interval_secs", DEFAULT_REFRESH_SECS, (1, 2**32 - 1), owner
            ),
            max_iocs=_int(data, "max_iocs", DEFAULT_MAX_IOCS, (1, 2**32 - 1), owner),
            default_action=parse_ioc_action(data.get("default_action", "alert")),
            min_confidence=_int(data, "min_confidence", 0, (0, 100), owner),
            value_field=_column(data, "ip_field", owner),
            confidence_field=_column(data, "confidence_field", owner),
            category_field=_column(data, "category_field", owner),
            items_path=items_path,
            separator=separator,
            comment_prefix=prefix,
            skip_header=_bool(data, "skip_header", False, owner),
            auth_header=auth,
            max_junk_fraction=float(junk),
        )

    def parse_options(self, now: float | None = None, action: IocAction | None = None) -> ParseOptions:
        """Parse options for this feed; ``action`` overrides ``default_action`` (e.g. from the
        section's mode), ``now`` lets STIX skip expired indicators."""
        return ParseOptions(
            feed_id=self.id,
            action=self.default_action if action is None else action,
            comment_prefix=self.comment_prefix,
            separator=self.separator,
            skip_header=self.skip_header,
            value_field=self.value_field,
            confidence_field=self.confidence_field,
            category_field=self.category_field,
            items_path=self.items_path,
            now=now,
            max_junk_fraction=self.max_junk_fraction,
        )


@dataclass(frozen=True, slots=True)
class ThreatIntelConfig:
    """The section: ``enabled``, ``mode`` (alert|block: block ⇒ every IOC is enforced),
    ``country_confidence_boost`` ({CC: -128..127}), ``feeds`` (at most 100, unique ids)."""

    enabled: bool = True
    mode: IocAction = IocAction.ALERT
    country_confidence_boost: Mapping[str, int] = field(default_factory=dict)
    feeds: tuple[FeedConfig, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> "ThreatIntelConfig":
        raw_mode = data.get("mode", "alert")
        mode_text = raw_mode.strip().lower() if isinstance(raw_mode, str) else raw_mode
        aliases = {"monitor": "alert", "observe": "alert", "enforce": "block"}
        mode = aliases.get(mode_text, mode_text) if isinstance(mode_text, str) else raw_mode
        boost_raw = data.get("country_confidence_boost") or {}
        if not isinstance(boost_raw, Mapping):
            raise ThreatIntelConfigError("threatintel: country_confidence_boost must be a mapping")
        boost: dict[str, int] = {}
        for code in boost_raw:
            cc = str(code).strip().upper()
            if len(cc) != 2 or not cc.isalpha() or not cc.isascii():
                raise ThreatIntelConfigError(f"threatintel: country code '{code}' must be 2 letters")
            boost[cc] = _int(boost_raw, code, 0, (-128, 127), "threatintel: country_confidence_boost")
        raw_feeds = data.get("feeds") or []
        if not isinstance(raw_feeds, Sequence) or isinstance(raw_feeds, str | bytes):
            raise ThreatIntelConfigError("threatintel: feeds must be a list", "feeds")
        if len(raw_feeds) > MAX_FEEDS:
            raise ThreatIntelConfigError(
                f"too many threat-intel feeds: {len(raw_feeds)} (maximum {MAX_FEEDS})"
            )
        feeds: list[FeedConfig] = []
        for i, raw in enumerate(raw_feeds):
            if not isinstance(raw, Mapping):
                raise ThreatIntelConfigError(f"feed {i} must be a mapping", f"feeds[{i}]")
            try:
                feed = FeedConfig.from_dict(raw)
            except ThreatIntelConfigError as exc:  # locate it: feeds[i].<key>
                where = f"feeds[{i}]" + (f".{exc.field}" if exc.field else "")
                raise ThreatIntelConfigError(exc.args[0], where) from None
            if any(f.id == feed.id for f in feeds):
                raise ThreatIntelConfigError(f"duplicate feed id '{feed.id}'", f"feeds[{i}].id")
            feeds.append(feed)
        return cls(
            enabled=_bool(data, "enabled", True, "threatintel"),
            mode=parse_ioc_action(mode, "mode"),
            country_confidence_boost=boost,
            feeds=tuple(feeds),
        )
