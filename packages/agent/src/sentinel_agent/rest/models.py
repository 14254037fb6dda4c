"""The REST API's request and response bodies as msgspec Structs (contract §2.1-§2.3).

Request bodies are decoded straight into these types, so the contract's input limits (§2.0: ids
≤256 characters, short strings ≤128, CIDR and pattern strings ≤512) are enforced by the decoder
and appear in the OpenAPI document. Response handlers produce plain data that is converted into
the declared model before it is encoded: a handler cannot answer outside its documented shape.

``UNSET`` fields are the contract's "only when set" fields: absent from the JSON, never null.
Fields typed ``X | None`` without a default are always present and may be null.
"""

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

MAX_ID = 256
MAX_SHORT = 128
MAX_TEXT = 512

Id = Annotated[str, Meta(max_length=MAX_ID)]
Short = Annotated[str, Meta(max_length=MAX_SHORT)]
Text = Annotated[str, Meta(max_length=MAX_TEXT)]
Port = Annotated[int, Meta(ge=0, le=65535)]


class _Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Request bodies: unknown fields are refused (400 VALIDATION_ERROR)."""


class _Response(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Response bodies: UNSET fields are left out."""


# -- errors ------------------------------------------------------------------------------------
class ErrorDetail(_Response):
    code: Annotated[str, Meta(examples=["VALIDATION_ERROR"])]
    message: str


class ErrorBody(_Response):
    """Every 4xx/5xx a handler produces (contract §2.0)."""

    error: ErrorDetail


# -- health ------------------------------------------------------------------------------------
class HealthResponse(_Response):
    status: Literal["ok"]


class ReadinessResponse(_Response):
    status: Literal["ready", "not_ready"]
    ebpf_loaded: bool
    kernel_helpers_missing: list[str] | UnsetType = UNSET
    attach_blocked: list[str] | UnsetType = UNSET


# -- agent -------------------------------------------------------------------------------------
class AgentStatusResponse(_Response):
    version: str
    uptime_seconds: int
    ebpf_loaded: bool
    firewall_enabled: bool
    firewall_mode: str
    rule_count: int
    status: Literal["running", "degraded"]


class IdentityResponse(_Response):
    version: str
    hostname: str
    uptime_seconds: int
    operator_managed: bool
    operator_endpoint: str | UnsetType = UNSET


class ReloadResponse(_Response):
    status: Literal["ok", "pending"]
    message: str


class ProgramStatus(_Response):
    name: str
    loaded: bool


class AttachBlocked(_Response):
    program: str
    interface: str
    reason: str
    nested_xdp: bool


class EbpfStatusResponse(_Response):
    programs: list[ProgramStatus]
    attach_blocked: list[AttachBlocked]


SanitizedConfig = dict[str, Any]


# -- firewall ----------------------------------------------------------------------------------
class CreateRuleRequest(_Request):
    """A firewall rule (narrower than YAML: single-integer ports, a scope string)."""

    id: Id
    priority: int
    action: Short
    protocol: Short | None = None
    src_ip: Text | None = None
    dst_ip: Text | None = None
    src_port: Port | None = None
    dst_port: Port | None = None
    scope: Short | None = None
    enabled: bool | None = None
    vlan_id: int | None = None
    src_mac: Short | None = None
    dst_mac: Short | None = None


class RuleResponse(_Response):
    id: str
    enabled: bool
    priority: int
    action: str
    protocol: str
    scope: str
    src_ip: str | UnsetType = UNSET
    dst_ip: str | UnsetType = UNSET
    src_port: str | UnsetType = UNSET
    dst_port: str | UnsetType = UNSET
    vlan_id: int | UnsetType = UNSET
    system: bool | UnsetType = UNSET


