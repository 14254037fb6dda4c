"""BpfIocMap: the IocMap port on tc_threatintel's maps.

Reload scheme (no packet ever sees a half-loaded set). The attached object holds, per family,
an ARRAY_OF_MAPS of two generations (a bloom filter and an exact hash each) and ``ti_config``
whose ``generation`` the program reads once per packet. A load:

1. loads a fresh copy of the same object with only ``ti_build_blooms`` enabled — a factory of
   empty maps of exactly the right definitions (bloom filters cannot delete, so every set gets
   new ones); leaving the packet program out spares its ~0.3 s verification;
2. fills the fresh hashes with ``bpf_map_update_batch`` and test-runs the fresh copy's
   ``ti_build_blooms`` once, which pushes every hash key into its family's bloom in-kernel (the
   kernel refuses batch updates on bloom filters, -ENOTSUPP; per-element updates from Python
   cost 3-13 µs each, several times the whole in-kernel build: bench/bench_ioc_load.py);
3. slots the four fresh maps into the spare generation, then flips ``ti_config.generation``
   with one 8-byte array write.

The previous set stays in its slot (referenced by the kernel) until the next load replaces it,
so a packet that read the old generation just before the flip finishes on intact maps.

What is enforced is the port's rule (sentinel_ports.ioc_map): live hosts, and CIDRs of at most
256 addresses expanded to their addresses; broad CIDRs, domains and URLs stay in userspace.
Values are ``struct sentinel_ti_value``: the feed id becomes a u16 index into :attr:`feeds`.
Indexes are never reused for another feed, so an event emitted under the previous set still
names the right feed after a load.
One BpfIocMap per attached object; its methods are not thread-safe.
"""

import ipaddress
import socket
import struct
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sentinel_adapters.ebpf import _libbpf as bpf
from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.errors import BpfError
from sentinel_adapters.ebpf.frames import build_frame
from sentinel_adapters.ebpf.loader import BpfObject, object_path
from sentinel_adapters.ebpf.maps import BpfMap
from sentinel_adapters.ebpf.prog_run import prog_test_run
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_domain.common import IpAddress, PacketHeader, address_from_words
from sentinel_domain.threatintel import Ioc, IocAction, IocBatch, IocKind, ThreatType
from sentinel_ports.ioc_map import MAX_EXPANDED_PREFIX_ADDRESSES, IocHit, IocLoadReport, IocMap, IocVerdict

PROGRAM = "tc_threatintel"
BUILD_BLOOMS = "ti_build_blooms"
MAX_IOCS = 1_048_576  # SENTINEL_TI_MAX_IOCS: per family and generation
MAX_FEEDS = 65_536  # feed_id is a u16
TC_ACT_SHOT = 2
TC_ACT_UNSPEC = 0xFFFFFFFF  # -1 as the u32 test runs report
FLAG_BY_DST, FLAG_SRC_HIT, FLAG_DST_HIT = 0x08, 0x40, 0x80  # enum sentinel_ti_flag
EVENT_THREATINTEL = 5
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
VALUE = struct.Struct("<HBBB3x")  # struct sentinel_ti_value
CONFIG = struct.Struct("<IB3x")  # struct sentinel_ti_config
VALUE_FIELDS: dict[str, tuple[int, str]] = {
    "feed_id": (0, "H"),
    "action": (2, "B"),
    "confidence": (3, "B"),
    "threat_type": (4, "B"),
    "_pad": (5, "3s"),
}
CONFIG_FIELDS: dict[str, tuple[int, str]] = {"generation": (0, "I"), "enabled": (4, "B"), "_pad": (5, "3s")}
TI_COUNTERS = (
    "matched",
    "dropped",
    "errors",
    "events_dropped",
    "seen",
    "events_emitted",
    "events_skipped",
    "reserve_failed",
    "bloom_false_positives",
    "with_meta",
)
# generation outer map -> the factory map that fills it
_SLOTS = {
    "ti_bloom_v4": "ti_set_bloom_v4",
    "ti_bloom_v6": "ti_set_bloom_v6",
    "ti_iocs_v4": "ti_set_iocs_v4",
    "ti_iocs_v6": "ti_set_iocs_v6",
}
_NEVER = float("inf")
_ANY_FRAME = bytes(60)


