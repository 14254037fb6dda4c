"""ThreatIntelFeedService with the testkit fakes: scripted feed documents, the IocDatabase-backed
IOC map, and a clock the test moves."""

import ipaddress
import json
import threading
from collections.abc import Iterator

import pytest

from sentinel_application.threatintel_feeds import FeedOutcome, ThreatIntelFeedService
from sentinel_domain.threatintel import IocAction, ThreatIntelConfig
from sentinel_testkit.fakes.feed_fetcher import ScriptedFeedFetcher
from sentinel_testkit.fakes.ioc_map import InMemoryIocMap

A = ipaddress.ip_address
PLAIN, STIX = "http://feeds.test/plain.txt", "http://feeds.test/bundle.json"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def config(*feeds: dict[str, object], mode: str = "alert") -> ThreatIntelConfig:
    return ThreatIntelConfig.from_dict({"mode": mode, "feeds": list(feeds)})


def feed(feed_id: str, url: str, **extra: object) -> dict[str, object]:
    return {"id": feed_id, "name": feed_id, "url": url, **extra}


def stix(*addresses: str) -> bytes:
    objects = [
        {
            "type": "indicator",
            "id": f"indicator--{i}",
            "pattern": f"[ipv4-addr:value = '{a}']",
            "pattern_type": "stix",
            "indicator_types": ["command-and-control"],
            "confidence": 90,
        }
        for i, a in enumerate(addresses)
    ]
    return json.dumps({"type": "bundle", "id": "bundle--1", "objects": objects}).encode()


class Rig:
    def __init__(self, cfg: ThreatIntelConfig) -> None:
        self.fetcher = ScriptedFeedFetcher()
        self.iocs = InMemoryIocMap()
        self.clock = Clock()
        self.outcomes: list[FeedOutcome] = []
        self.loads = 0

        def loaded(_: object) -> None:
            self.loads += 1

        self.service = ThreatIntelFeedService(
            cfg,
            self.fetcher,
            self.iocs,
            clock=self.clock,
            rand=lambda: 0.5,
            on_outcome=self.outcomes.append,
            on_loaded=loaded,
        )

    def hit(self, address: str) -> tuple[str, IocAction] | None:
        found = self.iocs.lookup(A(address))
        return None if found is None else (found.feed_id, found.action)


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig(config(feed("plain", PLAIN), feed("stix", STIX, format="stix")))
    r.fetcher.serve(PLAIN, b"# a comment\n203.0.113.7\n203.0.113.8\n")
    r.fetcher.serve(STIX, stix("198.51.100.9"))
    yield r
    r.service.stop()


def test_a_refresh_fetches_parses_merges_and_loads_every_feed_once(rig: Rig) -> None:
    report = rig.service.refresh()
    assert [(o.feed_id, o.ok, o.iocs) for o in report.outcomes] == [("plain", True, 2), ("stix", True, 1)]
    assert rig.loads == 1 and report.total_iocs == 3
    assert rig.hit("203.0.113.7") == ("plain", IocAction.ALERT)
    assert rig.hit("198.51.100.9") == ("stix", IocAction.ALERT)
    assert rig.hit("192.0.2.1") is None
    assert {i.value for i in rig.service.loaded_iocs} == {"203.0.113.7", "203.0.113.8", "198.51.100.9"}
    stamp = int(rig.clock.now * 1000)
    assert rig.service.last_fetched == {"plain": stamp, "stix": stamp}
    assert rig.service.reload_counts() == {
        ("plain", "success"): 1,
        ("plain", "failure"): 0,
        ("stix", "success"): 1,
        ("stix", "failure"): 0,
    }
    assert "2 ok, 0 failed" in report.message and "3 IOCs" in report.message


def test_a_changed_document_replaces_that_feed_and_removed_iocs_stop_matching(rig: Rig) -> None:
    rig.service.refresh()
    rig.fetcher.serve(PLAIN, b"203.0.113.99\n")
    rig.service.refresh()
    assert rig.hit("203.0.113.99") == ("plain", IocAction.ALERT)
    assert rig.hit("203.0.113.7") is None
    assert rig.hit("198.51.100.9") == ("stix", IocAction.ALERT)


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"203.0.113.1\n", 500, "fetch failed"),
        (b"\x00\xffnot a feed at all\n" * 5, 200, "parse failed"),
        (b"", 200, "holds no IOC"),
    ],
    ids=["http-500", "garbage", "emptied"],
)
def test_a_failing_feed_keeps_its_last_good_copy_and_counts_a_failure(
    rig: Rig, body: bytes, status: int, reason: str
) -> None:
    rig.service.refresh()
    stamp = rig.service.last_fetched["plain"]
    rig.clock.now += 100
    rig.fetcher.serve(PLAIN, body, status=status)
    rig.fetcher.serve(STIX, stix("198.51.100.10"))
    report = rig.service.refresh()
    failed = [o for o in report.outcomes if not o.ok]
    assert [o.feed_id for o in failed] == ["plain"] and reason in failed[0].detail
    assert failed[0].iocs == 2  # the copy still in use
    assert rig.hit("203.0.113.7") == ("plain", IocAction.ALERT)
    assert rig.hit("198.51.100.10") == ("stix", IocAction.ALERT)  # the other feed moved on
    assert rig.hit("198.51.100.9") is None
    assert rig.service.reload_counts()[("plain", "failure")] == 1
    assert rig.service.last_fetched["plain"] == stamp  # stamped by successful fetches only
    assert rig.service.states()["plain"].last_error is not None


