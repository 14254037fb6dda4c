"""IPS policy, detections and the decisions the engine hands to the application (contract §1.5, §7.4).

Time is float Unix-epoch seconds everywhere in this package (``now``); TTLs are whole seconds.
"""

import enum
import ipaddress
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sentinel_domain.common.addresses import IpAddress, IpNetwork, parse_cidr
from sentinel_domain.common.severity import Severity
from sentinel_domain.ips.errors import IpsConfigError

DEFAULT_MAX_DURATION_SECS = 3600
DEFAULT_THRESHOLD = 3
DEFAULT_MAX_SIZE = 10_000
AUTO_REASON = "auto-blacklisted: detection threshold reached"
MANUAL_REASON = "manual-api"
MAX_REASON_LENGTH = 256
COUNTRY_SUBNET_V4 = 24
COUNTRY_SUBNET_V6 = 48


class IpsMode(enum.Enum):
    """``alert``: dry run, the blacklist is recorded but nothing is installed. ``block``: enforced."""

    ALERT = "alert"
    BLOCK = "block"


_MODES = {
    "alert": IpsMode.ALERT,
    "monitor": IpsMode.ALERT,
    "observe": IpsMode.ALERT,
    "block": IpsMode.BLOCK,
    "enforce": IpsMode.BLOCK,
}


def parse_mode(value: object, field_name: str = "mode") -> IpsMode:
    """``alert|monitor|observe`` → alert, ``block|enforce`` → block (case-insensitive)."""
    if isinstance(value, IpsMode):
        return value
    if isinstance(value, str) and value.strip().lower() in _MODES:
        return _MODES[value.strip().lower()]
    raise IpsConfigError(
        f"invalid value '{value}' for field '{field_name}': expected one of {', '.join(_MODES)}", field_name
    )


