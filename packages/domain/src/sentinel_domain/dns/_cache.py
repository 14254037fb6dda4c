"""The DNS cache: domain → addresses with TTLs, the reverse map, LRU eviction and statistics.

Time is float seconds on any monotonic clock the caller chooses; the cache never reads a clock.
"""

import heapq
from collections import OrderedDict
from collections.abc import Iterable

from sentinel_domain.common.addresses import IpAddress
from sentinel_domain.dns._names import lookup_key
from sentinel_domain.dns.entity import CacheStats
from sentinel_domain.dns.errors import DnsConfigError

# Contract §1.9 bounds for the configuration layer to enforce; the cache itself accepts any
# max_entries >= 1 and min_ttl_secs >= 0 so tests and tools can use small caches.
CONFIG_MAX_ENTRIES_RANGE = (1_000, 1_000_000)
CONFIG_MIN_TTL_FLOOR = 10
DEFAULT_MAX_ENTRIES = 100_000
DEFAULT_MIN_TTL_SECS = 60
# A CDN name can rotate through many addresses; keep the ones expiring last, at most this many.
MAX_ADDRESSES_PER_DOMAIN = 64


class _Entry:
    __slots__ = ("addresses", "query_count")

    def __init__(self) -> None:
        self.addresses: dict[IpAddress, float] = {}  # address -> expiry time
        self.query_count = 0


class DnsCache:
    """Forward and reverse resolution memory built from observed responses.

    - :meth:`record` stores a resolution: each address lives ``max(ttl, min_ttl_secs)`` seconds,
      re-resolution extends it, and the domain's query count grows by one;
    - a domain whose addresses have all expired counts as absent (and is removed when seen);
    - beyond ``max_entries`` domains the least recently used (recorded or looked up) is evicted;
    - :meth:`purge_expired` drops expired addresses and domains (the caller runs it every
      ``purge_interval_secs``).
    """

    def __init__(
        self, max_entries: int = DEFAULT_MAX_ENTRIES, min_ttl_secs: float = DEFAULT_MIN_TTL_SECS
    ) -> None:
        if max_entries < 1:
            raise DnsConfigError(f"invalid cache max_entries {max_entries}: must be at least 1")
        if min_ttl_secs < 0:
            raise DnsConfigError(f"invalid cache min_ttl_secs {min_ttl_secs}: must be at least 0")
        self.max_entries = max_entries
        self.min_ttl_secs = min_ttl_secs
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._reverse: dict[IpAddress, set[str]] = {}
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.expired = 0

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, domain: str, addresses: Iterable[tuple[IpAddress, int]], now: float) -> None:
        """Store that ``domain`` resolved to each ``(address, ttl_secs)`` at ``now``.

        With no addresses (a CNAME-only or empty answer) only an existing entry's count grows.
        """
        key = lookup_key(domain)
        pairs = list(addresses)
        entry = self._entries.get(key)
        if entry is None and not pairs:
            return
        if entry is None:
            entry = _Entry()
            self._entries[key] = entry
        else:
            self._entries.move_to_end(key)
        entry.query_count += 1
        for address, ttl in pairs:
            expiry = now + max(float(ttl), self.min_ttl_secs)
            if expiry > entry.addresses.get(address, float("-inf")):
                entry.addresses[address] = expiry
            self._reverse.setdefault(address, set()).add(key)
        if len(entry.addresses) > MAX_ADDRESSES_PER_DOMAIN:
            keep = heapq.nlargest(MAX_ADDRESSES_PER_DOMAIN, entry.addresses.items(), key=lambda kv: kv[1])
            for address in entry.addresses.keys() - {a for a, _ in keep}:
                self._unlink(address, key)
            entry.addresses = dict(keep)
        while len(self._entries) > self.max_entries:
            old_key, old = self._entries.popitem(last=False)
            for address in old.addresses:
                self._unlink(address, old_key)
            self.evictions += 1

    def lookup(self, domain: str, now: float) -> tuple[IpAddress, ...] | None:
        """The unexpired addresses of ``domain`` (a hit refreshes its LRU position), else None."""
        key = lookup_key(domain)
        entry = self._entries.get(key)
        if entry is not None:
            live = tuple(a for a, expiry in entry.addresses.items() if expiry > now)
            if live:
                self.hits += 1
                self._entries.move_to_end(key)
                return live
            self._remove(key)
            self.expired += 1
        self.misses += 1
        return None

    def reverse_lookup(self, address: IpAddress, now: float) -> tuple[str, ...]:
        """Domains that resolved to ``address`` and whose record for it is unexpired, sorted.

        Used for alert enrichment; it does not touch the hit/miss counters or LRU order.
        """
        names = self._reverse.get(address, set())
        live = [n for n in names if self._entries[n].addresses.get(address, float("-inf")) > now]
        return tuple(sorted(live))

    def query_count(self, domain: str) -> int:
        entry = self._entries.get(lookup_key(domain))
        return entry.query_count if entry is not None else 0

    def purge_expired(self, now: float) -> int:
        """Drop expired addresses; drop domains left with none. Returns how many domains went."""
        gone: list[str] = []
        for key, entry in self._entries.items():
            stale = [a for a, expiry in entry.addresses.items() if expiry <= now]
            for address in stale:
                del entry.addresses[address]
                self._unlink(address, key)
            if not entry.addresses:
                gone.append(key)
        for key in gone:
            del self._entries[key]
        self.expired += len(gone)
        return len(gone)

    def stats(self, top_n: int = 10) -> CacheStats:
        """Counters and the ``top_n`` domains by query count (ties by name)."""
        top = heapq.nsmallest(top_n, self._entries.items(), key=lambda kv: (-kv[1].query_count, kv[0]))
        return CacheStats(
            entries=len(self._entries),
            hits=self.hits,
            misses=self.misses,
            evictions=self.evictions,
            expired=self.expired,
            top_queried=tuple((name, entry.query_count) for name, entry in top),
        )

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key)
        for address in entry.addresses:
            self._unlink(address, key)

    def _unlink(self, address: IpAddress, key: str) -> None:
        names = self._reverse.get(address)
        if names is not None:
            names.discard(key)
            if not names:
                del self._reverse[address]
