"""IOC database: merge rules, lookups, and equality with a naive list model."""

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.threatintel import (
    FeedIocs,
    Ioc,
    IocAction,
    IocDatabase,
    IocKind,
    ParseOptions,
    ThreatType,
    parse_plain,
)

A = ipaddress.ip_address


def ioc(value: str, conf: int = 100, feed: str = "f", kind: IocKind = IocKind.IP, **kw: object) -> Ioc:
    return Ioc(kind, value, feed, conf, **kw)  # type: ignore[arg-type]


def test_address_lookup_host_and_cidr_containment():
    db = IocDatabase.build(
        [
            FeedIocs(
                "f",
                [
                    ioc("192.0.2.1", 60),
                    ioc("192.0.2.0/24", 70),
                    ioc("192.0.0.0/16", 70),
                    ioc("2001:db8::/32", 10),
                ],
            )
        ],
        now=0,
    )
    hit = db.lookup_address(A("192.0.2.1"), 0)
    assert hit is not None and hit.value == "192.0.2.0/24"  # higher confidence, then longer prefix
    hit = db.lookup_address(A("192.0.3.1"), 0)
    assert hit is not None and hit.value == "192.0.0.0/16"
    hit = db.lookup_address(A("2001:db8::9"), 0)
    assert hit is not None and hit.value == "2001:db8::/32"
    assert db.lookup_address(A("198.51.100.1"), 0) is None
    assert db.lookup_address(A("::ffff:192.0.2.1"), 0) is None  # never across families
    assert db.counts() == {"ip": 4, "domain": 0, "url": 0} and len(db) == 4


def test_domain_parent_suffix_and_url_exact():
    db = IocDatabase.build(
        [
            FeedIocs(
                "f",
                [
                    ioc("evil.example", 50, kind=IocKind.DOMAIN),
                    ioc("cdn.evil.example", 50, kind=IocKind.DOMAIN),
                    ioc("http://evil.example/x", kind=IocKind.URL),
                ],
            )
        ],
        now=0,
    )
    assert db.lookup_domain("a.b.evil.example.", 0).value == "evil.example"  # type: ignore[union-attr]
    assert db.lookup_domain("x.CDN.evil.example", 0).value == "cdn.evil.example"  # type: ignore[union-attr]
    assert db.lookup_domain("notevil.example", 0) is None
    assert db.lookup_domain("example", 0) is None
    assert db.lookup_domain("..", 0) is None
    assert db.lookup_url("HTTP://EVIL.example:80/x#y", 0).value == "http://evil.example/x"  # type: ignore[union-attr]
    assert db.lookup_url("http://evil.example/X", 0) is None


def test_merge_filters_caps_and_dedup():
    feeds = [
        FeedIocs(
            "a",
            [
                ioc("192.0.2.1", 40, "a"),
                ioc("192.0.2.2", 90, "a", expires_at=10.0),
                ioc("192.0.2.3", 5, "a"),  # below min_confidence
                ioc("192.0.2.4", 90, "a", expires_at=1.0),  # already expired
                ioc("evil.example", 90, "a", IocKind.DOMAIN),
                ioc("192.0.2.5", 90, "a"),  # over the per-kind cap of 2
                ioc("not an ip", 90, "a"),
            ],
            min_confidence=10,
            max_iocs=2,
        ),
        FeedIocs(
            "b",
            [
                ioc("192.0.2.1", 80, "b"),  # upgrade (higher confidence)
                ioc("192.0.2.2", 90, "b"),  # same confidence, never expires: upgrade
                ioc("192.0.2.6", 50, "b"),  # refused: global cap reached
                ioc("192.0.2.1", 80, "b", action=IocAction.BLOCK),  # block beats alert
                ioc("192.0.2.1", 80, "b"),  # full tie: first stays
            ],
        ),
    ]
    db = IocDatabase.build(feeds, now=5.0, max_total=3)
    a, b = db.stats
    assert (a.accepted, a.expired, a.below_confidence, a.over_feed_cap, a.duplicates, a.invalid) == (
        3,
        1,
        1,
        1,
        0,
        1,
    )
    assert (b.accepted, b.duplicates, b.over_global_cap) == (3, 1, 1)
    one = db.lookup_address(A("192.0.2.1"), 5.0)
    assert one is not None and (one.feed_id, one.confidence, one.action) == ("b", 80, IocAction.BLOCK)
    two = db.lookup_address(A("192.0.2.2"), 100.0)
    assert two is not None and two.feed_id == "b" and two.expires_at is None
    assert db.lookup_address(A("192.0.2.6"), 5.0) is None
    assert len(db) == 3


def test_expiry_is_honoured_at_lookup():
    db = IocDatabase.build(
        [FeedIocs("f", [ioc("192.0.2.1", expires_at=100.0), ioc("192.0.2.0/24", 10)])], now=0
    )
    assert db.lookup_address(A("192.0.2.1"), 99.9).value == "192.0.2.1"  # type: ignore[union-attr]
    assert db.lookup_address(A("192.0.2.1"), 100.0).value == "192.0.2.0/24"  # type: ignore[union-attr]