def _int_in(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise IpsConfigError(f"ips: {name} must be an integer, got '{value}'", name)
    if not low <= value <= high:
        raise IpsConfigError(f"ips: {name} {value} out of range {low}-{high}", name)
    return value


@dataclass(frozen=True, slots=True)
class IpsPolicy:
    """The ``ips`` section as the engine needs it.

    ``max_blacklist_duration_secs`` is both the blacklist TTL (and the cap of any TTL) and the
    window in which ``auto_blacklist_threshold`` detections must fall. ``country_thresholds`` maps
    an upper-case ISO country code to its own threshold; reaching it also blocks the source's /24
    (IPv4) or /48 (IPv6).
    """

    enabled: bool = True
    mode: IpsMode = IpsMode.ALERT
    max_blacklist_duration_secs: int = DEFAULT_MAX_DURATION_SECS
    auto_blacklist_threshold: int = DEFAULT_THRESHOLD
    max_blacklist_size: int = DEFAULT_MAX_SIZE
    whitelist: tuple[IpNetwork, ...] = ()
    country_thresholds: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _int_in(self.max_blacklist_duration_secs, "max_blacklist_duration_secs", 1, 2**32 - 1)
        _int_in(self.auto_blacklist_threshold, "auto_blacklist_threshold", 1, 2**32 - 1)
        _int_in(self.max_blacklist_size, "max_blacklist_size", 1, 2**32 - 1)
        for code, threshold in self.country_thresholds.items():
            if not (isinstance(code, str) and len(code) == 2 and code.isascii() and code.isupper()):
                raise IpsConfigError(
                    f"ips: country code '{code}' must be 2 upper-case letters", "country_thresholds"
                )
            _int_in(threshold, f"country_thresholds.{code}", 1, 2**32 - 1)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> "IpsPolicy":
        """Build from the contract's ``ips`` mapping. ``rules``, ``sampling`` and
        ``whitelist_aliases`` belong to other parts of the application and are ignored here."""
        enabled = data.get("enabled", True)
        if not isinstance(enabled, bool):
            raise IpsConfigError("ips: enabled must be true or false", "enabled")
        raw_white = data.get("whitelist") or []
        if not isinstance(raw_white, Sequence) or isinstance(raw_white, str | bytes):
            raise IpsConfigError("ips: whitelist must be a list of IPs or CIDRs", "whitelist")
        whitelist: list[IpNetwork] = []
        for i, item in enumerate(raw_white):
            if not isinstance(item, str):
                raise IpsConfigError(f"invalid CIDR notation '{item}': expected a string", f"whitelist[{i}]")
            try:
                whitelist.append(parse_cidr(item))
            except ValueError as exc:
                raise IpsConfigError(str(exc), f"whitelist[{i}]") from None
        raw_countries = data.get("country_thresholds") or {}
        if not isinstance(raw_countries, Mapping):
            raise IpsConfigError("ips: country_thresholds must be a mapping", "country_thresholds")
        countries = {str(k).strip().upper(): v for k, v in raw_countries.items()}
        return cls(
            enabled=enabled,
            mode=parse_mode(data.get("mode", "alert")),
            max_blacklist_duration_secs=data.get("max_blacklist_duration_secs", DEFAULT_MAX_DURATION_SECS),  # type: ignore[arg-type]
            auto_blacklist_threshold=data.get("auto_blacklist_threshold", DEFAULT_THRESHOLD),  # type: ignore[arg-type]
            max_blacklist_size=data.get("max_blacklist_size", DEFAULT_MAX_SIZE),  # type: ignore[arg-type]
            whitelist=tuple(whitelist),
            country_thresholds=countries,
        )


@dataclass(frozen=True, slots=True)
class Detection:
    """A rule match that produced an alert (contract §7.4 says which ones count).

    ``prevention`` is True for an IPS (prevention-array) rule, whose ``rule_mode`` must be block
    for the detection to count; detection (IDS) rules count whatever their mode. ``country`` is
    the source's ISO code when GeoIP knows it. The caller has already applied IPS sampling.
    """

    src: IpAddress
    rule_id: str = ""
    prevention: bool = False
    rule_mode: IpsMode = IpsMode.BLOCK
    country: str | None = None


@dataclass(frozen=True, slots=True)
class BlacklistEntry:
    """One blacklist entry: a host (an address) or a subnet (a network)."""

    addr_or_net: IpAddress | IpNetwork
    reason: str
    added_at: float
    expires_at: float
    auto_generated: bool

    def ttl_remaining(self, now: float) -> int:
        """Whole seconds left (rounded up), 0 once expired."""
        return max(0, math.ceil(self.expires_at - now))


@dataclass(frozen=True, slots=True)
class BlockDecision:
    """Install a DROP entry for a host (/32, /128) or subnet in the kernel blocklist for ``ttl_secs``."""

    addr_or_net: IpAddress | IpNetwork
    ttl_secs: int
    reason: str
    auto_generated: bool

    @property
    def network(self) -> IpNetwork:
        return as_network(self.addr_or_net)


@dataclass(frozen=True, slots=True)
class UnblockDecision:
    """Remove the kernel entry; ``cause`` is ``expired``, ``removed`` or ``whitelisted``."""

    addr_or_net: IpAddress | IpNetwork
    cause: str

    @property
    def network(self) -> IpNetwork:
        return as_network(self.addr_or_net)


@dataclass(frozen=True, slots=True)
class BlacklistAlert:
    """The data of the auto-blacklist alert (component ``ips``, action block, contract §8.1)."""

    src: IpAddress
    rule_id: str
    message: str
    severity: Severity = Severity.HIGH
    component: str = "ips"
    action: str = "block"


@dataclass(frozen=True, slots=True)
class IpsOutcome:
    """What one engine call changed. ``blocks`` are only produced in block mode (alert mode is a
    dry run); ``added`` always lists the new entries; ``unblocks`` always apply."""

    added: tuple[BlacklistEntry, ...] = ()
    blocks: tuple[BlockDecision, ...] = ()
    unblocks: tuple[UnblockDecision, ...] = ()
    alerts: tuple[BlacklistAlert, ...] = ()
    refused: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.blocks or self.unblocks or self.alerts or self.refused)


def as_network(value: IpAddress | IpNetwork) -> IpNetwork:
    """A host address as its /32 or /128 network; a network unchanged."""
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return ipaddress.ip_network(value)
    return value


def display(net: IpNetwork) -> IpAddress | IpNetwork:
    """A host network shown as its address, a subnet as itself."""
    return net.network_address if net.prefixlen == net.max_prefixlen else net
