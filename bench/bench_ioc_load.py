"""Threat-intel IOC set load into tc_threatintel: 100,000 IPv4 address IOCs.

Target (brief): a whole-set load of 100k IOCs in <= 1 s. A load = plan (which address gets which
IOC) + a factory copy of the object (fresh empty maps) + hash batch update + in-kernel bloom build
(one test run of ti_build_blooms) + the generation switch (threatintel_map.py's docstring).
Two inputs: a list of ready ``Ioc`` objects, and a parsed plain feed (an ``IocBatch``, which
builds each ``Ioc`` as it is iterated — what the agent hands over after a refresh).

Also measured, as the alternatives the design rejected: filling a bloom filter from Python one
element at a time, and whether the kernel takes a batch update on a bloom filter at all.

Run (root): ``.venv/bin/python bench/bench_ioc_load.py [iocs] [runs]``. Never asserts timings.
"""

import ctypes
import ipaddress
import statistics
import sys
import time
from collections.abc import Callable, Iterable

from sentinel_adapters.ebpf import _libbpf as bpf
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.threatintel_map import PROGRAM, BpfIocMap
from sentinel_domain.threatintel import Ioc, IocKind, ParseOptions, parse_plain

STEPS = ("plan", "factory", "hashes", "blooms", "switch")


def make_iocs(count: int) -> list[Ioc]:
    return [
        Ioc(IocKind.IP, str(ipaddress.IPv4Address(0x0B000000 + i * 7)), f"feed-{i % 5}", 50 + i % 50)
        for i in range(count)
    ]


def make_feed(count: int) -> bytes:
    return "\n".join(str(ipaddress.IPv4Address(0x0B000000 + i * 7)) for i in range(count)).encode() + b"\n"


def summary(times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return f"{statistics.median(ms):8.1f} {min(ms):8.1f} {max(ms):8.1f}"


def bench_loads(label: str, make_input: Callable[[], Iterable[Ioc]], runs: int) -> None:
    ti = BpfIocMap.standalone()
    totals: list[float] = []
    steps: dict[str, list[float]] = {s: [] for s in STEPS}
    try:
        for _ in range(runs):
            iocs = make_input()
            start = time.perf_counter()
            report = ti.load(iocs, time.time())
            totals.append(time.perf_counter() - start)
            for step in STEPS:
                steps[step].append(ti.last_load_timings[step])
    finally:
        ti.close()
    print(f"{label:<40} {summary(totals)}   ({report.addresses} addresses)")
    for step in STEPS:
        print(f"  {step:<38} {summary(steps[step])}")


def bloom_alternatives(count: int) -> None:
    keys = [ipaddress.IPv4Address(0x0B000000 + i * 7).packed for i in range(count)]
    with BpfObject.load_bundled(PROGRAM) as obj:
        bloom = obj.map("ti_set_bloom_v4")
        n = ctypes.c_uint32(16)
        opts = bpf.bpf_map_batch_opts(sz=ctypes.sizeof(bpf.bpf_map_batch_opts))
        rc = bpf.lib.bpf_map_update_batch(
            bloom.fd, None, b"".join(keys[:16]), ctypes.byref(n), ctypes.byref(opts)
        )
        print(f"bpf_map_update_batch on a bloom filter: rc={rc} (-524 = ENOTSUPP: no batch path)")
        start = time.perf_counter()
        for key in keys:
            bloom.update(None, key)
        elapsed = time.perf_counter() - start
        each = elapsed / count * 1e6
        print(f"bloom per-element update from Python: {elapsed * 1000:.0f} ms ({each:.2f} µs each)")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    print(f"IOC set load, {count} IPv4 host IOCs, {runs} runs; ms: median min max")
    ready = make_iocs(count)
    bench_loads("load(list of Ioc)", lambda: ready, runs)
    feed = make_feed(count)
    options = ParseOptions(feed_id="bench")
    bench_loads("load(parse_plain(...).iocs)  [parse excl.]", lambda: parse_plain(feed, options).iocs, runs)
    bench_loads("load(empty set)", list, runs)
    bloom_alternatives(count)


if __name__ == "__main__":
    main()
