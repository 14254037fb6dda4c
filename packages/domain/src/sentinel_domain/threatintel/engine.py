"""The IOC database: merge of many feeds and lookups (contract §7.6).

Merge (``IocDatabase.build``), feed by feed in the given order, IOC by IOC in feed order:
1. an IOC whose ``expires_at <= now`` is dropped (``expired``);
2. ``confidence < min_confidence`` of its feed is dropped (``below_confidence``);
3. each feed keeps at most ``max_iocs`` IOCs *per kind* (ip, domain, url), the first ones in
   file order, duplicates included (``over_feed_cap``);
4. one entry per indicator: a later IOC for an indicator already held replaces it only when it
   ranks higher — higher confidence, then block over alert, then the later expiry (never
   expiring is latest); on a full tie the first one stays (``duplicates``);
5. hand-made ``Ioc`` values are canonicalised like parsed ones; invalid ones are dropped
   (``invalid``);
6. the database holds at most ``max_total`` indicators: once full, a *new* indicator is refused
   (``over_global_cap``) while upgrades of held ones still apply. Nothing is evicted.

Lookups take ``now`` and ignore entries that have expired since the merge. Among all live entries
matching a query — an address's host entry and every CIDR containing it; a domain and each of its
parent domains; a URL exactly (after normalisation) — the best is the highest confidence, then
the most specific (longest prefix, longest domain), then block over alert.
"""

import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat

from sentinel_domain.common.addresses import IpAddress
from sentinel_domain.threatintel import _indicators as ind
from sentinel_domain.threatintel._batch import KIND_OF_CODE, IocBatch
from sentinel_domain.threatintel.entity import Ioc, IocAction, IocKind

DEFAULT_MAX_TOTAL = 1_048_576  # the kernel IOC map's size
DEFAULT_FEED_MAX_IOCS = 500_000
_SHIFT = 40
_MASK = (1 << _SHIFT) - 1
_NEVER = float("inf")


@dataclass(frozen=True, slots=True)
class FeedIocs:
    """One feed's IOCs and its merge limits."""

    feed_id: str
    iocs: Sequence[Ioc]
    min_confidence: int = 0
    max_iocs: int = DEFAULT_FEED_MAX_IOCS


@dataclass(frozen=True, slots=True)
class FeedMergeStats:
    """Per-feed merge counts: ``accepted`` = stored as new or as an upgrade."""

    feed_id: str
    accepted: int = 0
    expired: int = 0
    below_confidence: int = 0
    over_feed_cap: int = 0
    duplicates: int = 0
    over_global_cap: int = 0
    invalid: int = 0


def _ioc_codes(iocs: Sequence[Ioc]) -> Iterator[tuple[int, str]]:
    """(code, canonical value) of plain IOCs, canonicalised with the parsers' rules."""
    for ioc in iocs:
        if ioc.kind is IocKind.DOMAIN:
            dom = ind.normalize_domain(ioc.value)
            yield (ind.DOMAIN, dom) if dom is not None else (-1, ioc.value)
        elif ioc.kind is IocKind.URL:
            url = ind.normalize_url(ioc.value)
            yield (ind.URL, url) if url is not None else (-1, ioc.value)
        else:
            got = ind.classify(ioc.value)
            yield got if isinstance(got, tuple) and got[0] <= ind.V6_NET else (-1, ioc.value)


