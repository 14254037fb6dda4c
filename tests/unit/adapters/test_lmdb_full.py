"""A full LMDB map never reaches the caller: oldest records are evicted, the newest kept, all counted.

The maps here are deliberately tiny (1 MiB, the smallest LmdbEnvironment accepts); ``sync=False``
because durability is not the subject (tests/integration/test_lmdb_crash.py covers it).
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from sentinel_adapters.storage import LmdbAlertStore, LmdbAuditLog, LmdbEnvironment, LmdbRuleStore
from sentinel_domain.alert import Alert, alert_id
from sentinel_ports.alert_store import AlertQuery
from sentinel_ports.audit_log import AuditAction, AuditEntry, AuditQuery
from sentinel_testkit.contracts.alert_store import T0, make_alert

TINY = 1 << 20  # the smallest map LmdbEnvironment accepts
RECORD_BYTES = 470  # one encoded alert below (its JSON is about this long)


def alerts(start: int, count: int) -> list[Alert]:
    """Alerts ``start`` … ``start + count - 1`` with real-format ids, 1 µs apart."""
    return [
        make_alert(n, ts=T0 + n * 1000, id=alert_id(T0 + n * 1000, "fw-1", n), message="m" * 200)
        for n in range(start, start + count)
    ]


@pytest.fixture
def full_calls() -> list[str]:
    return []


@pytest.fixture
def env(tmp_path: Path, full_calls: list[str]) -> Iterator[LmdbEnvironment]:
    environment = LmdbEnvironment(
        tmp_path / "db", map_size=TINY, sync=False, on_storage_full=full_calls.append
    )
    yield environment
    environment.close()


def test_ten_times_more_alerts_than_fit_keeps_the_newest(env: LmdbEnvironment, full_calls: list[str]) -> None:
    store, audit, rules = LmdbAlertStore(env), LmdbAuditLog(env), LmdbRuleStore(env)  # as in the agent
    batch = 20
    total = 10 * TINY // RECORD_BYTES // batch * batch
    for start in range(0, total, batch):
        assert store.append(alerts(start, batch)) == batch  # never dropped, never raised
    newest = alerts(total - batch, batch)
    assert all(store.get(alert.id) == alert for alert in newest)
    page = store.query(AlertQuery(limit=batch))
    assert [a.id for a in page.alerts] == [a.id for a in reversed(newest)]
    stats = store.stats()
    assert stats["dropped"] == 0
    assert stats["evicted"] == total - store.count() > 0
    assert full_calls == ["map_full"]  # reported once, however often it filled
    assert env.stats()["storage_full_reported"] == 1
    # What survived is a contiguous run of the newest alerts.
    kept = [a.id for a in store.query(AlertQuery(limit=total)).alerts]
    assert kept == [a.id for a in reversed(alerts(total - len(kept), len(kept)))]
    # The other stores sharing the map still take writes.
    assert rules.put("firewall", "after", {"id": "after"}) is True
    assert audit.record([AuditEntry(T0, "config", AuditAction.CONFIG_CHANGED)]) == 1


def test_a_batch_bigger_than_the_headroom_is_stored_after_evicting(tmp_path: Path) -> None:
    env = LmdbEnvironment(tmp_path / "db", map_size=TINY, sync=False)
    store = LmdbAlertStore(env)
    for start in range(0, 10_000, 500):  # 500 alerts: more than the 20 % above the high watermark
        assert store.append(alerts(start, 500)) == 500
    assert env.stats()["map_full_errors"] > 0  # the retry path, not only the headroom, was used
    assert all(store.get(alert.id) is not None for alert in alerts(9_500, 500))
    env.close()


def test_a_batch_larger_than_the_whole_map_is_dropped_and_counted(env: LmdbEnvironment) -> None:
    store = LmdbAlertStore(env)
    store.append(alerts(0, 10))
    assert store.append(alerts(10, 4 * TINY // RECORD_BYTES)) == 0
    assert store.stats()["dropped"] == 4 * TINY // RECORD_BYTES
    assert env.stats()["writes_dropped"] == 1
    assert store.append(alerts(100_000, 10)) == 10  # and the store keeps working
    assert store.get(alerts(100_009, 1)[0].id) is not None


def test_alerts_are_evicted_before_audit_entries(env: LmdbEnvironment) -> None:
    store, audit = LmdbAlertStore(env), LmdbAuditLog(env)
    trail = [AuditEntry(T0 + n, "firewall", AuditAction.DROP, "fw-1", detail="d" * 200) for n in range(60)]
    assert audit.record(trail) == 60
    for start in range(0, 4_000, 20):
        store.append(alerts(start, 20))
    assert audit.count() == 60  # untouched while there were alerts to evict
    assert audit.stats()["evicted"] == 0 and store.stats()["evicted"] > 0
    # With no alerts left to evict, the oldest audit entries go.
    store.prune(now_ns=T0, max_age_ns=None, max_count=0)
    for n in range(0, 3_000, 30):
        entries = [
            AuditEntry(T0 + 1000 + n + i, "ips", AuditAction.ALERT, detail="d" * 200) for i in range(30)
        ]
        assert audit.record(entries) == 30
    assert audit.stats()["evicted"] > 0
    newest = audit.query(AuditQuery(limit=1)).entries
    assert newest[0].timestamp_ns == T0 + 1000 + 2_999


def test_rules_are_never_evicted(env: LmdbEnvironment) -> None:
    rules, store = LmdbRuleStore(env), LmdbAlertStore(env)
    accepted = []
    for n in range(4_000):  # far more than fit
        rule_id = f"r{n:05d}"
        if rules.put("firewall", rule_id, {"id": rule_id, "note": "x" * 300}):
            accepted.append(rule_id)
        store.append(alerts(n, 1))
    assert 0 < len(accepted) < 4_000  # the map filled up and put said so instead of raising
    assert [r.rule_id for r in rules.all("firewall")] == accepted  # every accepted rule is kept
    # The alerts went first: at most the newest one, written after the last rule, is left.
    assert store.count() <= 1 and store.stats()["evicted"] > 0
    assert env.stats()["writes_dropped"] >= 4_000 - len(accepted)


def test_a_reader_pinning_old_pages_makes_writes_drop_not_raise(env: LmdbEnvironment) -> None:
    store = LmdbAlertStore(env)
    store.append(alerts(0, 20))
    results = []
    with env.read() as snapshot:  # a long query: every page freed since is still in use
        for start in range(20, 3_000, 20):
            results.append(store.append(alerts(start, 20)))
        assert snapshot.stat(env.database("alerts"))["entries"] == 20  # its view never changed
    assert 0 in results  # some writes had to be dropped while the reader held the pages
    assert store.stats()["dropped"] == 20 * results.count(0)
    # Once the reader is gone, space is reclaimed and writes succeed again.
    assert all(store.append(alerts(start, 20)) == 20 for start in range(10_000, 12_000, 20))
