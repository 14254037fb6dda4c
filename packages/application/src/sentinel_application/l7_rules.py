"""L7 firewall rules changed through the API: validated, persisted, audited, swapped in atomically.

Mirrors :mod:`sentinel_application.firewall_rules`: the effective rule set is the ``l7.rules`` of
the YAML overlaid by the persisted API changes (component ``l7`` of the rule store; an API rule
replaces a YAML rule of the same id, a deletion leaves a tombstone), so API changes survive
reloads and restarts (deviation 4). Each change builds a whole new :class:`L7Engine` (which
validates the set: unique ids, rule cap), stores and audits the change, then hands the engine to
``apply`` — the running L7 consumer reads the engine by reference per batch, so the swap is atomic
and the next captured payload is judged by the new rules. One lock serialises changes and reloads.

The API accepts only the protocols of ``CreateL7RuleRequest`` (http tls grpc smtp ftp smb).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sentinel_application.rule_persistence import PersistedRuleService
from sentinel_domain.l7 import L7Engine, L7Protocol, L7Rule, L7RuleError

COMPONENT = "l7"
API_PROTOCOLS = frozenset(
    {L7Protocol.HTTP, L7Protocol.TLS, L7Protocol.GRPC, L7Protocol.SMTP, L7Protocol.FTP, L7Protocol.SMB}
)


class DuplicateL7RuleError(L7RuleError):
    """A rule with this id already exists."""


class L7RuleNotFoundError(L7RuleError):
    """No rule with this id."""


@dataclass(frozen=True, slots=True)
class L7Settings:
    """The YAML side: the configured ``l7.rules`` (as mappings, already validated by the loader)."""

    yaml_rules: tuple[Mapping[str, Any], ...] = ()


class L7RuleService(PersistedRuleService[L7Settings, L7Engine, L7Rule]):
    component = COMPONENT

    @property
    def engine(self) -> L7Engine:
        """The engine the L7 consumer runs."""
        return self._current

    def _parse(self, rule: Mapping[str, object]) -> L7Rule:
        parsed = L7Rule.from_dict(rule)
        if parsed.protocol not in API_PROTOCOLS:
            allowed = ", ".join(sorted(p.value for p in API_PROTOCOLS))
            raise L7RuleError(
                f"protocol '{parsed.protocol.value}' is not accepted: expected one of {allowed}"
            )
        return parsed

    def _build(self, settings: L7Settings, rules: Sequence[Mapping[str, object]]) -> L7Engine:
        return L7Engine(self._parse_all(rules, L7Rule.from_dict))  # validates ids and the cap

    def _rules_of(self, built: L7Engine) -> Sequence[L7Rule]:
        return built.rules

    def _duplicate(self, rule_id: str) -> Exception:
        return DuplicateL7RuleError(f"an L7 rule with id '{rule_id}' already exists", "id")

    def _not_found(self, rule_id: str) -> Exception:
        return L7RuleNotFoundError(f"no L7 rule with id '{rule_id}'", "id")
