"""LmdbRuleStore: API rule changes per component, in the ``rules`` sub-database (deviation 4).

Key ``u16 len + component + rule id`` (a component's records are one key range); value the JSON
``{"component", "rule_id", "rule"}`` with ``rule`` null for a tombstone. Rules are encoded with
the standard library's ``json`` (``allow_nan=False``) so exactly the same mappings are accepted
here and by the in-memory fake. Rules are never evicted to make room: a full store makes ``put``
and ``delete`` return False.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sentinel_adapters.storage import codec
from sentinel_adapters.storage.lmdb_env import LmdbEnvironment
from sentinel_ports.rule_store import PersistedRule, RuleStore


def rule_json(component: str, rule_id: str, rule: Mapping[str, object] | None) -> bytes:
    """The stored record; ValueError for empty names, a mismatched ``id`` or non-JSON values."""
    if not component or not rule_id:
        raise ValueError("component and rule id must be non-empty")
    if rule is not None and rule.get("id", rule_id) != rule_id:
        raise ValueError(f"rule id '{rule.get('id')}' does not match the key '{rule_id}'")
    try:
        text = json.dumps(
            {"component": component, "rule_id": rule_id, "rule": None if rule is None else dict(rule)},
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"rule '{rule_id}' is not JSON-serialisable: {exc}") from None
    return text.encode("utf-8", "surrogatepass")


class LmdbRuleStore(RuleStore):
    """Persisted rules in ``env``; pass ``owns_env`` to close the environment with the store."""

    def __init__(self, env: LmdbEnvironment, owns_env: bool = False) -> None:
        self._env = env
        self._owns_env = owns_env
        self._rules = env.database("rules")
        self.corrupt = 0

    @classmethod
    def open(cls, directory: str | Path, **env_options: Any) -> "LmdbRuleStore":
        """A store with its own environment in ``directory`` (options as for LmdbEnvironment)."""
        return cls(LmdbEnvironment(directory, **env_options), owns_env=True)

    def _write_record(self, component: str, rule_id: str, rule: Mapping[str, object] | None) -> bool:
        value = rule_json(component, rule_id, rule)
        key = codec.rule_key(component, rule_id)

        def work(txn: Any) -> bool:
            txn.put(key, value, db=self._rules)
            return True

        return self._env.write(work) is not None

    def put(self, component: str, rule_id: str, rule: Mapping[str, object]) -> bool:
        return self._write_record(component, rule_id, rule)

    def delete(self, component: str, rule_id: str) -> bool:
        return self._write_record(component, rule_id, None)

    def discard(self, component: str, rule_id: str) -> bool:
        key = codec.rule_key(component, rule_id)
        return bool(self._env.write(lambda txn: txn.delete(key, db=self._rules)))

    def _decode(self, raw: bytes) -> PersistedRule | None:
        try:
            record = json.loads(raw.decode("utf-8", "surrogatepass"))
            rule = record["rule"]
            return PersistedRule(str(record["component"]), str(record["rule_id"]), rule)
        except (ValueError, KeyError, TypeError):
            self.corrupt += 1
            return None

    def get(self, component: str, rule_id: str) -> PersistedRule | None:
        with self._env.read() as txn:
            raw = txn.get(codec.rule_key(component, rule_id), db=self._rules)
        record = self._decode(raw) if raw is not None else None
        if record is None or (record.component, record.rule_id) != (component, rule_id):
            return None
        return record

    def all(self, component: str) -> list[PersistedRule]:
        prefix = codec.prefixed(component)
        records: list[PersistedRule] = []
        with self._env.read() as txn:
            cursor = txn.cursor(db=self._rules)
            if cursor.set_range(prefix):
                for key, value in cursor:
                    if not key.startswith(prefix):
                        break
                    record = self._decode(value)
                    if record is not None and record.component == component:
                        records.append(record)
        # Over-long ids are stored under their digest, so sort by the real id here.
        return sorted(records, key=lambda record: record.rule_id)

    def components(self) -> list[str]:
        found: set[str] = set()
        with self._env.read() as txn:
            for _, value in txn.cursor(db=self._rules):
                record = self._decode(value)
                if record is not None:
                    found.add(record.component)
        return sorted(found)

    def close(self) -> None:
        if self._owns_env:
            self._env.close()
