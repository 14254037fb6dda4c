"""The ring's fixed-size fast path on events the kernel produced: xdp_firewall with a ``log`` rule,
test-run N times (one 56-byte PacketEvent per run, in 64-byte ring records).

The fast path (``read_fixed`` + ``decode_packet_batch``) must give exactly the events the general
path (``read_batch`` + ``decode_packet_events``) gives for the same bytes. To read the same bytes
both ways, a test takes its own read-only snapshot of the produced region from the map's pages
before the reader consumes it.
"""

import ipaddress
import mmap
import struct
from collections.abc import Iterator

import pytest

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.event_source import BpfFirewallEventSource
from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_adapters.ebpf.frames import build_frame
from sentinel_adapters.ebpf.prog_run import XDP_PASS, prog_test_run
from sentinel_adapters.ebpf.ringbuf import RingBufferReader, walk_fixed, walk_records
from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.firewall import FirewallMode, FirewallPolicy, FirewallRule, Verdict

A = ipaddress.ip_address
FRAME = build_frame(PacketHeader(A("198.18.0.9"), A("198.18.1.1"), Protocol.UDP, 40000, 53))
SIZE = codec.PACKET_EVENT.size
_U64 = struct.Struct("<Q")


@pytest.fixture
def fw() -> Iterator[BpfFirewallMap]:
    fw = BpfFirewallMap.standalone()
    rule = FirewallRule.from_dict(
        {"id": "log-all", "priority": 1, "action": "log", "src_ip": "198.18.0.0/15"}
    )
    fw.apply(FirewallPolicy.build([rule], FirewallMode.BLOCK))
    try:
        yield fw
    finally:
        fw.close()


@pytest.fixture
def reader(fw: BpfFirewallMap) -> Iterator[RingBufferReader]:
    ring = fw._obj.map("fw_events")
    reader = RingBufferReader(ring.fd, ring.max_entries)
    try:
        yield reader
    finally:
        reader.close()


def produce(fw: BpfFirewallMap, count: int) -> None:
    before = fw.counters()["events_emitted"]
    assert prog_test_run(fw.prog_fd, FRAME, repeat=count).retval == XDP_PASS
    assert fw.counters()["events_emitted"] - before == count


def snapshot(fw: BpfFirewallMap) -> bytes:
    """A copy of the region produced and not yet consumed, read from the map's own pages."""
    ring = fw._obj.map("fw_events")
    page = mmap.PAGESIZE
    with (
        mmap.mmap(ring.fd, page, mmap.MAP_SHARED, mmap.PROT_READ) as consumer_page,
        mmap.mmap(
            ring.fd, page + 2 * ring.max_entries, mmap.MAP_SHARED, mmap.PROT_READ, offset=page
        ) as pages,
    ):
        consumer = _U64.unpack_from(consumer_page)[0]
        producer = _U64.unpack_from(pages)[0]
        start = page + (consumer & (ring.max_entries - 1))
        return pages[start : start + producer - consumer]


def test_the_fast_path_reads_what_the_general_path_reads(
    fw: BpfFirewallMap, reader: RingBufferReader
) -> None:
    produce(fw, 3000)
    region = snapshot(fw)
    assert len(region) == 3000 * 64
    stats = codec.DecodeStats()
    batch = reader.read_fixed(SIZE)
    rows = codec.decode_packet_batch(batch, stats)
    events = rows.events()
    general_stats = codec.DecodeStats()
    assert events == codec.decode_packet_events(walk_records(region, 65536).records(region), general_stats)
    assert len(events) == len(rows) == stats.decoded == general_stats.decoded == 3000
    assert (batch.runs, batch.wrong_size, batch.discarded, batch.consumed) == ([(0, 3000)], 0, 0, len(region))
    assert reader.pending_bytes() == 0 and reader.records_read == 3000
    # Every event is the log rule's record of the test frame, stamped in order.
    assert {(e.src_addr[0], e.dst_addr[0], e.src_port, e.dst_port, e.protocol) for e in events} == {
        (0xC6120009, 0xC6120101, 40000, 53, 17)
    }
    assert {(e.event_type, e.action) for e in events} == {(codec.EVENT_FIREWALL, codec.ACTION_LOG)}
    stamps = [e.timestamp_ns for e in events]
    assert stamps == sorted(stamps)