class IocDatabase:
    """An immutable set of IOCs with address, domain and URL lookups (see the module docstring)."""

    __slots__ = ("_domains", "_hosts", "_nets", "_sources", "_urls", "stats")

    def __init__(self) -> None:
        self._sources: list[Sequence[Ioc]] = []
        self._hosts: dict[str, int] = {}
        self._nets: dict[tuple[int, int], dict[int, int]] = {}  # (version, prefixlen) -> {net: ref}
        self._domains: dict[str, int] = {}
        self._urls: dict[str, int] = {}
        self.stats: tuple[FeedMergeStats, ...] = ()

    # -- building --------------------------------------------------------------------------
    @classmethod
    def build(
        cls, feeds: Iterable[FeedIocs], now: float, max_total: int = DEFAULT_MAX_TOTAL
    ) -> "IocDatabase":
        db = cls()
        stats = [db._merge(feed, now, max_total) for feed in feeds]
        db.stats = tuple(stats)
        db._nets = dict(sorted(db._nets.items(), key=lambda kv: -kv[0][1]))
        return db

    def _rank(self, ref: int) -> tuple[int, int, float]:
        source = self._sources[ref >> _SHIFT]
        if isinstance(source, IocBatch):
            return source.rank(ref & _MASK)
        ioc = source[ref & _MASK]
        return (ioc.confidence, int(ioc.action), _NEVER if ioc.expires_at is None else ioc.expires_at)

    def _merge(self, feed: FeedIocs, now: float, max_total: int) -> FeedMergeStats:
        src = len(self._sources)
        self._sources.append(feed.iocs)
        iocs = feed.iocs
        if isinstance(iocs, IocBatch):
            values, codes, confs, _threats, exps = iocs.columns()
            pairs: Iterable[tuple[int, str]] = zip(codes, values, strict=True)
            actions: Iterator[IocAction] = repeat(iocs.action, len(iocs))
        else:
            pairs = _ioc_codes(iocs)
            confs = iter([i.confidence for i in iocs])
            exps = iter([i.expires_at for i in iocs])
            actions = iter([i.action for i in iocs])
        counts = {IocKind.IP: 0, IocKind.DOMAIN: 0, IocKind.URL: 0}
        accepted = expired = below = over_feed = dups = over_total = invalid = 0
        total = len(self)
        base = src << _SHIFT
        for i, ((code, value), conf, exp, action) in enumerate(zip(pairs, confs, exps, actions, strict=True)):
            if exp is not None and exp <= now:
                expired += 1
                continue
            if conf < feed.min_confidence:
                below += 1
                continue
            if code < 0:  # a hand-made IOC that is not a valid indicator
                invalid += 1
                continue
            kind = KIND_OF_CODE[code]
            if counts[kind] >= feed.max_iocs:
                over_feed += 1
                continue
            counts[kind] += 1
            table, key = self._slot(code, value)
            held = table.get(key)
            if held is None:
                if total >= max_total:
                    over_total += 1
                    continue
                table[key] = base | i
                total += 1
                accepted += 1
            elif (conf, int(action), _NEVER if exp is None else exp) > self._rank(held):
                table[key] = base | i
                accepted += 1
            else:
                dups += 1
        return FeedMergeStats(feed.feed_id, accepted, expired, below, over_feed, dups, over_total, invalid)

    def _slot(self, code: int, value: str) -> tuple[dict[object, int], object]:
        if code in (ind.V4_HOST, ind.V6_HOST):
            return self._hosts, value  # type: ignore[return-value]
        if code == ind.DOMAIN:
            return self._domains, value  # type: ignore[return-value]
        if code == ind.URL:
            return self._urls, value  # type: ignore[return-value]
        net = ipaddress.ip_network(value)
        table = self._nets.setdefault((net.version, net.prefixlen), {})
        return table, int(net.network_address)  # type: ignore[return-value]

    def _get(self, ref: int) -> Ioc:
        return self._sources[ref >> _SHIFT][ref & _MASK]

    # -- queries ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return (
            len(self._hosts) + len(self._domains) + len(self._urls) + sum(len(t) for t in self._nets.values())
        )

    def counts(self) -> dict[str, int]:
        """Indicators held per kind: ``ip`` (hosts and networks), ``domain``, ``url``."""
        ips = len(self._hosts) + sum(len(t) for t in self._nets.values())
        return {"ip": ips, "domain": len(self._domains), "url": len(self._urls)}

    def iocs(self, kind: IocKind | None = None) -> Iterator[Ioc]:
        """Every held IOC (expired ones included: the caller filters with ``now``)."""
        tables: list[dict[str, int] | dict[int, int]] = []
        if kind in (None, IocKind.IP):
            tables.append(self._hosts)
            tables.extend(self._nets.values())
        if kind in (None, IocKind.DOMAIN):
            tables.append(self._domains)
        if kind in (None, IocKind.URL):
            tables.append(self._urls)
        for table in tables:
            for ref in table.values():
                yield self._get(ref)

    def _best(self, refs: Iterable[tuple[int, int]], now: float) -> Ioc | None:
        best: Ioc | None = None
        best_key: tuple[int, int, int] = (-1, -1, -1)
        for specificity, ref in refs:
            ioc = self._get(ref)
            if not ioc.is_live(now):
                continue
            key = (ioc.confidence, specificity, int(ioc.action))
            if key > best_key:
                best, best_key = ioc, key
        return best

    def lookup_address(self, addr: IpAddress, now: float) -> Ioc | None:
        """The best live IOC for ``addr``: its host entry or any CIDR containing it."""
        bits = 32 if addr.version == 4 else 128
        found: list[tuple[int, int]] = []
        host = self._hosts.get(str(addr))
        if host is not None:
            found.append((bits, host))
        value = int(addr)
        for (version, plen), table in self._nets.items():
            if version == addr.version:
                ref = table.get(value >> (bits - plen) << (bits - plen))
                if ref is not None:
                    found.append((plen, ref))
        return self._best(found, now)

    def lookup_domain(self, name: str, now: float) -> Ioc | None:
        """The best live IOC for ``name`` or any of its parent domains (``a.b.evil.test`` is
        matched by ``evil.test``). An invalid name matches nothing."""
        domain = ind.normalize_domain(name)
        if domain is None:
            return None
        labels = domain.split(".")
        found = []
        for i in range(len(labels)):
            ref = self._domains.get(".".join(labels[i:]))
            if ref is not None:
                found.append((len(labels) - i, ref))
        return self._best(found, now)

    def lookup_url(self, url: str, now: float) -> Ioc | None:
        """The live IOC for exactly this URL, after the parsers' normalisation."""
        canonical = ind.normalize_url(url)
        ref = self._urls.get(canonical) if canonical is not None else None
        return self._best([(0, ref)] if ref is not None else [], now)
