"""What every AlertStore must do, checked only through the port.

Subclass once per implementation with a one-line ``make_alert_store(directory)`` (``directory`` is
an empty temporary directory the implementation may use).
"""

import ipaddress
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.common import MitreRef, Severity
from sentinel_ports.alert_store import AlertQuery, AlertStore

T0 = 1_700_000_000_000_000_000
SEC = 1_000_000_000
BRUTE = MitreRef("T1110.001", "Password Guessing", "credential-access")
SCAN = MitreRef("T1046", "Network Service Scanning", "discovery")


def make_alert(n: int, ts: int | None = None, **fields: Any) -> Alert:
    """Alert number ``n`` (id ``a<n>``), at ``T0 + n s`` unless ``ts`` is given."""
    base: dict[str, Any] = {
        "id": f"a{n}",
        "timestamp_ns": T0 + n * SEC if ts is None else ts,
        "component": Component.FIREWALL,
        "severity": Severity.MEDIUM,
        "rule_id": "r1",
        "action": AlertAction.BLOCK,
    }
    return Alert(**(base | fields))


def ids(alerts: Any) -> list[str]:
    return [alert.id for alert in alerts]


FILTER_SET = [
    make_alert(1, component=Component.IDS, severity=Severity.LOW, rule_id="ssh", mitre=BRUTE),
    make_alert(2, component=Component.FIREWALL, severity=Severity.HIGH, rule_id="fw-1", mitre=SCAN),
    make_alert(3, component=Component.IDS, severity=Severity.CRITICAL, rule_id="ssh"),
    make_alert(4, component=Component.DLP, severity=Severity.MEDIUM, rule_id="pci", false_positive=True),
    make_alert(5, component=Component.FIREWALL, severity=Severity.MEDIUM, rule_id="fw-1", mitre=BRUTE),
]

FILTER_CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "no filter": ({}, ["a5", "a4", "a3", "a2", "a1"]),
    "component": ({"component": "ids"}, ["a3", "a1"]),
    "component is exact": ({"component": "IDS"}, []),
    "min severity": ({"min_severity": Severity.HIGH}, ["a3", "a2"]),
    "rule id": ({"rule_id": "fw-1"}, ["a5", "a2"]),
    "false positives": ({"false_positive": True}, ["a4"]),
    "not false positives": ({"false_positive": False}, ["a5", "a3", "a2", "a1"]),
    "from (inclusive)": ({"from_ns": T0 + 3 * SEC}, ["a5", "a4", "a3"]),
    "to (inclusive)": ({"to_ns": T0 + 2 * SEC}, ["a2", "a1"]),
    "from and to": ({"from_ns": T0 + 2 * SEC, "to_ns": T0 + 4 * SEC}, ["a4", "a3", "a2"]),
    "empty range": ({"from_ns": T0 + 4 * SEC, "to_ns": T0 + 2 * SEC}, []),
    "range before everything": ({"to_ns": T0}, []),
    "tactic, any case": ({"tactic": "Credential-Access"}, ["a5", "a1"]),
    "technique exact": ({"technique": "t1046"}, ["a2"]),
    "technique covers sub-techniques": ({"technique": "T1110"}, ["a5", "a1"]),
    "sub-technique does not cover parent": ({"technique": "T1046.001"}, []),
    "combined": ({"component": "firewall", "min_severity": Severity.MEDIUM, "tactic": "discovery"}, ["a2"]),
}


