"""The ring walks over crafted regions: the fixed-size fast path must agree with the general walk.

A region is what ``RingBufferReader`` copies out of the mapping: records back to back, each an
8-byte header (u32 length | BUSY bit 31 | DISCARD bit 30, u32 page offset), the payload, padding
to 8 bytes. No kernel here: the edge cases the kernel rarely produces (BUSY in the middle of a
batch, discarded records, another record size in a packet ring) are built by hand.
"""

import ipaddress
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.event_source import PacketHeaders
from sentinel_adapters.ebpf.ringbuf import FixedBatch, record_stride, walk_fixed, walk_records
from sentinel_domain.common import PacketHeader, address_from_words

BUSY, DISCARD = 1 << 31, 1 << 30
SIZE = codec.PACKET_EVENT.size
STRIDE = record_stride(SIZE)


def event(n: int, event_type: int = 0, action: int = codec.ACTION_LOG) -> bytes:
    """A packet event that differs from its neighbours in every batch (timestamp, ports, rule)."""
    return codec.PACKET_EVENT.pack(
        10**12 + n, 0xC6120009, 0, 0, n, 0x20010DB8, 0, 0, 1, n % 65536, 53, 17, event_type, action,
        0x01, n, 7, 1,
    )  # fmt: skip


def record(payload: bytes, flags: int = 0, length: int | None = None) -> bytes:
    length = len(payload) if length is None else length
    body = struct.pack("<II", length | flags, 0) + payload
    return body + bytes(-len(body) % 8)


def general(region: bytes, max_records: int = 65536) -> tuple[list[codec.PacketEvent], codec.DecodeStats]:
    """The reference: the general walk, then ``decode_packet_events``."""
    walk = walk_records(region, max_records)
    stats = codec.DecodeStats()
    return codec.decode_packet_events(walk.records(region), stats), stats


def fast(
    region: bytes, max_records: int = 65536
) -> tuple[list[codec.PacketEvent], codec.DecodeStats, FixedBatch]:
    batch = walk_fixed(region, SIZE, max_records)
    stats = codec.DecodeStats()
    rows = codec.decode_packet_batch(batch, stats)
    events = rows.events()
    assert len(rows) == len(events) == stats.decoded
    return events, stats, batch


def assert_same_as_general(region: bytes, max_records: int = 65536) -> FixedBatch:
    """Both paths give the same events and books, and consume the same bytes."""
    events, stats, batch = fast(region, max_records)
    expected, expected_stats = general(region, max_records)
    walk = walk_records(region, max_records)
    assert events == expected
    assert (stats.decoded, stats.wrong_size, stats.unknown_type) == (
        expected_stats.decoded,
        expected_stats.wrong_size,
        expected_stats.unknown_type,
    )
    assert (batch.consumed, batch.discarded) == (walk.consumed, walk.discarded)
    # The identity the sources report: every record the reader counts as read is accounted for.
    assert batch.count + batch.wrong_size == len(walk.spans)
    assert stats.decoded + stats.wrong_size + stats.unknown_type == batch.count + batch.wrong_size
    return batch


def test_a_region_of_well_formed_records_is_one_run() -> None:
    region = b"".join(record(event(n)) for n in range(1000))
    batch = assert_same_as_general(region)
    assert batch.runs == [(0, 1000)]
    assert (batch.count, batch.wrong_size, batch.discarded, batch.consumed) == (1000, 0, 0, len(region))
    events, _, _ = fast(region)
    assert [e.timestamp_ns for e in events] == [10**12 + n for n in range(1000)]
    assert events[3] == codec.PacketEvent(
        10**12 + 3, (0xC6120009, 0, 0, 3), (0x20010DB8, 0, 0, 1), 3, 53, 17, 0, 2, 1, 3, 7, 1
    )


def test_an_empty_region_and_a_partial_header() -> None:
    for region in (b"", bytes(4)):
        batch = assert_same_as_general(region)
        assert (batch.count, batch.consumed, batch.runs) == (0, 0, [])


