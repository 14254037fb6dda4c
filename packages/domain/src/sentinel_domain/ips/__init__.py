"""IPS: detection counting, auto-blacklisting, manual entries and expiry, as explicit decisions."""

from sentinel_domain.ips.engine import DEFAULT_MAX_TRACKED, IpsEngine, IpsState
from sentinel_domain.ips.entity import (
    AUTO_REASON,
    MANUAL_REASON,
    BlacklistAlert,
    BlacklistEntry,
    BlockDecision,
    Detection,
    IpsMode,
    IpsOutcome,
    IpsPolicy,
    UnblockDecision,
    as_network,
    parse_mode,
)
from sentinel_domain.ips.errors import (
    AlreadyBlacklistedError,
    BlacklistFullError,
    BlacklistRefusedError,
    IpsConfigError,
    IpsError,
    NotBlacklistedError,
    WhitelistedError,
)

__all__ = [
    "AUTO_REASON",
    "DEFAULT_MAX_TRACKED",
    "MANUAL_REASON",
    "AlreadyBlacklistedError",
    "BlacklistAlert",
    "BlacklistEntry",
    "BlacklistFullError",
    "BlacklistRefusedError",
    "BlockDecision",
    "Detection",
    "IpsConfigError",
    "IpsEngine",
    "IpsError",
    "IpsMode",
    "IpsOutcome",
    "IpsPolicy",
    "IpsState",
    "NotBlacklistedError",
    "UnblockDecision",
    "WhitelistedError",
    "as_network",
    "parse_mode",
]