class CreateL7RuleRequest(_Request):
    """An L7 rule: flat matcher fields; the API accepts the protocols http, tls, grpc, smtp, ftp
    and smb, and a single integer ``dst_port``."""

    id: Id
    priority: int
    action: Short
    protocol: Short
    method: Short | None = None
    path: Text | None = None
    host: Text | None = None
    content_type: Text | None = None
    sni: Text | None = None
    service: Text | None = None
    grpc_method: Text | None = None
    command: Short | None = None
    smb_command: int | None = None
    is_smb2: bool | None = None
    src_ip: Text | None = None
    dst_ip: Text | None = None
    dst_port: Port | None = None
    enabled: bool | None = None


class L7RuleResponse(_Response):
    id: str
    priority: int
    action: str
    matcher: dict[str, Any]
    enabled: bool
    src_ip: str | UnsetType = UNSET
    dst_ip: str | UnsetType = UNSET
    dst_port: int | str | UnsetType = UNSET


# -- IDS / IPS ---------------------------------------------------------------------------------
class Threshold(_Response):
    threshold_type: str
    count: int
    window_secs: int
    track_by: str


class IdsRuleResponse(_Response):
    id: str
    description: str
    severity: str
    mode: str
    protocol: str
    pattern: str
    enabled: bool
    dst_port: int | UnsetType = UNSET
    threshold: Threshold | UnsetType = UNSET


class IpsRuleResponse(_Response):
    id: str
    description: str
    severity: str
    mode: str
    protocol: str
    pattern: str
    enabled: bool
    dst_port: int | UnsetType = UNSET
    domain_pattern: str | UnsetType = UNSET
    domain_match_mode: str | UnsetType = UNSET
    kernel_slot: str | UnsetType = UNSET


class IpsRulePatch(_Request):
    mode: Literal["alert", "block"]


class IdsStatusResponse(_Response):
    enabled: bool
    mode: str
    rule_count: int


class BlacklistRequest(_Request):
    ip: Text
    reason: Text | None = None
    ttl_secs: int | None = None


class BlacklistEntryResponse(_Response):
    ip: str
    reason: str
    auto_generated: bool
    ttl_remaining_secs: int


class BlacklistAddedResponse(_Response):
    ip: str
    reason: str
    ttl_remaining_secs: int


class DomainBlockResponse(_Response):
    ip: str
    domain: str
    source: Literal["dns-blocklist", "reputation"]
    reason: str
    ttl_remaining_secs: int


# -- rate limiting -----------------------------------------------------------------------------
class CreateRateLimitRuleRequest(_Request):
    id: Id
    rate: int
    burst: int
    src_ip: Text
    action: Short | None = None
    algorithm: Short | None = None
    enabled: bool | None = None


class RateLimitRuleResponse(_Response):
    id: str
    rate: int
    burst: int
    action: str
    algorithm: str
    src_ip: str | None
    enabled: bool


# -- threat intelligence, DLP ------------------------------------------------------------------
class ThreatIntelStatusResponse(_Response):
    enabled: bool
    mode: str
    ioc_count: int
    feed_count: int


class IocResponse(_Response):
    ip: str
    feed_id: str
    confidence: int
    threat_type: str
    source_feed: str


class UrlIocResponse(_Response):
    url: str
    feed_id: str
    confidence: int
    threat_type: str


class FeedRefreshRequest(_Request):
    feed_id: Id | None = None  # accepted and ignored: every feed refreshes


class StatusMessage(_Response):
    status: Literal["ok"]
    message: str


class FeedResponse(_Response):
    id: str
    name: str
    url: str
    format: str | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    refresh_interval_secs: int | UnsetType = UNSET
    max_iocs: int | UnsetType = UNSET
    min_confidence: int | UnsetType = UNSET
    last_fetched: int | UnsetType | None = UNSET


class DlpStatusResponse(_Response):
    enabled: bool
    mode: str
    pattern_count: int


class DlpPatternResponse(_Response):
    id: str
    name: str
    regex: str
    severity: str
    data_type: str
    enabled: bool


