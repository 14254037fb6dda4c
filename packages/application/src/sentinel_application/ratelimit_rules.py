"""Rate-limit rules changed through the API: validated like the YAML, persisted, audited, applied.

Mirrors :mod:`sentinel_application.firewall_rules`: the effective rule set is the YAML rules
overlaid by the persisted API changes (component ``ratelimit`` of the rule store; an API rule
replaces a YAML rule of the same id, a deletion leaves a tombstone), so API changes survive
reloads and restarts (deviation 4). Every change is stored and audited before the new policy
set is applied to the kernel; one lock serialises API changes and reloads, and a reload audits
each YAML rule that changed (``PersistedRuleService``).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sentinel_application.rule_persistence import PersistedRuleService
from sentinel_domain.ratelimit import RateLimitError, RateLimitPolicy, RateLimitPolicySet, default_policy

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


class RateLimitRuleService(PersistedRuleService[RateLimitSettings, RateLimitPolicySet, RateLimitPolicy]):
    component = COMPONENT

    @property
    def policies(self) -> RateLimitPolicySet:
        """The policy set in force."""
        return self._current

    def _parse(self, rule: Mapping[str, object]) -> RateLimitPolicy:
        return RateLimitPolicy.from_dict(rule)

    def _build(
        self, settings: RateLimitSettings, rules: Sequence[Mapping[str, object]]
    ) -> RateLimitPolicySet:
        parsed = tuple(self._parse_all(rules, RateLimitPolicy.from_dict))
        return RateLimitPolicySet(settings.default, parsed)  # validates ids, sources, count

    def _rules_of(self, built: RateLimitPolicySet) -> Sequence[RateLimitPolicy]:
        return built.rules

    def _stored(self, rule: Mapping[str, object], parsed: RateLimitPolicy) -> dict[str, object]:
        return parsed.to_dict()

    def _audited_before(self, existing: RateLimitPolicy, entry: Mapping[str, object] | None) -> Any:
        return existing.to_dict()

    def _duplicate(self, rule_id: str) -> Exception:
        return DuplicateRateLimitRuleError(f"a rate-limit rule with id '{rule_id}' already exists", "id")

    def _not_found(self, rule_id: str) -> Exception:
        return RateLimitRuleNotFoundError(f"no rate-limit rule with id '{rule_id}'", "id")
