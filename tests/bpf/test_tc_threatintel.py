"""tc_threatintel through BPF_PROG_TEST_RUN: verdicts, events and counters for crafted frames.

Every case runs one frame and checks the return code, the exact counter deltas and the event.
The XDP-metadata path cannot be driven here: a SCHED_CLS test run refuses a context with
``data_meta`` set (EINVAL on this kernel), so tests/integration/test_tc_threatintel_dns.py proves
it on a veth pair with xdp_firewall in front.
"""

import ipaddress
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.frames import build_frame
from sentinel_adapters.ebpf.prog_run import prog_test_run
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_adapters.ebpf.threatintel_map import (
    EVENT_THREATINTEL,
    FLAG_BY_DST,
    FLAG_DST_HIT,
    FLAG_SRC_HIT,
    TC_ACT_SHOT,
    TC_ACT_UNSPEC,
    BpfIocMap,
)
from sentinel_domain.common import PacketHeader, Protocol, address_to_words
from sentinel_domain.threatintel import Ioc, IocAction, IocKind, ThreatType

A = ipaddress.ip_address
NOW = time.time()
DROP_V4, ALERT_V4, DROP_V6, ALERT_V6 = "198.51.100.1", "198.51.100.2", "2001:db8:bad::1", "2001:db8:bad::2"
CLEAN_V4, CLEAN_V6 = "192.0.2.1", "2001:db8:1::1"
IOCS = [
    Ioc(IocKind.IP, DROP_V4, "feed-drop", 90, ThreatType.C2, None, IocAction.BLOCK),
    Ioc(IocKind.IP, ALERT_V4, "feed-alert", 60, ThreatType.SCANNER, None, IocAction.ALERT),
    Ioc(IocKind.IP, DROP_V6, "feed-drop", 90, ThreatType.MALWARE, None, IocAction.BLOCK),
    Ioc(IocKind.IP, ALERT_V6, "feed-alert", 60, ThreatType.SPAM, None, IocAction.ALERT),
]


class Lab:
    """The program with IOCS loaded and a reader on its ring (the only consumer)."""

    def __init__(self) -> None:
        self.ti = BpfIocMap.standalone()
        self.report = self.ti.load(IOCS, NOW)
        ring = self.ti.ring
        self.ring = RingBufferReader(ring.fd, ring.max_entries)

    def run(self, frame: bytes, repeat: int = 1) -> tuple[int, dict[str, int], list[codec.PacketEvent]]:
        self.ring.read_batch()
        before = self.ti.counters()
        retval = prog_test_run(self.ti.prog_fd, frame, repeat=repeat).retval
        after = self.ti.counters()
        events = codec.decode_packet_events(self.ring.read_batch(), codec.DecodeStats())
        return retval, {k: after[k] - before[k] for k in after if after[k] != before[k]}, events

    def close(self) -> None:
        self.ring.close()
        self.ti.close()


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    subject = Lab()
    yield subject
    subject.close()


def frame(src: str, dst: str, proto: int = Protocol.UDP, **kw: object) -> bytes:
    ports = (40000, 53) if proto in (Protocol.TCP, Protocol.UDP) else (None, None)
    return build_frame(PacketHeader(A(src), A(dst), proto, *ports), **kw)  # type: ignore[arg-type]


def patched(data: bytes, offset: int, new: bytes) -> bytes:
    """``data`` with the bytes at ``offset`` replaced by ``new``."""
    return data[:offset] + new + data[offset + len(new) :]


