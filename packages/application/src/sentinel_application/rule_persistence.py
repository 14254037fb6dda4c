"""What the API rule services (firewall, rate limit, L7) share.

:class:`RuleChanges`: the effective rules are the YAML rules overlaid by the component's
persisted API changes (``sentinel_ports.rule_store.merge_rules``; deviation 4), and every change
is written to the rule store and to the audit log's rule history. :class:`PersistedRuleService`:
the create / delete / reload cycle on top of it (validate the whole new set, store and audit,
then apply), leaving each component only how to parse, compile and list its rules.
"""

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sentinel_ports.audit_log import AuditAction, AuditLog, RuleChange
from sentinel_ports.rule_store import PersistedRule, RuleStore, merge_rules


class RuleNotPersistedError(Exception):
    """The rule store could not keep the change (storage full: rules are never evicted), so the
    change was not made: applying it would lose it silently at the next restart."""


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
        # The component's persisted records, read from the store once and then kept in step with
        # every write made here (the one writer of this component's rules in the agent), so a
        # change does not decode every stored rule again.
        self._persisted: dict[str, PersistedRule] | None = None

    def effective(self, yaml_rules: Sequence[Mapping[str, Any]]) -> list[dict[str, object]]:
        """The YAML rules with the persisted API changes on top (new dicts)."""
        return merge_rules(yaml_rules, list(self._records().values()))

    def _records(self) -> dict[str, PersistedRule]:
        if self._persisted is None:
            stored = self._store.all(self.component) if self._store is not None else []
            self._persisted = {record.rule_id: record for record in stored}
        return self._persisted

    def _remember(self, rule_id: str, rule: Mapping[str, object] | None) -> None:
        # As the store gives it back: detached, through JSON.
        copy = None if rule is None else json.loads(json.dumps(dict(rule)))
        self._records()[rule_id] = PersistedRule(self.component, rule_id, copy)

    def added(self, rule_id: str, stored: Mapping[str, object], actor: str) -> None:
        """Persist a rule created through the API and audit it; raises RuleNotPersistedError."""
        if self._store is not None:
            if not self._store.put(self.component, rule_id, stored):
                raise RuleNotPersistedError(
                    f"rule storage is full: {self.component} rule '{rule_id}' was not added"
                )
            self._remember(rule_id, stored)
        self.record(AuditAction.RULE_ADDED, rule_id, actor, None, stored)

    def removed(self, rule_id: str, before: Any, actor: str) -> None:
        """Persist the deletion (a tombstone, so a YAML rule stays hidden) and audit it; raises
        RuleNotPersistedError."""
        if self._store is not None:
            if not self._store.delete(self.component, rule_id):
                raise RuleNotPersistedError(
                    f"rule storage is full: {self.component} rule '{rule_id}' was not deleted"
                )
            self._remember(rule_id, None)
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


class HasYamlRules(Protocol):
    @property
    def yaml_rules(self) -> Sequence[Mapping[str, Any]]: ...


class HasId(Protocol):
    @property
    def id(self) -> str: ...


SettingsT = TypeVar("SettingsT", bound=HasYamlRules)
BuiltT = TypeVar("BuiltT")
RuleT = TypeVar("RuleT", bound=HasId)


