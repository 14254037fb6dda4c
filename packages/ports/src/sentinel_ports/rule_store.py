"""RuleStore: rules created, changed or deleted through the API, kept across restarts (deviation 4).

Rules are JSON mappings (the shape each component's YAML uses), kept per component (``firewall``,
``l7``, ``ratelimit``, ``ips`` …) and rule id. Deleting a rule through the API stores a
*tombstone*, so deleting a rule that comes from the YAML also survives a restart.

Merge precedence with the YAML rules of one component (:func:`merge_rules`), by rule id:

1. a persisted rule replaces the YAML rule with the same id, at the YAML rule's position;
2. a tombstone hides the YAML rule with the same id;
3. persisted rules whose id is not in the YAML come after the YAML rules, in rule id order;
4. a tombstone whose id is not in the YAML changes nothing now, but keeps hiding that id if it is
   added to the YAML later; only an API ``put`` (or ``discard``) lifts it.

In short: for the same id the API's last word wins over the YAML, whatever the YAML says later.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PersistedRule:
    """One stored record: a rule, or a tombstone (``rule`` is None) for a rule deleted via the API."""

    component: str
    rule_id: str
    rule: Mapping[str, object] | None

    @property
    def is_tombstone(self) -> bool:
        return self.rule is None


def merge_rules(
    yaml_rules: Sequence[Mapping[str, object]],
    persisted: Sequence[PersistedRule],
    id_field: str = "id",
) -> list[dict[str, object]]:
    """The effective rules of one component: YAML rules overlaid by persisted ones (module docstring).

    ``persisted`` holds the records of that one component; each YAML rule's id is read from
    ``id_field``. Returns new dicts (shallow copies), never the inputs.
    """
    overrides = {record.rule_id: record for record in persisted}
    merged: list[dict[str, object]] = []
    yaml_ids: set[str] = set()
    for rule in yaml_rules:
        rule_id = str(rule.get(id_field, ""))
        yaml_ids.add(rule_id)
        record = overrides.get(rule_id)
        if record is None:
            merged.append(dict(rule))
        elif record.rule is not None:
            merged.append(dict(record.rule))
    for rule_id in sorted(overrides):
        record = overrides[rule_id]
        if rule_id not in yaml_ids and record.rule is not None:
            merged.append(dict(record.rule))
    return merged


class RuleStore(ABC):
    """Persisted API rule changes per component; writes return False instead of raising when full."""

    @abstractmethod
    def put(self, component: str, rule_id: str, rule: Mapping[str, object]) -> bool:
        """Persist ``rule`` (JSON; its ``id``, if any, must be ``rule_id``), replacing any record."""

    @abstractmethod
    def delete(self, component: str, rule_id: str) -> bool:
        """Persist a tombstone for ``rule_id`` (hides a YAML rule of that id); False if not persisted."""

    @abstractmethod
    def discard(self, component: str, rule_id: str) -> bool:
        """Forget the record (rule or tombstone) so the YAML decides again; False if there was none."""

    @abstractmethod
    def get(self, component: str, rule_id: str) -> PersistedRule | None:
        """The record for this component and rule id, or None."""

    @abstractmethod
    def all(self, component: str) -> list[PersistedRule]:
        """Every record of ``component``, tombstones included, in rule id order."""

    @abstractmethod
    def components(self) -> list[str]:
        """Components that have at least one record, sorted."""

    @abstractmethod
    def close(self) -> None:
        """Release the store; it is not used afterwards."""
