"""Indicators of compromise and feed parsing results (contract §1.7, §6.4, §7.6).

Time is float Unix-epoch seconds (``expires_at``, ``now``).
"""

import enum
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from sentinel_domain.common.addresses import IpAddress, IpNetwork
from sentinel_domain.common.packet import PacketHeader
from sentinel_domain.threatintel.errors import ThreatIntelConfigError

DEFAULT_MAX_JUNK_FRACTION = 0.5
DEFAULT_MAX_BYTES = 100 * 1024 * 1024  # the contract's fetch body cap
DEFAULT_MAX_ERRORS_KEPT = 1000


class IocKind(enum.Enum):
    """``IP`` covers host addresses and CIDR networks of both families."""

    IP = "ip"
    DOMAIN = "domain"
    URL = "url"


class ThreatType(enum.IntEnum):
    """Valued with the kernel's ``threat_type`` codes (contract §6.4)."""

    OTHER = 0
    MALWARE = 1
    C2 = 2
    SCANNER = 3
    SPAM = 4

    @property
    def label(self) -> str:
        return self.name.lower()


_CATEGORIES = {
    "malware": ThreatType.MALWARE,
    "mal": ThreatType.MALWARE,
    "c2": ThreatType.C2,
    "c&c": ThreatType.C2,
    "command-and-control": ThreatType.C2,
    "botnet": ThreatType.C2,
    "scanner": ThreatType.SCANNER,
    "scan": ThreatType.SCANNER,
    "scanning": ThreatType.SCANNER,
    "spam": ThreatType.SPAM,
    "spammer": ThreatType.SPAM,
}


def parse_threat_type(category: object) -> ThreatType:
    """A feed's category text → threat type (contract §7.6); anything unknown is ``other``."""
    if isinstance(category, ThreatType):
        return category
    if isinstance(category, str):
        return _CATEGORIES.get(category.strip().lower(), ThreatType.OTHER)
    return ThreatType.OTHER


class IocAction(enum.IntEnum):
    """Valued with the kernel's action codes: 0 alert, 1 drop."""

    ALERT = 0
    BLOCK = 1

    @property
    def label(self) -> str:
        return self.name.lower()


def parse_ioc_action(value: object, field: str = "default_action") -> IocAction:
    """``alert`` or ``block`` (case-insensitive)."""
    if isinstance(value, IocAction):
        return value
    if isinstance(value, str) and value.strip().lower() in ("alert", "block"):
        return IocAction[value.strip().upper()]
    raise ThreatIntelConfigError(
        f"invalid value '{value}' for field '{field}': expected one of alert, block", field
    )


@dataclass(frozen=True, slots=True)
class Ioc:
    """One indicator. ``value`` is canonical: ``1.2.3.4``, ``2001:db8::1``, ``10.0.0.0/8``
    (host bits cleared), a lower-case domain without trailing dot, or a normalised URL.

    ``expires_at`` None = never. ``confidence`` is 0-100.
    """

    kind: IocKind
    value: str
    feed_id: str = ""
    confidence: int = 100
    threat_type: ThreatType = ThreatType.OTHER
    expires_at: float | None = None
    action: IocAction = IocAction.ALERT

    def __post_init__(self) -> None:
        if not 0 <= self.confidence <= 100:
            raise ThreatIntelConfigError(
                f"IOC '{self.value}': confidence {self.confidence} out of range 0-100"
            )

    @property
    def network(self) -> IpNetwork | None:
        """The IOC as a network (a host is a /32 or /128), None for domains and URLs."""
        return ipaddress.ip_network(self.value) if self.kind is IocKind.IP else None

    @property
    def address(self) -> IpAddress | None:
        """The host address of a host IOC, else None."""
        if self.kind is IocKind.IP and "/" not in self.value:
            return ipaddress.ip_address(self.value)
        return None

    def is_live(self, now: float) -> bool:
        return self.expires_at is None or self.expires_at > now

    def boosted(self, delta: int) -> "Ioc":
        """A copy with ``confidence + delta`` clamped to 0-100 (the per-country boost)."""
        from dataclasses import replace

        return replace(self, confidence=max(0, min(100, self.confidence + delta)))