def test_batches_from_parsers_merge_like_lists():
    r = parse_plain(
        b"192.0.2.1\n192.0.2.1\n198.51.100.0/24\nevil.example\n", ParseOptions(feed_id="p", confidence=70)
    )
    db = IocDatabase.build([FeedIocs("p", r.iocs)], now=0)
    assert db.stats[0].duplicates == 1 and len(db) == 3
    hit = db.lookup_address(A("198.51.100.9"), 0)
    assert hit == Ioc(IocKind.IP, "198.51.100.0/24", "p", 70)
    assert sorted(i.value for i in db.iocs()) == ["192.0.2.1", "198.51.100.0/24", "evil.example"]
    assert [i.value for i in db.iocs(IocKind.DOMAIN)] == ["evil.example"]


# -- property: lookups equal a naive model ----------------------------------------------------

V4 = ["192.0.2.1", "192.0.2.2", "192.0.2.0/24", "192.0.2.0/25", "192.0.0.0/16", "198.51.100.7"]
V6 = ["2001:db8::1", "2001:db8::/32", "2001:db8::/64", "2001:db8:1::/48"]
DOMAINS = ["evil.example", "a.evil.example", "b.a.evil.example", "other.example"]
URLS = ["http://evil.example/", "http://evil.example/a", "https://evil.example/"]
NETS = {v: ipaddress.ip_network(v) for v in V4 + V6}
queries_v4 = ["192.0.2.1", "192.0.2.2", "192.0.2.200", "192.0.3.1", "198.51.100.7", "203.0.113.1"]
queries_v6 = ["2001:db8::1", "2001:db8::2", "2001:db8:1::5", "2001:db9::1"]
queries_dom = [
    "evil.example",
    "x.b.a.evil.example",
    "a.evil.example",
    "z.other.example",
    "example",
    "nope.test",
]

iocs = st.one_of(
    st.builds(lambda v: (IocKind.IP, v), st.sampled_from(V4 + V6)),
    st.builds(lambda v: (IocKind.DOMAIN, v), st.sampled_from(DOMAINS)),
    st.builds(lambda v: (IocKind.URL, v), st.sampled_from(URLS)),
).flatmap(
    lambda kv: st.builds(
        Ioc,
        kind=st.just(kv[0]),
        value=st.just(kv[1]),
        feed_id=st.sampled_from(["f1", "f2", "f3"]),
        confidence=st.integers(0, 100),
        threat_type=st.sampled_from(list(ThreatType)),
        expires_at=st.one_of(st.none(), st.sampled_from([5.0, 10.0, 20.0])),
        action=st.sampled_from(list(IocAction)),
    )
)
feeds = st.lists(
    st.builds(
        FeedIocs,
        feed_id=st.sampled_from(["f1", "f2", "f3"]),
        iocs=st.lists(iocs, max_size=15),
        min_confidence=st.integers(0, 60),
        max_iocs=st.integers(1, 10),
    ),
    max_size=4,
)


def naive_build(feed_list: list[FeedIocs], now: float, max_total: int) -> list[Ioc]:
    held: dict[tuple[IocKind, str], Ioc] = {}
    for feed in feed_list:
        per_kind: dict[IocKind, int] = {}
        for item in feed.iocs:
            if item.expires_at is not None and item.expires_at <= now:
                continue
            if item.confidence < feed.min_confidence:
                continue
            if per_kind.get(item.kind, 0) >= feed.max_iocs:
                continue
            per_kind[item.kind] = per_kind.get(item.kind, 0) + 1
            key = (item.kind, item.value)

            def rank(i: Ioc) -> tuple[int, int, float]:
                return (i.confidence, int(i.action), float("inf") if i.expires_at is None else i.expires_at)

            if key not in held:
                if len(held) < max_total:
                    held[key] = item
            elif rank(item) > rank(held[key]):
                held[key] = item
    return list(held.values())


def naive_best(cands: list[tuple[int, Ioc]], now: float) -> Ioc | None:
    live = [
        (i.confidence, spec, int(i.action), i)
        for spec, i in cands
        if i.expires_at is None or i.expires_at > now
    ]
    if not live:
        return None
    return max(live, key=lambda t: t[:3])[3]


@settings(max_examples=150, deadline=None)
@given(
    feed_list=feeds,
    max_total=st.integers(1, 30),
    now=st.sampled_from([0.0, 7.0]),
    later=st.sampled_from([0.0, 8.0, 15.0, 30.0]),
)
def test_lookups_equal_naive_model(feed_list: list[FeedIocs], max_total: int, now: float, later: float):
    db = IocDatabase.build(feed_list, now=now, max_total=max_total)
    model = naive_build(feed_list, now, max_total)
    assert len(db) == len(model)
    t = now + later
    for q in queries_v4 + queries_v6:
        addr = ipaddress.ip_address(q)
        cands = [
            (NETS[i.value].prefixlen, i)
            for i in model
            if i.kind is IocKind.IP and NETS[i.value].version == addr.version and addr in NETS[i.value]
        ]
        assert db.lookup_address(addr, t) == naive_best(cands, t), q
    for q in queries_dom:
        cands = [
            (i.value.count(".") + 1, i)
            for i in model
            if i.kind is IocKind.DOMAIN and (q == i.value or q.endswith("." + i.value))
        ]
        assert db.lookup_domain(q, t) == naive_best(cands, t), q
    for q in URLS:
        cands = [(0, i) for i in model if i.kind is IocKind.URL and i.value == q]
        assert db.lookup_url(q, t) == naive_best(cands, t), q
