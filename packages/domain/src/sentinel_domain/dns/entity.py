"""Value objects of DNS intelligence: parsed messages, blocklist patterns, decisions (contract §7.8)."""

import enum
from dataclasses import dataclass

from sentinel_domain.alert.mitre import mitre_for_dns
from sentinel_domain.common.addresses import IpAddress
from sentinel_domain.common.mitre import MitreRef
from sentinel_domain.common.severity import Severity

# Contract §7.10: blocklist (and encrypted-DNS) alerts map to T1071.004 (the shared table).
DNS_MITRE: MitreRef = mitre_for_dns("blocklist")


class RecordType(enum.IntEnum):
    """The resource-record types the parser keeps; every other type is skipped by its rdlength."""

    A = 1
    CNAME = 5
    AAAA = 28


class Rcode(enum.IntEnum):
    """Response codes of the 4-bit header field (RFC 1035 §4.1.1, RFC 2136)."""

    NOERROR = 0
    FORMERR = 1
    SERVFAIL = 2
    NXDOMAIN = 3
    NOTIMP = 4
    REFUSED = 5


@dataclass(frozen=True, slots=True)
class DnsQuestion:
    name: str  # lower-case text form without the trailing dot; the root is "."
    qtype: int
    qclass: int


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """One answer record: ``address`` is set for A/AAAA, ``target`` for CNAME."""

    name: str
    rtype: RecordType
    ttl: int  # seconds, 0..2**31-1 (RFC 2181 §8)
    address: IpAddress | None = None
    target: str | None = None


@dataclass(frozen=True, slots=True)
class DnsMessage:
    """A parsed DNS message.

    ``truncated`` is True when fewer records were returned than the header announces: the data
    ended first (the kernel copies at most 512 bytes; a header count may lie) or the answer cap
    was reached. Records that are present are complete; a record cut in the middle is dropped.
    ``tc`` is the header's TC bit, which is unrelated.
    """

    id: int
    is_response: bool
    opcode: int
    rcode: int
    authoritative: bool
    tc: bool
    recursion_desired: bool
    recursion_available: bool
    questions: tuple[DnsQuestion, ...]
    answers: tuple[DnsRecord, ...]
    qdcount: int
    ancount: int
    truncated: bool = False

    @property
    def is_nxdomain(self) -> bool:
        return self.rcode == Rcode.NXDOMAIN


class MatchMode(enum.Enum):
    """How a blocklist pattern matches a domain.

    - ``exact``: the domain itself only (``example.com``);
    - ``wildcard``: strict subdomains only (``*.example.com`` matches ``a.example.com``, not
      ``example.com``);
    - ``suffix``: the domain and all its subdomains (Adblock ``||example.com^``).
    """

    EXACT = "exact"
    WILDCARD = "wildcard"
    SUFFIX = "suffix"


@dataclass(frozen=True, slots=True)
class DomainPattern:
    """A normalised blocklist pattern tagged with the source that contributed it."""

    domain: str
    mode: MatchMode = MatchMode.EXACT
    source: str = "config"

    @property
    def text(self) -> str:
        """The canonical text, used in rule ids: ``a.com``, ``*.a.com`` or ``||a.com^``."""
        if self.mode is MatchMode.WILDCARD:
            return f"*.{self.domain}"
        if self.mode is MatchMode.SUFFIX:
            return f"||{self.domain}^"
        return self.domain


class FeedFormat(enum.Enum):
    PLAINTEXT = "plaintext"
    HOSTS = "hosts"
    ADBLOCK = "adblock"


@dataclass(frozen=True, slots=True)
class FeedParseResult:
    """What a blocklist feed yielded.

    ``invalid``: lines that are not a valid entry (bad domain, junk); ``unsupported``: valid
    syntax we deliberately do not implement (Adblock options, exceptions, cosmetic or path rules);
    ``ignored``: well-formed entries skipped on purpose (``localhost`` and friends, duplicates).
    Blank and comment lines are in none of the counts. ``capped`` means ``max_patterns`` stopped
    the parse early.
    """

    patterns: tuple[DomainPattern, ...]
    invalid: int = 0
    unsupported: int = 0
    ignored: int = 0
    capped: bool = False


class BlocklistAction(enum.Enum):
    """``block`` injects resolved IPs and alerts (high); ``alert`` (medium) and ``log`` (low) only alert."""

    BLOCK = "block"
    ALERT = "alert"
    LOG = "log"

    @property
    def severity(self) -> Severity:
        return _ACTION_SEVERITY[self]


_ACTION_SEVERITY = {
    BlocklistAction.BLOCK: Severity.HIGH,
    BlocklistAction.ALERT: Severity.MEDIUM,
    BlocklistAction.LOG: Severity.LOW,
}


class InjectTarget(enum.Enum):
    """Where the application installs injected IPs (contract §1.9 ``inject_target``)."""

    THREATINTEL = "threatintel"
    FIREWALL = "firewall"
    IPS = "ips"


@dataclass(frozen=True, slots=True)
class InjectDecision:
    """Block ``ip`` (resolved for ``domain``, matched by ``pattern``) for ``ttl_secs``.

    ``ttl_secs`` = the answer record's TTL + the grace period; ``reason`` is the IPS blacklist
    reason ``dns-blocklist: <domain>``.
    """

    ip: IpAddress
    domain: str
    pattern: str
    ttl_secs: int

    @property
    def reason(self) -> str:
        return f"dns-blocklist: {self.domain}"


@dataclass(frozen=True, slots=True)
class DnsAlertData:
    """What the application turns into an Alert (component ``dns``, action ``alert``, no addresses)."""

    rule_id: str
    severity: Severity
    matched_domain: str
    message: str
    addresses: tuple[IpAddress, ...] = ()
    mitre: MitreRef = DNS_MITRE


@dataclass(frozen=True, slots=True)
class BlocklistOutcome:
    """Everything one response caused: alerts to raise and IPs to inject (block action only)."""

    alerts: tuple[DnsAlertData, ...] = ()
    injections: tuple[InjectDecision, ...] = ()


@dataclass(frozen=True, slots=True)
class CacheStats:
    entries: int
    hits: int
    misses: int
    evictions: int
    expired: int
    top_queried: tuple[tuple[str, int], ...]
