"""Drop rate under a flood: xdp_firewall vs xdp-filter vs a bare XDP_DROP, on veth, same run.

Topology, one lab (``VethLab``: a namespace of ours joined to the root namespace by a veth pair)
per receiving program::

    generator (BPF_PROG_TEST_RUN, BPF_F_TEST_XDP_LIVE_FRAMES, batch 64, this process, one CPU)
      -> bpf_redirect_map(DEVMAP slot 0 = lab.host_if)   root namespace
      -> veth -> lab.peer_if, native XDP: the receiver   lab namespace

On veth the receiver runs in the sender's softirq, so generator and receiver share the pinned
CPU: each figure is "frames generated and dropped per second on one core". Each receiver counts
its drops in its own per-CPU counters, read before and after a window of ``--window`` seconds; the
receivers take turns inside each of ``--trials`` rounds so they share the machine's noise.
Median, min and max over the rounds; ratios to xdp-filter (target >= 0.9x) and to XDP_DROP.

Receivers: a counting XDP_DROP (the ceiling); xdp_firewall with one deny rule; xdp_firewall with
1,024 rules (the deny rule last); the same one-rule firewall while a Python thread on the other
CPU drains its event ring (so every drop emits an event); xdp-filter (default allow) holding the
equivalent 1,024 entries. Without a consumer the firewall's ring sits at 75 % and each drop only
counts a skipped event. ``prog_run.prog_test_run`` has no flags/batch_size, so the live-frames
call is made here on the project's ctypes binding.

Run as root: ``.venv/bin/python bench/bench_xdp_flood.py [--trials 5] [--window 1.0]``.
"""

import argparse
import contextlib
import ctypes
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import _common as bc
from sentinel_adapters.ebpf import _libbpf, codec
from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.ringbuf import RingBufferReader
from sentinel_agent.lab import VethLab
from sentinel_domain.firewall import FirewallMode, FirewallPolicy, FirewallRule

BPF_F_TEST_XDP_LIVE_FRAMES = 2
_U32 = struct.Struct("<I")
XDP_FILTER = "xdp-filter, 1,024 entries"


class LiveFrames:
    """One prepared live-frames test run: ``run()`` sends ``repeat`` copies of ``frame``."""

    def __init__(self, prog_fd: int, frame: bytes, repeat: int, batch_size: int) -> None:
        self.prog_fd, self.repeat = prog_fd, repeat
        self._data = ctypes.create_string_buffer(frame, len(frame))
        self._opts = _libbpf.bpf_test_run_opts(
            sz=ctypes.sizeof(_libbpf.bpf_test_run_opts),
            data_in=ctypes.cast(self._data, ctypes.c_void_p),
            data_size_in=len(frame),
            repeat=repeat,
            flags=BPF_F_TEST_XDP_LIVE_FRAMES,
            batch_size=batch_size,
        )

    def run(self) -> None:
        rc = _libbpf.lib.bpf_prog_test_run_opts(self.prog_fd, ctypes.byref(self._opts))
        _libbpf.check(rc, "bpf_prog_test_run_opts(LIVE_FRAMES)")


@dataclass
class Receiver:
    name: str
    lab: VethLab
    dropped: Callable[[], int]
    ring: RingBufferReader | None = None  # drained by a thread on the other CPU when set
    rates: list[float] = field(default_factory=list)
    decoded: list[float] = field(default_factory=list)
    delivered: list[float] = field(default_factory=list)


def attach_by_id(lab: VethLab, prog_fd: int) -> None:
    """Attach a loaded program natively to the lab's namespace end (bpftool, inside the netns)."""
    prog_id = str(bc.program_facts(prog_fd).prog_id)
    bc.in_netns(lab.netns, "bpftool", "net", "attach", "xdpdrv", "id", prog_id, "dev", lab.peer_if)


def per_cpu_counter(obj: BpfObject, name: str, slot: int) -> Callable[[], int]:
    """Reads slot ``slot`` of the per-CPU array ``name``, summed over CPUs."""
    counters = obj.map(name)
    return lambda: codec.sum_per_cpu_u64(counters.per_cpu_values(_U32.pack(slot)))


def drain(ring: RingBufferReader, stop: threading.Event, cpu: int, counted: list[int]) -> None:
    """Consume and decode events until ``stop``; the decoded count lands in ``counted[0]``."""
    bc.pin_thread(cpu)
    stats = codec.DecodeStats()
    while not stop.is_set():
        if ring.wait(0.05):
            codec.decode_packet_events(ring.read_batch(), stats)
    counted[0] = stats.decoded


