"""The only place that knows the kernel ABI byte layouts (bpf/include/sentinel/*.h).

Layouts are checked against the compiled objects' BTF by tests/architecture/test_abi_layout.py.
Decoders are batch-oriented and never raise on bad records: they count them.
"""

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from itertools import chain, compress
from typing import NamedTuple

from sentinel_adapters.ebpf.ringbuf import FixedBatch

# struct sentinel_packet_event (56 bytes): field name -> (offset, struct code)
PACKET_EVENT_FIELDS: dict[str, tuple[int, str]] = {
    "timestamp_ns": (0, "Q"),
    "src_addr": (8, "4I"),
    "dst_addr": (24, "4I"),
    "src_port": (40, "H"),
    "dst_port": (42, "H"),
    "protocol": (44, "B"),
    "event_type": (45, "B"),
    "action": (46, "B"),
    "flags": (47, "B"),
    "rule_id": (48, "I"),
    "vlan_id": (52, "H"),
    "cpu_id": (54, "H"),
}
PACKET_EVENT = struct.Struct("<Q4I4IHHBBBBIHH")
assert PACKET_EVENT.size == 56

# struct sentinel_xdp_meta (16 bytes)
XDP_META_FIELDS: dict[str, tuple[int, str]] = {
    "rule_id": (0, "I"),
    "action": (4, "B"),
    "ratelimit_status": (5, "B"),
    "meta_flags": (6, "B"),
    "protocol": (7, "B"),
    "l3_offset": (8, "H"),
    "l4_offset": (10, "H"),
    "src_port": (12, "H"),
    "dst_port": (14, "H"),
}
XDP_META = struct.Struct("<IBBBBHHHH")

FLAG_IPV6 = 0x01
FLAG_VLAN = 0x02
FLAG_TCP = 0x04
FLAG_BLOCKLIST = 0x10
FLAG_DEFAULT_POLICY = 0x20
FLAG_GEN1 = 0x40  # firewall events
FLAG_TI_BY_DST = 0x08  # tc_threatintel events: the destination's IOC decided
NO_RULE = 0xFFFFFFFF
META_PRESENT = 0x01
META_IPV6 = 0x02
META_HAS_PORTS = 0x04
META_VLAN = 0x08
META_GEN1 = 0x10
ACTION_PASS, ACTION_DROP, ACTION_LOG = 0, 1, 2
EVENT_FIREWALL = 0
KNOWN_EVENT_TYPES = frozenset(range(8))

# Per-CPU counter slots of fw_metrics (enum sentinel_fw_counter)
FW_COUNTERS = (
    "passed",
    "dropped",
    "errors",
    "events_dropped",
    "seen",
    "events_emitted",
    "events_skipped",
    "reserve_failed",
    "blocklist_drops",
    "logged",
)


class PacketEvent(NamedTuple):
    """One decoded ``struct sentinel_packet_event`` (a tuple: cheap to build by the million)."""

    timestamp_ns: int
    src_addr: tuple[int, int, int, int]
    dst_addr: tuple[int, int, int, int]
    src_port: int
    dst_port: int
    protocol: int
    event_type: int
    action: int
    flags: int
    rule_id: int
    vlan_id: int
    cpu_id: int

    @property
    def is_ipv6(self) -> bool:
        return bool(self.flags & FLAG_IPV6)


@dataclass(slots=True)
class DecodeStats:
    """Records skipped by reason; never an exception."""

    decoded: int = 0
    wrong_size: int = 0
    unknown_type: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


def decode_packet_events(records: list[bytes], stats: DecodeStats) -> list[PacketEvent]:
    """Decode a batch; records of the wrong size or an unknown event type are counted and skipped."""
    good = [r for r in records if len(r) == PACKET_EVENT.size]
    stats.wrong_size += len(records) - len(good)
    events = []
    for v in PACKET_EVENT.iter_unpack(b"".join(good)):
        if v[12] not in KNOWN_EVENT_TYPES:  # event_type
            stats.unknown_type += 1
            continue
        events.append(PacketEvent(v[0], v[1:5], v[5:9], *v[9:]))
    stats.decoded += len(events)
    return events


