"""A RuleStore in a dict; rules are copied through ``json`` so they are detached and JSON-checked."""

import json
from collections.abc import Mapping

from sentinel_ports.rule_store import PersistedRule, RuleStore


class InMemoryRuleStore(RuleStore):
    def __init__(self) -> None:
        self._records: dict[tuple[str, str], PersistedRule] = {}
        self.full = False  # set it to see what callers do when storage is full: writes return False

    def _store(self, component: str, rule_id: str, rule: Mapping[str, object] | None) -> bool:
        if not component or not rule_id:
            raise ValueError("component and rule id must be non-empty")
        if self.full:
            return False
        if rule is not None and rule.get("id", rule_id) != rule_id:
            raise ValueError(f"rule id '{rule.get('id')}' does not match the key '{rule_id}'")
        try:
            copy = None if rule is None else json.loads(json.dumps(dict(rule), allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"rule '{rule_id}' is not JSON-serialisable: {exc}") from None
        self._records[(component, rule_id)] = PersistedRule(component, rule_id, copy)
        return True

    def put(self, component: str, rule_id: str, rule: Mapping[str, object]) -> bool:
        return self._store(component, rule_id, rule)

    def delete(self, component: str, rule_id: str) -> bool:
        return self._store(component, rule_id, None)

    def discard(self, component: str, rule_id: str) -> bool:
        return self._records.pop((component, rule_id), None) is not None

    def _copy(self, record: PersistedRule) -> PersistedRule:
        rule = None if record.rule is None else json.loads(json.dumps(record.rule))
        return PersistedRule(record.component, record.rule_id, rule)

    def get(self, component: str, rule_id: str) -> PersistedRule | None:
        record = self._records.get((component, rule_id))
        return None if record is None else self._copy(record)

    def all(self, component: str) -> list[PersistedRule]:
        return [self._copy(r) for (c, _), r in sorted(self._records.items()) if c == component]

    def components(self) -> list[str]:
        return sorted({component for component, _ in self._records})

    def close(self) -> None:
        self._records.clear()
