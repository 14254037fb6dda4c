"""What every IocMap must do, checked only through the port (subclass once per implementation)."""

import ipaddress
from collections.abc import Iterator

import pytest

from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.threatintel import Ioc, IocAction, IocKind, ThreatType
from sentinel_ports.ioc_map import IocMap, IocVerdict

A = ipaddress.ip_address
NOW = 1_700_000_000.0
CLEAN_V4, CLEAN_V6 = "192.0.2.10", "2001:db8:100::10"
ALERT, BLOCK = IocAction.ALERT, IocAction.BLOCK


def ioc(
    value: str,
    action: IocAction = ALERT,
    feed: str = "feed-a",
    confidence: int = 80,
    threat: ThreatType = ThreatType.OTHER,
    expires_at: float | None = None,
    kind: IocKind = IocKind.IP,
) -> Ioc:
    return Ioc(kind, value, feed, confidence, threat, expires_at, action)


def packet(src: str, dst: str) -> PacketHeader:
    return PacketHeader(A(src), A(dst), Protocol.UDP, 40000, 53)


class IocMapContract:
    @staticmethod
    def make_ioc_map() -> IocMap:
        raise NotImplementedError

    @pytest.fixture
    def iocs(self) -> Iterator[IocMap]:
        subject = self.make_ioc_map()
        yield subject
        getattr(subject, "close", lambda: None)()

    def check(self, iocs: IocMap, src: str, dst: str) -> IocVerdict:
        return iocs.check(packet(src, dst))

    def test_block_ioc_drops_on_either_side(self, iocs: IocMap) -> None:
        iocs.load([ioc("198.51.100.7", BLOCK, threat=ThreatType.C2)], NOW)
        as_src = self.check(iocs, "198.51.100.7", CLEAN_V4)
        assert as_src.dropped and (as_src.src_hit, as_src.dst_hit) == (True, False)
        assert as_src.hit is not None and as_src.hit.address == A("198.51.100.7")
        assert (as_src.hit.feed_id, as_src.hit.confidence, as_src.hit.threat_type) == (
            "feed-a",
            80,
            ThreatType.C2,
        )
        as_dst = self.check(iocs, CLEAN_V4, "198.51.100.7")
        assert as_dst.dropped and (as_dst.src_hit, as_dst.dst_hit) == (False, True)

    def test_alert_ioc_reports_and_passes(self, iocs: IocMap) -> None:
        iocs.load([ioc("198.51.100.8", ALERT)], NOW)
        verdict = self.check(iocs, "198.51.100.8", CLEAN_V4)
        assert not verdict.dropped
        assert verdict.hit is not None and verdict.hit.action is ALERT

    def test_clean_packets_pass_without_a_hit(self, iocs: IocMap) -> None:
        iocs.load([ioc("198.51.100.7", BLOCK), ioc("2001:db8:bad::7", BLOCK)], NOW)
        assert self.check(iocs, CLEAN_V4, "192.0.2.11") == IocVerdict()
        assert self.check(iocs, CLEAN_V6, "2001:db8:100::11") == IocVerdict()

    def test_ipv6_iocs(self, iocs: IocMap) -> None:
        iocs.load([ioc("2001:db8:bad::7", BLOCK, feed="v6-feed")], NOW)
        verdict = self.check(iocs, CLEAN_V6, "2001:db8:bad::7")
        assert verdict.dropped and verdict.hit is not None
        assert (verdict.hit.address, verdict.hit.feed_id) == (A("2001:db8:bad::7"), "v6-feed")

    def test_both_sides_hit_the_higher_action_decides_and_the_source_wins_ties(self, iocs: IocMap) -> None:
        iocs.load(
            [
                ioc("198.51.100.1", ALERT, feed="alerting"),
                ioc("198.51.100.2", BLOCK, feed="blocking"),
                ioc("198.51.100.3", ALERT, feed="other"),
            ],
            NOW,
        )
        verdict = self.check(iocs, "198.51.100.1", "198.51.100.2")
        assert verdict.dropped and (verdict.src_hit, verdict.dst_hit) == (True, True)
        assert verdict.hit is not None and verdict.hit.address == A("198.51.100.2")
        tie = self.check(iocs, "198.51.100.3", "198.51.100.1")
        assert tie.hit is not None and (tie.hit.address, tie.hit.feed_id) == (A("198.51.100.3"), "other")

    def test_narrow_cidrs_are_enforced_per_address_broad_ones_are_not(self, iocs: IocMap) -> None:
        report = iocs.load([ioc("203.0.113.16/28", BLOCK), ioc("10.20.0.0/16", BLOCK)], NOW)
        assert (report.expanded_cidrs, report.broad_cidrs, report.addresses) == (1, 1, 16)
        assert self.check(iocs, "203.0.113.16", CLEAN_V4).dropped
        assert self.check(iocs, "203.0.113.31", CLEAN_V4).dropped
        assert not self.check(iocs, "203.0.113.32", CLEAN_V4).dropped
        assert self.check(iocs, "10.20.1.1", CLEAN_V4) == IocVerdict()

    def test_an_address_keeps_the_best_entry_confidence_then_specificity(self, iocs: IocMap) -> None:
        iocs.load(
            [
                ioc("203.0.113.0/24", BLOCK, feed="net", confidence=90),
                ioc("203.0.113.5", ALERT, feed="host", confidence=60),
                ioc("203.0.113.0/25", ALERT, feed="half", confidence=90),
                ioc("203.0.113.200", ALERT, feed="host2", confidence=95),
            ],
            NOW,
        )
        best = {
            a: iocs.lookup(A(a)) for a in ("203.0.113.5", "203.0.113.6", "203.0.113.130", "203.0.113.200")
        }
        assert {a: h.feed_id if h else None for a, h in best.items()} == {
            "203.0.113.5": "half",  # higher confidence beats the host
            "203.0.113.6": "half",  # equal confidence: the longer prefix
            "203.0.113.130": "net",
            "203.0.113.200": "host2",
        }

    def test_duplicates_keep_the_higher_confidence_then_block_then_the_first(self, iocs: IocMap) -> None:
        iocs.load(
            [
                ioc("198.51.100.9", ALERT, feed="low", confidence=40),
                ioc("198.51.100.9", ALERT, feed="high", confidence=70),
                ioc("198.51.100.10", ALERT, feed="first", confidence=50),
                ioc("198.51.100.10", ALERT, feed="second", confidence=50),
                ioc("198.51.100.11", ALERT, feed="alerting", confidence=50),
                ioc("198.51.100.11", BLOCK, feed="blocking", confidence=50),
            ],
            NOW,
        )
        feeds = [iocs.lookup(A(f"198.51.100.{i}")) for i in (9, 10, 11)]
        assert [h.feed_id if h else None for h in feeds] == ["high", "first", "blocking"]

    def test_only_live_address_iocs_are_enforced(self, iocs: IocMap) -> None:
        report = iocs.load(
            [
                ioc("198.51.100.20", BLOCK, expires_at=NOW - 1),
                ioc("198.51.100.21", BLOCK, expires_at=NOW + 3600),
                ioc("evil.example", BLOCK, kind=IocKind.DOMAIN),
                ioc("http://evil.example/x", BLOCK, kind=IocKind.URL),
            ],
            NOW,
        )
        assert (report.expired, report.not_addresses, report.addresses) == (1, 2, 1)
        assert iocs.lookup(A("198.51.100.20")) is None
        assert iocs.lookup(A("198.51.100.21")) is not None

    def test_a_load_replaces_the_whole_set(self, iocs: IocMap) -> None:
        iocs.load([ioc("198.51.100.30", BLOCK), ioc("2001:db8:bad::30", BLOCK)], NOW)
        report = iocs.load([ioc("198.51.100.31", ALERT, feed="next")], NOW)
        assert report.feeds == ("next",)
        assert iocs.lookup(A("198.51.100.30")) is None and iocs.lookup(A("2001:db8:bad::30")) is None
        assert not self.check(iocs, "198.51.100.30", CLEAN_V4).dropped
        hit = iocs.lookup(A("198.51.100.31"))
        assert hit is not None and (hit.action, hit.feed_id) == (ALERT, "next")
        iocs.load([], NOW)
        assert self.check(iocs, "198.51.100.31", CLEAN_V4) == IocVerdict()

    def test_report_names_the_feeds_of_the_enforced_entries(self, iocs: IocMap) -> None:
        report = iocs.load(
            [
                ioc("198.51.100.40", feed="a"),
                ioc("198.51.100.41", feed="b"),
                ioc("bad.example", feed="c", kind=IocKind.DOMAIN),
            ],
            NOW,
        )
        assert sorted(report.feeds) == ["a", "b"]

    def test_counters_add_up(self, iocs: IocMap) -> None:
        iocs.load([ioc("198.51.100.50", BLOCK), ioc("198.51.100.51", ALERT)], NOW)
        before = iocs.counters()
        for src in ("198.51.100.50", "198.51.100.51", CLEAN_V4, "198.51.100.50"):
            self.check(iocs, src, "192.0.2.99")
        after = iocs.counters()
        delta = {k: after[k] - before[k] for k in ("seen", "matched", "dropped")}
        assert delta == {"seen": 4, "matched": 3, "dropped": 2}
