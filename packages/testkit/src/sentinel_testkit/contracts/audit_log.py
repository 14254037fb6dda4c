"""What every AuditLog must do, checked only through the port.

Subclass once per implementation with a one-line ``make_audit_log(directory)``.
"""

import ipaddress
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sentinel_ports.audit_log import AuditAction, AuditEntry, AuditLog, AuditQuery, RuleChange

T0 = 1_700_000_000_000_000_000
SEC = 1_000_000_000
A = ipaddress.ip_address


def decision(
    n: int, component: str = "firewall", action: AuditAction = AuditAction.DROP, **fields: Any
) -> AuditEntry:
    """Entry number ``n`` at ``T0 + n s``, rule ``r<n % 3>``, detail ``entry <n>``."""
    defaults: dict[str, Any] = {"rule_id": f"r{n % 3}", "detail": f"entry {n}"}
    return AuditEntry(T0 + n * SEC, component, action, **(defaults | fields))


def change(
    n: int, rule_id: str, action: AuditAction = AuditAction.RULE_UPDATED, actor: str = "api"
) -> RuleChange:
    before = None if action is AuditAction.RULE_ADDED else json.dumps({"id": rule_id, "v": n - 1})
    after = None if action is AuditAction.RULE_REMOVED else json.dumps({"id": rule_id, "v": n})
    return RuleChange(T0 + n * SEC, "firewall", action, rule_id, actor, before, after)


def details(page_entries: tuple[AuditEntry, ...]) -> list[str]:
    return [entry.detail for entry in page_entries]


