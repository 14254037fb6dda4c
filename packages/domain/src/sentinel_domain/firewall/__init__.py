"""Firewall engine: the rule model and the reference first-match evaluator."""

from sentinel_domain.firewall.engine import (
    DEFAULT_ANTI_LOCKOUT_PORTS,
    FirewallEngine,
    FirewallPolicy,
    anti_lockout_rules,
    order_rules,
    rule_matches,
    validate_rule_set,
)
from sentinel_domain.firewall.entity import (
    Decision,
    DefaultPolicy,
    FirewallEvent,
    FirewallMode,
    FirewallRule,
    RuleAction,
    Scope,
    Verdict,
    parse_action,
    parse_default_policy,
    parse_mode,
    parse_scope,
)
from sentinel_domain.firewall.errors import FirewallRuleError

__all__ = [
    "DEFAULT_ANTI_LOCKOUT_PORTS",
    "Decision",
    "DefaultPolicy",
    "FirewallEngine",
    "FirewallEvent",
    "FirewallMode",
    "FirewallPolicy",
    "FirewallRule",
    "FirewallRuleError",
    "RuleAction",
    "Scope",
    "Verdict",
    "anti_lockout_rules",
    "order_rules",
    "parse_action",
    "parse_default_policy",
    "parse_mode",
    "parse_scope",
    "rule_matches",
    "validate_rule_set",
]
