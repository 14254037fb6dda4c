"""A full LMDB alert spool keeps working: a put never takes the pages the next delete needs.

LMDB needs fresh pages even to delete. A put that took a small map's last pages left a spool that
could neither drop its oldest entries to make room (the next ``put`` raised ``MapFullError``) nor
remove delivered ones. Real LMDB files, a 1 MiB map (``alerting.spool.map_size_mb: 1``)."""

from pathlib import Path

import pytest
import structlog

from sentinel_adapters.alerting.lmdb_spool import LmdbAlertSpool
from sentinel_testkit.contracts.alert_spool import sample_alert

MAP = 1 << 20


def batch(start: int, count: int) -> list:  # type: ignore[type-arg]
    return [sample_alert(start + n, message="m" * 300) for n in range(count)]


# (first put, second put): second puts that took the map's last pages before the fix.
@pytest.mark.parametrize(("first", "second"), [(600, 340), (600, 360), (1000, 940), (1000, 970)])
def test_a_put_that_reaches_the_last_pages_leaves_a_working_spool(
    tmp_path: Path, first: int, second: int
) -> None:
    spool = LmdbAlertSpool(tmp_path / "spool", map_size=MAP)
    try:
        spool.put("webhook", batch(0, first), enqueued_ns=1)
        spool.put("webhook", batch(first, second), enqueued_ns=2)
        spool.put("webhook", batch(first + second, 5), enqueued_ns=3)  # raised MapFullError
        held = spool.peek("webhook", spool.depth("webhook"))
        assert [entry.alert for entry in held[-5:]] == batch(first + second, 5)  # the newest kept
        delivered = [entry.seq for entry in held[:3]]  # a sender delivered the oldest three
        assert spool.remove("webhook", delivered) == 3
        assert spool.depth("webhook") == len(held) - 3
    finally:
        spool.close()


def test_a_tiny_spool_keeps_most_of_its_map_for_alerts(tmp_path: Path) -> None:
    """The reserve is at most a quarter of the map: at 256 KiB a 32-page reserve was half of it,
    and the spool held 35-60 of these alerts instead of 90-125."""
    spool = LmdbAlertSpool(tmp_path / "spool", map_size=256 * 1024)
    try:
        depths = []
        for n in range(200):
            spool.put("webhook", batch(n * 10, 10), enqueued_ns=n)
            depths.append(spool.depth("webhook"))
        assert min(depths[50:]) >= 80
        newest = spool.peek("webhook", spool.depth("webhook"))[-10:]
        assert [entry.alert for entry in newest] == batch(1990, 10)
    finally:
        spool.close()


def test_a_dropped_batch_is_logged_with_why(tmp_path: Path) -> None:
    spool = LmdbAlertSpool(tmp_path / "spool", map_size=MAP)
    try:
        with structlog.testing.capture_logs() as logs:
            assert spool.put("webhook", batch(0, 4000), enqueued_ns=1) == 4000  # ~1.4 MB of alerts
            assert spool.put("smtp", batch(0, 600), enqueued_ns=2) == 0  # kept whole
            assert spool.put("webhook", batch(0, 600), enqueued_ns=3) == 600  # fits alone, not beside
        dropped = "alert spool could not keep a batch, dropped it"
        reasons = [e["reason"] for e in logs if e["event"] == dropped]
        assert reasons == ["the batch is larger than the spool's map", "full of other destinations' alerts"]
    finally:
        spool.close()
