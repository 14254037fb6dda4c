"""Harnesses for the ring-event decoders: they must never raise, and every record is accounted for.

Contract (codec modules' docstrings, bad-inputs.md "Ring record of wrong size, unknown
type/version, misaligned"): a batch decoder returns the good records and counts each bad one
under a reason; no ``struct.error`` or ``IndexError`` may escape. The harnesses also check that
the counts add up to the batch size (the promise that every lost event is counted by cause).

The packet-event harness also lays the batch out as a ring region (8-byte headers, some records
marked DISCARD or BUSY, padding) and reads it with both ring walks: the fixed-size fast path
(``walk_fixed`` + ``decode_packet_batch``) must give exactly what the general path
(``walk_records`` + ``decode_packet_events``) gives, and both what the batch says; the raw input
is walked as a region too.
"""

import struct

from _support import check, split_records

from sentinel_adapters.ebpf.codec import (
    PACKET_EVENT,
    DecodeStats,
    PacketEvent,
    decode_packet_batch,
    decode_packet_events,
)
from sentinel_adapters.ebpf.codec_dns import RECORD_TIERS, decode_dns_events
from sentinel_adapters.ebpf.codec_payload import (
    DLP_EVENT,
    IDS_EVENT,
    PayloadDecodeStats,
    decode_dlp_records,
    decode_ids_records,
)
from sentinel_adapters.ebpf.ringbuf import walk_fixed, walk_records

_BUSY, _DISCARD = 1 << 31, 1 << 30

_IDS_CAPTURED = (struct.Struct("<H"), 60)  # sentinel_ids_event.captured_len
_DLP_CAPTURED = (struct.Struct("<I"), 28)  # sentinel_dlp_event.captured_len
_DNS_SIZES = tuple(sorted(RECORD_TIERS))


def fuzz_packet_events(data: bytes) -> None:
    records = split_records(data, (PACKET_EVENT.size,))
    stats = DecodeStats()
    events = decode_packet_events(records, stats)
    check(len(events) == stats.decoded, "decoded count differs from the events returned")
    lost = stats.wrong_size + stats.unknown_type + sum(stats.by_reason.values())
    check(stats.decoded + lost == len(records), f"{len(records)} records, {stats} accounts differently")
    marks = data[-2:] if len(data) > 2 else b"\0\0"
    region, kept = _ring_region(records, discard_mask=marks[0], busy_at=marks[1])
    expected_stats = DecodeStats()
    expected = decode_packet_events(kept, expected_stats)
    _check_walks_agree(region, expected, expected_stats)
    _check_walks_agree(data, None, None)


def _ring_region(records: list[bytes], discard_mask: int, busy_at: int) -> tuple[bytes, list[bytes]]:
    """``records`` as the kernel lays them out; record i is discarded when bit i % 8 of
    ``discard_mask`` is set, and the one at ``busy_at`` (if any) is still BUSY. Also returns the
    records a reader must return: those before the busy one, less the discarded ones."""
    region, kept, busy = [], [], False
    for i, payload in enumerate(records):
        busy = busy or i == busy_at
        discarded = bool(discard_mask >> (i % 8) & 1)
        flags = _BUSY if i == busy_at else _DISCARD if discarded else 0
        head = struct.pack("<II", len(payload) | flags, 0) + payload
        region.append(head + bytes(-len(head) % 8))
        if not busy and not discarded:
            kept.append(payload)
    return b"".join(region), kept


def _check_walks_agree(region: bytes, expected: list[PacketEvent] | None, want: DecodeStats | None) -> None:
    """Both walks of ``region`` consume the same bytes and give the same events and counts."""
    walk = walk_records(region, 64)
    general_stats = DecodeStats()
    general = decode_packet_events(walk.records(region), general_stats)
    batch = walk_fixed(region, PACKET_EVENT.size, 64)
    stats = DecodeStats()
    rows = decode_packet_batch(batch, stats)
    fast = rows.events()
    check(fast == general, "the fast path decoded other events than the general path")
    check(len(rows) == len(fast) == stats.decoded, "the fast path's count differs from its events")
    books = (stats.decoded, stats.wrong_size, stats.unknown_type)
    check(books == (general_stats.decoded, general_stats.wrong_size, general_stats.unknown_type), "books")
    check(
        (batch.consumed, batch.discarded) == (walk.consumed, walk.discarded), "the walks consumed differently"
    )
    check(batch.consumed <= len(region), "consumed past the region")
    check(sum(books) == batch.count + batch.wrong_size == len(walk.spans), "a record is not accounted for")
    if expected is not None and want is not None:
        check(fast == expected, "the ring walk lost or changed records of the batch")
        check(books == (want.decoded, want.wrong_size, want.unknown_type), "the ring walk's books differ")


def fuzz_dns_events(data: bytes) -> None:
    records = split_records(data, _DNS_SIZES)
    stats = DecodeStats()
    events = decode_dns_events(records, stats)
    check(len(events) == stats.decoded, "decoded count differs from the events returned")
    lost = stats.wrong_size + stats.unknown_type + sum(stats.by_reason.values())
    check(stats.decoded + lost == len(records), f"{len(records)} records, {stats} accounts differently")
    for event in events:
        check(len(event.message) <= event.message_len, "captured more than the message length")


def _check_payload_stats(decoded: int, stats: PayloadDecodeStats, batch: int) -> None:
    check(decoded == stats.decoded, "decoded count differs from the records returned")
    lost = stats.too_short + stats.bad_length + stats.bad_field
    check(stats.decoded + lost == batch, f"{batch} records, {stats} accounts differently")


def fuzz_ids_records(data: bytes) -> None:
    records = split_records(data, (IDS_EVENT.size,), _IDS_CAPTURED)
    stats = PayloadDecodeStats()
    decoded = decode_ids_records(records, stats)
    _check_payload_stats(len(decoded), stats, len(records))
    for record in decoded:
        check(len(record.payload) <= record.payload_len, "captured more than the packet's payload")


def fuzz_dlp_records(data: bytes) -> None:
    records = split_records(data, (DLP_EVENT.size,), _DLP_CAPTURED)
    stats = PayloadDecodeStats()
    decoded = decode_dlp_records(records, stats)
    _check_payload_stats(len(decoded), stats, len(records))
    for record in decoded:
        check(len(record.data) <= record.data_len, "captured more than the SSL call's length")


HARNESSES = {
    "ring_packet_events": fuzz_packet_events,
    "ring_dns_events": fuzz_dns_events,
    "ring_ids_records": fuzz_ids_records,
    "ring_dlp_records": fuzz_dlp_records,
}
