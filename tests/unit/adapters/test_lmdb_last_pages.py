"""A full 1 MiB map never wedges: a write never takes the pages the next eviction needs.

LMDB reuses a page freed by a commit only two commits later, and even a delete needs fresh pages.
A batch that took the map's last pages (possible while the B-trees are still under the headroom
limit: the free list and the previous commit's pages are not in the B-tree counts) left a map in
which nothing could commit again: every later eviction and write failed (CI: evicted 0, dropped
51,393). Real LMDB files, no mocks; ``sync=False`` because durability is not the subject.
"""

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from sentinel_adapters.storage import LmdbAlertStore, LmdbAuditLog, LmdbEnvironment, LmdbRuleStore
from sentinel_domain.alert import Alert, alert_id
from sentinel_ports.alert_store import AlertQuery
from sentinel_testkit.contracts.alert_store import T0, make_alert

MAP = 1 << 20  # audit.map_size_mib: 1, as in tests/integration/test_agent_storage_full.py
RECORDER_BATCH = 1000  # RecordingAlertSink's batch: about 160 of the map's 256 pages
# Second batches that, after a first of 1000, took the map's last pages before the fix (472 to 513
# with these alerts); the range is wider so that a change of record size still crosses the edge.
LAST_PAGE_BATCHES = range(400, 600, 6)


def alerts(start: int, count: int) -> list[Alert]:
    """Alerts ``start`` … ``start + count - 1`` (about 470 bytes each), 1 µs apart."""
    return [
        make_alert(n, ts=T0 + n * 1000, id=alert_id(T0 + n * 1000, "fw-1", n), message="m" * 200)
        for n in range(start, start + count)
    ]


def agent_stores(path: Path, **options: object) -> tuple[LmdbEnvironment, LmdbAlertStore]:
    env = LmdbEnvironment(path, map_size=MAP, sync=False, **options)  # type: ignore[arg-type]
    store = LmdbAlertStore(env)
    LmdbAuditLog(env), LmdbRuleStore(env)  # registered as in the agent
    return env, store


def append_halving(store: LmdbAlertStore, batch: list[Alert]) -> int:
    """As RecordingAlertSink does: a batch refused whole is retried in halves."""
    stored = store.append(batch)
    if stored == 0 and len(batch) > 1:
        middle = len(batch) // 2
        return append_halving(store, batch[:middle]) + append_halving(store, batch[middle:])
    return stored


def wedged_after(store: LmdbAlertStore, start: int) -> bool:
    """No small append goes in any more, however often it is tried."""
    return all(store.append(alerts(start + 10 * n, 10)) == 0 for n in range(5))


def test_a_batch_that_fits_the_map_exactly_still_leaves_room_to_evict(tmp_path: Path) -> None:
    for second in LAST_PAGE_BATCHES:
        env, store = agent_stores(tmp_path / f"db-{second}")
        assert store.append(alerts(0, RECORDER_BATCH)) == RECORDER_BATCH
        store.append(alerts(RECORDER_BATCH, second))  # may be refused: that is the retry path
        start = 10_000
        assert not wedged_after(store, start), f"map wedged after a second batch of {second}"
        assert store.append(alerts(20_000, 10)) == 10
        assert store.get(alerts(20_009, 1)[0].id) is not None
        assert store.stats()["evicted"] > 0
        assert env.stats().get("map_grown", 0) == 0  # the reserve alone kept it going
        env.close()


