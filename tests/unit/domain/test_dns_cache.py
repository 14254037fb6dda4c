"""The DNS cache: TTL floor, expiry, reverse map, LRU eviction and statistics."""

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.dns import MAX_ADDRESSES_PER_DOMAIN, DnsCache, DnsConfigError

IP1 = ipaddress.ip_address("192.0.2.1")
IP2 = ipaddress.ip_address("192.0.2.2")
IP6 = ipaddress.ip_address("2001:db8::7")


def test_lookup_returns_live_addresses_and_counts_hits_and_misses():
    cache = DnsCache(max_entries=10, min_ttl_secs=60)
    cache.record("WWW.Example.com.", [(IP1, 300), (IP6, 300)], now=0.0)
    assert set(cache.lookup("www.example.com", now=10.0)) == {IP1, IP6}
    assert cache.lookup("other.example", now=10.0) is None
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.entries) == (1, 1, 1)


def test_ttl_is_floored_to_min_ttl():
    cache = DnsCache(max_entries=10, min_ttl_secs=60)
    cache.record("a.example", [(IP1, 5)], now=0.0)
    assert cache.lookup("a.example", now=59.0) == (IP1,)
    assert cache.lookup("a.example", now=60.0) is None
    assert cache.stats().expired == 1


def test_addresses_expire_independently_and_re_resolution_extends():
    cache = DnsCache(max_entries=10, min_ttl_secs=0)
    cache.record("a.example", [(IP1, 10), (IP2, 100)], now=0.0)
    assert cache.lookup("a.example", now=50.0) == (IP2,)
    cache.record("a.example", [(IP1, 10)], now=95.0)
    assert set(cache.lookup("a.example", now=101.0) or ()) == {IP1}
    assert cache.query_count("a.example") == 2


def test_reverse_lookup_lists_live_domains():
    cache = DnsCache(max_entries=10, min_ttl_secs=0)
    cache.record("a.example", [(IP1, 100)], now=0.0)
    cache.record("b.example", [(IP1, 10)], now=0.0)
    assert cache.reverse_lookup(IP1, now=5.0) == ("a.example", "b.example")
    assert cache.reverse_lookup(IP1, now=50.0) == ("a.example",)
    assert cache.reverse_lookup(IP2, now=0.0) == ()


def test_lru_eviction_keeps_recently_used():
    cache = DnsCache(max_entries=2, min_ttl_secs=60)
    cache.record("a.example", [(IP1, 300)], now=0.0)
    cache.record("b.example", [(IP2, 300)], now=1.0)
    assert cache.lookup("a.example", now=2.0)  # a is now the most recent
    cache.record("c.example", [(IP6, 300)], now=3.0)
    assert cache.lookup("b.example", now=4.0) is None
    assert cache.lookup("a.example", now=4.0) and cache.lookup("c.example", now=4.0)
    assert cache.stats().evictions == 1
    assert cache.reverse_lookup(IP2, now=4.0) == ()  # the evicted name left the reverse map


def test_purge_removes_expired_domains_and_reverse_entries():
    cache = DnsCache(max_entries=10, min_ttl_secs=0)
    cache.record("short.example", [(IP1, 10)], now=0.0)
    cache.record("long.example", [(IP2, 1000), (IP1, 10)], now=0.0)
    assert cache.purge_expired(now=20.0) == 1
    assert len(cache) == 1
    assert cache.reverse_lookup(IP1, now=0.0) == ()
    assert cache.lookup("long.example", now=20.0) == (IP2,)
    assert cache.stats().expired == 1


def test_record_without_addresses_creates_nothing():
    cache = DnsCache(max_entries=10)
    cache.record("cname-only.example", [], now=0.0)
    assert len(cache) == 0


def test_top_queried():
    cache = DnsCache(max_entries=10)
    for name, times in (("a.example", 3), ("b.example", 5), ("c.example", 1)):
        for t in range(times):
            cache.record(name, [(IP1, 300)], now=float(t))
    assert cache.stats(top_n=2).top_queried == (("b.example", 5), ("a.example", 3))


def test_addresses_per_domain_are_capped_keeping_the_latest_expiring():
    cache = DnsCache(max_entries=10, min_ttl_secs=0)
    pairs = [
        (ipaddress.ip_address(f"10.0.{i // 256}.{i % 256}"), 100 + i)
        for i in range(MAX_ADDRESSES_PER_DOMAIN + 10)
    ]
    cache.record("cdn.example", pairs, now=0.0)
    live = cache.lookup("cdn.example", now=0.0) or ()
    assert len(live) == MAX_ADDRESSES_PER_DOMAIN
    assert pairs[0][0] not in live and pairs[-1][0] in live
    assert cache.reverse_lookup(pairs[0][0], now=0.0) == ()


@pytest.mark.parametrize(("entries", "ttl"), [(0, 60), (10, -1)])
def test_invalid_settings(entries, ttl):
    with pytest.raises(DnsConfigError, match="must be at least"):
        DnsCache(max_entries=entries, min_ttl_secs=ttl)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["record", "lookup", "purge"]),
            st.integers(0, 30),  # domain index
            st.integers(0, 5),  # address index
            st.integers(0, 200),  # ttl
        ),
        max_size=120,
    )
)
def test_invariants_under_random_operations(ops):
    cache = DnsCache(max_entries=8, min_ttl_secs=10)
    now = 0.0
    for op, d, a, ttl in ops:
        now += 3.0
        name = f"d{d}.example"
        if op == "record":
            cache.record(name, [(ipaddress.ip_address(f"10.0.0.{a}"), ttl)], now)
        elif op == "lookup":
            cache.lookup(name, now)
        else:
            cache.purge_expired(now)
        assert len(cache) <= 8
        # The reverse map and the forward map agree.
        for index in range(6):
            ip = ipaddress.ip_address(f"10.0.0.{index}")
            for domain in cache.reverse_lookup(ip, now):
                assert ip in (cache.lookup(domain, now) or ())
