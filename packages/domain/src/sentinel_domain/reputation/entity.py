"""Reputation factors, settings and decisions (contract §1.9 ``dns.reputation``, §7.9)."""

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sentinel_domain.alert.mitre import mitre_for_dns
from sentinel_domain.common.mitre import MitreRef
from sentinel_domain.common.severity import Severity
from sentinel_domain.reputation.errors import ReputationConfigError

# Contract §7.10: reputation alerts map to T1568 (the shared table).
REPUTATION_MITRE: MitreRef = mitre_for_dns("reputation")


class FactorKind(enum.Enum):
    """One kind of evidence against a domain; each kind counts once (contract §7.9)."""

    BLOCKLIST_HIT = "blocklist_hit"
    CTI_MATCH = "cti_match"  # a threat-intel IOC named the domain
    L7_RULE_MATCH = "l7_rule_match"
    HIGH_RISK_COUNTRY = "high_risk_country"
    HIGH_ENTROPY = "high_entropy"  # the registrable label looks DGA-generated
    SHORT_TTL = "short_ttl"
    FREQUENT_QUERIES = "frequent_queries"  # a query burst
    NXDOMAIN_RATIO = "nxdomain_ratio"  # ours: most responses are NXDOMAIN
    YOUNG_DOMAIN = "young_domain"  # ours: first seen recently


# The first seven weights are the contract's. Ours:
# - NXDOMAIN_RATIO 0.6: repeated NXDOMAIN is the strongest passive DGA signal (the generated names
#   are mostly unregistered), yet alone or with youth and bursts (0.748) it stays below 0.8, so a
#   mistyped or retired name is never blocked on that evidence;
# - YOUNG_DOMAIN 0.3: as strong as a DGA-like name; together with DGA-likeness and NXDOMAIN
#   (1 - 0.7*0.4*0.7 = 0.804) it crosses the default threshold, which needs all three.
DEFAULT_WEIGHTS: Mapping[FactorKind, float] = MappingProxyType(
    {
        FactorKind.BLOCKLIST_HIT: 0.9,
        FactorKind.CTI_MATCH: 0.8,
        FactorKind.L7_RULE_MATCH: 0.5,
        FactorKind.HIGH_RISK_COUNTRY: 0.4,
        FactorKind.HIGH_ENTROPY: 0.3,
        FactorKind.SHORT_TTL: 0.2,
        FactorKind.FREQUENT_QUERIES: 0.1,
        FactorKind.NXDOMAIN_RATIO: 0.6,
        FactorKind.YOUNG_DOMAIN: 0.3,
    }
)

# Contract §1.9 ranges, for the configuration layer (the engine accepts wider ones).
CONFIG_MAX_TRACKED_RANGE = (1_000, 100_000)
CONFIG_MIN_HALF_LIFE_HOURS = 1


def _check(ok: bool, name: str, value: object, allowed: str) -> None:
    if not ok:
        raise ReputationConfigError(f"invalid {name} {value}: {allowed}", f"dns.reputation.{name}")


@dataclass(frozen=True, slots=True)
class ReputationConfig:
    """Engine settings; time values are seconds. ``weights`` overrides defaults per kind.

    Factor rules: SHORT_TTL when at least ``short_ttl_min_resolutions`` resolutions were seen and
    at least half had a TTL below ``short_ttl_secs``; NXDOMAIN_RATIO when at least
    ``nxdomain_min_responses`` responses were seen and at least ``nxdomain_ratio`` of them were
    NXDOMAIN; FREQUENT_QUERIES for ``burst_hold_secs`` after ``burst_queries`` queries arrived
    within ``burst_window_secs``; YOUNG_DOMAIN while the domain was first seen less than
    ``young_domain_secs`` ago (by this engine: every domain is young during the first hour after
    the agent starts, which alone is far from any threshold).
    """

    max_tracked_domains: int = 50_000
    auto_block_enabled: bool = False
    auto_block_threshold: float = 0.8
    auto_block_ttl_secs: int = 3600
    decay_half_life_secs: float = 24 * 3600.0
    weights: Mapping[FactorKind, float] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    short_ttl_secs: int = 60
    short_ttl_min_resolutions: int = 3
    nxdomain_min_responses: int = 3
    nxdomain_ratio: float = 0.5
    burst_queries: int = 20
    burst_window_secs: float = 60.0
    burst_hold_secs: float = 3600.0
    young_domain_secs: float = 3600.0

    def __post_init__(self) -> None:
        _check(
            self.max_tracked_domains >= 1,
            "max_tracked_domains",
            self.max_tracked_domains,
            "must be at least 1",
        )
        _check(
            0.0 <= self.auto_block_threshold <= 1.0,
            "auto_block_threshold",
            self.auto_block_threshold,
            "must be 0.0-1.0",
        )
        _check(
            self.auto_block_ttl_secs >= 1,
            "auto_block_ttl_secs",
            self.auto_block_ttl_secs,
            "must be at least 1",
        )
        _check(
            math.isfinite(self.decay_half_life_secs) and self.decay_half_life_secs > 0,
            "decay_half_life_secs",
            self.decay_half_life_secs,
            "must be a positive number of seconds",
        )
        merged = dict(DEFAULT_WEIGHTS)
        for kind, weight in self.weights.items():
            _check(isinstance(kind, FactorKind), "weights", kind, "keys must be factor kinds")
            _check(0.0 <= weight <= 1.0, f"weights.{kind.value}", weight, "must be 0.0-1.0")
            merged[kind] = float(weight)
        object.__setattr__(self, "weights", MappingProxyType(merged))
        _check(
            0.0 < self.nxdomain_ratio <= 1.0, "nxdomain_ratio", self.nxdomain_ratio, "must be in (0.0, 1.0]"
        )
        for name in ("short_ttl_min_resolutions", "nxdomain_min_responses", "burst_queries"):
            value = getattr(self, name)
            _check(value >= 1, name, value, "must be at least 1")
        for name in ("burst_window_secs", "burst_hold_secs", "young_domain_secs", "short_ttl_secs"):
            value = getattr(self, name)
            _check(value >= 0, name, value, "must be at least 0")


@dataclass(frozen=True, slots=True)
class DomainReputation:
    """A snapshot of one tracked domain at ``now``."""

    domain: str
    score: float  # 1 - prod(1 - w) over the active factors, at last_seen
    effective_score: float  # score decayed by the half-life since last_seen
    factors: tuple[FactorKind, ...]
    first_seen: float
    last_seen: float
    responses: int
    nxdomain: int
    resolutions: int
    blocked: bool


@dataclass(frozen=True, slots=True)
class ReputationAlert:
    """What the application turns into a DNS alert (component ``dns``, action ``alert``)."""

    rule_id: str  # dns-reputation:<score with 2 decimals>
    matched_domain: str
    message: str
    severity: Severity = Severity.HIGH
    mitre: MitreRef = REPUTATION_MITRE


@dataclass(frozen=True, slots=True)
class AutoBlock:
    """Block the domain's resolved IPs (IPS blacklist, reason ``reputation: <domain>``) for ``ttl_secs``.

    Issued on every score update at or above the threshold, so newly resolved IPs get blocked
    too; ``alert`` is set only on the first block of a domain.
    """

    domain: str
    score: float
    ttl_secs: int
    alert: ReputationAlert | None = None

    @property
    def reason(self) -> str:
        return f"reputation: {self.domain}"


@dataclass(frozen=True, slots=True)
class AutoUnblock:
    """The domain's score fell below the threshold: remove the IPs blocked for it."""

    domain: str
    score: float


ReputationDecision = AutoBlock | AutoUnblock
