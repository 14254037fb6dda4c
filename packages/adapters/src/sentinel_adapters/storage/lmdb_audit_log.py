"""LmdbAuditLog: the audit trail (``audit``) and rule history (``rule_changes``) in LMDB.

``audit`` maps a time key ``(timestamp_ns, seq)`` to the contract's ``AuditEntry`` JSON, walked
newest first like the alerts; ``rule_changes`` maps ``(rule id, version)`` to the contract's
``RuleChangeEntry`` JSON, so one rule's history is one key range and its last key holds the latest
version. When storage is full the oldest trail entries are evicted after the alerts; the rule
history is never evicted.
"""

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from sentinel_adapters.storage import codec
from sentinel_adapters.storage._time_keyed import (
    last_below,
    newest_at_or_before,
    nothing_to_scan,
    prune_time_keyed,
)
from sentinel_adapters.storage.lmdb_env import LmdbEnvironment
from sentinel_ports.audit_log import AuditEntry, AuditLog, AuditPage, AuditQuery, RuleChange

_SEQ_KEY = b"audit.seq"
EVICTION_PRIORITY = 1  # after the alerts


class LmdbAuditLog(AuditLog):
    """The audit trail in ``env``; pass ``owns_env`` to close the environment with the log."""

    def __init__(self, env: LmdbEnvironment, owns_env: bool = False) -> None:
        self._env = env
        self._owns_env = owns_env
        self._audit = env.database("audit")
        self._changes = env.database("rule_changes")
        self._meta = env.database("meta")
        self._counters = {"recorded": 0, "dropped": 0, "pruned": 0, "corrupt": 0}
        env.add_evictor("audit", EVICTION_PRIORITY, self._evict_oldest)

    @classmethod
    def open(cls, directory: str | Path, **env_options: Any) -> "LmdbAuditLog":
        """A log with its own environment in ``directory`` (options as for LmdbEnvironment)."""
        return cls(LmdbEnvironment(directory, **env_options), owns_env=True)

    # --- writing ----------------------------------------------------------------------------

    def record(self, entries: Sequence[AuditEntry | RuleChange]) -> int:
        if not entries:
            return 0

        def work(txn: Any) -> int:
            seq_raw = txn.get(_SEQ_KEY, db=self._meta)
            seq = codec.U64.unpack(seq_raw)[0] if seq_raw else 0
            for item in entries:
                if isinstance(item, RuleChange):
                    change = replace(item, version=self._latest_version(txn, item.rule_id) + 1)
                    value = codec.encode_json(codec.rule_change_to_dict(change))
                    txn.put(codec.history_key(change.rule_id, change.version), value, db=self._changes)
                    entry = change.as_entry()
                else:
                    entry = item
                value = codec.encode_json(codec.audit_entry_to_dict(entry))
                txn.put(codec.time_key(entry.timestamp_ns, seq), value, db=self._audit)
                seq += 1
            txn.put(_SEQ_KEY, codec.U64.pack(seq), db=self._meta)
            return len(entries)

        recorded = self._env.write(work)
        if recorded is None:
            self._counters["dropped"] += len(entries)
            return 0
        self._counters["recorded"] += recorded
        return recorded

    def _latest_version(self, txn: Any, rule_id: str) -> int:
        prefix = codec.prefixed(rule_id)
        cursor = txn.cursor(db=self._changes)
        if not last_below(cursor, prefix + codec.U64.pack(codec.MAX_U64)):
            return 0
        key = cursor.key()
        if not key.startswith(prefix) or len(key) != len(prefix) + 8:
            return 0
        return int(codec.U64.unpack(key[len(prefix) :])[0])

    def _evict_oldest(self, txn: Any, limit: int) -> int:
        return self._remove(txn, None, limit)

    def _remove(self, txn: Any, cutoff: bytes | None, limit: int) -> int:
        """Delete up to ``limit`` oldest entries (only those keyed below ``cutoff`` if given)."""
        cursor = txn.cursor(db=self._audit)
        removed = 0
        if cursor.first():
            while removed < limit and cursor.key() and (cutoff is None or cursor.key() < cutoff):
                cursor.delete()
                removed += 1
        return removed

    def prune(self, now_ns: int, max_age_ns: int | None, max_count: int | None) -> int:
        removed = prune_time_keyed(self._env, self._remove, self.count, now_ns, max_age_ns, max_count)
        self._counters["pruned"] += removed
        return removed

    def query(self, query: AuditQuery) -> AuditPage:
        page: list[AuditEntry] = []
        with self._env.read() as txn:
            total = int(txn.stat(self._audit)["entries"])
            cursor = txn.cursor(db=self._audit)
            if nothing_to_scan(query.limit, query.from_ns, query.to_ns) or not newest_at_or_before(
                cursor, query.to_ns
            ):
                return AuditPage((), total)
            lowest = codec.time_key(query.from_ns, 0) if query.from_ns is not None else b""
            skip = query.offset
            for key, value in cursor.iterprev():
                if key < lowest:
                    break
                try:
                    summary = codec.decode_audit_summary(value)
                    fields = (summary.timestamp_ns, summary.component, summary.action, summary.rule_id)
                    if not query.accepts(*fields):
                        continue
                    if skip:
                        skip -= 1
                        continue
                    page.append(codec.audit_entry_from_dict(codec.decode_json(value)))
                except codec.CodecError:
                    self._counters["corrupt"] += 1
                    continue
                if len(page) == query.limit:
                    break
        return AuditPage(tuple(page), total)

    def history(self, rule_id: str, limit: int = 50) -> list[RuleChange]:
        if limit <= 0:
            return []
        prefix = codec.prefixed(rule_id)
        changes: list[RuleChange] = []
        with self._env.read() as txn:
            cursor = txn.cursor(db=self._changes)
            if not last_below(cursor, prefix + codec.U64.pack(codec.MAX_U64)):
                return []
            for key, value in cursor.iterprev():
                if not key.startswith(prefix) or len(key) != len(prefix) + 8:
                    break
                try:
                    change = codec.rule_change_from_dict(codec.decode_json(value))
                except codec.CodecError:
                    self._counters["corrupt"] += 1
                    continue
                if change.rule_id == rule_id:  # a digest-keyed id must really be this one
                    changes.append(change)
                if len(changes) == limit:
                    break
        return changes

    def count(self) -> int:
        with self._env.read() as txn:
            return int(txn.stat(self._audit)["entries"])

    def stats(self) -> dict[str, int]:
        return {"stored": self.count(), "evicted": self._env.evicted("audit"), **self._counters}

    def close(self) -> None:
        if self._owns_env:
            self._env.close()
