"""Firewall rules changed through the API: validated, persisted, audited, applied atomically.

The effective rule set is the YAML rules overlaid by the persisted API changes
(``sentinel_ports.rule_store.merge_rules``: an API rule replaces a YAML rule of the same id, a
deletion leaves a tombstone that hides it), so API changes survive reloads and restarts
(deviation 4). Every change is written to the rule store and the audit log before it is applied
to the kernel; one lock serialises API changes and config reloads.
"""

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sentinel_domain.firewall import (
    DefaultPolicy,
    FirewallMode,
    FirewallPolicy,
    FirewallRule,
    FirewallRuleError,
)
from sentinel_ports.audit_log import AuditAction, AuditLog, RuleChange
from sentinel_ports.rule_store import RuleStore, merge_rules

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
        self._clock_ns = clock_ns
        self._store = store
        self._audit = audit
        self._lock = threading.Lock()
        self.policy = self._build(settings)

    def _effective(self, settings: FirewallSettings) -> list[dict[str, object]]:
        persisted = self._store.all(COMPONENT) if self._store is not None else []
        return merge_rules(settings.yaml_rules, persisted)

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
            before = {str(r.get("id")): r for r in self._settings.yaml_rules}
            after = {str(r.get("id")): r for r in settings.yaml_rules}
            for rule_id in sorted(before.keys() | after.keys()):
                old, new = before.get(rule_id), after.get(rule_id)
                if old == new:
                    continue
                action = (
                    AuditAction.RULE_ADDED
                    if old is None
                    else AuditAction.RULE_REMOVED
                    if new is None
                    else AuditAction.RULE_UPDATED
                )
                self._record(action, rule_id, "config_reload", old, new)
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
            if self._store is not None:
                self._store.put(COMPONENT, parsed.id, stored)
            self._record(AuditAction.RULE_ADDED, parsed.id, actor, None, stored)
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
            if self._store is not None:
                self._store.delete(COMPONENT, rule_id)
            self._record(AuditAction.RULE_REMOVED, rule_id, actor, before, None)
            self._apply(policy)
            self.policy = policy

    def _record(self, action: AuditAction, rule_id: str, actor: str, before: Any, after: Any) -> None:
        if self._audit is None:
            return
        self._audit.record(
            [
                RuleChange(
                    timestamp_ns=self._clock_ns(),
                    component=COMPONENT,
                    action=action,
                    rule_id=rule_id,
                    actor=actor,
                    before=json.dumps(before, sort_keys=True) if before is not None else None,
                    after=json.dumps(after, sort_keys=True) if after is not None else None,
                )
            ]
        )