# The fast path's decoded event: the ``PACKET_EVENT`` fields as unpacked, flat, in ABI order (no
# per-event Python code builds it). Index with these; ``packet_event_of`` gives a PacketEvent.
PacketRow = tuple[int, ...]
ROW_TIMESTAMP, ROW_SRC_ADDR, ROW_DST_ADDR = 0, 1, 5  # the addresses are four words each
ROW_SRC_PORT, ROW_DST_PORT, ROW_PROTOCOL, ROW_EVENT_TYPE = 9, 10, 11, 12
ROW_ACTION, ROW_FLAGS, ROW_RULE_ID, ROW_VLAN_ID, ROW_CPU_ID = 13, 14, 15, 16, 17
assert len(PACKET_EVENT.unpack(bytes(PACKET_EVENT.size))) == ROW_CPU_ID + 1

_EVENT_TYPE_OFFSET = PACKET_EVENT_FIELDS["event_type"][0]
_UNKNOWN_TYPE_BYTES = bytes(sorted(KNOWN_EVENT_TYPES))  # translate(None, these): the unknown ones
_KNOWN_TYPE_MASK = bytes(t in KNOWN_EVENT_TYPES for t in range(256))  # translate: 1 = known


def packet_event_of(row: PacketRow) -> PacketEvent:
    return PacketEvent(row[0], row[1:5], row[5:9], *row[9:])  # type: ignore[arg-type]


@cache
def _in_stride(header: int, stride: int) -> struct.Struct:
    """PACKET_EVENT inside one ring record: skip the ring header, the event, skip the padding."""
    return struct.Struct(f"<{header}x{PACKET_EVENT.format.lstrip('<')}{stride - header - PACKET_EVENT.size}x")


class PacketRows:
    """The decoded events of one fast-path batch, in ring order, as :data:`PacketRow` tuples.

    Iterating unpacks the runs with ``struct.iter_unpack`` (C code per event, none in Python), so
    the events are made as they are consumed and a consumer that keeps none keeps the collector
    idle; records of an unknown type are left out with ``itertools.compress``. Iterable more than
    once; ``len`` is the number of events.
    """

    __slots__ = ("_count", "_data", "_runs", "_stride", "_unpack")

    def __init__(self, batch: FixedBatch, runs: list[tuple[int, int, bytes | None]], count: int) -> None:
        self._data = batch.data
        self._unpack = _in_stride(batch.header, batch.stride).iter_unpack
        self._stride = batch.stride
        self._runs = runs  # (offset, records, known-type mask or None when all are known)
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[PacketRow]:
        view = memoryview(self._data)
        parts: list[Iterator[PacketRow]] = []
        for offset, records, mask in self._runs:
            rows = self._unpack(view[offset : offset + records * self._stride])
            parts.append(rows if mask is None else compress(rows, mask))
        return parts[0] if len(parts) == 1 else chain.from_iterable(parts)

    def events(self) -> list[PacketEvent]:
        """The same events as :class:`PacketEvent` tuples (what ``decode_packet_events`` gives)."""
        return [packet_event_of(row) for row in self]


def decode_packet_batch(batch: FixedBatch, stats: DecodeStats) -> PacketRows:
    """Decode a ``RingBufferReader.read_fixed(PACKET_EVENT.size)`` batch.

    Same accounting as :func:`decode_packet_events`, counted here (C-level passes over the event
    type column), not while iterating: the batch's wrong-size records go to ``wrong_size``,
    records of an unknown event type to ``unknown_type``, so ``decoded + wrong_size +
    unknown_type`` = the records the reader consumed.
    """
    if batch.record_size != PACKET_EVENT.size:
        raise ValueError(f"a batch of {batch.record_size}-byte records is not of packet events")
    data, stride = batch.data, batch.stride
    runs: list[tuple[int, int, bytes | None]] = []
    unknown = 0
    for offset, records in batch.runs:
        types = data[offset + batch.header + _EVENT_TYPE_OFFSET : offset + records * stride : stride]
        strays = len(types.translate(None, _UNKNOWN_TYPE_BYTES))
        runs.append((offset, records, types.translate(_KNOWN_TYPE_MASK) if strays else None))
        unknown += strays
    stats.wrong_size += batch.wrong_size
    stats.unknown_type += unknown
    stats.decoded += batch.count - unknown
    return PacketRows(batch, runs, batch.count - unknown)


def decode_xdp_meta(data: bytes) -> tuple[int, int, int, int] | None:
    """(rule_id, action, ratelimit_status, flags) from a metadata prefix, or None if absent."""
    if len(data) < XDP_META.size:
        return None
    rule_id, action, rl_status, flags = XDP_META.unpack_from(data)[:4]
    if not flags & META_PRESENT:
        return None
    return rule_id, action, rl_status, flags


def sum_per_cpu_u64(values: list[bytes]) -> int:
    return sum(struct.unpack_from("<Q", v)[0] for v in values)
