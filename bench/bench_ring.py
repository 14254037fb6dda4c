"""Event pipeline throughput: drain + decode of xdp_firewall's ring, Python paths vs a C consumer.

The kernel produces the events: xdp_firewall with one ``log`` rule is test-run ``--batch`` times
on a frame that rule matches (one 56-byte PacketEvent per run). The ring is 1 MiB and the program
skips events above 75 % fill, so rounds stay below that (12,000 events = 750 KiB) and each
consumer drains the ring completely between rounds; only the drain is timed. Per consumer and
trial: ``--rounds`` rounds (default 20); events/s = events / summed drain time; median, min and max over
``--trials`` trials, consumers interleaved. Consumers, all pinned to the same CPU:

- python fast path: ``RingBufferReader.read_fixed`` + ``codec.decode_packet_batch`` + a per-action
  counter incremented in a Python loop over the decoded events (the agent's decode path; the
  target row);
- python general path: ``RingBufferReader.read_batch`` + ``codec.decode_packet_events`` + the same
  counter (the variable-size rings' path, and the packet rings' path before the fast one);
- python event source: ``BpfFirewallEventSource.read`` (fast path + the domain ``FirewallEvent``);
- libbpf + ctypes callback: ``ring_buffer__consume`` calling Python per event (unpack into the
  same ``PacketEvent`` + counter);
- C libbpf (``bench/c/ring_consumer.c``, gcc -O2): ``ring_buffer__consume`` with a C callback that
  checks the size and counts per action, in a child process that inherits the ring's fd.

No loss is checked: every consumer must see every event, the program's skipped/failed event
counters must stay 0, and the Python decoders' books must balance (consumed = decoded, nothing
counted as wrong size, unknown type or discarded). Also printed: the in-kernel cost of producing
an event (log rule vs allow).

Run as root: ``.venv/bin/python bench/bench_ring.py [--trials 5] [--rounds 50]``.
"""

import argparse
import contextlib
import ctypes
import mmap
import struct
import subprocess
import time
from collections.abc import Callable

import _common as bc
from sentinel_adapters.ebpf import _libbpf, codec
from sentinel_adapters.ebpf.event_source import BpfFirewallEventSource
from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.prog_run import XDP_PASS, prog_test_run
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_domain.firewall import FirewallMode, FirewallPolicy, FirewallRule

RING_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_lib = _libbpf.lib
for _name, _restype, _argtypes in (
    ("ring_buffer__new", ctypes.c_void_p, [ctypes.c_int, RING_CALLBACK, ctypes.c_void_p, ctypes.c_void_p]),
    ("ring_buffer__consume", ctypes.c_int, [ctypes.c_void_p]),
    ("ring_buffer__free", None, [ctypes.c_void_p]),
):
    getattr(_lib, _name).restype = _restype
    getattr(_lib, _name).argtypes = _argtypes

Drain = Callable[[], tuple[int, int]]  # -> (events consumed, ns spent)
FAST_PATH = "python fast path: drain + decode + per-action counters"


def balanced(stats: codec.DecodeStats, reader: RingBufferReader, read_before: int, decoded: int) -> None:
    """The books of a Python consumer's drain: every record read was decoded, none discarded."""
    if stats.wrong_size or stats.unknown_type or reader.records_discarded:
        raise RuntimeError(f"records lost in decoding: {stats}, {reader.records_discarded} discarded")
    if reader.records_read - read_before != decoded:
        raise RuntimeError(f"{reader.records_read - read_before} records read, {decoded} decoded")


def python_fast_path(reader: RingBufferReader) -> Drain:
    stats, by_action = codec.DecodeStats(), [0, 0, 0, 0]
    size, action = codec.PACKET_EVENT.size, codec.ROW_ACTION

    def drain() -> tuple[int, int]:
        read_before = reader.records_read
        start = time.perf_counter_ns()
        events = codec.decode_packet_batch(reader.read_fixed(size), stats)
        for event in events:
            by_action[event[action] & 3] += 1
        elapsed = time.perf_counter_ns() - start
        balanced(stats, reader, read_before, len(events))
        return len(events), elapsed

    return drain


def python_general_path(reader: RingBufferReader) -> Drain:
    stats, by_action = codec.DecodeStats(), [0, 0, 0, 0]

    def drain() -> tuple[int, int]:
        read_before = reader.records_read
        start = time.perf_counter_ns()
        events = codec.decode_packet_events(reader.read_batch(), stats)
        for event in events:
            by_action[event.action & 3] += 1
        elapsed = time.perf_counter_ns() - start
        balanced(stats, reader, read_before, len(events))
        return len(events), elapsed

    return drain