@pytest.mark.parametrize("at", [0, 1, 255, 256, 257, 600])
def test_busy_stops_the_batch_there(at: int) -> None:
    records = [record(event(n)) for n in range(700)]
    records[at] = record(event(at), BUSY)
    region = b"".join(records)
    batch = assert_same_as_general(region)
    assert batch.count == at
    assert batch.consumed == at * STRIDE  # neither the busy record nor anything after it
    assert (batch.wrong_size, batch.discarded) == (0, 0)


@pytest.mark.parametrize("at", [0, 255, 256, 699])
def test_discarded_records_are_counted_and_skipped(at: int) -> None:
    records = [record(event(n)) for n in range(700)]
    records[at] = record(event(at), DISCARD)
    region = b"".join(records)
    batch = assert_same_as_general(region)
    assert (batch.count, batch.discarded, batch.wrong_size, batch.consumed) == (699, 1, 0, len(region))
    events, _, _ = fast(region)
    assert [e.timestamp_ns - 10**12 for e in events] == [n for n in range(700) if n != at]


@pytest.mark.parametrize("size", [0, 1, 20, 55, 57, 64, 100, 56 + 256, 56 + (1 << 16), 56 + (1 << 24)])
def test_a_record_of_another_size_is_counted_and_the_next_ones_stay_in_step(size: int) -> None:
    """Sizes whose aligned length is not the stride shift every later record: they must still be
    read at their real positions. Sizes differing from 56 only in a high header byte are too."""
    before = [record(event(n)) for n in range(300)]
    after = [record(event(n)) for n in range(300, 600)]
    odd = record(bytes(size))
    region = b"".join([*before, odd, *after])
    batch = assert_same_as_general(region)
    assert (batch.count, batch.wrong_size, batch.consumed) == (600, 1, len(region))
    assert batch.runs == [(0, 300), (300 * STRIDE + len(odd), 300)]
    events, stats, _ = fast(region)
    assert [e.timestamp_ns - 10**12 for e in events] == list(range(600))
    assert stats.wrong_size == 1


def test_alternating_sizes_and_a_short_tail() -> None:
    records = []
    for n in range(200):
        records.append(record(event(n)))
        if n % 3 == 0:
            records.append(record(bytes(n % 50)))
    records.append(record(bytes(8)))  # a last record shorter than one stride
    region = b"".join(records)
    batch = assert_same_as_general(region)
    assert (batch.count, batch.wrong_size, batch.consumed) == (200, 68, len(region))


def test_a_record_claiming_more_than_was_produced_is_not_consumed() -> None:
    good = b"".join(record(event(n)) for n in range(10))
    claims_too_much = struct.pack("<II", 4096, 0) + bytes(56)
    batch = assert_same_as_general(good + claims_too_much)
    assert (batch.count, batch.consumed) == (10, len(good))


def test_unknown_event_types_are_counted_not_returned() -> None:
    records = [record(event(n, event_type=99 if n % 7 == 0 else n % 8)) for n in range(500)]
    region = b"".join(records)
    assert_same_as_general(region)
    events, stats, _ = fast(region)
    assert stats.unknown_type == len(range(0, 500, 7))
    assert [e.timestamp_ns - 10**12 for e in events] == [n for n in range(500) if n % 7]


def test_max_records_bounds_the_non_discarded_records() -> None:
    records = [record(event(n)) for n in range(100)]
    records[5] = record(bytes(12))  # wrong size: counts toward the bound
    records[6] = record(event(6), DISCARD)  # discarded: does not
    region = b"".join(records)
    for bound in (1, 5, 6, 7, 50, 99, 100):
        batch = assert_same_as_general(region, bound)
        assert batch.count + batch.wrong_size == min(bound, 99)


def test_rows_are_iterable_again_and_index_like_the_event() -> None:
    region = b"".join(record(event(n, action=n % 3)) for n in range(40))
    rows = codec.decode_packet_batch(walk_fixed(region, SIZE, 65536), codec.DecodeStats())
    first, second = list(rows), list(rows)
    assert first == second and len(first) == len(rows) == 40
    for row, event_ in zip(first, rows.events(), strict=True):
        assert codec.packet_event_of(row) == event_
        assert row[codec.ROW_ACTION] == event_.action
        assert row[codec.ROW_RULE_ID] == event_.rule_id
        assert row[codec.ROW_FLAGS] == event_.flags