class AuditLogContract:
    @staticmethod
    def make_audit_log(directory: Path) -> AuditLog:
        raise NotImplementedError

    @pytest.fixture
    def log(self, tmp_path: Path) -> Iterator[AuditLog]:
        subject = self.make_audit_log(tmp_path / "store")
        yield subject
        subject.close()

    def test_entries_round_trip_newest_first(self, log: AuditLog) -> None:
        v4 = decision(1, src=A("198.18.0.1"), dst=A("198.18.0.2"), src_port=1234, dst_port=22, protocol=6)
        v6 = decision(2, "ips", AuditAction.ALERT, src=A("2001:db8::1"), dst=A("2001:db8::2"), protocol=17)
        bare = decision(3, "config", AuditAction.CONFIG_CHANGED, rule_id="", detail="reload ✓")
        assert log.record([v4, v6, bare]) == 3
        page = log.query(AuditQuery())
        assert page.entries == (bare, v6, v4)
        assert page.total == log.count() == 3

    def test_equal_timestamps_last_recorded_first(self, log: AuditLog) -> None:
        same = [AuditEntry(T0, "firewall", AuditAction.DROP, detail=str(n)) for n in range(3)]
        log.record(same[:2])
        log.record(same[2:])
        assert details(log.query(AuditQuery()).entries) == ["2", "1", "0"]

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            ({"component": "ips"}, [4, 1]),
            ({"action": AuditAction.PASS}, [5, 2]),
            ({"rule_id": "r0"}, [3, 0]),
            ({"from_ns": T0 + 2 * SEC}, [5, 4, 3, 2]),
            ({"to_ns": T0 + 1 * SEC}, [1, 0]),
            ({"from_ns": T0 + 1 * SEC, "to_ns": T0 + 3 * SEC, "component": "firewall"}, [3, 2]),
            ({"from_ns": T0 + 3 * SEC, "to_ns": T0 + 1 * SEC}, []),
            ({"component": "ips", "action": AuditAction.PASS}, []),
        ],
        ids=["component", "action", "rule id", "from", "to", "range and component", "empty range", "none"],
    )
    def test_filters(self, log: AuditLog, fields: dict[str, Any], expected: list[int]) -> None:
        log.record(
            [
                decision(0),
                decision(1, "ips"),
                decision(2, action=AuditAction.PASS),
                decision(3),
                decision(4, "ips", AuditAction.ALERT),
                decision(5, "ratelimit", AuditAction.PASS),
            ]
        )
        page = log.query(AuditQuery(**fields))
        assert details(page.entries) == [f"entry {n}" for n in expected]
        assert page.total == 6

    def test_paging(self, log: AuditLog) -> None:
        log.record([decision(n) for n in range(12)])
        pages = [log.query(AuditQuery(limit=5, offset=offset)).entries for offset in (0, 5, 10, 15)]
        assert [len(page) for page in pages] == [5, 5, 2, 0]
        assert [detail for page in pages for detail in details(page)] == [
            f"entry {n}" for n in range(11, -1, -1)
        ]
        assert details(log.query(AuditQuery(rule_id="r1", limit=2, offset=1)).entries) == [
            "entry 7",
            "entry 4",
        ]

    def test_rule_changes_get_versions_and_trail_rows(self, log: AuditLog) -> None:
        log.record([change(1, "fw-1", AuditAction.RULE_ADDED)])
        log.record([change(2, "fw-1"), change(3, "other", AuditAction.RULE_ADDED, actor="cli")])
        log.record([change(4, "fw-1", AuditAction.RULE_REMOVED, actor="config_reload")])
        history = log.history("fw-1")
        assert [(c.version, c.action, c.actor) for c in history] == [
            (3, AuditAction.RULE_REMOVED, "config_reload"),
            (2, AuditAction.RULE_UPDATED, "api"),
            (1, AuditAction.RULE_ADDED, "api"),
        ]
        assert history[0].after is None and json.loads(history[0].before or "") == {"id": "fw-1", "v": 3}
        assert history[2].before is None and json.loads(history[2].after or "") == {"id": "fw-1", "v": 1}
        assert history[1] == RuleChange(
            T0 + 2 * SEC, "firewall", AuditAction.RULE_UPDATED, "fw-1", "api",
            json.dumps({"id": "fw-1", "v": 1}), json.dumps({"id": "fw-1", "v": 2}), version=2,
        )  # fmt: skip
        assert [c.version for c in log.history("other")] == [1]
        assert log.history("unknown") == []
        assert [c.version for c in log.history("fw-1", limit=2)] == [3, 2]
        assert log.history("fw-1", limit=0) == []
        added = log.query(AuditQuery(action=AuditAction.RULE_ADDED)).entries
        assert [(e.rule_id, e.detail) for e in added] == [("other", "actor=cli"), ("fw-1", "actor=api")]
        assert log.count() == 4

    def test_rule_ids_that_share_a_prefix_keep_separate_histories(self, log: AuditLog) -> None:
        log.record([change(1, "r"), change(2, "r1"), change(3, "r"), change(4, "x" * 600)])
        assert [c.timestamp_ns for c in log.history("r")] == [T0 + 3 * SEC, T0 + SEC]
        assert [c.version for c in log.history("r1")] == [1]
        assert [c.rule_id for c in log.history("x" * 600)] == ["x" * 600]

    def test_prune_by_age_and_count_keeps_rule_history(self, log: AuditLog) -> None:
        log.record([decision(n) for n in range(8)])
        log.record([change(8, "fw-1"), change(9, "fw-1")])
        assert log.prune(now_ns=T0 + 10 * SEC, max_age_ns=7 * SEC, max_count=None) == 3  # n < 3
        assert log.prune(now_ns=T0 + 10 * SEC, max_age_ns=None, max_count=4) == 3
        assert [e.timestamp_ns for e in log.query(AuditQuery()).entries] == [
            T0 + n * SEC for n in (9, 8, 7, 6)
        ]
        assert [c.version for c in log.history("fw-1")] == [2, 1]
        log.record([change(10, "fw-1")])
        assert log.history("fw-1")[0].version == 3  # versions continue after pruning
        assert log.stats()["pruned"] == 6
        assert log.stats()["stored"] == log.count() == 5

    def test_recording_nothing(self, log: AuditLog) -> None:
        assert log.record([]) == 0
        assert log.query(AuditQuery()).total == 0
        assert {"stored", "evicted", "pruned", "dropped"} <= set(log.stats())
