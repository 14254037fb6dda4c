"""Rate-limit rules changed through the API: validated like the YAML, persisted, audited, applied.

Mirrors :mod:`sentinel_application.firewall_rules`: the effective rule set is the YAML rules
overlaid by the persisted API changes (component ``ratelimit`` of the rule store; an API rule
replaces a YAML rule of the same id, a deletion leaves a tombstone), so API changes survive
reloads and restarts (deviation 4). Every change is stored and audited before the new policy
set is applied to the kernel; one lock serialises API changes and reloads.
"""

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sentinel_application.rule_persistence import RuleChanges
from sentinel_domain.ratelimit import RateLimitError, RateLimitPolicy, RateLimitPolicySet, default_policy
from sentinel_ports.audit_log import AuditLog
from sentinel_ports.rule_store import RuleStore

COMPONENT = "ratelimit"


class DuplicateRateLimitRuleError(RateLimitError):
    """A rule with this id already exists."""


class RateLimitRuleNotFoundError(RateLimitError):
    """No rule with this id."""


@dataclass(frozen=True, slots=True)
class RateLimitSettings:
    """The YAML side: the default policy and the configured rules (as mappings)."""

    default: RateLimitPolicy = field(default_factory=default_policy)
    yaml_rules: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def from_policies(cls, policies: RateLimitPolicySet) -> "RateLimitSettings":
        """Settings from a loaded (validated) policy set."""
        return cls(policies.default, tuple(rule.to_dict() for rule in policies.rules))


class RateLimitRuleService:
    def __init__(
        self,
        settings: RateLimitSettings,
        apply: Callable[[RateLimitPolicySet], None],
        clock_ns: Callable[[], int],
        store: RuleStore | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self._settings = settings
        self._apply = apply
        self._changes = RuleChanges(COMPONENT, clock_ns, store, audit)
        self._lock = threading.Lock()
        self.policies = self._build(settings)

    def _effective(self, settings: RateLimitSettings) -> list[dict[str, object]]:
        return self._changes.effective(settings.yaml_rules)

    def _build(
        self, settings: RateLimitSettings, rules: Sequence[Mapping[str, object]] | None = None
    ) -> RateLimitPolicySet:
        effective = self._effective(settings) if rules is None else rules
        parsed = tuple(RateLimitPolicy.from_dict(rule) for rule in effective)
        return RateLimitPolicySet(settings.default, parsed)  # validates ids, sources, count

    def install(self) -> RateLimitPolicySet:
        """Apply the effective policy set (at start)."""
        with self._lock:
            self._apply(self.policies)
            return self.policies

    def reconfigure(self, settings: RateLimitSettings) -> RateLimitPolicySet:
        """New YAML (a reload): rebuild with the persisted API changes on top and apply."""
        with self._lock:
            policies = self._build(settings)
            self._apply(policies)
            self._settings, self.policies = settings, policies
            return policies

    def rules(self) -> tuple[RateLimitPolicy, ...]:
        return self.policies.rules

    def create(self, rule: Mapping[str, object], actor: str = "api") -> RateLimitPolicy:
        """Add a rule; raises RateLimitError (invalid, source taken) or DuplicateRateLimitRuleError."""
        parsed = RateLimitPolicy.from_dict(rule)
        with self._lock:
            if self.policies.rule(parsed.id) is not None:
                raise DuplicateRateLimitRuleError(
                    f"a rate-limit rule with id '{parsed.id}' already exists", "id"
                )
            stored = parsed.to_dict()
            policies = self._build(self._settings, [*self._effective(self._settings), stored])
            self._changes.added(parsed.id, stored, actor)
            self._apply(policies)
            self.policies = policies
            return parsed

    def delete(self, rule_id: str, actor: str = "api") -> None:
        """Remove a rule (YAML or API); raises RateLimitRuleNotFoundError."""
        with self._lock:
            existing = self.policies.rule(rule_id)
            if existing is None:
                raise RateLimitRuleNotFoundError(f"no rate-limit rule with id '{rule_id}'", "id")
            remaining = [r for r in self._effective(self._settings) if r.get("id") != rule_id]
            policies = self._build(self._settings, remaining)
            self._changes.removed(rule_id, existing.to_dict(), actor)
            self._apply(policies)
            self.policies = policies
