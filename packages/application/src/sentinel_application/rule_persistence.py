"""The persist / audit / merge part shared by the API rule services (firewall, rate limit, L7).

One :class:`RuleChanges` per component: the effective rules are the YAML rules overlaid by the
component's persisted API changes (``sentinel_ports.rule_store.merge_rules``; deviation 4), and
every change is written to the rule store and to the audit log's rule history. The services
keep their own locking, validation and order of operations (store and audit, then apply).
"""

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sentinel_ports.audit_log import AuditAction, AuditLog, RuleChange
from sentinel_ports.rule_store import RuleStore, merge_rules


class RuleChanges:
    """Persisted API rule changes and their audit trail for one ``component``."""

    def __init__(
        self,
        component: str,
        clock_ns: Callable[[], int],
        store: RuleStore | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.component = component
        self._clock_ns = clock_ns
        self._store = store
        self._audit = audit

    def effective(self, yaml_rules: Sequence[Mapping[str, Any]]) -> list[dict[str, object]]:
        """The YAML rules with the persisted API changes on top (new dicts)."""
        persisted = self._store.all(self.component) if self._store is not None else []
        return merge_rules(yaml_rules, persisted)

    def added(self, rule_id: str, stored: Mapping[str, object], actor: str) -> None:
        """Persist a rule created through the API and audit it."""
        if self._store is not None:
            self._store.put(self.component, rule_id, stored)
        self.record(AuditAction.RULE_ADDED, rule_id, actor, None, stored)

    def removed(self, rule_id: str, before: Any, actor: str) -> None:
        """Persist the deletion (a tombstone, so a YAML rule stays hidden) and audit it."""
        if self._store is not None:
            self._store.delete(self.component, rule_id)
        self.record(AuditAction.RULE_REMOVED, rule_id, actor, before, None)

    def reloaded(
        self,
        before: Sequence[Mapping[str, Any]],
        after: Sequence[Mapping[str, Any]],
        actor: str = "config_reload",
    ) -> None:
        """Audit each YAML rule that appeared, disappeared or changed between two configurations
        (all in one audit write: one storage transaction however many rules changed)."""
        if self._audit is None:
            return
        old_rules = {str(r.get("id")): r for r in before}
        new_rules = {str(r.get("id")): r for r in after}
        changes = []
        for rule_id in sorted(old_rules.keys() | new_rules.keys()):
            old, new = old_rules.get(rule_id), new_rules.get(rule_id)
            if old == new:
                continue
            action = (
                AuditAction.RULE_ADDED
                if old is None
                else AuditAction.RULE_REMOVED
                if new is None
                else AuditAction.RULE_UPDATED
            )
            changes.append(self._change(action, rule_id, actor, old, new))
        if changes:
            self._audit.record(changes)

    def record(self, action: AuditAction, rule_id: str, actor: str, before: Any, after: Any) -> None:
        """One rule-history entry (``before``/``after`` as JSON strings of the rule)."""
        if self._audit is not None:
            self._audit.record([self._change(action, rule_id, actor, before, after)])

    def _change(self, action: AuditAction, rule_id: str, actor: str, before: Any, after: Any) -> RuleChange:
        return RuleChange(
            timestamp_ns=self._clock_ns(),
            component=self.component,
            action=action,
            rule_id=rule_id,
            actor=actor,
            before=json.dumps(before, sort_keys=True) if before is not None else None,
            after=json.dumps(after, sort_keys=True) if after is not None else None,
        )