def test_a_feed_that_never_worked_contributes_nothing_and_the_others_still_load(rig: Rig) -> None:
    rig.fetcher.serve(PLAIN, b"oops", status=503)
    report = rig.service.refresh()
    assert [o.ok for o in report.outcomes] == [False, True]
    assert rig.hit("198.51.100.9") is not None and rig.hit("203.0.113.7") is None
    assert "plain" not in rig.service.last_fetched


def test_block_mode_makes_every_ioc_a_drop_and_a_mode_change_reloads_without_fetching() -> None:
    r = Rig(config(feed("plain", PLAIN), mode="block"))
    r.fetcher.serve(PLAIN, b"203.0.113.7\n")
    r.service.refresh()
    assert r.hit("203.0.113.7") == ("plain", IocAction.BLOCK)
    fetched = len(r.fetcher.requests)
    r.service.reconfigure(config(feed("plain", PLAIN), mode="alert"))
    r.service.refresh(())
    assert r.hit("203.0.113.7") == ("plain", IocAction.ALERT)
    assert len(r.fetcher.requests) == fetched


def test_min_confidence_and_max_iocs_apply_per_feed() -> None:
    body = "\n".join(f"203.0.113.{i},{i * 10}" for i in range(1, 10)).encode()
    r = Rig(
        config(
            feed("csv", PLAIN, format="csv", ip_field=0, confidence_field=1, min_confidence=40, max_iocs=3)
        )
    )
    r.fetcher.serve(PLAIN, body)
    r.service.refresh()
    # confidences 10..90: below 40 dropped, then the first three kept in file order
    assert sorted(i.value for i in r.service.loaded_iocs) == ["203.0.113.4", "203.0.113.5", "203.0.113.6"]


def test_conditional_requests_reuse_the_copy_and_do_not_reload() -> None:
    r = Rig(config(feed("plain", PLAIN)))
    r.fetcher.serve(PLAIN, b"203.0.113.7\n", etag='"v1"')
    r.service.refresh()
    r.clock.now += 10
    report = r.service.refresh()
    assert report.outcomes[0].not_modified and report.loaded is None and r.loads == 1
    assert r.fetcher.requests[-1].etag == '"v1"'
    assert r.service.last_fetched["plain"] == int(r.clock.now * 1000)
    assert r.hit("203.0.113.7") is not None


def test_feeds_are_due_by_their_own_interval_with_jitter_and_failures_retry_sooner() -> None:
    r = Rig(
        config(
            feed("fast", PLAIN, refresh_interval_secs=600),
            feed("slow", STIX, format="stix", refresh_interval_secs=7200),
        )
    )
    r.fetcher.serve(PLAIN, b"203.0.113.7\n")
    r.fetcher.serve(STIX, stix("198.51.100.9"))
    start = r.clock.now
    assert r.service.due(start) == []  # nothing configured until the first cycle applies it
    r.service.refresh()
    assert r.service.due(start + 600) == []  # jitter (rand 0.5 → +5 %) pushes it later, never earlier
    assert r.service.due(start + 631) == ["fast"]
    assert r.service.due(start + 7561) == ["fast", "slow"]
    r.clock.now = start + 631
    r.fetcher.serve(PLAIN, b"", status=500)
    r.service.refresh(["fast"])
    assert r.service.due(r.clock.now + 64) == ["fast"]  # retried after 60 s (+ jitter), not 600
    r.service.refresh(["fast"])
    assert r.service.due(r.clock.now + 62) == [] and r.service.due(r.clock.now + 127) == ["fast"]


def test_the_interval_floor_is_sixty_seconds() -> None:
    r = Rig(config(feed("plain", PLAIN, refresh_interval_secs=1)))
    r.fetcher.serve(PLAIN, b"203.0.113.7\n")
    r.service.refresh()
    assert r.service.due(r.clock.now + 30) == []
    assert r.service.due(r.clock.now + 64) == ["plain"]