def test_a_batch_of_another_record_size_is_refused() -> None:
    batch = walk_fixed(record(bytes(16)), 16, 10)
    assert batch.count == 1
    with pytest.raises(ValueError, match="not of packet events"):
        codec.decode_packet_batch(batch, codec.DecodeStats())
    with pytest.raises(ValueError, match="out of range"):
        walk_fixed(b"", 0, 10)


_RECORD_KINDS = st.one_of(
    st.tuples(st.just("good"), st.integers(0, 9)),  # event_type 8, 9: unknown
    st.tuples(st.just("size"), st.integers(0, 300)),
    st.tuples(st.just("discard"), st.integers(0, 120)),
    st.tuples(st.just("busy"), st.integers(0, 120)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_RECORD_KINDS, max_size=80), st.integers(1, 100))
def test_any_region_reads_the_same_on_both_paths(kinds: list[tuple[str, int]], max_records: int) -> None:
    records = []
    for n, (kind, value) in enumerate(kinds):
        if kind == "good":
            records.append(record(event(n, event_type=value)))
        elif kind == "size":
            records.append(record(bytes(value)))
        else:
            records.append(record(bytes(value), BUSY if kind == "busy" else DISCARD))
    assert_same_as_general(b"".join(records), max_records)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048), st.integers(1, 100))
def test_arbitrary_bytes_never_raise_and_agree(region: bytes, max_records: int) -> None:
    batch = assert_same_as_general(region, max_records)
    assert batch.consumed <= len(region)


def test_memoized_packet_headers_equal_the_plain_conversion() -> None:
    """The event sources' ``PacketHeaders`` memo gives the header the row describes, row after
    row, also across the memo being emptied when full (limit 3 here)."""
    rows = []
    for n in range(40):
        ipv6 = n % 2
        protocol = (6, 17, 1, 58)[n % 4]
        rows.append(
            codec.PACKET_EVENT.unpack(
                codec.PACKET_EVENT.pack(
                    n, 0xC6120000 + n % 5, 0, 0, n % 3, 0x20010DB8, 0, 0, 1, 1000 + n % 2, 53, protocol, 0,
                    n % 3, ipv6, n, n % 4, 0,
                )
            )
        )  # fmt: skip
    memo = PacketHeaders(limit=3)
    for row in rows + rows:
        e = codec.packet_event_of(row)
        ported = e.protocol in (6, 17)
        assert memo(row) == PacketHeader(
            src=address_from_words(e.src_addr, e.is_ipv6),
            dst=address_from_words(e.dst_addr, e.is_ipv6),
            protocol=e.protocol,
            src_port=e.src_port if ported else None,
            dst_port=e.dst_port if ported else None,
            vlan_id=e.vlan_id,
        )
    header = memo(rows[0])
    assert memo(rows[0]) is header  # a repeated header is the same (immutable) object
    assert header.src == ipaddress.ip_address("198.18.0.0") and header.src_port == 1000
    assert memo(rows[3]).is_ipv6 and memo(rows[2]).src_port is None  # ICMP: no ports


def test_memoized_headers_tell_apart_flows_between_the_same_two_addresses() -> None:
    """A port scan: one source, one destination, many ports and protocols (the memo key once
    held only the addresses, so every alert of a scan carried the first packet's ports)."""

    def row(protocol: int, dst_port: int) -> codec.PacketRow:
        fields = (7, 0xC6120001, 0, 0, 0, 0xC6120002, 0, 0, 0, 40000, dst_port, protocol, 0, 1, 0, 3, 0, 0)
        return codec.PACKET_EVENT.unpack(codec.PACKET_EVENT.pack(*fields))

    memo = PacketHeaders()
    flows = [(6, port) for port in (22, 23, 80, 443)] + [(17, 53), (1, 0)]
    headers = [memo(row(protocol, port)) for protocol, port in flows]
    assert [(h.protocol, h.dst_port) for h in headers] == [
        (6, 22),
        (6, 23),
        (6, 80),
        (6, 443),
        (17, 53),
        (1, None),
    ]
    assert all(memo(row(p, port)) is h for (p, port), h in zip(flows, headers, strict=True))