def flood(gen: LiveFrames, devmap: Callable[[int], None], rx: Receiver, seconds: float) -> None:
    """Flood ``rx`` for ``seconds``; appends drops/s, events decoded/s and dropped/sent to it."""
    devmap(socket.if_nametoindex(rx.lab.host_if))
    gen.run()  # warm-up: caches, page pool, NAPI
    stop, counted = threading.Event(), [0]
    thread = None
    if rx.ring is not None:
        rx.ring.read_batch()  # start from an empty ring: every drop can emit its event
        other_cpu = min(c for c in range(1024) if c != bc.bench_cpu())
        thread = threading.Thread(target=drain, args=(rx.ring, stop, other_cpu, counted))
        thread.start()
    before, start, calls = rx.dropped(), time.perf_counter(), 0
    while time.perf_counter() - start < seconds and calls < 100_000:
        gen.run()
        calls += 1
    elapsed = time.perf_counter() - start
    dropped = rx.dropped() - before
    if thread is not None:
        stop.set()
        thread.join(timeout=10)
    rx.rates.append(dropped / elapsed)
    rx.decoded.append(counted[0] / elapsed)
    rx.delivered.append(dropped / (calls * gen.repeat))


def receivers(stack: contextlib.ExitStack) -> list[Receiver]:
    """Every receiving program, loaded, filled and attached in a lab of its own."""

    def lab() -> VethLab:
        return stack.enter_context(VethLab(prefix="bfl"))

    out = []
    drop = stack.enter_context(BpfObject(bc.build_bpf("xdp_drop_count")))
    rx_lab = lab()
    attach_by_id(rx_lab, drop.program_fd("xdp_bench_drop"))
    out.append(Receiver("XDP_DROP + counter (ceiling)", rx_lab, per_cpu_counter(drop, "bench_drops", 0)))
    setups: list[tuple[str, list[FirewallRule], bool]] = [
        ("xdp_firewall, 1 deny rule", bc.rule_mix(1, 4), False),
        ("xdp_firewall, 1,024 rules", bc.rule_mix(1024, 4), False),
        ("xdp_firewall, 1 deny rule, ring drained", bc.rule_mix(1, 4), True),
    ]
    for name, rules, drained in setups:
        obj = stack.enter_context(BpfObject.load_bundled("xdp_firewall"))
        BpfFirewallMap(obj).apply(FirewallPolicy.build(rules, FirewallMode.BLOCK))
        ring = None
        if drained:
            events = obj.map("fw_events")
            ring = RingBufferReader(events.fd, events.max_entries)
            stack.callback(ring.close)
        rx_lab = lab()
        attach_by_id(rx_lab, obj.program_fd("xdp_firewall"))
        out.append(Receiver(name, rx_lab, per_cpu_counter(obj, "fw_metrics", 1), ring))
    rx_lab = lab()
    xdpf = stack.enter_context(bc.XdpFilter(rx_lab.netns, rx_lab.peer_if))
    for rule in bc.rule_mix(1024, 4):
        kind, value, mode_or_proto = bc.xdp_filter_entry(rule)
        if kind == "ip":
            xdpf.add_ip(value, mode=mode_or_proto)
        else:
            xdpf.add_port(int(value), proto=mode_or_proto)
    out.append(Receiver(XDP_FILTER, rx_lab, xdpf.dropped))
    return out


def report(rxs: list[Receiver], args: argparse.Namespace) -> None:
    by_name = {rx.name: bc.summarize(rx.rates) for rx in rxs}
    ceiling, theirs = by_name[rxs[0].name], by_name[XDP_FILTER]
    rows = []
    for rx in rxs:
        rate = by_name[rx.name]
        decoded = f"{bc.summarize(rx.decoded).median / 1e6:.2f}" if rx.ring is not None else "-"
        target = ">= 0.9x" if rx.name.startswith("xdp_firewall") else ""
        rows.append(
            (
                rx.name,
                f"{rate.median / 1e6:.2f} ({rate.low / 1e6:.2f}-{rate.high / 1e6:.2f})",
                f"{rate.ratio(theirs):.2f}x",
                target,
                f"{rate.ratio(ceiling):.2f}x",
                f"{bc.summarize(rx.delivered).median:.3f}",
                decoded,
            )
        )
    headers: tuple[str, ...] = (
        "receiver (native XDP on veth)",
        "Mpps dropped (min-max)",
        "/xdp-filter",
        "target",
    )
    headers += ("/XDP_DROP", "dropped/sent", "events decoded M/s")
    title = (
        f"Flood, 64-byte UDP, LIVE_FRAMES batch {args.batch}, {args.trials} x {args.window} s per receiver"
    )
    bc.print_table(title, headers, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--window", type=float, default=1.0, help="seconds per receiver per trial")
    parser.add_argument("--repeat", type=int, default=1 << 18, help="frames per test-run call")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    bc.pin_thread(bc.bench_cpu())
    print(f"# bench_xdp_flood: {bc.machine()}")
    with contextlib.ExitStack() as stack:
        generator = stack.enter_context(BpfObject(bc.build_bpf("xdp_devmap_gen")))
        tx_port = generator.map("bench_tx_port")
        frame = bc.udp_frame(*bc.DROP_PACKET[4])
        gen = LiveFrames(generator.program_fd("xdp_bench_gen"), frame, args.repeat, args.batch)
        rxs = receivers(stack)
        for _ in range(args.trials):
            for rx in rxs:
                flood(gen, lambda index: tx_port.update(_U32.pack(0), _U32.pack(index)), rx, args.window)
        report(rxs, args)


if __name__ == "__main__":
    main()