def test_writes_keep_going_while_readers_query_a_full_map(tmp_path: Path) -> None:
    env, store = agent_stores(tmp_path / "db")
    offered = 0
    stop = threading.Event()
    turns = [threading.Semaphore(0) for _ in range(3)]

    def reader(turn: threading.Semaphore, query: Callable[[], object]) -> None:
        # One query per batch written, interleaved with the writer as REST requests would be.
        while turn.acquire() and not stop.is_set():
            with env.read():  # a snapshot held across a whole query, pinning what it sees
                query()

    queries: list[Callable[[], object]] = [
        lambda: store.query(AlertQuery(limit=50)),
        lambda: store.query(AlertQuery(limit=2000, component="none")),  # a full scan
        store.count,
    ]
    threads = [threading.Thread(target=reader, args=pair) for pair in zip(turns, queries, strict=True)]
    for thread in threads:
        thread.start()
    stored = 0
    try:
        for size in (size for second in LAST_PAGE_BATCHES for size in (RECORDER_BATCH, second)):
            for turn in turns:
                turn.release()
            stored += append_halving(store, alerts(offered, size))
            offered += size
    finally:
        stop.set()
        for turn in turns:
            turn.release()
        for thread in threads:
            thread.join()
    stats = store.stats()
    assert stats["evicted"] > 0 and stats["appended"] == stored
    assert stored >= offered - 10  # at most a few single alerts dropped (and counted) under load
    assert not wedged_after(store, 100_000)
    assert store.get(alerts(100_000, 1)[0].id) is not None  # the newest is stored
    assert env.stats().get("map_grown", 0) == 0
    env.close()


def test_a_map_left_full_by_an_earlier_version_is_grown_once_and_recovers(tmp_path: Path) -> None:
    path = tmp_path / "db"
    wedged = False
    for second in LAST_PAGE_BATCHES:  # keep no reserve, as before the fix, until the map wedges
        env, store = agent_stores(path, reserve_pages=0)
        store.append(alerts(0, RECORDER_BATCH))
        store.append(alerts(RECORDER_BATCH, second))
        wedged = wedged_after(store, 10_000)
        env.close()
        if wedged:
            break
        for file in path.iterdir():
            file.unlink()
    assert wedged
    env, store = agent_stores(path)
    assert store.append(alerts(20_000, 10)) == 10
    assert store.get(alerts(20_009, 1)[0].id) is not None
    assert env.stats()["map_grown"] == 1
    assert env.stats()["map_size"] == MAP + 32 * 4096  # the one exception to the bound: the reserve
    assert all(store.append(alerts(30_000 + 10 * n, 10)) == 10 for n in range(300))
    assert env.stats()["map_grown"] == 1  # once
    env.close()


def test_a_roomy_map_skips_the_reserve_probe_a_nearly_full_one_runs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe (a child transaction aborted on every write) runs only once the file's end is
    near the map's: until then the pages past it leave the reserve beyond doubt."""
    from sentinel_adapters import _lmdb_reserve

    probes: list[int] = []
    real = _lmdb_reserve.leaves_reserve

    def counting(*args: object) -> bool:
        probes.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_lmdb_reserve, "leaves_reserve", counting)
    roomy = LmdbEnvironment(tmp_path / "roomy", map_size=64 << 20, sync=False)
    LmdbAlertStore(roomy).append(alerts(0, 200))
    assert probes == []
    _env, store = agent_stores(tmp_path / "small")
    for first in range(0, 3000, 100):
        store.append(alerts(first, 100))
    assert probes  # the 1 MiB map's end came near
    assert store.query(AlertQuery(limit=1)).alerts[0].timestamp_ns == T0 + 2999 * 1000  # newest kept


def test_a_map_under_one_mebibyte_is_refused(tmp_path: Path) -> None:
    """In a 256 KiB map the reserve and the pages LMDB pins between commits left no room to work:
    82 of 600 batches were dropped and the retries evicted the whole history, newest included."""
    with pytest.raises(ValueError, match="below the minimum of 256 pages"):
        LmdbEnvironment(tmp_path / "db", map_size=256 * 1024)


def test_the_smallest_map_keeps_a_history_while_it_evicts(tmp_path: Path) -> None:
    env, store = agent_stores(tmp_path / "db")
    after_each_append = []
    for batch in range(600):
        assert store.append(alerts(batch * 25, 25)) == 25, f"batch {batch} refused"
        after_each_append.append(store.count())
    assert store.stats()["evicted"] > 0  # well past the point where evictions start
    assert min(after_each_append[100:]) >= 500  # evictions stop at the low watermark (~770 here)
    assert env.stats().get("map_grown", 0) == 0
    env.close()
