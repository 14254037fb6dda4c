"""tc_dns record bytes (bpf/include/sentinel/dns.h): the only module that knows them.

A record is the 64-byte ``struct sentinel_dns_event`` header followed by one payload tier
(128, 512 or 1232 bytes) of which the first ``captured_len`` bytes are the DNS message. The
layouts are checked against the compiled object's BTF by
tests/architecture/test_abi_layout_tc_ti_dns.py. Decoding is batch-oriented and never raises: a
record of an unknown size, a captured length that does not fit its tier, or an unknown
direction is counted in :class:`~sentinel_adapters.ebpf.codec.DecodeStats` and skipped.
"""

import struct
from dataclasses import dataclass

from sentinel_adapters.ebpf.codec import DecodeStats

# struct sentinel_dns_event (64 bytes): field name -> (offset, struct code)
DNS_EVENT_FIELDS: dict[str, tuple[int, str]] = {
    "timestamp_ns": (0, "Q"),
    "src_addr": (8, "4I"),
    "dst_addr": (24, "4I"),
    "src_port": (40, "H"),
    "dst_port": (42, "H"),
    "message_len": (44, "H"),
    "captured_len": (46, "H"),
    "direction": (48, "B"),
    "flags": (49, "B"),
    "vlan_id": (50, "H"),
    "ifindex": (52, "I"),
    "hook": (56, "B"),
    "_pad": (57, "7s"),
}
DNS_EVENT = struct.Struct("<Q4I4IHHHHBBHIB7x")
assert DNS_EVENT.size == 64

TIER_SMALL, TIER_MEDIUM, MAX_CAPTURE = 128, 512, 1232
# record size -> payload capacity (struct sentinel_dns_record_{small,medium,large})
RECORD_TIERS: dict[int, int] = {DNS_EVENT.size + cap: cap for cap in (TIER_SMALL, TIER_MEDIUM, MAX_CAPTURE)}

DIRECTION_QUERY, DIRECTION_RESPONSE = 0, 1
HOOK_INGRESS, HOOK_EGRESS = 0, 1
FLAG_IPV6 = 0x01
FLAG_VLAN = 0x02
FLAG_TCP = 0x04
FLAG_TRUNCATED = 0x08

# Per-CPU counter slots of dns_metrics (enum sentinel_dns_counter)
DNS_COUNTERS = (
    "inspected",
    "events_emitted",
    "errors",
    "events_dropped",
    "seen",
    "events_skipped",
    "reserve_failed",
    "copy_failed",
    "truncated",
    "with_meta",
    "not_a_message",
)


@dataclass(frozen=True, slots=True)
class DnsEventRecord:
    """One decoded record: the header's fields and the captured message bytes."""

    timestamp_ns: int
    src_addr: tuple[int, int, int, int]
    dst_addr: tuple[int, int, int, int]
    src_port: int
    dst_port: int
    message_len: int
    direction: int
    flags: int
    vlan_id: int
    ifindex: int
    hook: int
    message: bytes

    @property
    def is_ipv6(self) -> bool:
        return bool(self.flags & FLAG_IPV6)


def decode_dns_events(records: list[bytes], stats: DecodeStats) -> list[DnsEventRecord]:
    """Decode a batch of ring records; malformed ones are counted in ``stats`` and skipped."""
    out: list[DnsEventRecord] = []
    unpack = DNS_EVENT.unpack_from
    for record in records:
        capacity = RECORD_TIERS.get(len(record))
        if capacity is None:
            stats.wrong_size += 1
            continue
        v = unpack(record)
        captured, direction, hook = v[12], v[13], v[17]
        if captured > capacity or captured > v[11]:
            _reject(stats, "captured_len")
            continue
        if direction not in (DIRECTION_QUERY, DIRECTION_RESPONSE) or hook not in (HOOK_INGRESS, HOOK_EGRESS):
            stats.unknown_type += 1
            continue
        out.append(
            DnsEventRecord(
                timestamp_ns=v[0],
                src_addr=v[1:5],
                dst_addr=v[5:9],
                src_port=v[9],
                dst_port=v[10],
                message_len=v[11],
                direction=direction,
                flags=v[14],
                vlan_id=v[15],
                ifindex=v[16],
                hook=hook,
                message=record[DNS_EVENT.size : DNS_EVENT.size + captured],
            )
        )
    stats.decoded += len(out)
    return out


def _reject(stats: DecodeStats, reason: str) -> None:
    stats.by_reason[reason] = stats.by_reason.get(reason, 0) + 1