def test_read_batch_and_the_fixed_walk_agree_on_a_kernel_region(
    fw: BpfFirewallMap, reader: RingBufferReader
) -> None:
    produce(fw, 1000)
    region = snapshot(fw)
    records = reader.read_batch()
    assert records == walk_records(region, 65536).records(region)
    stats = codec.DecodeStats()
    assert codec.decode_packet_batch(walk_fixed(region, SIZE, 65536), stats).events() == (
        codec.decode_packet_events(records, codec.DecodeStats())
    )
    assert stats.decoded == reader.records_read == 1000


def test_max_records_consumes_exactly_that_many(fw: BpfFirewallMap, reader: RingBufferReader) -> None:
    produce(fw, 500)
    first = reader.read_fixed(SIZE, max_records=120)
    assert (first.count, first.consumed) == (120, 120 * 64)
    assert reader.pending_bytes() == 380 * 64
    rest = reader.read_fixed(SIZE)
    assert rest.count == 380 and reader.pending_bytes() == 0
    stamps = [
        e.timestamp_ns
        for b in (first, rest)
        for e in codec.decode_packet_batch(b, codec.DecodeStats()).events()
    ]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert not reader.read_fixed(SIZE).runs


def test_a_batch_outlives_the_reader(fw: BpfFirewallMap) -> None:
    ring = fw._obj.map("fw_events")
    reader = RingBufferReader(ring.fd, ring.max_entries)
    produce(fw, 50)
    batch = reader.read_fixed(SIZE)
    reader.close()  # raises BufferError if anything still viewed the mapping
    events = codec.decode_packet_batch(batch, codec.DecodeStats()).events()
    assert len(events) == 50 and all(e.rule_id != codec.NO_RULE for e in events)


def test_a_full_ring_drains_with_the_fast_path_and_the_books_balance(
    fw: BpfFirewallMap, reader: RingBufferReader
) -> None:
    before = fw.counters()
    assert prog_test_run(fw.prog_fd, FRAME, repeat=30_000).retval == XDP_PASS  # nobody reads meanwhile
    emitted = fw.counters()["events_emitted"] - before["events_emitted"]
    assert fw.counters()["events_skipped"] > before["events_skipped"]  # the 75 % backpressure hit
    stats = codec.DecodeStats()
    decoded = 0
    while (batch := reader.read_fixed(SIZE, max_records=4096)).consumed:
        decoded += len(codec.decode_packet_batch(batch, stats))
    assert decoded == stats.decoded == emitted == reader.records_read
    assert stats.wrong_size == stats.unknown_type == reader.records_discarded == 0
    assert reader.pending_bytes() == 0


def test_the_event_source_reads_the_fast_path_and_reports_its_books(fw: BpfFirewallMap) -> None:
    source = BpfFirewallEventSource(fw._obj, fw.rule_id_at)
    try:
        produce(fw, 2000)
        events = source.read(1.0)
        assert len(events) == 2000
        books = source.stats()
        assert books["consumed"] == books["decoded"] + books["wrong_size"] + books["unknown_type"] == 2000
        assert {(e.rule_id, e.verdict, e.blocklisted) for e in events} == {("log-all", Verdict.LOG, False)}
        packets = {e.packet for e in events}
        assert packets == {PacketHeader(A("198.18.0.9"), A("198.18.1.1"), Protocol.UDP, 40000, 53)}
        stamps = [e.timestamp_ns for e in events]
        assert stamps == sorted(stamps)
        assert source.read(0.01) == []
    finally:
        source.close()


def test_batches_that_wrap_around_the_end_of_the_ring_lose_nothing(
    fw: BpfFirewallMap, reader: RingBufferReader
) -> None:
    """The reader maps the data area once, so a batch crossing the ring's end is read in two pieces:
    three rounds of 12,000 events (750 KiB each) in a 1 MiB ring cross it twice."""
    ring_size = fw._obj.map("fw_events").max_entries
    stats, seen, position = codec.DecodeStats(), 0, 0
    for _ in range(3):
        produce(fw, 12_000)
        position += 12_000 * 64
        batch = reader.read_fixed(SIZE)
        events = codec.decode_packet_batch(batch, stats).events()
        assert len(events) == 12_000 and reader.pending_bytes() == 0
        assert all(e.rule_id == 0 and e.action == codec.ACTION_LOG and e.dst_port == 53 for e in events)
        assert [e.timestamp_ns for e in events] == sorted(e.timestamp_ns for e in events)
        seen += len(events)
    assert position > 2 * ring_size  # the end was crossed twice
    assert (seen, stats.decoded, stats.wrong_size, stats.unknown_type) == (36_000, 36_000, 0, 0)
    assert reader.records_discarded == 0 and fw.counters()["events_skipped"] == 0