class AlertStoreContract:
    @staticmethod
    def make_alert_store(directory: Path) -> AlertStore:
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[AlertStore]:
        subject = self.make_alert_store(tmp_path / "store")
        yield subject
        subject.close()

    def test_every_field_survives_a_round_trip(self, store: AlertStore) -> None:
        full = make_alert(
            1,
            component=Component.THREATINTEL,
            severity=Severity.CRITICAL,
            rule_id="ti-feed/1",
            action=AlertAction.ALERT,
            src=ipaddress.ip_address("2001:db8::7"),
            dst=ipaddress.ip_address("2001:db8:1::1"),
            src_port=40000,
            dst_port=443,
            protocol=6,
            message="IOC hit — naïve ünïcode ✓",
            mitre=BRUTE,
            src_domain="a.example",
            dst_domain="b.example",
            matched_domain="evil.example",
            confidence=90,
            threat_type="c2",
            data_type="pci",
            pid=4242,
            tgid=4240,
            direction=1,
            extra=(("feed", "spamhaus"), ("score", "0.9")),
        )
        bare = make_alert(2, component=Component.DNS, severity=Severity.LOW)
        v4 = make_alert(3, src=ipaddress.ip_address("198.18.0.1"), dst=ipaddress.ip_address("0.0.0.0"))
        assert store.append([full, bare, v4]) == 3
        assert store.get("a1") == full
        assert store.get("a2") == bare
        assert store.get("a3") == v4

    def test_unknown_id_is_none(self, store: AlertStore) -> None:
        store.append([make_alert(1)])
        assert store.get("nope") is None
        assert store.get("") is None

    def test_newest_first_and_equal_timestamps_last_appended_first(self, store: AlertStore) -> None:
        store.append([make_alert(1, ts=T0 + 5), make_alert(2, ts=T0 + 7), make_alert(3, ts=T0 + 5)])
        store.append([make_alert(4, ts=T0 + 7), make_alert(5, ts=T0 + 1)])
        page = store.query(AlertQuery())
        assert ids(page.alerts) == ["a4", "a2", "a3", "a1", "a5"]
        assert page.total == 5

    def test_ids_already_stored_are_skipped(self, store: AlertStore) -> None:
        assert store.append([make_alert(1), make_alert(2)]) == 2
        assert store.append([make_alert(2, message="again"), make_alert(3), make_alert(3)]) == 1
        assert store.count() == 3
        assert store.get("a2") == make_alert(2)

    def test_appending_nothing_stores_nothing(self, store: AlertStore) -> None:
        assert store.append([]) == 0
        assert store.count() == 0
        assert store.query(AlertQuery()).alerts == ()

    @pytest.mark.parametrize("case", list(FILTER_CASES), ids=list(FILTER_CASES))
    def test_filters(self, store: AlertStore, case: str) -> None:
        store.append(FILTER_SET)
        fields, expected = FILTER_CASES[case]
        page = store.query(AlertQuery(**fields))
        assert ids(page.alerts) == expected
        assert page.total == len(FILTER_SET)  # the store total, not the filtered count

    def test_paging_walks_the_same_order(self, store: AlertStore) -> None:
        store.append([make_alert(n, ts=T0 + n // 3) for n in range(25)])  # many equal timestamps
        everything = ids(store.query(AlertQuery(limit=100)).alerts)
        pages = [store.query(AlertQuery(limit=10, offset=offset)) for offset in (0, 10, 20, 30)]
        assert [len(page.alerts) for page in pages] == [10, 10, 5, 0]
        assert [alert_id for page in pages for alert_id in ids(page.alerts)] == everything
        assert {page.total for page in pages} == {25}
        assert store.query(AlertQuery(limit=0)).alerts == ()

    def test_paging_applies_after_filtering(self, store: AlertStore) -> None:
        store.append([make_alert(n, component=Component.IDS if n % 2 else Component.L7) for n in range(10)])
        page = store.query(AlertQuery(component="ids", limit=2, offset=1))
        assert ids(page.alerts) == ["a7", "a5"]

    def test_false_positive_marking_is_idempotent(self, store: AlertStore) -> None:
        store.append([make_alert(1), make_alert(2)])
        assert store.mark_false_positive("a1") is True
        assert store.mark_false_positive("a1") is True
        assert store.mark_false_positive("unknown") is False
        marked = store.get("a1")
        assert marked is not None and marked.false_positive
        assert ids(store.query(AlertQuery(false_positive=True)).alerts) == ["a1"]
        assert ids(store.query(AlertQuery(false_positive=False)).alerts) == ["a2"]
        assert store.count() == 2

    def test_prune_by_age_drops_only_older_alerts(self, store: AlertStore) -> None:
        store.append([make_alert(n) for n in range(10)])
        removed = store.prune(now_ns=T0 + 10 * SEC, max_age_ns=5 * SEC, max_count=None)
        assert removed == 5  # a0..a4 are older than T0 + 5 s; a5 is exactly 5 s old and stays
        assert ids(store.query(AlertQuery()).alerts) == ["a9", "a8", "a7", "a6", "a5"]
        assert store.get("a4") is None

    def test_prune_by_count_keeps_the_newest(self, store: AlertStore) -> None:
        store.append([make_alert(n, ts=T0 + (n * 7) % 10) for n in range(10)])  # out of time order
        assert store.prune(now_ns=T0, max_age_ns=None, max_count=3) == 7
        assert ids(store.query(AlertQuery()).alerts) == ["a7", "a4", "a1"]
        assert store.prune(now_ns=T0, max_age_ns=None, max_count=3) == 0
        assert store.prune(now_ns=T0, max_age_ns=None, max_count=0) == 3
        assert store.count() == 0

    def test_prune_by_age_and_count(self, store: AlertStore) -> None:
        store.append([make_alert(n) for n in range(10)])
        assert store.prune(now_ns=T0 + 10 * SEC, max_age_ns=8 * SEC, max_count=4) == 6
        assert ids(store.query(AlertQuery()).alerts) == ["a9", "a8", "a7", "a6"]
        assert store.stats()["pruned"] == 6

    def test_stats_count_what_is_stored(self, store: AlertStore) -> None:
        store.append([make_alert(n) for n in range(4)])
        stats = store.stats()
        assert stats["stored"] == store.count() == 4
        assert {"evicted", "pruned", "dropped"} <= set(stats)
        assert stats["dropped"] == 0

    def test_random_queries_agree_with_a_plain_filter(self, store: AlertStore) -> None:
        rng = random.Random(7)
        components = [Component.FIREWALL, Component.IDS, Component.DNS]
        alerts = [
            make_alert(
                n,
                ts=T0 + rng.randrange(50) * SEC,
                component=rng.choice(components),
                severity=rng.choice(list(Severity)),
                rule_id=rng.choice(["r1", "r2", "r3"]),
                false_positive=rng.random() < 0.2,
                mitre=rng.choice([None, BRUTE, SCAN]),
            )
            for n in range(300)
        ]
        for start in range(0, 300, 50):
            store.append(alerts[start : start + 50])
        # Oracle: newest first, equal timestamps in reverse arrival order.
        newest_first = sorted(alerts, key=lambda a: (a.timestamp_ns, int(a.id[1:])), reverse=True)
        for _ in range(150):
            lo = T0 + rng.randrange(60) * SEC
            query = AlertQuery(
                component=rng.choice([None, "ids", "dns"]),
                min_severity=rng.choice([None, Severity.MEDIUM, Severity.CRITICAL]),
                rule_id=rng.choice([None, "r2"]),
                false_positive=rng.choice([None, True, False]),
                from_ns=rng.choice([None, lo]),
                to_ns=rng.choice([None, lo + rng.randrange(30) * SEC]),
                tactic=rng.choice([None, "discovery"]),
                technique=rng.choice([None, "T1110"]),
                limit=rng.randrange(1, 40),
                offset=rng.randrange(0, 40),
            )
            expected = [a for a in newest_first if query.matches(a)][query.offset :][: query.limit]
            assert ids(store.query(query).alerts) == ids(expected), query
