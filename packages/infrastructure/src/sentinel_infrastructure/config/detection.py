"""The detection sections (`ids`, `ips`, `dlp`): typed models and their domain objects.

Extensions to the contract (documented in docs/configuration.md): ``ids.rules_files`` (Suricata
/Snort rule files in the supported subset), ``ids.variables`` (``HOME_NET``-style values for them)
and ``ids.capture_bytes`` (payload bytes the kernel copies per inspected packet).
"""

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from sentinel_domain.common.matching import Pattern, PatternError, PatternKind
from sentinel_domain.common.regex_syntax import parse_pattern
from sentinel_domain.dlp import DlpPattern, merge_patterns, parse_dlp_mode
from sentinel_domain.dns import (
    BlocklistPolicy,
    DnsConfigError,
    DomainPattern,
    parse_blocklist_action,
    parse_config_patterns,
    parse_inject_target,
)
from sentinel_domain.ids import Component as IdsComponent
from sentinel_domain.ids import (
    IdsRule,
    IdsRuleError,
    RuleMode,
    Sampling,
    SamplingMode,
    SignatureRule,
    SkippedRule,
    parse_mode,
    parse_signatures,
)
from sentinel_domain.ips import IpsPolicy
from sentinel_domain.l7 import L7Rule, L7RuleError
from sentinel_domain.reputation import ReputationConfig, ReputationConfigError
from sentinel_domain.threatintel import IocAction, ThreatIntelConfig, ThreatIntelConfigError
from sentinel_infrastructure.config.files import read_bounded

MAX_RULES_FILE_BYTES = 50 * 1024 * 1024


class IdsSection(msgspec.Struct, kw_only=True):
    enabled: bool = True
    mode: str = "alert"
    inspect_egress: bool = False
    sampling: dict[str, Any] | None = None
    rules: list[dict[str, Any]] = []
    rules_files: list[str] = []
    variables: dict[str, str] = {}
    capture_bytes: int = 512


class IpsSection(msgspec.Struct, kw_only=True):
    enabled: bool = True
    mode: str = "alert"
    max_blacklist_duration_secs: int = 3600
    auto_blacklist_threshold: int = 3
    max_blacklist_size: int = 10_000
    whitelist: list[str] = []
    whitelist_aliases: list[str] = []
    sampling: dict[str, Any] | None = None
    country_thresholds: dict[str, int] | None = None
    rules: list[dict[str, Any]] = []


class DlpSection(msgspec.Struct, kw_only=True):
    enabled: bool = True
    mode: str = "alert"
    patterns: list[dict[str, Any]] = []
    library_path: str | None = None  # extension: the libssl to probe (default: found by ldconfig)
    capture_bytes: int = 4096  # extension: plaintext bytes captured per SSL call


class DnsCacheSection(msgspec.Struct, kw_only=True):
    max_entries: int = 100_000
    min_ttl_secs: int = 60
    purge_interval_secs: int = 30


class DnsBlocklistSection(msgspec.Struct, kw_only=True):
    domains: list[str] = []
    action: str = "block"
    inject_target: str = "threatintel"
    grace_period_secs: int = 300
    feeds: list[dict[str, Any]] = []


class DnsReputationSection(msgspec.Struct, kw_only=True):
    enabled: bool = False
    max_tracked_domains: int = 50_000
    auto_block_threshold: float = 0.8
    auto_block_enabled: bool = False
    auto_block_ttl_secs: int = 3600
    decay_half_life_hours: float = 24
    high_risk_countries: list[str] = []


class DnsSection(msgspec.Struct, kw_only=True):
    enabled: bool = True
    cache: DnsCacheSection = msgspec.field(default_factory=DnsCacheSection)
    blocklist: DnsBlocklistSection = msgspec.field(default_factory=DnsBlocklistSection)
    reputation: DnsReputationSection = msgspec.field(default_factory=DnsReputationSection)
    doh_resolvers: list[str] = []


class L7Section(msgspec.Struct, kw_only=True):
    enabled: bool = False
    ports: list[int] = []
    rules: list[dict[str, Any]] = []
    reassembly: dict[str, Any] | None = None
    fingerprints: dict[str, Any] | None = None


class ThreatIntelSection(msgspec.Struct, kw_only=True):
    enabled: bool = True
    mode: str = "alert"
    country_confidence_boost: dict[str, int] | None = None
    feeds: list[dict[str, Any]] = []
    allow_networks: list[str] = []  # internal feed sources the SSRF guard may reach (as alerting.webhook)


@dataclass(frozen=True, slots=True)
class DetectionRules:
    """What the IDS/IPS/DLP engines are built from (the matcher is the agent's to supply)."""

    ids_mode: RuleMode
    ids_rules: tuple[IdsRule, ...]
    prevention_rules: tuple[IdsRule, ...]
    signatures: tuple[SignatureRule, ...]
    skipped_signatures: tuple[SkippedRule, ...]
    ips_policy: IpsPolicy
    dlp_patterns: tuple[DlpPattern, ...]
    dns_patterns: tuple[DomainPattern, ...] = ()
    dns_policy: BlocklistPolicy = field(default_factory=BlocklistPolicy)
    ids_sample_every: int = 1  # kernel flow sampling: inspect 1 flow in N
    reputation: ReputationConfig | None = None  # None: reputation off
    l7_rules: tuple[L7Rule, ...] = ()
    l7_ports: tuple[int, ...] = ()
    threatintel_block: bool = False