HIT = {"matched": 1, "events_emitted": 1}
DROPPED = {**HIT, "dropped": 1}
CASES = {
    # name: (frame, return code, counter deltas besides seen, (event action, flags, feed) or None)
    "clean v4": (frame(CLEAN_V4, "192.0.2.2"), TC_ACT_UNSPEC, {}, None),
    "clean v6": (frame(CLEAN_V6, "2001:db8:1::2"), TC_ACT_UNSPEC, {}, None),
    "drop IOC as v4 source": (
        frame(DROP_V4, CLEAN_V4),
        TC_ACT_SHOT,
        DROPPED,
        (codec.ACTION_DROP, FLAG_SRC_HIT, "feed-drop"),
    ),
    "drop IOC as v4 destination": (
        frame(CLEAN_V4, DROP_V4, Protocol.TCP),
        TC_ACT_SHOT,
        DROPPED,
        (codec.ACTION_DROP, FLAG_DST_HIT | FLAG_BY_DST, "feed-drop"),
    ),
    "alert IOC as v4 source passes": (
        frame(ALERT_V4, CLEAN_V4, Protocol.ICMP),
        TC_ACT_UNSPEC,
        HIT,
        (codec.ACTION_LOG, FLAG_SRC_HIT, "feed-alert"),
    ),
    "alert IOC as v4 destination passes": (
        frame(CLEAN_V4, ALERT_V4),
        TC_ACT_UNSPEC,
        HIT,
        (codec.ACTION_LOG, FLAG_DST_HIT | FLAG_BY_DST, "feed-alert"),
    ),
    "drop IOC as v6 source": (
        frame(DROP_V6, CLEAN_V6),
        TC_ACT_SHOT,
        DROPPED,
        (codec.ACTION_DROP, codec.FLAG_IPV6 | FLAG_SRC_HIT, "feed-drop"),
    ),
    "alert IOC as v6 destination": (
        frame(CLEAN_V6, ALERT_V6),
        TC_ACT_UNSPEC,
        HIT,
        (codec.ACTION_LOG, codec.FLAG_IPV6 | FLAG_DST_HIT | FLAG_BY_DST, "feed-alert"),
    ),
    "both hit: drop destination beats alert source": (
        frame(ALERT_V4, DROP_V4),
        TC_ACT_SHOT,
        DROPPED,
        (codec.ACTION_DROP, FLAG_SRC_HIT | FLAG_DST_HIT | FLAG_BY_DST, "feed-drop"),
    ),
    "both hit, same action: the source decides": (
        frame(ALERT_V6, ALERT_V6),
        TC_ACT_UNSPEC,
        HIT,
        (codec.ACTION_LOG, codec.FLAG_IPV6 | FLAG_SRC_HIT | FLAG_DST_HIT, "feed-alert"),
    ),
    "VLAN-tagged (QinQ) IOC: the inner VID is reported": (
        frame(DROP_V4, CLEAN_V4, vlan_ids=(7, 42)),
        TC_ACT_SHOT,
        DROPPED,
        (codec.ACTION_DROP, codec.FLAG_VLAN | FLAG_SRC_HIT, "feed-drop"),
    ),
    "non-IP (ARP) passes": (bytes(12) + struct.pack("!H", 0x0806) + bytes(46), TC_ACT_UNSPEC, {}, None),
    # (a SCHED_CLS test run refuses frames shorter than the IP header itself: EINVAL)
    "IPv4 IHL below 5: error, pass": (
        patched(frame(DROP_V4, CLEAN_V4), 14, bytes([0x44])),
        TC_ACT_UNSPEC,
        {"errors": 1},
        None,
    ),
    "IPv4 total length beyond the frame: error, pass": (
        patched(frame(DROP_V4, CLEAN_V4), 16, struct.pack("!H", 1500)),
        TC_ACT_UNSPEC,
        {"errors": 1},
        None,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_verdict_counters_and_event_table(lab: Lab, name: str) -> None:
    data, retval, expected, event = CASES[name]
    got, changed, events = lab.run(data)
    assert got == retval
    assert changed == {"seen": 1, **expected}
    if event is None:
        assert events == []
        return
    action, flags, feed = event
    [e] = events
    assert (e.event_type, e.action, e.flags, lab.ti.feeds[e.rule_id]) == (
        EVENT_THREATINTEL,
        action,
        flags,
        feed,
    )
    src, dst = packet_addresses(data)
    assert (e.src_addr, e.dst_addr) == (address_to_words(src), address_to_words(dst))
    assert e.vlan_id == (42 if flags & codec.FLAG_VLAN else 0)


def packet_addresses(data: bytes) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
    offset = 14
    while struct.unpack_from("!H", data, offset - 2)[0] in (0x8100, 0x88A8):
        offset += 4
    if struct.unpack_from("!H", data, offset - 2)[0] == 0x86DD:
        return A(data[offset + 8 : offset + 24]), A(data[offset + 24 : offset + 40])
    return A(data[offset + 12 : offset + 16]), A(data[offset + 16 : offset + 20])


def test_bloom_false_positive_is_rejected_by_the_hash_and_counted(lab: Lab) -> None:
    # Put an address into the live bloom filter only: the bloom says "maybe", the hash says no.
    for name, address in (("ti_set_bloom_v4", "203.0.113.77"), ("ti_set_bloom_v6", "2001:db8:77::77")):
        lab.ti.live_maps()[name].update(None, A(address).packed)
        retval, changed, events = lab.run(frame(address, CLEAN_V4 if "." in address else CLEAN_V6))
        assert (retval, changed, events) == (TC_ACT_UNSPEC, {"seen": 1, "bloom_false_positives": 1}, [])


def test_disabled_program_passes_everything_untouched(lab: Lab) -> None:
    lab.ti.set_enabled(False)
    try:
        retval, changed, events = lab.run(frame(DROP_V4, CLEAN_V4))
        assert (retval, changed, events) == (TC_ACT_UNSPEC, {"seen": 1}, [])
    finally:
        lab.ti.set_enabled(True)
    assert lab.run(frame(DROP_V4, CLEAN_V4))[0] == TC_ACT_SHOT


def test_reload_switches_generations_and_forgets_the_old_set(lab: Lab) -> None:
    other = [Ioc(IocKind.IP, "203.0.113.9", "feed-next", 70, ThreatType.OTHER, None, IocAction.BLOCK)]
    drop_feed = lab.ti.feeds.index("feed-drop")
    try:
        assert lab.ti.load(other, NOW).feeds == ("feed-next",)
        assert lab.run(frame(DROP_V4, CLEAN_V4))[0] == TC_ACT_UNSPEC
        assert lab.run(frame("203.0.113.9", CLEAN_V4))[0] == TC_ACT_SHOT
        lab.ti.load(other, NOW)  # the third set lands in the first set's slot
        assert lab.run(frame("203.0.113.9", CLEAN_V4))[0] == TC_ACT_SHOT
    finally:
        lab.ti.load(IOCS, NOW)
    retval, _, [event] = lab.run(frame(DROP_V4, CLEAN_V4))
    # feed indexes are never reused: events of any generation name the right feed
    assert (retval, event.rule_id, lab.ti.feeds[drop_feed]) == (TC_ACT_SHOT, drop_feed, "feed-drop")


def test_ring_accounting_under_a_paused_consumer_flood(lab: Lab) -> None:
    """Nobody reads while N hits arrive: emitted + skipped + reserve_failed = hits, and every
    emitted event is then read back."""
    flood = 20_000  # 56-byte events: the 1 MiB ring's 75 % mark is hit after ~12k
    lab.ring.read_batch()
    before = lab.ti.counters()
    assert prog_test_run(lab.ti.prog_fd, frame(ALERT_V4, CLEAN_V4), repeat=flood).retval == TC_ACT_UNSPEC
    after = lab.ti.counters()
    d = {k: after[k] - before[k] for k in after}
    assert d["matched"] == flood
    assert d["events_skipped"] > 0
    assert d["events_emitted"] + d["events_skipped"] + d["reserve_failed"] == flood
    assert d["events_dropped"] == d["events_skipped"] + d["reserve_failed"]
    consumed = 0
    for _ in range(100):  # bounded: the ring holds at most ~16k records
        batch = lab.ring.read_batch()
        if not batch:
            break
        consumed += len(codec.decode_packet_events(batch, codec.DecodeStats()))
    assert consumed == d["events_emitted"]


def test_capacity_refuses_new_addresses_once_full() -> None:
    ti = BpfIocMap.standalone(capacity=3)
    try:
        hosts = [Ioc(IocKind.IP, f"198.51.100.{i}", "f", 50) for i in range(1, 6)]
        report = ti.load([*hosts, Ioc(IocKind.IP, "198.51.100.1", "f", 99)], NOW)
        assert (report.addresses, report.over_capacity) == (3, 2)
        hit = ti.lookup(A("198.51.100.1"))
        assert hit is not None and hit.confidence == 99  # an upgrade of a held address still applies
        assert ti.lookup(A("198.51.100.4")) is None
    finally:
        ti.close()


def test_loads_100k_iocs() -> None:
    """Loads 100,000 address IOCs and prints the time (the figure; never asserted)."""
    iocs = [
        Ioc(IocKind.IP, str(ipaddress.IPv4Address(0x0B000000 + i)), f"feed-{i % 7}", 50)
        for i in range(100_000)
    ]
    ti = BpfIocMap.standalone()
    try:
        start = time.perf_counter()
        report = ti.load(iocs, NOW)
        elapsed = time.perf_counter() - start
        print(f"\nloaded {report.addresses} IOCs into tc_threatintel in {elapsed * 1000:.0f} ms")
        assert report.addresses == 100_000
        first, last = A("11.0.0.0"), A(str(ipaddress.IPv4Address(0x0B000000 + 99_999)))
        assert ti.lookup(first) is not None and ti.lookup(last) is not None
        assert ti.check(PacketHeader(last, A(CLEAN_V4), Protocol.UDP, 1, 53)).src_hit
    finally:
        ti.close()


def test_packets_during_reloads_see_one_whole_set_or_the_other() -> None:
    """Packets from A to B while sets {A, B} and {C} (each with 20k more IOCs) alternate: every
    hit must see both A and B; a half-loaded set would show one without the other. The traffic
    thread drains the ring after every run, so events cover the loads, not just their ends."""
    filler = [
        Ioc(IocKind.IP, str(ipaddress.IPv4Address(0x0C000000 + i)), "filler", 50) for i in range(20_000)
    ]
    both = [*filler, Ioc(IocKind.IP, DROP_V4, "x", 90), Ioc(IocKind.IP, ALERT_V4, "x", 90)]
    other = [*filler, Ioc(IocKind.IP, "203.0.113.3", "y", 90)]
    ti = BpfIocMap.standalone()
    ring = RingBufferReader(ti.ring.fd, ti.ring.max_entries)
    packet = frame(DROP_V4, ALERT_V4)
    seen: Counter[int] = Counter()
    stop = threading.Event()

    def traffic() -> None:
        deadline = time.monotonic() + 30  # bounded even if the main thread fails
        while not stop.is_set() and time.monotonic() < deadline:
            prog_test_run(ti.prog_fd, packet, repeat=20)
            for e in codec.decode_packet_events(ring.read_batch(), codec.DecodeStats()):
                seen[e.flags & (FLAG_SRC_HIT | FLAG_DST_HIT)] += 1

    worker = threading.Thread(target=traffic)
    try:
        ti.load(both, NOW)
        worker.start()
        for i in range(6):
            ti.load(other if i % 2 == 0 else both, NOW)
    finally:
        stop.set()
        worker.join(timeout=35)
        counters = ti.counters()
        ring.close()
        ti.close()
    print(f"\n{sum(seen.values())} hits during 6 reloads")
    assert set(seen) == {FLAG_SRC_HIT | FLAG_DST_HIT}
    assert counters["events_skipped"] == 0  # every hit was looked at
