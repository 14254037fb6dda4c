"""An AuditLog in lists: the reference behaviour the LMDB log is checked against."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from sentinel_ports.audit_log import AuditEntry, AuditLog, AuditPage, AuditQuery, RuleChange


class InMemoryAuditLog(AuditLog):
    def __init__(self) -> None:
        self._entries: list[tuple[int, int, AuditEntry]] = []  # (timestamp_ns, seq, entry)
        self._history: dict[str, list[RuleChange]] = defaultdict(list)
        self._seq = 0
        self._counters = {"recorded": 0, "dropped": 0, "pruned": 0, "evicted": 0}

    def record(self, entries: Sequence[AuditEntry | RuleChange]) -> int:
        for item in entries:
            if isinstance(item, RuleChange):
                versions = self._history[item.rule_id]
                change = replace(item, version=versions[-1].version + 1 if versions else 1)
                versions.append(change)
                entry = change.as_entry()
            else:
                entry = item
            self._entries.append((entry.timestamp_ns, self._seq, entry))
            self._seq += 1
        self._entries.sort(key=lambda row: (row[0], row[1]))
        self._counters["recorded"] += len(entries)
        return len(entries)

    def query(self, query: AuditQuery) -> AuditPage:
        newest_first = [entry for _, _, entry in reversed(self._entries) if query.matches(entry)]
        page = newest_first[query.offset : query.offset + query.limit]
        return AuditPage(tuple(page), len(self._entries))

    def history(self, rule_id: str, limit: int = 50) -> list[RuleChange]:
        return list(reversed(self._history.get(rule_id, [])))[: max(limit, 0)]

    def count(self) -> int:
        return len(self._entries)

    def prune(self, now_ns: int, max_age_ns: int | None, max_count: int | None) -> int:
        before = len(self._entries)
        if max_age_ns is not None:
            self._entries = [row for row in self._entries if row[0] >= now_ns - max_age_ns]
        if max_count is not None:
            self._entries = self._entries[max(len(self._entries) - max(max_count, 0), 0) :]
        removed = before - len(self._entries)
        self._counters["pruned"] += removed
        return removed

    def stats(self) -> dict[str, int]:
        return {"stored": len(self._entries), **self._counters}

    def close(self) -> None:
        self._entries.clear()