class PersistedRuleService(ABC, Generic[SettingsT, BuiltT, RuleT]):
    """A component's rules changed through the API: the effective set (YAML + persisted API
    changes) is compiled into what the component runs (``BuiltT``: a policy, an engine), which is
    handed to ``apply``. Every change is validated by compiling the whole new set, stored and
    audited, then applied; YAML reloads are audited rule by rule (actor ``config_reload``). One
    lock serialises API changes and reloads. Subclasses say how to parse, compile and list."""

    component: ClassVar[str]  # the rule store's and the audit trail's name for it

    def __init__(
        self,
        settings: SettingsT,
        apply: Callable[[BuiltT], None],
        clock_ns: Callable[[], int],
        store: RuleStore | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self._settings = settings
        self._apply = apply
        self._changes = RuleChanges(self.component, clock_ns, store, audit)
        self._lock = threading.Lock()
        self._parsed: dict[str, RuleT] = {}  # rule mapping (canonical JSON) -> parsed rule
        self._current = self._build(settings, self._effective(settings))

    @abstractmethod
    def _parse(self, rule: Mapping[str, object]) -> RuleT:
        """One rule from its mapping; raises the component's validation error."""

    @abstractmethod
    def _build(self, settings: SettingsT, rules: Sequence[Mapping[str, object]]) -> BuiltT:
        """Compile a whole rule set (validates it as a set: ids, caps)."""

    @abstractmethod
    def _rules_of(self, built: BuiltT) -> Sequence[RuleT]:
        """The rules ``built`` runs, in evaluation order."""

    @abstractmethod
    def _duplicate(self, rule_id: str) -> Exception: ...

    @abstractmethod
    def _not_found(self, rule_id: str) -> Exception: ...

    def _stored(self, rule: Mapping[str, object], parsed: RuleT) -> dict[str, object]:
        """What the rule store keeps for a created rule (default: the request without nulls)."""
        return {k: v for k, v in rule.items() if v is not None}

    def _deletable(self, existing: RuleT) -> None:
        """Raise if ``existing`` may not be deleted through the API."""

    def _audited_before(self, existing: RuleT, entry: Mapping[str, object] | None) -> Any:
        """The audit trail's "before" of a deletion (default: the rule's effective mapping)."""
        return entry

    def _effective(self, settings: SettingsT) -> list[dict[str, object]]:
        return self._changes.effective(settings.yaml_rules)

    def _parse_all(
        self, rules: Sequence[Mapping[str, object]], parse: Callable[[Mapping[str, object]], RuleT]
    ) -> list[RuleT]:
        """``parse`` of every rule, remembered by content (rules are immutable): a change re-parses
        only the rules it brings, not the whole set. Keeps what the last set held."""
        known: dict[str, RuleT] = {}
        out = []
        for rule in rules:
            key = json.dumps(rule, sort_keys=True, default=str)
            parsed = known[key] = self._parsed.get(key) or parse(rule)
            out.append(parsed)
        self._parsed = known
        return out

    def install(self) -> BuiltT:
        """Apply the effective rule set (at start)."""
        with self._lock:
            self._apply(self._current)
            return self._current

    def reconfigure(self, settings: SettingsT) -> BuiltT:
        """New YAML (a reload): rebuild with the persisted API changes on top, apply, and audit
        each YAML rule that appeared, disappeared or changed."""
        with self._lock:
            built = self._build(settings, self._effective(settings))
            self._apply(built)
            self._changes.reloaded(self._settings.yaml_rules, settings.yaml_rules)
            self._settings, self._current = settings, built
            return built

    def rules(self) -> tuple[RuleT, ...]:
        """Every rule in evaluation order."""
        return tuple(self._rules_of(self._current))

    def create(self, rule: Mapping[str, object], actor: str = "api") -> RuleT:
        """Add a rule; raises the component's validation error or its duplicate error."""
        parsed = self._parse(rule)
        with self._lock:
            if any(r.id == parsed.id for r in self._rules_of(self._current)):
                raise self._duplicate(parsed.id)
            stored = self._stored(rule, parsed)
            built = self._build(self._settings, [*self._effective(self._settings), stored])
            self._changes.added(parsed.id, stored, actor)
            self._apply(built)
            self._current = built
            return parsed

    def delete(self, rule_id: str, actor: str = "api") -> None:
        """Remove a rule (YAML or API); raises the component's not-found error."""
        with self._lock:
            existing = next((r for r in self._rules_of(self._current) if r.id == rule_id), None)
            if existing is None:
                raise self._not_found(rule_id)
            self._deletable(existing)
            effective = self._effective(self._settings)
            entry = next((r for r in effective if r.get("id") == rule_id), None)
            built = self._build(self._settings, [r for r in effective if r.get("id") != rule_id])
            self._changes.removed(rule_id, self._audited_before(existing, entry), actor)
            self._apply(built)
            self._current = built
