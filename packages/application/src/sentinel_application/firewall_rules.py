"""Firewall rules changed through the API: validated, persisted, audited, applied atomically.

The effective rule set is the YAML rules overlaid by the persisted API changes
(``sentinel_ports.rule_store.merge_rules``: an API rule replaces a YAML rule of the same id, a
deletion leaves a tombstone that hides it), so API changes survive reloads and restarts
(deviation 4). Every change is written to the rule store and the audit log before it is applied
to the kernel; one lock serialises API changes and config reloads.
"""

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sentinel_application.rule_persistence import RuleChanges
from sentinel_domain.firewall import (
    DefaultPolicy,
    FirewallMode,
    FirewallPolicy,
    FirewallRule,
    FirewallRuleError,
)
from sentinel_ports.audit_log import AuditLog
from sentinel_ports.rule_store import RuleStore

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


class FirewallRuleService:
    def __init__(
        self,
        settings: FirewallSettings,
        apply: Callable[[FirewallPolicy], None],
        clock_ns: Callable[[], int],
        store: RuleStore | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self._settings = settings
        self._apply = apply
        self._changes = RuleChanges(COMPONENT, clock_ns, store, audit)
        self._lock = threading.Lock()
        self.policy = self._build(settings)

    def _effective(self, settings: FirewallSettings) -> list[dict[str, object]]:
        return self._changes.effective(settings.yaml_rules)

    def _build(
        self, settings: FirewallSettings, rules: Sequence[Mapping[str, object]] | None = None
    ) -> FirewallPolicy:
        effective = self._effective(settings) if rules is None else rules
        parsed = [FirewallRule.from_dict(rule) for rule in effective]
        return FirewallPolicy.build(parsed, settings.mode, settings.default_policy, settings.system_rules)

    def install(self) -> FirewallPolicy:
        """Apply the effective policy (at start)."""
        with self._lock:
            self._apply(self.policy)
            return self.policy

    def reconfigure(self, settings: FirewallSettings) -> FirewallPolicy:
        """New YAML (a reload): rebuild with the persisted API changes on top, apply, and audit
        each YAML rule that appeared, disappeared or changed (actor ``config_reload``)."""
        with self._lock:
            policy = self._build(settings)
            self._apply(policy)
            self._changes.reloaded(self._settings.yaml_rules, settings.yaml_rules)
            self._settings, self.policy = settings, policy
            return policy

    def rules(self) -> tuple[FirewallRule, ...]:
        """Every rule in evaluation order, system rules included."""
        return self.policy.rules

    def create(self, rule: Mapping[str, object], actor: str = "api") -> FirewallRule:
        """Add a rule; raises FirewallRuleError (invalid) or DuplicateRuleError."""
        parsed = FirewallRule.from_dict(rule)
        with self._lock:
            if any(r.id == parsed.id for r in self.policy.rules):
                raise DuplicateRuleError(f"a rule with id '{parsed.id}' already exists", "id")
            stored = {k: v for k, v in rule.items() if v is not None}
            effective = [*self._effective(self._settings), stored]
            policy = self._build(self._settings, effective)  # validates the whole set (cap, ids)
            self._changes.added(parsed.id, stored, actor)
            self._apply(policy)
            self.policy = policy
            return parsed

    def delete(self, rule_id: str, actor: str = "api") -> None:
        """Remove a rule (YAML or API); raises RuleNotFoundError or SystemRuleError."""
        with self._lock:
            existing = next((r for r in self.policy.rules if r.id == rule_id), None)
            if existing is None:
                raise RuleNotFoundError(f"no firewall rule with id '{rule_id}'", "id")
            if existing.system:
                raise SystemRuleError(f"'{rule_id}' is a system rule and cannot be deleted", "id")
            before = next((r for r in self._effective(self._settings) if r.get("id") == rule_id), None)
            remaining = [r for r in self._effective(self._settings) if r.get("id") != rule_id]
            policy = self._build(self._settings, remaining)
            self._changes.removed(rule_id, before, actor)
            self._apply(policy)
            self.policy = policy
