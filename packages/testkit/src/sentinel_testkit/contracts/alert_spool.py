"""What every AlertSpool must do, checked only through the port (subclass once per implementation).

``DurableAlertSpoolContract`` adds what a spool that outlives the process must also do.
"""

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentinel_domain.alert import Alert, AlertAction, Component
from sentinel_domain.common import MitreRef, Severity
from sentinel_ports.alert_spool import AlertSpool

NS = 1_000_000_000
T0 = 1_700_000_000 * NS
LIMIT = 5


def sample_alert(index: int, **changes: object) -> Alert:
    """A varied, realistic alert: IPv4 or IPv6, with or without MITRE and enrichment."""
    v6 = index % 3 == 2
    fields: dict[str, object] = {
        "id": f"{T0 + index}-rule-{index}-{index}",
        "timestamp_ns": T0 + index,
        "component": list(Component)[index % len(Component)],
        "severity": Severity(index % 4),
        "rule_id": f"rule-{index}",
        "action": AlertAction.BLOCK if index % 2 else AlertAction.ALERT,
        "src": ipaddress.ip_address(
            f"2001:db8::{index + 1:x}" if v6 else f"198.18.{index // 250}.{index % 250 + 1}"
        ),
        "dst": ipaddress.ip_address("2001:db8::ffff" if v6 else "203.0.113.10"),
        "src_port": 40000 + index % 1000,
        "dst_port": (22, 80, 443, 53)[index % 4],
        "protocol": (6, 17)[index % 2],
        "message": f'detection {index}: é ✓ "quoted"',
    }
    if index % 2 == 0:
        fields["mitre"] = MitreRef("T1110.001", "Password Guessing", "credential-access")
        fields["src_domain"] = "scanner.example"
        fields["confidence"] = 90
        fields["extra"] = (("ja4", "t13d1516h2_8daaf6152771_b186095e22b6"), ("note", "x"))
    fields.update(changes)
    return Alert(**fields)  # type: ignore[arg-type]


