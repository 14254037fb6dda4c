"""An AlertStore in a dict: the reference behaviour the LMDB store is checked against."""

from collections.abc import Sequence
from dataclasses import replace

from sentinel_domain.alert import Alert
from sentinel_ports.alert_store import AlertPage, AlertQuery, AlertStore


class InMemoryAlertStore(AlertStore):
    def __init__(self) -> None:
        self._alerts: dict[str, tuple[int, Alert]] = {}  # id -> (arrival seq, alert)
        self._seq = 0
        self._counters = {"appended": 0, "duplicates": 0, "dropped": 0, "pruned": 0, "evicted": 0}

    def append(self, alerts: Sequence[Alert]) -> int:
        stored = 0
        for alert in alerts:
            if alert.id in self._alerts:
                self._counters["duplicates"] += 1
                continue
            self._alerts[alert.id] = (self._seq, alert)
            self._seq += 1
            stored += 1
        self._counters["appended"] += stored
        return stored

    def get(self, alert_id: str) -> Alert | None:
        found = self._alerts.get(alert_id)
        return found[1] if found else None

    def _oldest_first(self) -> list[tuple[int, Alert]]:
        return sorted(self._alerts.values(), key=lambda item: (item[1].timestamp_ns, item[0]))

    def query(self, query: AlertQuery) -> AlertPage:
        newest_first = [alert for _, alert in reversed(self._oldest_first()) if query.matches(alert)]
        page = newest_first[query.offset : query.offset + query.limit]
        return AlertPage(tuple(page), len(self._alerts))

    def mark_false_positive(self, alert_id: str) -> bool:
        found = self._alerts.get(alert_id)
        if found is None:
            return False
        self._alerts[alert_id] = (found[0], replace(found[1], false_positive=True))
        return True

    def count(self) -> int:
        return len(self._alerts)

    def prune(self, now_ns: int, max_age_ns: int | None, max_count: int | None) -> int:
        oldest_first = [alert for _, alert in self._oldest_first()]
        if max_age_ns is not None:
            oldest_first = [a for a in oldest_first if a.timestamp_ns >= now_ns - max_age_ns]
        if max_count is not None:
            oldest_first = oldest_first[max(len(oldest_first) - max(max_count, 0), 0) :]
        kept = {alert.id for alert in oldest_first}
        removed = len(self._alerts) - len(kept)
        self._alerts = {k: v for k, v in self._alerts.items() if k in kept}
        self._counters["pruned"] += removed
        return removed

    def stats(self) -> dict[str, int]:
        return {"stored": len(self._alerts), **self._counters}

    def close(self) -> None:
        self._alerts.clear()
