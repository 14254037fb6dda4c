"""Typed configuration (msgspec), in the contract's key names (§1). Defaults are documented here.

Only ``agent.interfaces`` is required. Top-level keys are strict (an unknown one is an error);
sections this agent does not implement yet are accepted as opaque mappings so upstream
configs load (deviation 17).
"""

from typing import Any

import msgspec

from sentinel_infrastructure.config.alerting import AlertingSection
from sentinel_infrastructure.config.auth import AuthSection
from sentinel_infrastructure.config.detection import (
    DlpSection,
    DnsSection,
    IdsSection,
    IpsSection,
    L7Section,
    ThreatIntelSection,
)


class AntiLockout(msgspec.Struct, kw_only=True):
    enabled: bool = True
    interfaces: list[str] = []
    ports: list[int] = msgspec.field(default_factory=lambda: [22, 8080, 50051])


class FirewallSection(msgspec.Struct, kw_only=True):
    enabled: bool = True
    mode: str = "alert"
    default_policy: str = "pass"
    rules: list[dict[str, Any]] = []
    anti_lockout: AntiLockout = msgspec.field(default_factory=AntiLockout)


class RatelimitSection(msgspec.Struct, kw_only=True):
    enabled: bool = False
    default_rate: int = 1000
    default_burst: int = 2000
    default_algorithm: str = "token_bucket"
    rules: list[dict[str, Any]] = []
    country_tiers: list[dict[str, Any]] = []  # accepted; GeoIP tiers are not implemented


class AuditSection(msgspec.Struct, kw_only=True):
    """Storage retention (contract §1.12): audit entries and alerts older than ``retention_days``
    are pruned, and at most ``buffer_size`` audit entries / ``max_alerts`` alerts are kept."""

    enabled: bool = True
    retention_days: int = 90
    buffer_size: int = 100_000
    max_alerts: int = 50_000  # extension (upstream: fixed at 50,000)
    map_size_mib: int = 1024  # extension: LMDB map size; when full the oldest alerts are evicted
    storage_path: str = ""  # accepted; storage lives under agent.data_dir


class TlsSection(msgspec.Struct, kw_only=True):
    """``agent.tls``: TLS on REST and gRPC (contract §1.1); cert and key required when enabled."""

    enabled: bool = False
    cert_path: str = ""
    key_path: str = ""
    pq_mode: str = "prefer"  # accepted; Python's ssl module offers no ML-KEM hybrid (deviation)
    allow_tls12: bool = False


class ApiRateLimit(msgspec.Struct, kw_only=True):
    """``agent.api_rate_limit``: per-client-IP GCRA on mutating REST routes (contract §2.0)."""

    write_per_second: int = 1
    write_burst: int = 60
    exempt_loopback: bool = True


class AgentSection(msgspec.Struct, kw_only=True):
    interfaces: list[str]
    bind_address: str = "127.0.0.1"
    allow_unauthenticated_api: bool = False
    http_port: int = 8080
    grpc_port: int = 50051
    metrics_port: int = 9090
    log_level: str = "info"
    log_format: str = "json"
    xdp_mode: str = "auto"
    data_dir: str = "/var/lib/ebpfsentinel"
    grpc_reflection: bool = False
    swagger_ui: bool = False
    event_workers: int = 4
    tls: TlsSection = msgspec.field(default_factory=TlsSection)
    api_rate_limit: ApiRateLimit = msgspec.field(default_factory=ApiRateLimit)


_Opaque = dict[str, Any]


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    agent: AgentSection
    firewall: FirewallSection = msgspec.field(default_factory=FirewallSection)
    # Accepted, validated by later issues; carried as raw mappings for now.
    ids: IdsSection = msgspec.field(default_factory=IdsSection)
    ips: IpsSection = msgspec.field(default_factory=IpsSection)
    dlp: DlpSection = msgspec.field(default_factory=DlpSection)
    dns: DnsSection = msgspec.field(default_factory=DnsSection)
    ratelimit: RatelimitSection = msgspec.field(default_factory=RatelimitSection)
    threatintel: ThreatIntelSection = msgspec.field(default_factory=ThreatIntelSection)
    l7: L7Section = msgspec.field(default_factory=L7Section)
    alerting: AlertingSection = msgspec.field(default_factory=AlertingSection)
    audit: AuditSection = msgspec.field(default_factory=AuditSection)
    auth: AuthSection = msgspec.field(default_factory=AuthSection)
    ddos: _Opaque | None = None
    conntrack: _Opaque | None = None
    container: _Opaque | None = None
    nat: _Opaque | None = None
    zones: _Opaque | None = None
    routing: _Opaque | None = None
    loadbalancer: _Opaque | None = None
    qos: _Opaque | None = None
    geoip: _Opaque | None = None
    aliases: _Opaque | None = None
    interface_groups: _Opaque | None = None
    auto_response: _Opaque | None = None
    auto_capture: _Opaque | None = None
    management: _Opaque | None = None
    enterprise: Any = None
