"""The LMDB environment: persistence across reopen, bad files, bad records, and its settings."""

import ipaddress
import os
import stat
from pathlib import Path

import pytest

from sentinel_adapters.storage import (
    DATABASES,
    LmdbAlertStore,
    LmdbAuditLog,
    LmdbEnvironment,
    LmdbRuleStore,
    StorageError,
    codec,
)
from sentinel_domain.alert import Component
from sentinel_ports.alert_store import AlertQuery
from sentinel_ports.audit_log import AuditAction, AuditEntry, AuditQuery, RuleChange
from sentinel_ports.rule_store import merge_rules
from sentinel_testkit.contracts.alert_store import T0, make_alert


def test_everything_persists_across_a_restart(tmp_path: Path) -> None:
    env = LmdbEnvironment(tmp_path / "db")
    alerts, rules, audit = LmdbAlertStore(env), LmdbRuleStore(env), LmdbAuditLog(env)
    alerts.append([make_alert(1, ts=T0), make_alert(2, ts=T0)])
    alerts.mark_false_positive("a1")
    rules.put("firewall", "api-1", {"id": "api-1", "action": "deny"})
    rules.delete("firewall", "yaml-2")
    change = RuleChange(T0, "firewall", AuditAction.RULE_ADDED, "api-1", "api", None, '{"id":"api-1"}')
    audit.record([change, AuditEntry(T0 + 1, "firewall", AuditAction.DROP, "api-1")])
    env.close()

    env = LmdbEnvironment(tmp_path / "db")
    alerts, rules, audit = LmdbAlertStore(env), LmdbRuleStore(env), LmdbAuditLog(env)
    assert [a.id for a in alerts.query(AlertQuery()).alerts] == ["a2", "a1"]
    first = alerts.get("a1")
    assert first is not None and first.false_positive
    yaml = [{"id": "yaml-1"}, {"id": "yaml-2"}]
    assert merge_rules(yaml, rules.all("firewall")) == [{"id": "yaml-1"}, {"id": "api-1", "action": "deny"}]
    assert [(c.version, c.after) for c in audit.history("api-1")] == [(1, '{"id":"api-1"}')]
    assert audit.count() == 2
    # Sequences continue: an alert with an equal timestamp still sorts as the newest.
    alerts.append([make_alert(3, ts=T0)])
    assert [a.id for a in alerts.query(AlertQuery()).alerts] == ["a3", "a2", "a1"]
    audit.record([RuleChange(T0 + 2, "firewall", AuditAction.RULE_UPDATED, "api-1", "api")])
    assert audit.history("api-1")[0].version == 2
    env.close()


def test_the_directory_is_private_and_holds_named_databases(tmp_path: Path) -> None:
    env = LmdbEnvironment(tmp_path / "nested" / "db")
    for name in DATABASES:
        env.database(name)
    with pytest.raises(ValueError, match="unknown database"):
        env.database("nope")
    assert stat.S_IMODE(os.stat(tmp_path / "nested" / "db").st_mode) == 0o700
    assert sorted(p.name for p in (tmp_path / "nested" / "db").iterdir()) == ["data.mdb", "lock.mdb"]
    env.close()


def test_a_corrupted_file_is_a_storage_error(tmp_path: Path) -> None:
    directory = tmp_path / "db"
    directory.mkdir()
    (directory / "data.mdb").write_bytes(b"not an lmdb file" * 512)
    with pytest.raises(StorageError) as caught:
        LmdbEnvironment(directory)
    assert caught.value.filename == str(directory)


def test_a_path_that_is_a_file_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "db").write_text("x")
    with pytest.raises(StorageError):
        LmdbEnvironment(tmp_path / "db")


@pytest.mark.parametrize(
    "options",
    [
        {"high_watermark": 0.5, "low_watermark": 0.6},
        {"high_watermark": 1.5},
        {"low_watermark": 0},
        {"map_size": 64 * 1024},
    ],
    ids=["low above high", "high above 1", "low zero", "map too small"],
)
def test_invalid_settings_are_refused(tmp_path: Path, options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LmdbEnvironment(tmp_path / "db", **options)  # type: ignore[arg-type]


def test_undecodable_records_are_skipped_and_counted(tmp_path: Path) -> None:
    env = LmdbEnvironment(tmp_path / "db")
    alerts, audit = LmdbAlertStore(env), LmdbAuditLog(env)
    alerts.append([make_alert(1), make_alert(3)])
    audit.record([AuditEntry(T0, "firewall", AuditAction.DROP)])

    def vandalise(txn: object) -> bool:
        put = txn.put  # type: ignore[attr-defined]
        put(codec.time_key(T0 + 2 * 10**9, 99), b"{broken", db=env.database("alerts"))
        put(codec.time_key(T0 + 5, 99), b'{"component": 3}', db=env.database("audit"))
        put(codec.key_string("a9"), codec.time_key(T0 + 2 * 10**9, 99), db=env.database("alert_ids"))
        return True

    env.write(vandalise)
    assert [a.id for a in alerts.query(AlertQuery()).alerts] == ["a3", "a1"]
    assert alerts.get("a9") is None
    assert alerts.stats()["corrupt"] >= 2
    assert len(audit.query(AuditQuery()).entries) == 1
    assert audit.stats()["corrupt"] == 1
    # Retention removes the bad record like any other.
    assert alerts.prune(now_ns=T0 + 2 * 10**9 + 1, max_age_ns=0, max_count=None) == 2
    env.close()


def test_hostile_strings_and_out_of_range_timestamps_are_stored(tmp_path: Path) -> None:
    store = LmdbAlertStore.open(tmp_path / "db")
    odd = [
        make_alert(1, message="lone surrogate \udcff here", rule_id="r\x00"),
        make_alert(2, ts=-5),
        make_alert(3, ts=2**64 + 7),
        make_alert(4, id="x" * 2_000, src=ipaddress.ip_address("::ffff:198.18.0.1")),
    ]
    assert store.append(odd) == 4
    surrogate = store.get("a1")
    assert surrogate is not None and surrogate.message == "lone surrogate ? here"
    assert [a.id for a in store.query(AlertQuery()).alerts] == ["a3", "x" * 2_000, "a1", "a2"]
    assert store.get("x" * 2_000) == odd[3]
    assert store.query(AlertQuery(to_ns=-1)).alerts == ()
    store.close()


def test_storage_full_is_not_reported_when_nothing_filled(tmp_path: Path) -> None:
    calls: list[str] = []
    env = LmdbEnvironment(tmp_path / "db", on_storage_full=calls.append)
    LmdbAlertStore(env).append([make_alert(n, component=Component.IDS) for n in range(100)])
    stats = env.stats()
    assert calls == [] and stats["storage_full_reported"] == 0
    assert stats["map_full_errors"] == stats["writes_dropped"] == stats["headroom_evictions"] == 0
    assert stats["map_size"] == 1 << 30 and stats["used_pages"] > 2
    env.close()