def python_read_only(reader: RingBufferReader) -> Drain:
    def drain() -> tuple[int, int]:
        start = time.perf_counter_ns()
        count = len(reader.read_batch())
        return count, time.perf_counter_ns() - start

    return drain


def python_tuples(reader: RingBufferReader) -> Drain:
    by_action = [0, 0, 0, 0]

    def drain() -> tuple[int, int]:
        start = time.perf_counter_ns()
        records = [r for r in reader.read_batch() if len(r) == codec.PACKET_EVENT.size]
        for v in codec.PACKET_EVENT.iter_unpack(b"".join(records)):
            by_action[v[13] & 3] += 1
        return len(records), time.perf_counter_ns() - start

    return drain


class StrideReader:
    """A sketch of a batch decoder that does not copy records: one ``iter_unpack`` over the
    mmapped ring with an 8-byte header + 56-byte event stride (records are 64 bytes, 8-aligned,
    and the data area is mapped twice, so a run of records never wraps). It stops at the first
    record that is busy, discarded or of another size; a real one would then fall back to the
    record-by-record path."""

    RECORD = struct.Struct("<II" + codec.PACKET_EVENT.format.lstrip("<"))

    def __init__(self, map_fd: int, size: int) -> None:
        page = mmap.PAGESIZE
        self._mask = size - 1
        self._consumer = mmap.mmap(map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self._producer = mmap.mmap(map_fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        self._data = memoryview(self._producer)[page:]
        self.by_action = [0, 0, 0, 0]

    def drain(self) -> tuple[int, int]:
        start = time.perf_counter_ns()
        consumer = int.from_bytes(self._consumer[:8], "little")
        producer = int.from_bytes(self._producer[:8], "little")
        offset = consumer & self._mask
        block = self._data[offset : offset + (producer - consumer) // 64 * 64]
        count, by_action = 0, self.by_action
        for v in self.RECORD.iter_unpack(block):
            if v[0] != codec.PACKET_EVENT.size:  # busy/discard bits or another size: stop here
                break
            by_action[v[15] & 3] += 1
            count += 1
        block.release()
        self._consumer[:8] = (consumer + count * 64).to_bytes(8, "little")
        return count, time.perf_counter_ns() - start

    def close(self) -> None:
        self._data.release()
        self._producer.close()
        self._consumer.close()


def python_event_source(source: BpfFirewallEventSource) -> Drain:
    def drain() -> tuple[int, int]:
        start = time.perf_counter_ns()
        events = source.read(0)
        elapsed = time.perf_counter_ns() - start
        books = source.stats()
        if books["consumed"] != books["decoded"] or any(e.rule_id != "log-all" for e in events):
            raise RuntimeError(f"event source books: {books}")
        return len(events), elapsed

    return drain


def libbpf_ctypes(ring_fd: int, stack: contextlib.ExitStack) -> Drain:
    by_action = [0, 0, 0, 0]
    event, size = codec.PACKET_EVENT, codec.PACKET_EVENT.size

    def on_event(_ctx: int, data: int, length: int) -> int:
        if length == size:
            v = event.unpack(ctypes.string_at(data, size))
            decoded = codec.PacketEvent(v[0], v[1:5], v[5:9], *v[9:])
            by_action[decoded.action & 3] += 1
        return 0

    callback = RING_CALLBACK(on_event)  # kept alive by the closure below
    rb = _libbpf.check_ptr(_lib.ring_buffer__new(ring_fd, callback, None, None), "ring_buffer__new")
    stack.callback(_lib.ring_buffer__free, rb)

    def drain() -> tuple[int, int]:
        start = time.perf_counter_ns()
        count = _libbpf.check(_lib.ring_buffer__consume(rb), "ring_buffer__consume")
        elapsed = time.perf_counter_ns() - start
        assert callback is not None
        return count, elapsed

    return drain


def c_consumer(ring_fd: int, cpu: int, stack: contextlib.ExitStack) -> Drain:
    exe = bc.build_c("ring_consumer")
    child = subprocess.Popen(
        ["taskset", "-c", str(cpu), str(exe), str(ring_fd)],
        pass_fds=(ring_fd,),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    stack.callback(child.wait, 10)
    stack.callback(child.stdin.close)  # type: ignore[union-attr]

    def drain() -> tuple[int, int]:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        count, ns, bad = (int(x) for x in child.stdout.readline().split())
        if bad:
            raise RuntimeError(f"the C consumer saw {bad} malformed records")
        return count, ns

    return drain


def log_frame() -> tuple[FirewallRule, bytes]:
    rule = FirewallRule.from_dict(
        {"id": "log-all", "priority": 1, "action": "log", "src_ip": "198.18.0.0/15"}
    )
    return rule, bc.udp_frame("198.18.0.9", "198.18.1.1", 40000, 53)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=12_000, help="events per round (< 75 %% of the ring)")
    args = parser.parse_args()
    cpu = bc.bench_cpu()
    bc.pin_thread(cpu)
    print(f"# bench_ring: {bc.machine()}, {args.rounds} x {args.batch:,} events per consumer per trial")
    print(f"# python calibration: {bc.python_loop_ns():.0f} ns per `total += i` loop iteration")
    with contextlib.ExitStack() as stack:
        obj = stack.enter_context(BpfObject.load_bundled("xdp_firewall"))
        fw = BpfFirewallMap(obj)
        rule, frame = log_frame()
        fw.apply(FirewallPolicy.build([rule], FirewallMode.BLOCK))
        ring = obj.map("fw_events")
        if args.batch * (codec.PACKET_EVENT.size + 8) > ring.max_entries * 3 // 4:
            raise SystemExit(f"--batch {args.batch} would cross the ring's 75 % backpressure threshold")
        reader = RingBufferReader(ring.fd, ring.max_entries)
        stack.callback(reader.close)
        source = BpfFirewallEventSource(obj, fw.rule_id_at)
        stack.callback(source.close)
        stride = StrideReader(ring.fd, ring.max_entries)
        stack.callback(stride.close)
        consumers: dict[str, Drain] = {
            "C libbpf ring_buffer__consume (gcc -O2)": c_consumer(ring.fd, cpu, stack),
            FAST_PATH: python_fast_path(reader),
            "python general path: read_batch + decode_packet_events + counters": python_general_path(reader),
            "python BpfFirewallEventSource.read (fast path, domain events)": python_event_source(source),
            "libbpf ring_buffer__consume + ctypes callback": libbpf_ctypes(ring.fd, stack),
            "(diagnostic) python read_batch only, no decode": python_read_only(reader),
            "(diagnostic) read_batch + iter_unpack tuples + counters": python_tuples(reader),
            "(sketch) stride iter_unpack over the mmap, no copies": stride.drain,
        }
        rates: dict[str, list[float]] = {name: [] for name in consumers}
        produce_ns: list[float] = []
        produced = 0
        for _ in range(args.trials):
            for name, drain in consumers.items():
                events = spent = 0
                for _ in range(args.rounds):
                    result = prog_test_run(fw.prog_fd, frame, repeat=args.batch)
                    if result.retval != XDP_PASS:
                        raise RuntimeError(f"the log rule gave verdict {result.retval}")
                    produce_ns.append(result.duration_ns)
                    produced += args.batch
                    count, ns = drain()
                    if count != args.batch:
                        raise RuntimeError(f"{name}: {count} events drained, {args.batch} produced")
                    events, spent = events + count, spent + ns
                rates[name].append(events / spent * 1e9)
        counters = fw.counters()
        if counters["events_emitted"] != produced or counters["events_dropped"]:
            raise RuntimeError(f"events lost: produced {produced:,}, counters {counters}")
        report(rates, produce_ns, fw, frame, args.batch)


def report(
    rates: dict[str, list[float]], produce_ns: list[float], fw: BpfFirewallMap, frame: bytes, batch: int
) -> None:
    c_rate = bc.summarize(next(iter(rates.values())))
    rows = []
    for name, samples in rates.items():
        rate = bc.summarize(samples)
        target = ">= 1.00 M/s" if name == FAST_PATH else ""
        rows.append(
            (
                name,
                f"{rate.median / 1e6:.2f} ({rate.low / 1e6:.2f}-{rate.high / 1e6:.2f})",
                f"{1e9 / rate.median:.0f}",
                f"{rate.ratio(c_rate):.3f}x",
                target,
            )
        )
    headers = ("consumer (one CPU)", "M events/s (min-max)", "ns/event", "/C", "target")
    bc.print_table("Ring drain + decode, no loss", headers, rows)
    allow = FirewallRule.from_dict(
        {"id": "allow-all", "priority": 1, "action": "allow", "src_ip": "198.18.0.0/15"}
    )
    fw.apply(FirewallPolicy.build([allow], FirewallMode.BLOCK))
    quiet = bc.summarize([prog_test_run(fw.prog_fd, frame, repeat=batch).duration_ns for _ in range(9)])
    logged = bc.summarize(produce_ns)
    producer_rows = [
        (
            "log rule: event reserved, filled, submitted",
            f"{logged.median:.0f} ({logged.low:.0f}-{logged.high:.0f})",
        ),
        ("allow rule: no event", f"{quiet.median:.0f} ({quiet.low:.0f}-{quiet.high:.0f})"),
        ("in-kernel cost of one event", f"{logged.median - quiet.median:.0f}"),
    ]
    bc.print_table(
        "Producer side: xdp_firewall ns/packet (test run)", ("case", "ns (min-max)"), producer_rows
    )


if __name__ == "__main__":
    main()
