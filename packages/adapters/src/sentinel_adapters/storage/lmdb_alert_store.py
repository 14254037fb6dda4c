"""LmdbAlertStore: the alert history in LMDB (contract §10 ``alerts``, mapped to LMDB).

Sub-databases: ``alerts`` maps a time key ``(timestamp_ns, seq)`` to the alert's domain JSON, so
a reverse cursor walks newest first and a time range is a key range; ``alert_ids`` maps an alert
id to its time key (for ``get`` and false-positive marking); ``meta`` keeps the next ``seq``.

Queries walk the time range newest first, decode only the filtered fields of each record
(:class:`~sentinel_adapters.storage.codec.AlertSummary`), build full alerts only for the page, and
stop as soon as the page is full. The newest page without filters costs a few milliseconds; a
filter matching nothing reads the whole range, 0.2-0.4 s for 50,000 alerts on the (slow, shared)
development VM, where ``json.loads`` of one 470-byte alert takes 20 µs. No secondary index
beyond the id: that cost was judged acceptable for the 50,000-alert history.
Records that no longer decode are skipped and counted (``corrupt``), never raised.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentinel_adapters.storage import codec
from sentinel_adapters.storage._time_keyed import newest_at_or_before, nothing_to_scan, prune_time_keyed
from sentinel_adapters.storage.lmdb_env import LmdbEnvironment
from sentinel_domain.alert import Alert
from sentinel_ports.alert_store import AlertPage, AlertQuery, AlertStore

_SEQ_KEY = b"alerts.seq"
EVICTION_PRIORITY = 0  # alerts go first when storage is full; the audit trail is worth more


class LmdbAlertStore(AlertStore):
    """Alerts in ``env``; pass ``owns_env`` to close the environment with the store."""

    def __init__(self, env: LmdbEnvironment, owns_env: bool = False) -> None:
        self._env = env
        self._owns_env = owns_env
        self._alerts = env.database("alerts")
        self._ids = env.database("alert_ids")
        self._meta = env.database("meta")
        self._counters = {"appended": 0, "duplicates": 0, "dropped": 0, "pruned": 0, "corrupt": 0}
        env.add_evictor("alerts", EVICTION_PRIORITY, self._evict_oldest)

    @classmethod
    def open(cls, directory: str | Path, **env_options: Any) -> "LmdbAlertStore":
        """A store with its own environment in ``directory`` (options as for LmdbEnvironment)."""
        return cls(LmdbEnvironment(directory, **env_options), owns_env=True)

    # --- writing ----------------------------------------------------------------------------

    def append(self, alerts: Sequence[Alert]) -> int:
        if not alerts:
            return 0
        records = [(codec.key_string(alert.id), codec.encode_alert(alert), alert) for alert in alerts]

        def work(txn: Any) -> int:
            seq_raw = txn.get(_SEQ_KEY, db=self._meta)
            seq = codec.U64.unpack(seq_raw)[0] if seq_raw else 0
            stored = 0
            for id_key, value, alert in records:
                if txn.get(id_key, db=self._ids) is not None:
                    continue
                key = codec.time_key(alert.timestamp_ns, seq)
                seq += 1
                txn.put(key, value, db=self._alerts)
                txn.put(id_key, key, db=self._ids)
                stored += 1
            txn.put(_SEQ_KEY, codec.U64.pack(seq), db=self._meta)
            return stored

        stored = self._env.write(work)
        if stored is None:
            self._counters["dropped"] += len(alerts)
            return 0
        self._counters["appended"] += stored
        self._counters["duplicates"] += len(alerts) - stored
        return stored

    def mark_false_positive(self, alert_id: str) -> bool:
        id_key = codec.key_string(alert_id)

        def work(txn: Any) -> bool:
            key = txn.get(id_key, db=self._ids)
            raw = txn.get(key, db=self._alerts) if key is not None else None
            if raw is None:
                return False
            try:
                record = codec.decode_json(raw)
            except codec.CodecError:
                self._counters["corrupt"] += 1
                return False
            if not isinstance(record, dict) or record.get("id") != alert_id:
                return False
            if record.get("false_positive") is not True:
                record["false_positive"] = True
                txn.put(key, codec.encode_json(record), db=self._alerts)
            return True

        return bool(self._env.write(work))

    def _delete(self, txn: Any, cursor: Any) -> None:
        """Delete the record under ``cursor`` and its id index entry (cursor moves to the next)."""
        try:
            alert_id = codec.decode_alert_summary(cursor.value()).id
            txn.delete(codec.key_string(alert_id), db=self._ids)
        except codec.CodecError:
            self._counters["corrupt"] += 1
        cursor.delete()

    def _evict_oldest(self, txn: Any, limit: int) -> int:
        return self._remove(txn, None, limit)

    def _remove(self, txn: Any, cutoff: bytes | None, limit: int) -> int:
        """Delete up to ``limit`` oldest alerts (only those keyed below ``cutoff`` if given)."""
        cursor = txn.cursor(db=self._alerts)
        removed = 0
        if cursor.first():
            while removed < limit and cursor.key() and (cutoff is None or cursor.key() < cutoff):
                self._delete(txn, cursor)
                removed += 1
        return removed

    def prune(self, now_ns: int, max_age_ns: int | None, max_count: int | None) -> int:
        removed = prune_time_keyed(self._env, self._remove, self.count, now_ns, max_age_ns, max_count)
        self._counters["pruned"] += removed
        return removed

    # --- reading ----------------------------------------------------------------------------

    def get(self, alert_id: str) -> Alert | None:
        with self._env.read() as txn:
            key = txn.get(codec.key_string(alert_id), db=self._ids)
            raw = txn.get(key, db=self._alerts) if key is not None else None
        if raw is None:
            return None
        try:
            alert = codec.decode_alert(raw)
        except codec.CodecError:
            self._counters["corrupt"] += 1
            return None
        return alert if alert.id == alert_id else None

    def query(self, query: AlertQuery) -> AlertPage:
        page: list[Alert] = []
        with self._env.read() as txn:
            total = int(txn.stat(self._alerts)["entries"])
            cursor = txn.cursor(db=self._alerts)
            if nothing_to_scan(query.limit, query.from_ns, query.to_ns) or not newest_at_or_before(
                cursor, query.to_ns
            ):
                return AlertPage((), total)
            lowest = codec.time_key(query.from_ns, 0) if query.from_ns is not None else b""
            skip = query.offset
            for key, value in cursor.iterprev():
                if key < lowest:
                    break
                if not self._accepts(query, value):
                    continue
                if skip:
                    skip -= 1
                    continue
                try:
                    page.append(codec.decode_alert(value))
                except codec.CodecError:
                    self._counters["corrupt"] += 1
                    continue
                if len(page) == query.limit:
                    break
        return AlertPage(tuple(page), total)

    def _accepts(self, query: AlertQuery, value: Any) -> bool:
        try:
            summary = codec.decode_alert_summary(value)
        except codec.CodecError:
            self._counters["corrupt"] += 1
            return False
        severity = codec.SEVERITY_BY_LABEL.get(summary.severity)
        if severity is None:
            self._counters["corrupt"] += 1
            return False
        mitre = summary.mitre_attack
        return query.accepts(
            summary.timestamp_ns,
            summary.component,
            severity,
            summary.rule_id,
            summary.false_positive,
            mitre.technique_id if mitre is not None else None,
            mitre.tactic if mitre is not None else None,
        )

    def count(self) -> int:
        with self._env.read() as txn:
            return int(txn.stat(self._alerts)["entries"])

    def stats(self) -> dict[str, int]:
        return {"stored": self.count(), "evicted": self._env.evicted("alerts"), **self._counters}

    def close(self) -> None:
        if self._owns_env:
            self._env.close()