class AlertSpoolContract:
    @staticmethod
    def make_spool(path: Path, max_per_destination: int) -> AlertSpool:
        raise NotImplementedError

    @pytest.fixture
    def spool(self, tmp_path: Path) -> Iterator[AlertSpool]:
        subject = self.make_spool(tmp_path / "spool", LIMIT)
        yield subject
        subject.close()

    def test_entries_come_back_oldest_first_and_unchanged(self, spool: AlertSpool) -> None:
        alerts = [sample_alert(i) for i in range(4)]
        assert spool.put("hook", alerts[:2], T0) == 0
        assert spool.put("hook", alerts[2:], T0 + NS) == 0
        entries = spool.peek("hook", 10)
        assert [e.alert for e in entries] == alerts
        assert [e.enqueued_ns for e in entries] == [T0, T0, T0 + NS, T0 + NS]
        assert [e.seq for e in entries] == sorted({e.seq for e in entries})

    def test_peek_returns_at_most_limit_and_removes_nothing(self, spool: AlertSpool) -> None:
        spool.put("hook", [sample_alert(i) for i in range(4)], T0)
        assert [e.alert.rule_id for e in spool.peek("hook", 2)] == ["rule-0", "rule-1"]
        assert spool.peek("hook", 0) == []
        assert spool.depth("hook") == 4

    def test_destinations_are_independent(self, spool: AlertSpool) -> None:
        spool.put("mail", [sample_alert(1)], T0)
        spool.put("hook", [sample_alert(2), sample_alert(3)], T0)
        spool.put("mail2", [sample_alert(4)], T0)  # a name that extends another must not mix
        assert [e.alert.rule_id for e in spool.peek("mail", 10)] == ["rule-1"]
        assert [e.alert.rule_id for e in spool.peek("hook", 10)] == ["rule-2", "rule-3"]
        assert (spool.depth("mail"), spool.depth("hook"), spool.depth("mail2"), spool.depth("none")) == (
            1,
            2,
            1,
            0,
        )
        assert spool.destinations() == ["hook", "mail", "mail2"]

    def test_remove_forgets_only_the_given_entries(self, spool: AlertSpool) -> None:
        spool.put("hook", [sample_alert(i) for i in range(3)], T0)
        spool.put("mail", [sample_alert(9)], T0)
        first, second, third = spool.peek("hook", 10)
        mail_seq = spool.peek("mail", 1)[0].seq
        assert spool.remove("hook", [second.seq, mail_seq, 10**12]) == 1
        assert [e.seq for e in spool.peek("hook", 10)] == [first.seq, third.seq]
        assert spool.depth("mail") == 1
        assert spool.remove("hook", [first.seq, third.seq]) == 2
        assert spool.depth("hook") == 0 and spool.destinations() == ["mail"]

    def test_a_full_destination_drops_its_oldest_and_says_how_many(self, spool: AlertSpool) -> None:
        assert spool.put("hook", [sample_alert(i) for i in range(LIMIT - 1)], T0) == 0
        assert spool.put("other", [sample_alert(50)], T0) == 0
        assert spool.put("hook", [sample_alert(100), sample_alert(101), sample_alert(102)], T0 + 1) == 2
        kept = [e.alert.rule_id for e in spool.peek("hook", 10)]
        assert kept == ["rule-2", "rule-3", "rule-100", "rule-101", "rule-102"]
        assert spool.depth("other") == 1
        # A batch larger than the bound keeps only its newest entries.
        assert spool.put("hook", [sample_alert(200 + i) for i in range(LIMIT + 2)], T0 + 2) == LIMIT + 2
        assert [e.alert.rule_id for e in spool.peek("hook", 10)] == [
            f"rule-{200 + i}" for i in range(2, LIMIT + 2)
        ]

    def test_expire_drops_entries_older_than_the_cutoff_oldest_first(self, spool: AlertSpool) -> None:
        spool.put("hook", [sample_alert(0), sample_alert(1)], T0)
        spool.put("hook", [sample_alert(2)], T0 + 10 * NS)
        spool.put("mail", [sample_alert(3)], T0)
        assert spool.expire("hook", T0) == 0  # strictly older only
        assert spool.expire("hook", T0 + 5 * NS) == 2
        assert [e.alert.rule_id for e in spool.peek("hook", 10)] == ["rule-2"]
        assert spool.depth("mail") == 1
        assert spool.expire("hook", 2**63) == 1 and spool.destinations() == ["mail"]

    def test_sequence_numbers_keep_growing_after_removal(self, spool: AlertSpool) -> None:
        spool.put("hook", [sample_alert(0)], T0)
        first = spool.peek("hook", 1)[0].seq
        spool.remove("hook", [first])
        spool.put("hook", [sample_alert(1)], T0)
        assert spool.peek("hook", 1)[0].seq > first

    def test_an_empty_batch_changes_nothing(self, spool: AlertSpool) -> None:
        assert spool.put("hook", [], T0) == 0
        assert spool.destinations() == [] and spool.depth("hook") == 0


class DurableAlertSpoolContract(AlertSpoolContract):
    def test_entries_survive_close_and_reopen_in_order(self, tmp_path: Path) -> None:
        path = tmp_path / "durable"
        spool = self.make_spool(path, LIMIT)
        spool.put("hook", [sample_alert(i) for i in range(4)], T0)
        spool.put("mail", [sample_alert(7)], T0 + NS)
        entries = spool.peek("hook", 10)
        spool.remove("hook", [entries[1].seq])
        spool.close()
        spool.close()  # idempotent

        again = self.make_spool(path, LIMIT)
        try:
            assert [e for e in again.peek("hook", 10)] == [entries[0], entries[2], entries[3]]
            assert again.destinations() == ["hook", "mail"]
            assert (again.depth("hook"), again.depth("mail")) == (3, 1)
            again.put("hook", [sample_alert(9)], T0 + 2 * NS)
            newest = again.peek("hook", 10)[-1]
            assert newest.seq > max(e.seq for e in entries) and newest.alert == sample_alert(9)
            # The bound still holds for what was there before the restart.
            assert again.put("hook", [sample_alert(10), sample_alert(11)], T0 + 3 * NS) == 1
        finally:
            again.close()
