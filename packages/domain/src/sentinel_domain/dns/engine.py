"""DNS intelligence decisions: what a response means for the blocklist (contract §7.8).

The engine is pure: the application parses each captured response, calls
:func:`evaluate_response`, raises the returned alerts, installs the injections in the configured
target and keeps an :class:`InjectionTracker` so injected IPs expire, re-resolution keeps them
alive, and a reload removes those whose pattern is gone.
"""

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sentinel_domain.common.addresses import IpAddress
from sentinel_domain.dns._blocklist import DomainBlocklist
from sentinel_domain.dns._feeds import parse_domain_pattern
from sentinel_domain.dns.entity import (
    BlocklistAction,
    BlocklistOutcome,
    DnsAlertData,
    DnsMessage,
    DomainPattern,
    FeedFormat,
    InjectDecision,
    InjectTarget,
    MatchMode,
    RecordType,
)
from sentinel_domain.dns.errors import DnsConfigError, DomainNameError

DEFAULT_GRACE_PERIOD_SECS = 300
# Contract §1.9: ``*.example.com`` in ``dns.blocklist.domains`` has at most 5 labels after ``*.``.
CONFIG_MAX_WILDCARD_LABELS = 5
_MAX_CNAME_DEPTH = 16  # answers are capped at 20 records, so real chains are far shorter

_E = TypeVar("_E", bound=enum.Enum)


def _parse_enum(value: object, kind: type[_E], field: str, aliases: dict[str, str]) -> _E:
    if isinstance(value, kind):
        return value
    text = value.strip().lower() if isinstance(value, str) else ""
    text = aliases.get(text, text)
    for member in kind:
        if member.value == text:
            return member
    allowed = ", ".join(str(m.value) for m in kind)
    raise DnsConfigError(f"invalid value '{value}' for field '{field}': expected one of {allowed}", field)


def parse_blocklist_action(value: object) -> BlocklistAction:
    return _parse_enum(value, BlocklistAction, "dns.blocklist.action", {})


def parse_inject_target(value: object) -> InjectTarget:
    return _parse_enum(value, InjectTarget, "dns.blocklist.inject_target", {})


def parse_feed_format(value: object) -> FeedFormat:
    """``plaintext`` (aliases ``txt``, ``text``, ``domains``), ``hosts`` or ``adblock`` (``abp``)."""
    aliases = {"txt": "plaintext", "text": "plaintext", "domains": "plaintext", "abp": "adblock"}
    return _parse_enum(value, FeedFormat, "dns.blocklist.feeds[].format", aliases)


def parse_config_patterns(domains: Sequence[str], source: str = "config") -> list[DomainPattern]:
    """The ``dns.blocklist.domains`` list; raises DomainNameError naming the first bad entry.

    Besides the forms of :func:`parse_domain_pattern`, a wildcard may have at most
    CONFIG_MAX_WILDCARD_LABELS labels after ``*.`` (contract §1.9).
    """
    out: list[DomainPattern] = []
    for index, text in enumerate(domains):
        field = f"dns.blocklist.domains[{index}]"
        try:
            pattern = parse_domain_pattern(text, source)
        except DomainNameError as exc:
            raise DomainNameError(str(exc), field) from None
        labels = pattern.domain.count(".") + 1
        if pattern.mode is MatchMode.WILDCARD and labels > CONFIG_MAX_WILDCARD_LABELS:
            raise DomainNameError(
                f"invalid blocklist pattern '{text}': {labels} labels after '*.' "
                f"(maximum {CONFIG_MAX_WILDCARD_LABELS})",
                field,
            )
        out.append(pattern)
    return out


def resolved_addresses(message: DnsMessage) -> dict[str, list[tuple[IpAddress, int]]]:
    """Every name of the answer section with the addresses it resolves to, CNAMEs followed.

    An address record's owner gets the address, and so does every alias whose CNAME chain leads
    to it (``www.example.com CNAME cdn.net``, ``cdn.net A 1.2.3.4`` gives both names 1.2.3.4).
    Checking aliases too defeats CNAME cloaking of a blocked name behind an innocent target.
    Names are in first-appearance order; each address appears once per name with the TTL of its
    address record.
    """
    aliases_of: dict[str, list[str]] = {}
    for record in message.answers:
        if record.rtype is RecordType.CNAME and record.target is not None:
            aliases_of.setdefault(record.target, []).append(record.name)
    out: dict[str, list[tuple[IpAddress, int]]] = {}
    for record in message.answers:
        if record.address is None:
            continue
        frontier, seen = [record.name], {record.name}
        for _ in range(_MAX_CNAME_DEPTH):
            if not frontier:
                break
            next_frontier: list[str] = []
            for name in frontier:
                pairs = out.setdefault(name, [])
                if all(address != record.address for address, _ in pairs):
                    pairs.append((record.address, record.ttl))
                for alias in aliases_of.get(name, ()):
                    if alias not in seen:
                        seen.add(alias)
                        next_frontier.append(alias)
            frontier = next_frontier
    return {name: out[name] for name in dict.fromkeys(r.name for r in message.answers) if name in out}


