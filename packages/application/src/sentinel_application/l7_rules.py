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

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sentinel_application.rule_persistence import RuleChanges
from sentinel_domain.l7 import L7Engine, L7Protocol, L7Rule, L7RuleError
from sentinel_ports.audit_log import AuditLog
from sentinel_ports.rule_store import RuleStore

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


class L7RuleService:
    def __init__(
        self,
        settings: L7Settings,
        apply: Callable[[L7Engine], None],
        clock_ns: Callable[[], int],
        store: RuleStore | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self._settings = settings
        self._apply = apply
        self._changes = RuleChanges(COMPONENT, clock_ns, store, audit)
        self._lock = threading.Lock()
        self.engine = self._build(settings)

    def _effective(self, settings: L7Settings) -> list[dict[str, object]]:
        return self._changes.effective(settings.yaml_rules)

    def _build(self, settings: L7Settings, rules: Sequence[Mapping[str, object]] | None = None) -> L7Engine:
        effective = self._effective(settings) if rules is None else rules
        return L7Engine(L7Rule.from_dict(rule) for rule in effective)  # validates ids and the cap

    def install(self) -> L7Engine:
        """Hand the effective engine to the consumer (at start)."""
        with self._lock:
            self._apply(self.engine)
            return self.engine

    def reconfigure(self, settings: L7Settings) -> L7Engine:
        """New YAML (a reload): rebuild with the persisted API changes on top, apply, and audit
        each YAML rule that appeared, disappeared or changed (actor ``config_reload``)."""
        with self._lock:
            engine = self._build(settings)
            self._apply(engine)
            self._changes.reloaded(self._settings.yaml_rules, settings.yaml_rules)
            self._settings, self.engine = settings, engine
            return engine

    def rules(self) -> tuple[L7Rule, ...]:
        """Every rule in evaluation order (by priority)."""
        return self.engine.rules

    def create(self, rule: Mapping[str, object], actor: str = "api") -> L7Rule:
        """Add a rule; raises L7RuleError (invalid, protocol not accepted) or DuplicateL7RuleError."""
        parsed = L7Rule.from_dict(rule)
        if parsed.protocol not in API_PROTOCOLS:
            allowed = ", ".join(sorted(p.value for p in API_PROTOCOLS))
            raise L7RuleError(
                f"protocol '{parsed.protocol.value}' is not accepted: expected one of {allowed}"
            )
        with self._lock:
            if any(r.id == parsed.id for r in self.engine.rules):
                raise DuplicateL7RuleError(f"an L7 rule with id '{parsed.id}' already exists", "id")
            stored = {k: v for k, v in rule.items() if v is not None}
            engine = self._build(self._settings, [*self._effective(self._settings), stored])
            self._changes.added(parsed.id, stored, actor)
            self._apply(engine)
            self.engine = engine
            return parsed

    def delete(self, rule_id: str, actor: str = "api") -> None:
        """Remove a rule (YAML or API); raises L7RuleNotFoundError."""
        with self._lock:
            if not any(r.id == rule_id for r in self.engine.rules):
                raise L7RuleNotFoundError(f"no L7 rule with id '{rule_id}'", "id")
            effective = self._effective(self._settings)
            before = next((r for r in effective if r.get("id") == rule_id), None)
            engine = self._build(self._settings, [r for r in effective if r.get("id") != rule_id])
            self._changes.removed(rule_id, before, actor)
            self._apply(engine)
            self.engine = engine
