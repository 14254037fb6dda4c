"""Harnesses for the ring-event decoders: they must never raise, and every record is accounted for.

Contract (codec modules' docstrings, bad-inputs.md "Ring record of wrong size, unknown
type/version, misaligned"): a batch decoder returns the good records and counts each bad one
under a reason; no ``struct.error`` or ``IndexError`` may escape. The harnesses also check that
the counts add up to the batch size (the promise that every lost event is counted by cause).
"""

import struct

from _support import check, split_records

from sentinel_adapters.ebpf.codec import PACKET_EVENT, DecodeStats, decode_packet_events
from sentinel_adapters.ebpf.codec_dns import RECORD_TIERS, decode_dns_events
from sentinel_adapters.ebpf.codec_payload import (
    DLP_EVENT,
    IDS_EVENT,
    PayloadDecodeStats,
    decode_dlp_records,
    decode_ids_records,
)

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