# -- DNS and domains ---------------------------------------------------------------------------
class DnsStatusResponse(_Response):
    enabled: bool
    blocklist_pattern_count: int
    blocklist_domains_blocked: int
    blocklist_ips_injected: int


class DnsCacheEntry(_Response):
    domain: str
    ips: list[str]
    ttl_remaining_secs: int
    query_count: int
    is_blocked: bool


class DnsCachePage(_Response):
    entries: list[DnsCacheEntry]
    page: int
    page_size: int


class DnsFlushResponse(_Response):
    flushed_entries: int


class TopQueried(_Response):
    domain: str
    query_count: int


class DnsStatsResponse(_Response):
    total_entries: int
    hit_count: int
    miss_count: int
    eviction_count: int
    expired_count: int
    top_queried: list[TopQueried]
    blocklist_pattern_count: int
    blocklist_domains_blocked: int
    blocklist_ips_injected: int


class DnsBlocklistEntry(_Response):
    pattern: str
    action: str
    match_count: int


class ReputationEntry(_Response):
    domain: str
    score: float
    factors: list[str]
    first_seen: int
    last_seen: int
    is_blocked: bool


class ReputationPage(_Response):
    entries: list[ReputationEntry]
    page: int
    page_size: int


class DomainBlockRequest(_Request):
    domain: Text


class DomainAddedResponse(_Response):
    domain: str
    added: bool


class DomainRemovedResponse(_Response):
    domain: str
    removed: bool


# -- alerts ------------------------------------------------------------------------------------
Words = Annotated[list[int], Meta(min_length=4, max_length=4)]


class AlertResponse(_Response):
    id: str
    timestamp_ns: int
    component: str
    severity: str
    rule_id: str
    action: Literal["alert", "block"]
    src_addr: Words
    dst_addr: Words
    src_port: int
    dst_port: int
    protocol: int
    is_ipv6: bool
    message: str
    false_positive: bool
    src_domain: str | UnsetType = UNSET
    dst_domain: str | UnsetType = UNSET
    confidence: int | UnsetType = UNSET
    threat_type: str | UnsetType = UNSET
    data_type: str | UnsetType = UNSET
    pid: int | UnsetType = UNSET
    tgid: int | UnsetType = UNSET
    direction: int | UnsetType = UNSET
    matched_domain: str | UnsetType = UNSET
    mitre_technique_id: str | UnsetType = UNSET
    mitre_technique_name: str | UnsetType = UNSET
    mitre_tactic: str | UnsetType = UNSET


class AlertPage(_Response):
    alerts: list[AlertResponse]
    total: int
    limit: int
    offset: int


class FalsePositiveResponse(_Response):
    alert_id: str
    marked: bool


# -- audit -------------------------------------------------------------------------------------
class AuditEntryResponse(_Response):
    timestamp_ns: int
    component: str
    action: str
    src_ip: int
    dst_ip: int
    src_port: int
    dst_port: int
    protocol: int
    rule_id: str
    detail: str


class AuditPage(_Response):
    entries: list[AuditEntryResponse]
    total: int
    limit: int
    offset: int


class RuleChangeResponse(_Response):
    version: int
    timestamp_ns: int
    component: str
    action: str
    actor: str
    before: str | UnsetType = UNSET
    after: str | UnsetType = UNSET


class RuleHistoryResponse(_Response):
    rule_id: str
    entries: list[RuleChangeResponse]


# -- MITRE -------------------------------------------------------------------------------------
class TechniqueCoverage(_Response):
    component: str
    technique_id: str
    technique_name: str
    tactic: str
    description: str


class TacticCoverage(_Response):
    tactic: str
    covered_techniques: int
    components: list[str]


class MitreCoverageResponse(_Response):
    attack_version: str
    total_techniques: int
    techniques: list[TechniqueCoverage]
    by_tactic: list[TacticCoverage]