def _rules(raw: list[dict[str, Any]], component: IdsComponent, section: str) -> tuple[IdsRule, ...]:
    out = []
    for i, rule in enumerate(raw):
        try:
            parsed = IdsRule.from_dict(rule, component)
            if parsed.pattern is not None:  # the matcher's own syntax check, before any engine exists
                parse_pattern(Pattern(0, parsed.pattern, PatternKind.REGEX, label=f"rule {parsed.id}"))
            out.append(parsed)
        except PatternError as exc:
            raise IdsRuleError(str(exc), f"{section}.rules[{i}].pattern") from None
        except IdsRuleError as exc:
            field = getattr(exc, "field", None)
            raise IdsRuleError(
                str(exc).removeprefix(f"{field}: "), f"{section}.rules[{i}]" + (f".{field}" if field else "")
            ) from None
    return tuple(out)


def build_detection(
    ids: IdsSection,
    ips: IpsSection,
    dlp: DlpSection,
    base_dir: Path,
    dns: DnsSection | None = None,
    threatintel: ThreatIntelSection | None = None,
    l7: L7Section | None = None,
) -> DetectionRules:
    """Validate the sections into domain objects; raises the domain's errors (with ``field``)."""
    dns = dns or DnsSection()
    l7 = l7 or L7Section()
    l7_rules = []
    for i, raw in enumerate(l7.rules):
        try:
            l7_rules.append(L7Rule.from_dict(raw))
        except L7RuleError as exc:
            field_name = getattr(exc, "field", None)
            message = str(exc).removeprefix(f"{field_name}: ") if field_name else str(exc)
            raise L7RuleError(message, f"l7.rules[{i}]" + (f".{field_name}" if field_name else "")) from None
    if l7.enabled and not l7.ports:
        raise L7RuleError("l7.enabled requires a non-empty l7.ports", "l7.ports")
    for i, p in enumerate(l7.ports):
        if not 1 <= p <= 65535:
            raise L7RuleError(f"port {p} out of range 1-65535", f"l7.ports[{i}]")
    threatintel = threatintel or ThreatIntelSection()
    try:
        dns_patterns = tuple(parse_config_patterns(dns.blocklist.domains))
        dns_policy = BlocklistPolicy(
            parse_blocklist_action(dns.blocklist.action), dns.blocklist.grace_period_secs
        )
        parse_inject_target(dns.blocklist.inject_target)
    except DnsConfigError as exc:
        raise DnsConfigError(str(exc).split(": ", 1)[-1], "dns.blocklist") from None
    rep = dns.reputation
    reputation = None
    if rep.enabled:
        try:
            reputation = ReputationConfig(
                max_tracked_domains=rep.max_tracked_domains,
                auto_block_enabled=rep.auto_block_enabled,
                auto_block_threshold=rep.auto_block_threshold,
                auto_block_ttl_secs=rep.auto_block_ttl_secs,
                decay_half_life_secs=rep.decay_half_life_hours * 3600.0,
            )
        except ReputationConfigError as exc:
            raise ReputationConfigError(str(exc), "dns.reputation") from None
    ti_raw = {k: v for k, v in msgspec.structs.asdict(threatintel).items() if v is not None}
    sample_every = 1
    if ids.sampling:
        sampling = Sampling.from_dict(ids.sampling)  # validates mode and rate (contract §1.4)
        rate = ids.sampling.get("rate")
        if sampling.mode is not SamplingMode.NONE and isinstance(rate, int | float) and rate > 0:
            sample_every = max(1, round(1 / rate))
    try:
        ti_block = ThreatIntelConfig.from_dict(ti_raw).mode is IocAction.BLOCK
        for i, net in enumerate(threatintel.allow_networks):
            try:
                ipaddress.ip_network(str(net).strip(), strict=False)
            except ValueError:
                raise ThreatIntelConfigError(f"'{net}' is not a network", f"allow_networks[{i}]") from None
    except ThreatIntelConfigError as exc:  # the domain names the field inside the section
        raise ThreatIntelConfigError(
            exc.args[0], f"threatintel.{exc.field}" if exc.field else "threatintel"
        ) from None
    signatures: list[SignatureRule] = []
    skipped: list[SkippedRule] = []
    for i, name in enumerate(ids.rules_files):
        path = (base_dir / name) if not Path(name).is_absolute() else Path(name)
        try:
            data = read_bounded(path, MAX_RULES_FILE_BYTES)
        except OSError as exc:
            raise IdsRuleError(
                f"cannot read rules file '{path}': {exc.strerror}", f"ids.rules_files[{i}]"
            ) from None
        if len(data) > MAX_RULES_FILE_BYTES:
            raise IdsRuleError(
                f"rules file '{path}' is larger than {MAX_RULES_FILE_BYTES} bytes", f"ids.rules_files[{i}]"
            )
        loaded = parse_signatures(data, ids.variables)
        signatures.extend(loaded.rules)
        skipped.extend(loaded.skipped)
    parse_dlp_mode(dlp.mode)
    ips_raw = {k: v for k, v in msgspec.structs.asdict(ips).items() if k != "rules" and v is not None}
    return DetectionRules(
        ids_mode=parse_mode(ids.mode),
        ids_rules=_rules(ids.rules, IdsComponent.IDS, "ids"),
        prevention_rules=_rules(ips.rules, IdsComponent.IPS, "ips"),
        signatures=tuple(signatures),
        skipped_signatures=tuple(skipped),
        ips_policy=IpsPolicy.from_dict(ips_raw),
        dlp_patterns=tuple(merge_patterns(dlp.patterns)),
        dns_patterns=dns_patterns,
        dns_policy=dns_policy,
        threatintel_block=ti_block,
        ids_sample_every=sample_every,
        reputation=reputation,
        l7_rules=tuple(l7_rules),
        l7_ports=tuple(sorted(set(l7.ports))) if l7.enabled else (),
    )