# What the kernel keeps of an IOC, ordered so that entry[:3] is IocDatabase's merge rank for two
# IOCs of one indicator (confidence, then block over alert, then the later expiry):
# (confidence, action, expiry or +inf, feed id, threat type).
Entry = tuple[int, int, float, str, int]


@dataclass(slots=True)
class IocSetPlan:
    """The kernel set for one load: key bytes -> Entry per family, and what was left out."""

    v4: dict[bytes, Entry] = field(default_factory=dict)
    v6: dict[bytes, Entry] = field(default_factory=dict)
    expanded_cidrs: int = 0
    broad_cidrs: int = 0
    not_addresses: int = 0
    expired: int = 0
    over_capacity: int = 0
    invalid: int = 0


def _rows(iocs: Iterable[Ioc]) -> Iterator[tuple[bool, str, Entry]]:
    """(is an IP IOC, value, entry) per IOC. A parsed feed (IocBatch) is read from its columns:
    building 100k ``Ioc`` objects would cost more than the rest of the load."""
    if isinstance(iocs, IocBatch):
        values, codes, confidences, threats, expiries = iocs.columns()
        action, feed = int(iocs.action), iocs.feed_id
        is_ip: dict[int, bool] = {}
        for i, (value, code, conf, threat, exp) in enumerate(
            zip(values, codes, confidences, threats, expiries, strict=True)
        ):
            ip = is_ip.get(code)
            if ip is None:  # the batch's kind codes, learned through its public items
                ip = is_ip[code] = iocs[i].kind is IocKind.IP
            yield ip, value, (conf, action, _NEVER if exp is None else exp, feed, threat)
        return
    for ioc in iocs:
        exp = ioc.expires_at
        entry = (
            ioc.confidence,
            int(ioc.action),
            _NEVER if exp is None else exp,
            ioc.feed_id,
            int(ioc.threat_type),
        )
        yield ioc.kind is IocKind.IP, ioc.value, entry


def plan_ioc_set(iocs: Iterable[Ioc], now: float, capacity: int = MAX_IOCS) -> IocSetPlan:
    """Which address gets which IOC (the port's rules), without touching the kernel.

    Hosts are placed in input order (a full family refuses new addresses, upgrades still
    apply), then the CIDRs' addresses, most specific first. An address covered several times
    keeps IocDatabase's best: higher confidence, then the longer prefix, then block.
    """
    plan = IocSetPlan()
    v4, v6 = plan.v4, plan.v6
    nets: dict[tuple[int, int, int], tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Entry]] = {}
    pton, af4, af6 = socket.inet_pton, socket.AF_INET, socket.AF_INET6
    for ip, value, entry in _rows(iocs):  # locals only: this loop is most of a 100k-IOC load
        if not ip:
            plan.not_addresses += 1
            continue
        if entry[2] <= now:
            plan.expired += 1
            continue
        try:
            if "/" not in value:  # inet_pton is strict (no shorthand, no leading zeros)
                family, key = (v6, pton(af6, value)) if ":" in value else (v4, pton(af4, value))
            else:
                net = ipaddress.ip_network(value, strict=False)
                if net.num_addresses > MAX_EXPANDED_PREFIX_ADDRESSES:
                    plan.broad_cidrs += 1
                    continue
                if net.num_addresses > 1:
                    plan.expanded_cidrs += 1
                    nkey = (net.version, net.prefixlen, int(net.network_address))
                    held_net = nets.get(nkey)
                    if held_net is None or entry[:3] > held_net[1][:3]:
                        nets[nkey] = (net, entry)
                    continue
                family, key = (v4 if net.version == 4 else v6), net.network_address.packed
        except (OSError, ValueError):
            plan.invalid += 1
            continue
        held = family.get(key)
        if held is None:
            if len(family) < capacity:
                family[key] = entry
            else:
                plan.over_capacity += 1
        elif entry[:3] > held[:3]:
            family[key] = entry
    for (version, _plen, _), (net, entry) in sorted(nets.items(), key=lambda kv: -kv[0][1]):
        family = v4 if version == 4 else v6
        for address in net:
            key = address.packed
            held = family.get(key)
            if held is None:
                if len(family) < capacity:
                    family[key] = entry
                else:
                    plan.over_capacity += 1
            elif entry[0] > held[0]:
                # what is held is more specific (two prefixes of one length never overlap), so
                # only a higher confidence beats it
                family[key] = entry
    return plan