@dataclass(frozen=True, slots=True)
class LineError:
    """Line ``line_no`` (1-based; for JSON and STIX: the 1-based item index) could not be used."""

    line_no: int
    reason: str


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What a parser made of a feed.

    ``total_lines``: lines (or JSON items) seen. ``errors``: the first ``max_errors_kept`` bad
    lines, ``error_count`` all of them. ``skipped``: well-formed entries deliberately not imported
    (unsupported indicator types, expired or revoked STIX indicators, metadata records).
    """

    iocs: Sequence[Ioc]
    errors: tuple[LineError, ...]
    total_lines: int
    error_count: int = 0
    skipped: int = 0


class FeedFormat(enum.Enum):
    PLAINTEXT = "plaintext"
    CSV = "csv"
    JSON = "json"
    STIX = "stix"
    SPAMHAUS_DROP = "spamhaus_drop"
    FEODO = "feodo"
    URLHAUS = "urlhaus"
    ZEEK = "zeek"


_FORMATS = {
    "plaintext": FeedFormat.PLAINTEXT,
    "plain": FeedFormat.PLAINTEXT,
    "txt": FeedFormat.PLAINTEXT,
    "text": FeedFormat.PLAINTEXT,
    "csv": FeedFormat.CSV,
    "json": FeedFormat.JSON,
    "stix": FeedFormat.STIX,
    "stix2": FeedFormat.STIX,
    "spamhaus_drop": FeedFormat.SPAMHAUS_DROP,
    "spamhaus": FeedFormat.SPAMHAUS_DROP,
    "drop": FeedFormat.SPAMHAUS_DROP,
    "feodo": FeedFormat.FEODO,
    "feodotracker": FeedFormat.FEODO,
    "urlhaus": FeedFormat.URLHAUS,
    "zeek": FeedFormat.ZEEK,
    "zeek_intel": FeedFormat.ZEEK,
}


def parse_feed_format(value: object) -> FeedFormat:
    """``plaintext`` (aliases ``plain``, ``txt``, ``text``), ``csv``, ``json``, ``stix``, and our
    extensions ``spamhaus_drop``, ``feodo``, ``urlhaus``, ``zeek``."""
    if isinstance(value, FeedFormat):
        return value
    if isinstance(value, str) and value.strip().lower() in _FORMATS:
        return _FORMATS[value.strip().lower()]
    raise ThreatIntelConfigError(
        f"invalid value '{value}' for field 'format': expected one of {', '.join(_FORMATS)}", "format"
    )


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """How to read one feed.

    ``value_field`` (the contract's ``ip_field``), ``confidence_field`` and ``category_field``
    are a column index or header name (CSV) or a dotted path inside each item (JSON); None means
    the format's default. ``items_path`` is the dotted path of the item list when a JSON feed is
    an object. ``threat_type`` None = the format's default. ``now`` is needed to skip expired STIX
    indicators. ``max_junk_fraction``: more bad lines than this fraction of non-comment lines
    rejects the feed.
    """

    feed_id: str = ""
    confidence: int = 100
    threat_type: ThreatType | None = None
    action: IocAction = IocAction.ALERT
    expires_at: float | None = None
    comment_prefix: str = "#"
    separator: str = ","
    skip_header: bool = False
    value_field: str | int | None = None
    confidence_field: str | int | None = None
    category_field: str | int | None = None
    items_path: str | None = None
    now: float | None = None
    max_junk_fraction: float = DEFAULT_MAX_JUNK_FRACTION
    max_bytes: int = DEFAULT_MAX_BYTES
    max_errors_kept: int = DEFAULT_MAX_ERRORS_KEPT

    def __post_init__(self) -> None:
        if not 0 <= self.confidence <= 100:
            raise ThreatIntelConfigError(f"confidence {self.confidence} out of range 0-100", "confidence")
        if len(self.separator) != 1 or self.separator in '\r\n"':
            raise ThreatIntelConfigError(
                f"separator '{self.separator}' must be one character other than CR, LF or '\"'", "separator"
            )
        if not self.comment_prefix or "\n" in self.comment_prefix:
            raise ThreatIntelConfigError(
                "comment_prefix must be a non-empty single-line string", "comment_prefix"
            )
        if not 0.0 <= self.max_junk_fraction <= 1.0:
            raise ThreatIntelConfigError(
                f"max_junk_fraction {self.max_junk_fraction} out of range 0.0-1.0", "max_junk_fraction"
            )


@dataclass(frozen=True, slots=True)
class ThreatIntelEvent:
    """The datapath saw a packet to or from an IOC address (``matched`` is that address).

    ``feed_index`` is the kernel's feed number (the adapter maps it to the feed id); ``dropped``
    is True in block mode. ``timestamp_ns`` is Unix epoch nanoseconds.
    """

    timestamp_ns: int
    packet: PacketHeader
    matched: IpAddress
    feed_index: int
    dropped: bool