def test_reconfiguring_drops_removed_feeds_and_fetches_new_or_changed_ones(rig: Rig) -> None:
    rig.service.refresh()
    other = "http://feeds.test/other.txt"
    rig.fetcher.serve(other, b"192.0.2.200\n")
    rig.service.reconfigure(config(feed("plain", other), feed("extra", PLAIN)))
    rig.service.refresh(())  # applies the config: "stix" leaves, "plain" changed source
    assert rig.hit("198.51.100.9") is None
    assert rig.hit("203.0.113.7") is None  # "plain" has a new source and no copy yet
    assert sorted(rig.service.due(rig.clock.now)) == ["extra", "plain"]
    rig.service.refresh(rig.service.due(rig.clock.now))
    assert rig.hit("192.0.2.200") == ("plain", IocAction.ALERT)
    assert rig.hit("203.0.113.7") == ("extra", IocAction.ALERT)
    assert set(rig.service.last_fetched) == {"plain", "extra"}


def test_an_unchanged_reconfiguration_neither_fetches_nor_reloads(rig: Rig) -> None:
    rig.service.refresh()
    loads, fetched = rig.loads, len(rig.fetcher.requests)
    rig.service.reconfigure(config(feed("plain", PLAIN), feed("stix", STIX, format="stix")))
    rig.service.refresh(())
    assert (rig.loads, len(rig.fetcher.requests)) == (loads, fetched)


def test_disabling_a_feed_removes_its_iocs(rig: Rig) -> None:
    rig.service.refresh()
    rig.service.reconfigure(config(feed("plain", PLAIN, enabled=False), feed("stix", STIX, format="stix")))
    report = rig.service.refresh()
    assert [o.feed_id for o in report.outcomes] == ["stix"]
    assert rig.hit("203.0.113.7") is None and rig.hit("198.51.100.9") is not None


def test_the_auth_header_is_sent_with_the_request() -> None:
    r = Rig(config(feed("private", PLAIN, auth_header="Authorization: Bearer t0ken")))
    r.fetcher.serve(PLAIN, b"203.0.113.7\n")
    r.service.refresh()
    assert r.fetcher.requests[0].auth_header == "Authorization: Bearer t0ken"


def test_the_worker_refreshes_at_start_and_on_request_and_stops() -> None:
    r = Rig(config(feed("plain", PLAIN)))
    r.fetcher.serve(PLAIN, b"203.0.113.7\n")
    assert r.service.refresh_now(timeout=1) is None  # not running yet
    r.service.start()
    try:
        report = r.service.refresh_now(timeout=10)
        assert report is not None and report.outcomes[0].ok
        r.fetcher.serve(PLAIN, b"203.0.113.8\n")
        report = r.service.refresh_now(timeout=10)
        assert report is not None and report.total_iocs == 1
        assert r.hit("203.0.113.8") is not None and r.hit("203.0.113.7") is None
        assert r.service.running
    finally:
        r.service.stop()
    assert not r.service.running
    assert r.service.refresh_now(timeout=1) is None


def test_the_worker_applies_a_reconfiguration_at_once() -> None:
    r = Rig(config(feed("plain", PLAIN)))
    r.fetcher.serve(PLAIN, b"203.0.113.7\n")
    r.fetcher.serve(STIX, stix("198.51.100.9"))
    applied = threading.Event()
    r.service._on_loaded = lambda iocs: applied.set() if any(i.feed_id == "stix" for i in iocs) else None
    r.service.start()
    try:
        r.service.reconfigure(config(feed("plain", PLAIN), feed("stix", STIX, format="stix")))
        assert applied.wait(10)
        assert r.hit("198.51.100.9") == ("stix", IocAction.ALERT)
    finally:
        r.service.stop()


def test_a_broken_ioc_map_does_not_kill_the_worker() -> None:
    r = Rig(config(feed("plain", PLAIN)))
    r.fetcher.serve(PLAIN, b"203.0.113.7\n")
    real_load = r.iocs.load
    calls = []

    def failing_once(iocs: object, now: float) -> object:
        calls.append(now)
        if len(calls) == 1:
            raise OSError("map update failed")
        return real_load(iocs, now)  # type: ignore[arg-type]

    r.iocs.load = failing_once  # type: ignore[method-assign]
    with pytest.raises(OSError):
        r.service.refresh()
    report = r.service.refresh()  # the set was not loaded: the next cycle loads it again
    assert report.loaded is not None and r.hit("203.0.113.7") is not None


def test_a_fetch_still_running_at_stop_never_touches_the_ioc_map() -> None:
    r = Rig(config(feed("plain", PLAIN)))
    r.fetcher.serve(PLAIN, b"203.0.113.7\n")
    entered, release = threading.Event(), threading.Event()
    real_fetch = r.fetcher.fetch

    def slow_fetch(request: object) -> object:
        entered.set()
        release.wait(10)
        return real_fetch(request)  # type: ignore[arg-type]

    r.fetcher.fetch = slow_fetch  # type: ignore[method-assign,assignment]
    r.service.start()
    assert entered.wait(10)
    r.service.stop(timeout=0.1)  # the agent is shutting down: its kernel objects close next
    release.set()
    assert r.service._cycle_lock.acquire(timeout=10)  # the cycle in flight has finished
    r.service._cycle_lock.release()
    assert r.loads == 0 and r.hit("203.0.113.7") is None