class _Stopwatch:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self._last
        self._last = now


class _IocSetFactory(BpfObject):
    """A copy of tc_threatintel loaded for its maps: the packet program is not loaded."""

    def __init__(self) -> None:
        self.path = object_path(PROGRAM)
        handle = bpf.check_ptr(bpf.lib.bpf_object__open_file(str(self.path).encode(), None), "open")
        prog = bpf.lib.bpf_object__find_program_by_name(handle, PROGRAM.encode())
        bpf.lib.bpf_program__set_autoload(prog, False)
        with bpf.capture_libbpf_output() as log:
            rc = bpf.lib.bpf_object__load(handle)
        if rc < 0:
            bpf.lib.bpf_object__close(handle)
            raise BpfError(-rc, f"bpf_object__load({self.path.name}, maps only)", "\n".join(log))
        self._obj = handle
        self._maps = {}


class BpfIocMap(IocMap):
    """Loads IOC sets into a loaded ``tc_threatintel`` object (see the module docstring)."""

    def __init__(self, obj: BpfObject, capacity: int = MAX_IOCS) -> None:
        if not 0 < capacity <= MAX_IOCS:
            raise ValueError(f"capacity {capacity} out of range 1-{MAX_IOCS}")
        self._obj = obj
        self._owns_object = False
        self._capacity = capacity
        self._live: _IocSetFactory | None = None  # the factory copy holding the live set (None: obj's own)
        self._generation = 0
        self._feed_index: dict[str, int] = {}  # append-only: an index always means one feed
        self._reader: RingBufferReader | None = None
        self.last_load_timings: dict[str, float] = {}
        self._install(obj, 0)  # generation 0: the object's own (empty) set
        self.set_enabled(True)

    @classmethod
    def standalone(cls, capacity: int = MAX_IOCS) -> "BpfIocMap":
        """Load a private copy of the program (nothing attached); ``close`` releases it."""
        instance = cls(BpfObject.load_bundled(PROGRAM), capacity)
        instance._owns_object = True
        return instance

    @property
    def prog_fd(self) -> int:
        return self._obj.program_fd(PROGRAM)

    @property
    def ring(self) -> BpfMap:
        """The ``ti_events`` ring of PacketEvents (event_type 5) that an event source reads."""
        return self._obj.map("ti_events")

    @property
    def feeds(self) -> tuple[str, ...]:
        """Feed ids by kernel feed index (PacketEvent.rule_id of threat-intel events)."""
        return tuple(self._feed_index)

    def feed_id(self, index: int) -> str:
        """The feed id of a kernel feed index (``feed-<n>`` if unknown)."""
        feeds = self.feeds
        return feeds[index] if index < len(feeds) else f"feed-{index}"

    def set_enabled(self, enabled: bool) -> None:
        """Enabled: IOCs are enforced. Disabled: every packet passes untouched."""
        self._enabled = enabled
        self._obj.map("ti_config").update(_U32.pack(0), CONFIG.pack(self._generation, int(enabled)))

    def live_maps(self) -> dict[str, BpfMap]:
        """The live generation's maps by their factory name (``ti_set_bloom_v4`` …), for diagnostics."""
        source = self._live or self._obj
        return {name: source.map(name) for name in _SLOTS.values()}

    def load(self, iocs: Iterable[Ioc], now: float) -> IocLoadReport:
        """Replace the enforced set (the scheme in the module docstring); ``last_load_timings``
        then holds the seconds each step took."""
        clock = _Stopwatch()
        plan = plan_ioc_set(iocs, now, self._capacity)
        clock.lap("plan")
        used: set[str] = set()
        fresh = _IocSetFactory()
        clock.lap("factory")
        try:
            for name, family in (("ti_set_iocs_v4", plan.v4), ("ti_set_iocs_v6", plan.v6)):
                if family:
                    fresh.map(name).update_batch(list(family), self._encode(family.values(), used))
            clock.lap("hashes")
            pushed = prog_test_run(fresh.program_fd(BUILD_BLOOMS), _ANY_FRAME).retval
            if pushed != len(plan.v4) + len(plan.v6):
                raise BpfError(5, f"{BUILD_BLOOMS}: pushed {pushed} of {len(plan.v4) + len(plan.v6)} keys")
            clock.lap("blooms")
            spare = 1 - self._generation
            self._install(fresh, spare)
        except BaseException:
            fresh.close()
            raise
        self._generation = spare
        self._obj.map("ti_config").update(_U32.pack(0), CONFIG.pack(spare, int(self._enabled)))
        if self._live is not None:
            self._live.close()  # its maps live on in the old slot until the next load
        self._live = fresh
        clock.lap("switch")
        self.last_load_timings = clock.laps
        return IocLoadReport(
            addresses=len(plan.v4) + len(plan.v6),
            expanded_cidrs=plan.expanded_cidrs,
            broad_cidrs=plan.broad_cidrs,
            not_addresses=plan.not_addresses,
            expired=plan.expired,
            over_capacity=plan.over_capacity,
            invalid=plan.invalid,
            feeds=tuple(f for f in self._feed_index if f in used),
        )

    def _install(self, source: BpfObject, generation: int) -> None:
        # each slot write waits for an RCU grace period: no program still uses what it replaced
        for outer, inner in _SLOTS.items():
            self._obj.map(outer).update(_U32.pack(generation), _I32.pack(source.map(inner).fd))

    def _encode(self, entries: Iterable[Entry], used: set[str]) -> list[bytes]:
        """``struct sentinel_ti_value`` per entry; most entries share a few distinct values."""
        encoded: dict[Entry, bytes] = {}
        out = []
        for entry in entries:
            value = encoded.get(entry)
            if value is None:
                conf, action, _exp, feed, threat = entry
                index = self._feed_index.get(feed)
                if index is None:
                    if len(self._feed_index) >= MAX_FEEDS:
                        raise ValueError(f"more than {MAX_FEEDS} feeds: feed_id is a u16")
                    index = self._feed_index[feed] = len(self._feed_index)
                used.add(feed)
                value = encoded[entry] = VALUE.pack(index, action, conf, threat)
            out.append(value)
        return out

    def lookup(self, address: IpAddress) -> IocHit | None:
        name = "ti_set_iocs_v4" if address.version == 4 else "ti_set_iocs_v6"
        raw = self.live_maps()[name].lookup(address.packed)  # keys are the wire bytes
        if raw is None:
            return None
        feed, action, confidence, threat = VALUE.unpack(raw)
        return IocHit(address, IocAction(action), self.feed_id(feed), confidence, ThreatType(threat))

    def check(self, packet: PacketHeader) -> IocVerdict:
        """Run ``packet`` through the real program (BPF_PROG_TEST_RUN) and read the event it emits.

        Diagnostic: this reads the program's ring, so do not call it while an event source
        consumes the same ring.
        """
        if self._reader is None:
            self._reader = RingBufferReader(self.ring.fd, self.ring.max_entries)
        self._reader.read_batch()  # events of earlier packets are not this packet's
        result = prog_test_run(self.prog_fd, build_frame(packet))
        events = codec.decode_packet_events(self._reader.read_batch(), codec.DecodeStats())
        if not events:
            if result.retval != TC_ACT_UNSPEC:
                raise RuntimeError(f"{PROGRAM} returned {result.retval} without an event")
            return IocVerdict()
        event = events[-1]
        by_dst = bool(event.flags & FLAG_BY_DST)
        address = address_from_words(event.dst_addr if by_dst else event.src_addr, event.is_ipv6)
        entry = self.lookup(address)
        action = IocAction.BLOCK if event.action == codec.ACTION_DROP else IocAction.ALERT
        if (result.retval == TC_ACT_SHOT) != (action is IocAction.BLOCK):
            raise RuntimeError(f"{PROGRAM} returned {result.retval} for an event with action {event.action}")
        hit = IocHit(
            address,
            action,
            self.feed_id(event.rule_id),
            entry.confidence if entry else 0,
            entry.threat_type if entry else ThreatType.OTHER,
        )
        return IocVerdict(hit, bool(event.flags & FLAG_SRC_HIT), bool(event.flags & FLAG_DST_HIT))

    def counters(self) -> dict[str, int]:
        metrics = self._obj.map("ti_metrics")
        return {
            name: codec.sum_per_cpu_u64(metrics.per_cpu_values(_U32.pack(slot)))
            for slot, name in enumerate(TI_COUNTERS)
        }

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._live is not None:
            self._live.close()
            self._live = None
        if self._owns_object:
            self._obj.close()