@dataclass(frozen=True, slots=True)
class BlocklistPolicy:
    """``dns.blocklist.action`` and ``grace_period_secs`` (the injected TTL is record TTL + grace)."""

    action: BlocklistAction = BlocklistAction.BLOCK
    grace_period_secs: int = DEFAULT_GRACE_PERIOD_SECS

    def __post_init__(self) -> None:
        if self.grace_period_secs < 0:
            raise DnsConfigError(
                f"invalid grace_period_secs {self.grace_period_secs}: must be at least 0",
                "dns.blocklist.grace_period_secs",
            )


def evaluate_response(
    message: DnsMessage, blocklist: DomainBlocklist, policy: BlocklistPolicy
) -> BlocklistOutcome:
    """What ``message`` means for the blocklist.

    Queries give nothing; only responses are processed. For every answer name (aliases included,
    see :func:`resolved_addresses`) that resolved to addresses and matches a pattern: one alert per
    (name, pattern) with rule id ``dns-blocklist:<pattern>`` and severity by action; with action
    ``block``, one InjectDecision per distinct address (the first name that produced it wins).
    """
    if not message.is_response:
        return BlocklistOutcome()
    alerts: list[DnsAlertData] = []
    injections: dict[IpAddress, InjectDecision] = {}
    for name, pairs in resolved_addresses(message).items():
        pattern = blocklist.match(name)
        if pattern is None:
            continue
        addresses = tuple(address for address, _ in pairs)
        shown = ", ".join(str(a) for a in addresses)
        alerts.append(
            DnsAlertData(
                rule_id=f"dns-blocklist:{pattern.text}",
                severity=policy.action.severity,
                matched_domain=name,
                message=f"DNS blocklist: {name} matched {pattern.text} (resolved to {shown})",
                addresses=addresses,
            )
        )
        if policy.action is not BlocklistAction.BLOCK:
            continue
        for address, ttl in pairs:
            if address not in injections:
                injections[address] = InjectDecision(
                    address, name, pattern.text, ttl + policy.grace_period_secs
                )
    return BlocklistOutcome(tuple(alerts), tuple(injections.values()))


@dataclass(frozen=True, slots=True)
class _Injected:
    domain: str
    pattern: str
    expires_at: float


class InjectionTracker:
    """Which IPs the blocklist has injected, until when, and because of which domain.

    Time is float seconds on the caller's monotonic clock.
    """

    def __init__(self) -> None:
        self._by_ip: dict[IpAddress, _Injected] = {}

    def __len__(self) -> int:
        return len(self._by_ip)

    def __contains__(self, ip: object) -> bool:
        return ip in self._by_ip

    def apply(self, decisions: Iterable[InjectDecision], now: float) -> list[InjectDecision]:
        """Record decisions; return those that are new or extend an IP's lifetime (to install).

        Re-resolution keeps an IP alive: its expiry moves to the later of the old and new one.
        """
        changed: list[InjectDecision] = []
        for decision in decisions:
            expires_at = now + decision.ttl_secs
            current = self._by_ip.get(decision.ip)
            if current is not None and current.expires_at >= expires_at:
                continue
            self._by_ip[decision.ip] = _Injected(decision.domain, decision.pattern, expires_at)
            changed.append(decision)
        return changed

    def entries(self, now: float) -> list[tuple[IpAddress, str, float]]:
        """``(ip, domain, seconds left)`` of every live injection."""
        return [(ip, e.domain, e.expires_at - now) for ip, e in self._by_ip.items() if e.expires_at > now]

    def expire(self, now: float) -> list[IpAddress]:
        """Forget and return the IPs whose lifetime ended (the caller removes them)."""
        gone = [ip for ip, entry in self._by_ip.items() if entry.expires_at <= now]
        for ip in gone:
            del self._by_ip[ip]
        return gone

    def retain_matching(self, blocklist: DomainBlocklist) -> list[IpAddress]:
        """After a reload: forget and return IPs whose domain no longer matches any pattern."""
        gone = [ip for ip, entry in self._by_ip.items() if blocklist.match(entry.domain) is None]
        for ip in gone:
            del self._by_ip[ip]
        return gone

    def domain_of(self, ip: IpAddress) -> str | None:
        entry = self._by_ip.get(ip)
        return entry.domain if entry is not None else None
