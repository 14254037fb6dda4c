"""Firewall rules changed through the API: validated, persisted, audited, applied atomically.

The effective rule set is the YAML rules overlaid by the persisted API changes
(``sentinel_ports.rule_store.merge_rules``: an API rule replaces a YAML rule of the same id, a
deletion leaves a tombstone that hides it), so API changes survive reloads and restarts
(deviation 4). Every change is written to the rule store and the audit log before it is applied
to the kernel; one lock serialises API changes and config reloads.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sentinel_application.rule_persistence import PersistedRuleService
from sentinel_domain.firewall import (
    DefaultPolicy,
    FirewallMode,
    FirewallPolicy,
    FirewallRule,
    FirewallRuleError,
)

COMPONENT = "firewall"


class DuplicateRuleError(FirewallRuleError):
    """A rule with this id already exists."""


class RuleNotFoundError(FirewallRuleError):
    """No rule with this id."""


class SystemRuleError(FirewallRuleError):
    """System (anti-lockout) rules cannot be changed through the API."""


@dataclass(frozen=True, slots=True)
class FirewallSettings:
    """The non-rule parts of the policy, from the YAML."""

    mode: FirewallMode = FirewallMode.ALERT
    default_policy: DefaultPolicy = DefaultPolicy.PASS
    system_rules: tuple[FirewallRule, ...] = ()
    yaml_rules: tuple[Mapping[str, Any], ...] = field(default=())


class FirewallRuleService(PersistedRuleService[FirewallSettings, FirewallPolicy, FirewallRule]):
    component = COMPONENT

    @property
    def policy(self) -> FirewallPolicy:
        """The policy in force (system rules included)."""
        return self._current

    def _parse(self, rule: Mapping[str, object]) -> FirewallRule:
        return FirewallRule.from_dict(rule)

    def _build(self, settings: FirewallSettings, rules: Sequence[Mapping[str, object]]) -> FirewallPolicy:
        parsed = self._parse_all(rules, FirewallRule.from_dict)
        return FirewallPolicy.build(parsed, settings.mode, settings.default_policy, settings.system_rules)

    def _rules_of(self, built: FirewallPolicy) -> Sequence[FirewallRule]:
        return built.rules

    def _duplicate(self, rule_id: str) -> Exception:
        return DuplicateRuleError(f"a rule with id '{rule_id}' already exists", "id")

    def _not_found(self, rule_id: str) -> Exception:
        return RuleNotFoundError(f"no firewall rule with id '{rule_id}'", "id")

    def _deletable(self, existing: FirewallRule) -> None:
        if existing.system:
            raise SystemRuleError(f"'{existing.id}' is a system rule and cannot be deleted", "id")
