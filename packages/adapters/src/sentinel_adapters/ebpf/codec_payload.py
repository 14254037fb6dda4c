"""Byte layouts of the payload-carrying rings: tc_ids (bpf/include/sentinel/ids.h) and
uprobe_dlp (bpf/include/sentinel/dlp.h), their maps, and batch decoders that never raise.

A record is a fixed header followed by exactly ``captured_len`` bytes. Layouts are checked
against the compiled objects' BTF by tests/architecture/test_abi_layout_ids_dlp.py.
"""

import struct
from dataclasses import dataclass

# struct sentinel_ids_event (64 bytes, then the payload): field -> (offset, struct code)
IDS_EVENT_FIELDS: dict[str, tuple[int, str]] = {
    "timestamp_ns": (0, "Q"),
    "src_addr": (8, "4I"),
    "dst_addr": (24, "4I"),
    "src_port": (40, "H"),
    "dst_port": (42, "H"),
    "protocol": (44, "B"),
    "direction": (45, "B"),
    "flags": (46, "B"),
    "tcp_flags": (47, "B"),
    "ifindex": (48, "I"),
    "payload_len": (52, "I"),
    "flow_hash": (56, "I"),
    "captured_len": (60, "H"),
    "vlan_id": (62, "H"),
}
IDS_EVENT = struct.Struct("<Q4I4IHHBBBBIIIHH")
IDS_KEY_FIELDS: dict[str, tuple[int, str]] = {"port": (0, "H"), "protocol": (2, "B"), "gen": (3, "B")}
IDS_KEY = struct.Struct("<HBB")
IDS_FILTER_FIELDS: dict[str, tuple[int, str]] = {"sample_every": (0, "I"), "capture_len": (4, "I")}
IDS_FILTER = struct.Struct("<II")
IDS_CONFIG_FIELDS: dict[str, tuple[int, str]] = {
    "capture_len": (0, "I"),
    "sample_every": (4, "I"),
    "flags": (8, "B"),
    "_pad": (9, "7s"),
}
IDS_CONFIG = struct.Struct("<IIB7x")
IDS_CAPTURE_MAX = 2048
IDS_CAPTURE_DEFAULT = 512
IDS_ANY_PORT = 0
IDS_CFG_EMPTY_PAYLOADS = 0x01
IDS_INGRESS, IDS_EGRESS = 0, 1
IDS_F_IPV6 = 0x01
IDS_F_VLAN = 0x02
IDS_F_TRUNCATED = 0x04
IDS_F_XDP_META = 0x08
IDS_F_MATCH_DST = 0x10
IDS_F_MATCH_SRC = 0x20
IDS_F_MATCH_PROTO = 0x40
# Per-CPU counter slots of ids_metrics (enum sentinel_ids_counter), by slot number.
IDS_COUNTERS = (
    "matched",
    "dropped",
    "errors",
    "events_dropped",
    "seen",
    "inspected",
    "sampled_out",
    "events_emitted",
    "events_skipped",
    "reserve_failed",
    "not_matched",
    "not_ip",
    "meta_used",
    "truncated",
    "empty",
    "no_l4",
    "capture_failed",
)

# struct sentinel_dlp_event (56 bytes, then the plaintext)
DLP_EVENT_FIELDS: dict[str, tuple[int, str]] = {
    "timestamp_ns": (0, "Q"),
    "pid": (8, "I"),
    "tgid": (12, "I"),
    "cgroup_id": (16, "Q"),
    "data_len": (24, "I"),
    "captured_len": (28, "I"),
    "direction": (32, "B"),
    "flags": (33, "B"),
    "_pad": (34, "H"),
    "uid": (36, "I"),
    "comm": (40, "16s"),
}
DLP_EVENT = struct.Struct("<QIIQIIBBHI16s")
DLP_CONFIG_FIELDS: dict[str, tuple[int, str]] = {"capture_len": (0, "I"), "_pad": (4, "I")}
DLP_CONFIG = struct.Struct("<I4x")
DLP_CAPTURE_MAX = 4096
DLP_WRITE, DLP_READ = 0, 1
DLP_F_TRUNCATED = 0x01
DLP_F_EX = 0x02
DLP_COUNTERS = (
    "write_events",
    "read_events",
    "errors",
    "events_dropped",
    "seen",
    "events_emitted",
    "events_skipped",
    "reserve_failed",
    "empty",
    "truncated",
    "unpaired",
)
assert IDS_EVENT.size == 64 and DLP_EVENT.size == 56

