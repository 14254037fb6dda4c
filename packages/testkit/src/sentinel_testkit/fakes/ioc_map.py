"""An in-memory IocMap that decides with the domain's IocDatabase (the port's reference model)."""

import ipaddress
from collections import Counter
from collections.abc import Iterable

from sentinel_domain.common import IpAddress, PacketHeader
from sentinel_domain.threatintel import FeedIocs, Ioc, IocDatabase, IocKind
from sentinel_ports.ioc_map import MAX_EXPANDED_PREFIX_ADDRESSES, IocHit, IocLoadReport, IocMap, IocVerdict


class InMemoryIocMap(IocMap):
    def __init__(self) -> None:
        self._db = IocDatabase()
        self._now = 0.0
        self._counters: Counter[str] = Counter()

    def load(self, iocs: Iterable[Ioc], now: float) -> IocLoadReport:
        enforced: list[Ioc] = []
        counts: Counter[str] = Counter()
        for ioc in iocs:
            if ioc.kind is not IocKind.IP:
                counts["not_addresses"] += 1
            elif not ioc.is_live(now):
                counts["expired"] += 1
            else:
                try:
                    size = ipaddress.ip_network(ioc.value, strict=False).num_addresses
                except ValueError:
                    counts["invalid"] += 1
                    continue
                if size > MAX_EXPANDED_PREFIX_ADDRESSES:
                    counts["broad_cidrs"] += 1
                    continue
                counts["expanded_cidrs"] += size > 1
                enforced.append(ioc)
        self._db = IocDatabase.build([FeedIocs("ioc-map", enforced, max_iocs=len(enforced) + 1)], now)
        self._now = now
        addresses = {a for ioc in self._db.iocs(IocKind.IP) if ioc.network for a in ioc.network}
        feeds = {hit.feed_id for hit in map(self.lookup, addresses) if hit is not None}
        return IocLoadReport(
            addresses=len(addresses),
            expanded_cidrs=counts["expanded_cidrs"],
            broad_cidrs=counts["broad_cidrs"],
            not_addresses=counts["not_addresses"],
            expired=counts["expired"],
            invalid=counts["invalid"] + sum(s.invalid for s in self._db.stats),
            feeds=tuple(sorted(feeds)),
        )

    def lookup(self, address: IpAddress) -> IocHit | None:
        ioc = self._db.lookup_address(address, self._now)
        if ioc is None:
            return None
        return IocHit(address, ioc.action, ioc.feed_id, ioc.confidence, ioc.threat_type)

    def check(self, packet: PacketHeader) -> IocVerdict:
        self._counters["seen"] += 1
        src, dst = self.lookup(packet.src), self.lookup(packet.dst)
        if src is None and dst is None:
            return IocVerdict()
        # both hit: the higher action decides, the source on a tie
        hit = dst if src is None or (dst is not None and dst.action > src.action) else src
        assert hit is not None
        verdict = IocVerdict(hit, src is not None, dst is not None)
        self._counters["matched"] += 1
        self._counters["dropped"] += verdict.dropped
        return verdict

    def counters(self) -> dict[str, int]:
        return {key: self._counters[key] for key in ("seen", "matched", "dropped")}
