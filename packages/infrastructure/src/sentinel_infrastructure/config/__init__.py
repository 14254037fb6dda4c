"""Configuration: YAML (ruamel) → typed models (msgspec) → domain objects, with located errors."""

from sentinel_infrastructure.config.errors import ConfigError, ConfigIssue
from sentinel_infrastructure.config.loader import (
    LoadedConfig,
    build_firewall_policy,
    build_ratelimit_policies,
    load_config,
)
from sentinel_infrastructure.config.model import AgentSection, Config, FirewallSection

__all__ = [
    "AgentSection",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "FirewallSection",
    "LoadedConfig",
    "build_firewall_policy",
    "build_ratelimit_policies",
    "load_config",
]