_MASK = 0xFFFFFFFF
_GOLDEN = 0x9E3779B1


def _fmix32(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    return h ^ (h >> 16)


def flow_hash(
    src_words: tuple[int, int, int, int],
    dst_words: tuple[int, int, int, int],
    sport: int,
    dport: int,
    proto: int,
) -> int:
    """The kernel's flow hash (tc_ids.bpf.c ``flow_hash``): equal for both directions of a flow."""
    h = proto
    for s, d in zip(src_words, dst_words, strict=True):
        h = ((h ^ (s ^ d)) * _GOLDEN) & _MASK
    lo, hi = min(sport, dport), max(sport, dport)
    h = ((h ^ ((hi << 16) | lo)) * _GOLDEN) & _MASK
    return _fmix32(h)


@dataclass(frozen=True, slots=True)
class IdsRecord:
    """One decoded tc_ids event: headers as the kernel saw them plus the captured payload."""

    timestamp_ns: int
    src_addr: tuple[int, int, int, int]
    dst_addr: tuple[int, int, int, int]
    src_port: int
    dst_port: int
    protocol: int
    direction: int
    flags: int
    tcp_flags: int
    ifindex: int
    payload_len: int
    flow_hash: int
    vlan_id: int
    payload: bytes

    @property
    def is_ipv6(self) -> bool:
        return bool(self.flags & IDS_F_IPV6)

    @property
    def truncated(self) -> bool:
        return len(self.payload) < self.payload_len


@dataclass(frozen=True, slots=True)
class DlpRecord:
    """One decoded uprobe_dlp event."""

    timestamp_ns: int
    pid: int
    tgid: int
    cgroup_id: int
    data_len: int
    direction: int
    flags: int
    uid: int
    comm: str
    data: bytes

    @property
    def truncated(self) -> bool:
        return len(self.data) < self.data_len


@dataclass(slots=True)
class PayloadDecodeStats:
    """Records skipped by reason; decoding never raises."""

    decoded: int = 0
    too_short: int = 0  # shorter than the header
    bad_length: int = 0  # captured_len disagrees with the record's length
    bad_field: int = 0  # a field out of its range (direction, captured > original …)

    def as_dict(self) -> dict[str, int]:
        return {
            "decoded": self.decoded,
            "too_short": self.too_short,
            "bad_length": self.bad_length,
            "bad_field": self.bad_field,
        }


def decode_ids_records(records: list[bytes], stats: PayloadDecodeStats) -> list[IdsRecord]:
    """Decode a batch of tc_ids records; malformed ones are counted in ``stats`` and skipped."""
    out: list[IdsRecord] = []
    size = IDS_EVENT.size
    for record in records:
        if len(record) < size:
            stats.too_short += 1
            continue
        (ts, s0, s1, s2, s3, d0, d1, d2, d3, sport, dport, proto, direction, flags, tcp_flags, ifindex,
         payload_len, hash_, captured, vlan) = IDS_EVENT.unpack_from(record)  # fmt: skip
        if len(record) - size != captured:
            stats.bad_length += 1
            continue
        if direction not in (IDS_INGRESS, IDS_EGRESS) or captured > payload_len or captured > IDS_CAPTURE_MAX:
            stats.bad_field += 1
            continue
        out.append(
            IdsRecord(
                ts, (s0, s1, s2, s3), (d0, d1, d2, d3), sport, dport, proto, direction, flags, tcp_flags,
                ifindex, payload_len, hash_, vlan, record[size:],
            )
        )  # fmt: skip
    stats.decoded += len(out)
    return out


def decode_dlp_records(records: list[bytes], stats: PayloadDecodeStats) -> list[DlpRecord]:
    """Decode a batch of uprobe_dlp records; malformed ones are counted in ``stats`` and skipped."""
    out: list[DlpRecord] = []
    size = DLP_EVENT.size
    for record in records:
        if len(record) < size:
            stats.too_short += 1
            continue
        ts, pid, tgid, cgroup, data_len, captured, direction, flags, _pad, uid, comm = DLP_EVENT.unpack_from(
            record
        )
        if len(record) - size != captured:
            stats.bad_length += 1
            continue
        if direction not in (DLP_WRITE, DLP_READ) or captured > data_len or captured > DLP_CAPTURE_MAX:
            stats.bad_field += 1
            continue
        name = comm.split(b"\0", 1)[0].decode("utf-8", "replace")
        out.append(DlpRecord(ts, pid, tgid, cgroup, data_len, direction, flags, uid, name, record[size:]))
    stats.decoded += len(out)
    return out
